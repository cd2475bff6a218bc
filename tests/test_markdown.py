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
           for b in leftovers(''.join(c['source'])) + merged_lists(''.join(c['source']))]
    assert not bad, '\n'.join(bad)


def merged_lists(text: str) -> list:
    "Ordered lists whose item numbers restart inside one list: a Korean list and its English twin run together."
    bad, stack = [], []
    for tok in MD.parse(text):
        if tok.type == 'ordered_list_open': stack.append([])
        elif tok.type == 'list_item_open' and stack and tok.info: stack[-1].append(int(tok.info))
        elif tok.type == 'ordered_list_close':
            nums = stack.pop()
            if any(b <= a for a, b in zip(nums, nums[1:])): bad.append(f"one list numbered {nums}")
    return bad


def test_merged_list_check_flags_twins():
    assert merged_lists('1. 하나\n2. 둘\n\n1. one\n2. two\n')
    assert not merged_lists('1. 하나\n2. 둘\n\nIn English:\n\n1. one\n2. two\n')

