"""One Korean word per concept: the glossary's term table (90_glossary, "용어 표기 원칙 (Term table)") lists the word to
use and the word to avoid; no notebook's prose or figure description, and not the README, may use an avoided word."""
import json, re

import pytest

from conftest import ROOT

NBS = ROOT/'nbs'
NOTEBOOKS = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
TABLE_TITLE = '용어 표기 원칙 (Term table)'


def term_table() -> list:
    "(use, avoid) pairs from the glossary's term table."
    cells = json.loads((NBS/'90_glossary.ipynb').read_text(encoding='utf-8'))['cells']
    table = next(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown' and TABLE_TITLE in ''.join(c['source']))
    rows = [l.strip('|').split(' | ') for l in table.splitlines() if l.startswith('|')][2:]
    return [(use.strip(), avoid.strip()) for use, avoid, _ in rows]


def avoided(text: str, pairs) -> list:
    "Avoided words in `text`; a word counts only where it starts a word (분위수 is flagged, 백분위수 is not)."
    return [f"{avoid!r} (use {use!r})" for use, avoid in pairs
            if re.search(r'(?<![가-힣])' + re.escape(avoid), text)]


def prose(nb_path) -> list:
    "(where, text) of every markdown cell and every figure description of a notebook (the term table itself left out)."
    out = []
    for i, c in enumerate(json.loads(nb_path.read_text(encoding='utf-8'))['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown' and TABLE_TITLE not in src: out.append((f"cell {i}", src))
        elif c['cell_type'] == 'code':
            out += [(f"cell {i} fig-alt", l) for l in src.splitlines() if l.startswith('#| fig-alt')]
    return out


def test_term_table_is_read():
    pairs = term_table()
    assert len(pairs) >= 10 and ('백분위수', '분위수') in pairs
    assert avoided('분위수 15번째', pairs) and avoided('문맥 관리자로', pairs)
    assert not avoided('백분위수와 컨텍스트 매니저', pairs)


@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_term_table(nb_path):
    pairs = term_table()
    bad = [f"{where}: {w}" for where, text in prose(nb_path) for w in avoided(text, pairs)]
    assert not bad, f"{nb_path.name}:\n" + '\n'.join(bad)


def test_readme_uses_the_term_table():
    assert not avoided((ROOT/'README.md').read_text(encoding='utf-8'), term_table())
