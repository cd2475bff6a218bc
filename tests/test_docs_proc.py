"""The pages a reader sees, checked with nbdev's own docs processing.

`nbdev_proc_nbs` = refresh `_quarto.yml`, the module index and the sidebar (all written into the repo, and in nbdev 2.4
it first installs Quarto when it is missing) + `nbdev.serve.proc_nbs`, which runs nbdev's processors (`FilterDefaults`:
`rm_export` drops the source of `#| export` cells, `hide_` drops `#| hide` cells, `add_fold` turns `#| exports` cells into
a foldable "Exported source", `clean_show_doc`/`exec_show_docs` turn `show_doc` calls into markdown cards, ...) and
writes the notebooks Quarto renders into `_proc/`. This test runs that processing step once per session (conftest's
`docs_proc`, shared with the browser checks of test_docs_site.py) on a temporary copy of `settings.ini` and `nbs/`
(nothing in the repo is written, and helpers running it side by side do not share a `_proc/`), then reads the
processed notebooks the way Quarto shows them:

- a code cell's leading `#| key: value` lines are Quarto cell options, not shown; the rest is its visible source,
  unless the options say `echo: false` / `include: false`;
- (a) the teaching code of the lessons (TEACHING) is in some code cell's visible source;
- (b) no processed notebook shows a `#|` line, keeps a cell marked `#| hide`, or shows raw `show_doc` markup (the call
  itself, a show_doc cell without `output: asis` or without its markdown card, or the card's `[source](…){target=…}`
  markup printed as plain text)."""
import json, re, subprocess

import pytest

from conftest import ROOT

NBS = ROOT/'nbs'
NOTEBOOKS = sorted(p.name for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))

# Teaching definitions whose source the docs must show (a `#| exports` cell, or a plain cell beside an exported wrapper).
TEACHING = {
    '01_models': ['class Hooks', 'def linear_layers', 'def activation_layers'],
    '06_stacked': ['class StackedMLP', 'class StackedOptimizer'],
    '06b_grid': ['def structure', 'def plan_groups', 'class FuncStack'],
    '10_gradients': ['def saturation', 'def dead_fraction', 'class ActivationStats', 'class GradNorms',
                     'def grad_norms', 'class OutputGradNorms', 'def update_ratios', 'class StepRatio'],
    '11_covariate_shift': ['class BNNoise', 'def with_noise', 'class SigmoidInput', 'def probe_percentiles', 'def ics',
                           'def loss_along_gradient'],
    '12_batchnorm': ['class BatchNormFunction', 'def batch_norm', 'class BatchNorm1d'],
    '13_train_eval': ['def running_stats', 'def stats_drift', 'def recalibrate_bn'],
    '21_ioffe_fig1': ['def unit_percentiles', 'def run_fig1', 'def median_spread'],
    '23_data_shift': ['def corrupt', 'def batch_stats', 'def softmax_entropy', 'def tent', 'def finetune'],
}

_DIRECTIVE = re.compile(r'^\s*#\s*\|')                         # any `#|` line (nbdev directive or Quarto option)
_OPTION = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:\s*(.*?)\s*$')  # a Quarto cell option `#| key: value`
_CARD = re.compile(r'\[source\]\([^)]*\)\{target=')              # show_doc's markdown card: `[source](…){target=…}`


def src(cell) -> str:
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s


def split_options(source: str):
    "Quarto's view of a code cell: (leading `#|` lines, the rest = the source it shows)."
    lines = source.splitlines()
    k = 0
    while k < len(lines) and _DIRECTIVE.match(lines[k]): k += 1
    return lines[:k], '\n'.join(lines[k:])


def options(lead: list) -> dict:
    return {m[1]: m[2].strip('"\'') for m in map(_OPTION.match, lead) if m}


def visible_code(cell) -> str:
    "The source a reader sees for one processed code cell ('' when echo/include is false)."
    lead, body = split_options(src(cell))
    opts = options(lead)
    return '' if 'false' in (opts.get('echo'), opts.get('include')) else body


def marked_hide(cell) -> bool:
    "A source-notebook code cell whose leading directives include `hide`."
    lead, _ = split_options(src(cell))
    return any(re.match(r'^\s*#\s*\|\s*hide\s*$', l) for l in lead)


def output_texts(cell):
    "(kind, text) of every text output (stream, text/markdown, text/plain)."
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': yield 'stream', src({'source': o.get('text', '')})
        for kind in ('text/markdown', 'text/plain'):
            if kind in o.get('data', {}): yield kind, src({'source': o['data'][kind]})


