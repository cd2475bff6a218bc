"""Exercises stay closed until the student opens them (the convention is written out in CONTRIBUTING.md):

- the student's starting point is `None` (a value, or a function stub whose body is `return None`), in a visible *try*
  cell that calls the self-check, so Run All prints "not tried yet", never "wrong", before the student answers;
- every self-check (`def check_…`) prints "not tried yet: …" for that starting point, else "right: …" or "wrong: …";
- a *solution* cell opens with `#| code-fold: true`, `#| code-summary: "정답 보기 (Show solution)"`, `#| output: false`
  (folded source and no output on the site) and carries the cell metadata `jupyter: {source_hidden, outputs_hidden}`
  (collapsed in JupyterLab; settings.ini's `allowed_cell_metadata_keys` keeps it through nbdev_clean);
- an answer written in prose sits in a `<details>` block; no other visible code follows the exercises;
- the hidden cells that test a self-check print nothing (`test_stdout`), and test the "not tried yet" case too."""
import json, re

import pytest

from conftest import ROOT

NOTEBOOKS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
HEADING = '## 연습 문제 (Exercises)'
SOLUTION_HEAD = '#| code-fold: true\n#| code-summary: "정답 보기 (Show solution)"\n#| output: false\n'
ANSWER = re.compile(r'\d번 풀이|Exercise \d+, answer|정답:|Answer:')


def src(c) -> str: return ''.join(c['source']) if isinstance(c['source'], list) else c['source']
def hidden(c) -> bool: return bool(re.match(r'#\|\s*hide\s*$', src(c).split('\n', 1)[0]))
def is_solution(c) -> bool: return c['cell_type'] == 'code' and bool(re.search(r'^#\|\s*code-(fold|summary)', src(c), re.M))
def stream(c) -> str: return ''.join(''.join(o.get('text', '')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')


def exercise_cells(cells) -> list:
    "The cells of the exercises section: from its heading to the next `## ` heading or the navigation cell."
    start = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and HEADING in src(c)), None)
    if start is None: return []
    out = [cells[start]]
    for c in cells[start + 1:]:
        if c.get('id') == 'course-nav' or (c['cell_type'] == 'markdown' and src(c).startswith('## ')): break
        out.append(c)
    return out


def problems(nb: dict) -> list:
    cells = exercise_cells(nb['cells'])
    if not cells: return []
    bad, where = [], lambda c: f"cell {c.get('id')}"
    checks = {n: c for c in cells if c['cell_type'] == 'code' for n in re.findall(r'^def (check_\w+)\(', src(c), re.M)}
    solutions = [c for c in cells if is_solution(c)]
    first_solution = cells.index(solutions[0]) if solutions else len(cells)
    tried, called = set(), set()
    for k, c in enumerate(cells):
        s = src(c)
        if c['cell_type'] == 'markdown':
            if k and ANSWER.search(s) and not s.lstrip().startswith('<details>'):
                bad.append(f"{where(c)}: an answer in prose must sit in a <details> block")
            continue
        if is_solution(c):
            if not s.startswith(SOLUTION_HEAD): bad.append(f"{where(c)}: a solution cell opens with {SOLUTION_HEAD!r}")
            if c.get('metadata', {}).get('jupyter') != {'source_hidden': True, 'outputs_hidden': True}:
                bad.append(f"{where(c)}: a solution cell needs metadata jupyter: {{source_hidden: true, outputs_hidden: true}}")
            continue
        defines = re.findall(r'^def (check_\w+)\(', s, re.M)
        for name in defines:
            head, _, rest = s[s.index(f'def {name}('):].partition('\n')
            body = head + (rest[:m.start()] if (m := re.search(r'^\S', rest, re.M)) else rest)   # up to the next top-level line
            if 'not tried yet' not in body: bad.append(f"{where(c)}: {name} never says 'not tried yet'")
            if re.search('[✓✗]', body): bad.append(f"{where(c)}: {name} prints ✓/✗; say 'right:' / 'wrong:'")
        top = [l for l in s.splitlines()[1 if hidden(c) else 0:] if l[:1] not in (' ', '\t', '') and not l.startswith('def ')]
        calls = {n for l in top for n in re.findall(r'\b(check_\w+)\(', l)}   # top-level calls, not those inside a def
        if hidden(c):
            for line in top:
                if re.search(r'\bcheck_\w+\(', line) and 'test_stdout(' not in line:
                    bad.append(f"{where(c)}: a hidden test prints what the check says: wrap it in test_stdout(…)")
            tried |= {n for n in re.findall(r"test_stdout\(lambda: test_eq\((check_\w+)\(.*'\^not tried yet'", s)}
            continue
        if not calls and not defines:
            bad.append(f"{where(c)}: visible code in the exercises that is neither a try cell nor a solution")
        if calls:   # a try cell: the student's starting point
            if k > first_solution: bad.append(f"{where(c)}: the try cell comes after a solution")
            if 'None' not in s: bad.append(f"{where(c)}: the answer should start as None")
            out = stream(c).strip()
            if out and not all(l.startswith('not tried yet') for l in out.splitlines()):
                bad.append(f"{where(c)}: before the student answers, the stored output should say 'not tried yet', not {out[:60]!r}")
            called |= calls
    for n in checks:
        if n not in called: bad.append(f"{n}: no try cell calls it (where does the student start?)")
        if n not in tried: bad.append(f"{n}: no hidden test of its 'not tried yet' case")
    if not solutions and not any(ANSWER.search(src(c)) for c in cells[1:]): bad.append('exercises without a solution')
    return bad


