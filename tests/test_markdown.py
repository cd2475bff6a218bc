"""Every markdown cell renders as a reader sees it: parsed by a CommonMark renderer (markdown-it-py, with the dollar-math
rule JupyterLab and Quarto use), no literal `**` or `$` may be left in the text. `**굵게(bold)**은` is the classic
trap: CommonMark does not close emphasis after punctuation when a letter follows, so the asterisks show."""
import json

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from conftest import ROOT

NOTEBOOKS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
MD = MarkdownIt('commonmark').enable('table').use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True)


def leftovers(text: str) -> list:
    "Literal `**` or `$` in the rendered text of one markdown source (code and math excluded)."
    bad = []
    for tok in MD.parse(text):
        for child in tok.children or []:
            if child.type == 'text':
                for mark in ('**', '$'):
                    if mark in child.content: bad.append(f"{mark!r} in …{child.content.strip()[:70]}…")
    return bad


def test_checker_catches_the_traps():
    assert leftovers('**배치 정규화(BN)**은 좋다') and leftovers('cost $5 and more')
    assert not leftovers('**배치 정규화(BN)** 은 좋다, $x^2$, $$y$$, `a ** b`, **bold**')


@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_renders_clean(nb_path):
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    bad = [f"cell {i}: {b}" for i, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown'
           for b in leftovers(''.join(c['source']))]
    assert not bad, '\n'.join(bad)
