"""One Korean word per concept: the term rules in CONTRIBUTING.md ("Term rules (용어 규칙)") list the word to use and the
word to avoid; no notebook's prose or figure description, and not the README, may use an avoided word. Every offending
cell is reported. Rules scoped "Korean" apply only to Korean text, so English text keeps "et al." and "points"."""
import json, re

import pytest

from conftest import ROOT

NBS = ROOT/'nbs'
NOTEBOOKS = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
RULES_TITLE = '## Term rules (용어 규칙)'


def term_rules(text=None) -> list:
    "(use, avoid pattern, korean_only) from the table under RULES_TITLE in CONTRIBUTING.md."
    text = text or (ROOT/'CONTRIBUTING.md').read_text(encoding='utf-8')
    section = text.split(RULES_TITLE, 1)[1].split('\n## ', 1)[0]
    rows = [re.split(r'(?<!\\)\|', l.strip().strip('|')) for l in section.splitlines() if l.startswith('|')][2:]
    out = []
    for use, avoid, scope, _ in rows:
        avoid = avoid.strip().strip('`').replace('\\|', '|')
        pat = re.compile(avoid[1:-1]) if avoid.startswith('/') and avoid.endswith('/') and len(avoid) > 2 \
            else re.compile(r'(?<![가-힣])' + re.escape(avoid))     # a plain word counts where a word starts
        out.append((use.strip(), pat, '한국어' in scope))
    return out


def korean_units(text: str) -> list:
    """The Korean parts of a text: each line split at ` / `, `<br>` and table bars, kept if mostly Hangul, with code
    spans, math and a Hangul-free English gloss closing a heading or a link text removed."""
    out = []
    for line in text.splitlines():
        for unit in re.split(r' / |<br>|(?<!\\)\|', line):
            unit = re.sub(r'`[^`]*`|\$[^$]*\$', ' ', unit)
            unit = re.sub(r'\s*\([^()가-힣]*\)\s*(?=\]|$)', '', unit.rstrip())   # "제목 (English title)" in headings and links
            hangul, latin = len(re.findall('[가-힣]', unit)), len(re.findall('[A-Za-z]', unit))
            if hangul >= 3 and hangul * 4 >= latin: out.append(unit)
    return out


def avoided(text: str, rules) -> list:
    "Avoided words in `text`, as 'word (use …)'."
    ko = '\n'.join(korean_units(text))
    return [f"{m.group(0)!r} (use {use!r})" for use, pat, korean_only in rules
            for m in pat.finditer(ko if korean_only else text)]


def prose(nb_path) -> list:
    "(where, text) of every markdown cell and every figure description of a notebook."
    out = []
    for i, c in enumerate(json.loads(nb_path.read_text(encoding='utf-8'))['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': out.append((f"cell {i} ({c.get('id')})", src))
        elif c['cell_type'] == 'code':
            out += [(f"cell {i} ({c.get('id')}) fig-alt", l) for l in src.splitlines() if l.startswith('#| fig-alt')]
    return out


def test_term_rules_are_read():
    rules = term_rules()
    assert len(rules) >= 20
    assert avoided('분위수 15번째', rules) and avoided('문맥 관리자로', rules)
    assert not avoided('백분위수와 컨텍스트 매니저', rules)


@pytest.mark.parametrize('text, flagged', [
    ('BN은 기울기 폭발을 일으킵니다.', True), ('BN은 기울기 폭주를 일으킵니다.', False),
    ('Santurkar et al.(2018)의 실험은 이렇습니다.', True), ('Santurkar 외(2018)의 실험은 이렇습니다.', False),
    ('Yang 등(2019)은 이렇게 말합니다.', True), ('Yang 등은 이렇게 말합니다.', True), ('ReLU, 시그모이드, tanh 등을 씁니다.', False),
    ('정확도가 +1.86점 높습니다.', True), ('정확도가 1 퍼센트포인트 낮습니다.', True), ('정확도가 0.1%포인트라서 작습니다.', True),
    ('정확도가 +1.86%p 높습니다.', False),
    ('깊은 일반 신경망에서는 다릅니다.', True), ('일반·BN·잔차 신경망을 비교합니다.', True), ('일반과 잔차 신경망은 다릅니다.', True),
    ('plain 신경망에서는 다릅니다.', False), ('일반화 격차를 잽니다. 일반 SGD로 학습합니다.', False),
    ("Santurkar et al.'s noisy BN trains almost as well: Δ = +1.86 points.", False),          # English keeps its words
    ('## Santurkar 외의 ICS 측정 (ICS as Santurkar et al. measure it)', False),              # a heading's English gloss
    ('잡음 BN은 ICS가 크다 / Santurkar et al.\'s noisy BN has more ICS', False),             # a bilingual table cell
])
def test_rules_catch_the_named_inconsistencies(text, flagged):
    assert bool(avoided(text, term_rules())) == flagged, avoided(text, term_rules())


@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_term_rules(nb_path):
    rules = term_rules()
    bad = [f"{where}: {w}" for where, text in prose(nb_path) for w in avoided(text, rules)]
    assert not bad, f"{nb_path.name}:\n" + '\n'.join(bad)


def test_readme_uses_the_term_rules():
    bad = avoided((ROOT/'README.md').read_text(encoding='utf-8'), term_rules())
    assert not bad, bad