@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_stay_closed(nb_path):
    bad = problems(json.loads(nb_path.read_text(encoding='utf-8')))
    assert not bad, f"{nb_path.name}:\n" + '\n'.join(bad)


def code(text, meta=None, out=''):
    c = {'cell_type': 'code', 'id': 'x', 'metadata': meta or {}, 'source': text, 'outputs': []}
    if out: c['outputs'] = [{'output_type': 'stream', 'name': 'stdout', 'text': out}]
    return c


def md(text): return {'cell_type': 'markdown', 'id': 'm', 'metadata': {}, 'source': text}


CLOSED = {'jupyter': {'source_hidden': True, 'outputs_hidden': True}}
GOOD = [md(f'{HEADING}\n\n**1.** Count.'),
        code('def check_n(a):\n    if a is None: print("not tried yet: set a"); return False\n    print("right" if a == 2 else "wrong"); return a == 2'),
        code('a = None   # ← your answer\n_ = check_n(a)', out='not tried yet: set a\n'),
        code(SOLUTION_HEAD + 'a = 2', CLOSED),
        code("#| hide\ntest_stdout(lambda: test_eq(check_n(None), False), '^not tried yet', regex=True)"),
        md('<details>\n<summary>풀이 보기 (Show answer)</summary>\n\n2번 풀이: …\n\n</details>')]


def test_checker_accepts_the_convention():
    assert problems({'cells': GOOD}) == []


@pytest.mark.parametrize('i, cell, complaint', [
    (3, code('#| code-fold: true\n#| code-summary: "정답 보기 (Show solution)"\na = 2', CLOSED), 'opens with'),
    (3, code(SOLUTION_HEAD + 'a = 2'), 'metadata jupyter'),
    (2, code('a = 0\n_ = check_n(a)', out='wrong\n'), 'start as None'),
    (2, code('a = None\n_ = check_n(a)', out='wrong: got None\n'), "should say 'not tried yet'"),
    (1, code('def check_n(a):\n    print("✓" if a == 2 else "✗ wrong"); return a == 2'), "never says 'not tried yet'"),
    (4, code('#| hide\nassert check_n(2)'), 'wrap it in test_stdout'),
    (5, md('2번 풀이: the answer, in plain sight'), '<details>'),
    (5, code('print(2)'), 'neither a try cell nor a solution'),
])
def test_checker_flags_leaks(i, cell, complaint):
    cells = [dict(c) for c in GOOD]
    cells[i] = cell
    assert any(complaint in p for p in problems({'cells': cells})), problems({'cells': cells})