def page_problems(proc: dict, orig: dict = None) -> list:
    "What a reader would see that they should not, in one processed notebook (`orig`: the source notebook, for ids)."
    bad = []
    hidden = {c.get('id') for c in (orig or {}).get('cells', []) if c['cell_type'] == 'code' and marked_hide(c)}
    for i, c in enumerate(proc['cells']):
        where = f"cell {i} (id {c.get('id')})"
        if c.get('id') in hidden: bad.append(f"{where}: a `#| hide` cell is still on the page")
        if c['cell_type'] == 'markdown':
            bad += [f"{where}: `#|` line in the text: {l.strip()[:80]}" for l in src(c).splitlines() if _DIRECTIVE.match(l)]
            continue
        if c['cell_type'] != 'code': continue
        lead, _ = split_options(src(c))
        bad += [f"{where}: directive left for Quarto, not an option: {l.strip()[:80]}" for l in lead if not _OPTION.match(l)]
        opts, code = options(lead), visible_code(c)
        bad += [f"{where}: `#|` line in the visible source: {l.strip()[:80]}" for l in code.splitlines() if _DIRECTIVE.match(l)]
        if re.search(r'^\s*show_doc\(', code, re.M): bad.append(f"{where}: the `show_doc` call itself is shown")
        is_doc = bool(re.search(r'^\s*show_doc\(', split_options(src(c))[1], re.M))
        if is_doc and opts.get('output') != 'asis': bad.append(f"{where}: show_doc cell without `output: asis`")
        if is_doc and not any(k == 'text/markdown' for k, _ in output_texts(c)):
            bad.append(f"{where}: show_doc cell without its markdown card")
        for o in c.get('outputs', []):   # Quarto prints a stream, or a text/plain-only result, verbatim
            text = (src({'source': o.get('text', '')}) if o.get('output_type') == 'stream' else
                    '' if 'text/markdown' in o.get('data', {}) else src({'source': o.get('data', {}).get('text/plain', '')}))
            if _CARD.search(text): bad.append(f"{where}: show_doc markup printed as raw text")
    return bad


def teaching_missing(proc: dict, names: list) -> list:
    "The teaching definitions not found in any visible code of a processed notebook."
    code = '\n'.join(visible_code(c) for c in proc['cells'] if c['cell_type'] == 'code')
    return [n for n in names if not re.search(rf'^\s*{re.escape(n)}\b', code, re.M)]


@pytest.fixture(scope='session')
def proc(docs_proc):
    "{notebook name: processed notebook}, from the session's one run of nbdev's processing (conftest.docs_proc)."
    return {p.name: json.loads(p.read_text(encoding='utf-8')) for p in docs_proc.glob('*.ipynb')}


def load(name): return json.loads((NBS/name).read_text(encoding='utf-8'))


def test_proc_folder_is_git_ignored():
    r = subprocess.run(['git', 'check-ignore', '-q', '_proc/10_gradients.ipynb'], cwd=ROOT)
    assert r.returncode == 0, "_proc/ (nbdev's processed notebooks) must be in .gitignore"


def test_checkers_catch_what_they_should():
    "Self-test on planted problems: a leftover `#|` line, a hidden cell, a visible show_doc, a raw card, missing code."
    nb10 = load('10_gradients.ipynb')
    hide_id = next(c['id'] for c in nb10['cells'] if c['cell_type'] == 'code' and marked_hide(c))
    card = '---\n\n[source](https://x/y.py#L1){target="_blank" style="float:right"}\n\n### Hooks\n\n```python\ndef Hooks()\n```'
    code = lambda s, outs=(), cid='c': {'cell_type': 'code', 'id': cid, 'source': s, 'outputs': list(outs), 'metadata': {}}
    md = lambda t: {'output_type': 'display_data', 'data': {'text/markdown': t, 'text/plain': 'def Hooks()'}, 'metadata': {}}
    good = {'cells': [code('#| code-fold: show\n#| code-summary: "Exported source"\nclass Hooks:\n    pass'),
                      code('#| echo: false\n#| output: asis\nshow_doc(Hooks)', [md(card)]),
                      code('#| fig-alt: "a: b"\nx = 1'),
                      {'cell_type': 'markdown', 'id': 'm', 'source': 'Text with `#| export` in code, and `show_doc`.', 'metadata': {}}]}
    assert page_problems(good, nb10) == [] and teaching_missing(good, ['class Hooks']) == []
    planted = {
        '`#| hide` line in the middle': code('x = 1\n#| hide\ny = 2'),
        '`#|` line after a comment': code('# a comment\n#| export\ndef f(): pass'),
        'nbdev directive left in the options': code('#| export\ndef f(): pass'),
        'hidden cell kept': code('import os', cid=hide_id),
        'show_doc call shown': code('show_doc(Hooks)', [md(card)]),
        'card without output: asis': code('#| echo: false\nshow_doc(Hooks)', [md(card)]),
        'card as a plain result': code('#| echo: false\n#| output: asis\nshow_doc(Hooks)', [{'output_type': 'execute_result', 'data': {'text/plain': card}, 'metadata': {}}]),
        'card as plain text': code('print(card)', [{'output_type': 'stream', 'name': 'stdout', 'text': card}]),
        'show_doc without its card': code('#| echo: false\n#| output: asis\nshow_doc(Hooks)'),
        '`#|` line in a markdown cell': {'cell_type': 'markdown', 'id': 'm', 'source': 'text\n#| hide', 'metadata': {}},
    }
    for what, cell in planted.items():
        assert page_problems({'cells': [cell]}, nb10), f"not flagged: {what}"
    assert teaching_missing({'cells': [code('#| echo: false\nclass Hooks: pass')]}, ['class Hooks']) == ['class Hooks']
    assert teaching_missing({'cells': [code('# class Hooks was here')]}, ['class Hooks']) == ['class Hooks']


@pytest.mark.parametrize('name', sorted(TEACHING), ids=str)
def test_teaching_code_is_shown(proc, name):
    missing = teaching_missing(proc[name + '.ipynb'], TEACHING[name])
    assert not missing, (f"{name}: the docs page hides the source of {missing} (an `#| export` cell: nbdev shows only a "
                         f"signature card). Use `#| exports`, or show the code in a teaching cell beside an exported wrapper.")


@pytest.mark.parametrize('name', NOTEBOOKS, ids=str)
def test_page_is_clean(proc, name):
    assert name in proc, f"nbdev's processing produced no {name}"
    bad = page_problems(proc[name], load(name))
    assert not bad, f"{name}:\n" + '\n'.join(bad)
