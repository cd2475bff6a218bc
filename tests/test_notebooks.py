"""Checks on the notebooks as committed and on the docs configuration (run with `pytest`, after `nbdev_test`).

- the Quarto config: top-level `_quarto.yml` (shared settings) and `nbs/_quarto.yml` (the project nbdev renders)
  agree, `nbs/nbdev.yml` is exactly what nbdev would regenerate, and the sidebar lists every notebook exactly once;
- stored outputs: no errors, no machine paths or user names, no walls of log output, a figure in every lesson,
  and a Quarto `#| fig-alt:` (alt text for the docs) on every cell that stores an image;
- imports in their own cells, as nbdev's docs processing needs;
- `scripts/run_notebooks.py` runs notebooks in a real kernel (two quick ones, `--fast`)."""
import getpass, hashlib, json, os, re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_script

NBS = ROOT / 'nbs'
NOTEBOOKS = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
LESSONS = ['05_lab_bn_vs_plain', '07_stats', '10_gradients', '11_covariate_shift', '12_batchnorm', '13_train_eval',
           '14_norm_layers', '15_cnn_bn', '16_depth', '17_what_bn_does', '18_distributed', '19_bn_diagnostics', '20_sweeps',
           '21_ioffe_fig1', '22_beyond_bn', '23_data_shift']
MAX_OUTPUT_LINES = 60

def load_yaml(p): return yaml.safe_load(Path(p).read_text(encoding='utf-8'))

def sidebar_entries():
    "Notebook paths in nbs/sidebar.yml, in order, nested sections flattened."
    def walk(items):
        for it in items:
            if isinstance(it, str): yield it
            elif isinstance(it, dict):
                if 'href' in it: yield it['href']
                yield from walk(it.get('contents', []))
    return list(walk(load_yaml(NBS / 'sidebar.yml')['website']['sidebar']['contents']))

def leaves(d, prefix=()):
    "Flatten nested dicts to {path tuple: value}."
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, dict): out.update(leaves(v, prefix + (k,)))
        else: out[prefix + (k,)] = v
    return out

# --- Quarto / nbdev configuration -------------------------------------------------------------------------------

def test_quarto_files_chain():
    "nbs/_quarto.yml is a website project that pulls in the shared root file, nbdev.yml and sidebar.yml, in that order."
    proj = load_yaml(NBS / '_quarto.yml')
    assert proj['project']['type'] == 'website'
    mf = proj['metadata-files']
    assert mf == ['../_quarto.yml', 'nbdev.yml', 'sidebar.yml'], mf
    for f in mf: assert (NBS / f).is_file(), f
    # nbdev renders from _proc/, also one level below the root: '../_quarto.yml' must mean the same file there
    assert (ROOT / '_proc' / '..' / '_quarto.yml').resolve() == (NBS / '..' / '_quarto.yml').resolve()
    assert (NBS / proj['format']['html']['css']).is_file()

def test_quarto_files_agree():
    "The shared file and the project file never set the same option to different values; the shared file has no paths."
    shared_yml = load_yaml(ROOT / '_quarto.yml')
    shared, proj = leaves(shared_yml), leaves(load_yaml(NBS / '_quarto.yml'))
    clashes = {k: (shared[k], proj[k]) for k in shared.keys() & proj.keys() if shared[k] != proj[k]}
    assert not clashes, clashes
    assert 'project' not in shared_yml, 'project options belong to nbs/_quarto.yml / nbdev.yml'
    for k, v in shared.items():
        assert k[-1] not in ('css', 'metadata-files', 'include-in-header', 'theme-file'), k
    math = shared_yml['format']['html']['html-math-method']
    assert math in ('katex', 'mathjax'), math
    # The shared file's navbar links point at real sidebar entries
    nav = shared_yml['website']['navbar']['left']
    assert {n['href'] for n in nav} <= set(sidebar_entries())

def test_nbdev_yml_is_generated():
    "nbs/nbdev.yml is byte-for-byte what nbdev's refresh_quarto_yml writes from settings.ini (docs builds leave git clean)."
    from nbdev.config import get_config
    from nbdev.quarto import _nbdev_yml
    cfg = get_config(path=ROOT)
    vals = {k: cfg[k] for k in ['title', 'description', 'branch', 'git_url', 'doc_host', 'doc_baseurl']}
    vals['doc_path'] = cfg.doc_path.name
    assert (NBS / 'nbdev.yml').read_text() == _nbdev_yml.format(**vals)
    assert cfg.get('custom_sidebar') in ('True', True), 'nbdev_docs would overwrite the hand-ordered sidebar.yml'

def test_sidebar_lists_every_notebook():
    "Every nbs/*.ipynb (except _*) is in the sidebar exactly once, and every sidebar entry is a notebook that exists."
    entries = sidebar_entries()
    assert len(entries) == len(set(entries)), 'duplicate sidebar entries'
    missing_from_sidebar = sorted({p.name for p in NOTEBOOKS} - set(entries))
    missing_files = sorted(e for e in entries if not (NBS / e).is_file())
    assert not missing_from_sidebar, f'not in nbs/sidebar.yml: {missing_from_sidebar}'
    assert not missing_files, f'listed in nbs/sidebar.yml but not in nbs/: {missing_files}'
    assert entries[0] == 'index.ipynb'

# --- stored outputs ---------------------------------------------------------------------------------------------

def output_texts(nb):
    "(cell index, output type, text) for every stored output, text/plain and HTML included."
    for i, c in enumerate(nb['cells']):
        for o in c.get('outputs', []):
            if o['output_type'] == 'stream': yield i, 'stream', ''.join(o['text'])
            elif o['output_type'] == 'error': yield i, 'error', '\n'.join(o.get('traceback', []))
            else:
                for mime in ('text/plain', 'text/markdown', 'text/html'):
                    if mime in o.get('data', {}): yield i, mime, ''.join(o['data'][mime])

def _user_names():
    names = {getpass.getuser(), os.environ.get('USER', ''), os.environ.get('LOGNAME', '')}
    return {n for n in names if n and n not in ('root', 'runner', 'user', 'jovyan')}  # generic names are ordinary words

MACHINE_PATH = re.compile(r'(?<![\w.~])(/root\b|/home/[\w.-]+|/Users/[\w.-]+|/tmp/[\w.-]+|/work/[\w.-]+|/private/var/)')

@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_clean(nb_path):
    "No error outputs or tracebacks, no machine paths or user names, no output longer than MAX_OUTPUT_LINES lines."
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    problems = []
    for i, kind, text in output_texts(nb):
        if kind == 'error' or 'Traceback (most recent call last)' in text: problems.append(f'cell {i}: error output')
        for m in MACHINE_PATH.findall(text): problems.append(f'cell {i}: machine path {m!r}')
        for u in _user_names():
            if re.search(rf'\b{re.escape(u)}\b', text): problems.append(f'cell {i}: user name {u!r}')
        n_lines = len(re.split(r'\r\n|\r|\n', text.rstrip()))  # \r: progress bars redraw with carriage returns
        if n_lines > MAX_OUTPUT_LINES and kind != 'text/html': problems.append(f'cell {i}: {n_lines}-line {kind} output')
    assert not problems, f'{nb_path.name}: ' + '; '.join(problems)

@pytest.mark.parametrize('name', [n for n in LESSONS if (NBS / f'{n}.ipynb').exists()])
def test_lesson_has_a_figure(name):
    "Every lesson/experiment notebook stores at least one image (existence is test_sidebar_lists_every_notebook's job)."
    nb = json.loads((NBS / f'{name}.ipynb').read_text(encoding='utf-8'))
    n_img = sum(any(k.startswith('image/') for k in o.get('data', {}))
                for c in nb['cells'] for o in c.get('outputs', []))
    assert n_img >= 1, f'{name} has no stored figure'

QUARTO_OPTION = re.compile(r'\s*#\s*\|\s*[\w|-]+\s*:')  # nbdev.process._quarto_re: the `#|` lines nbdev hands to Quarto

def cell_options(src):
    "The Quarto options of a code cell as Quarto gets them from nbdev: leading `#| key: value` lines, parsed as YAML."
    lines = src.splitlines()
    head = lines[:next((i for i, l in enumerate(lines) if not re.match(r'\s*#\s*\|', l)), len(lines))]
    return yaml.safe_load('\n'.join(re.sub(r'^\s*#\s*\|\s?', '', l) for l in head if QUARTO_OPTION.match(l))) or {}

def figure_alt_problems(nb):
    "Cells whose stored outputs include an image/png but whose options lack a usable `fig-alt`."
    problems = []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': continue
        n_png = sum('image/png' in o.get('data', {}) for o in c.get('outputs', []))
        if not n_png: continue
        src = ''.join(c['source'])
        try: opts = cell_options(src)
        except yaml.YAMLError as e: problems.append(f'cell {i}: cell options are not valid YAML ({e.problem})'); continue
        alt = opts.get('fig-alt')
        alts = alt if isinstance(alt, list) else [alt]  # Quarto: a string, or one string per figure
        if 'fig-alt' not in opts: problems.append(f'cell {i}: {n_png} image(s) and no `#| fig-alt:` line')
        elif not all(isinstance(a, str) and a.strip() for a in alts): problems.append(f'cell {i}: empty or non-text fig-alt')
        elif isinstance(alt, list) and len(alt) != n_png: problems.append(f'cell {i}: {len(alt)} alt texts for {n_png} images')
    return problems

@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_alt_text(nb_path):
    "Every code cell that stores an image/png output carries a Quarto `#| fig-alt:` option, so the docs' <img> has alt text."
    problems = figure_alt_problems(json.loads(nb_path.read_text(encoding='utf-8')))
    assert not problems, f'{nb_path.name}: ' + '; '.join(problems)

def test_figure_alt_check_flags_missing_alt():
    "The check above flags a figure without fig-alt, a fig-alt below the code, bad YAML and a list of the wrong length."
    png = [{'output_type': 'display_data', 'data': {'image/png': 'iVBOR', 'text/plain': '<Figure>'}, 'metadata': {}}]
    def cell(src, outs=png): return {'cell_type': 'code', 'source': src, 'outputs': outs}
    def check(*cells): return figure_alt_problems({'cells': list(cells)})
    assert check(cell('#| slow\n#| fig-alt: "그림 / A plot"\nplt.plot([1])'), cell('#| fig-alt: "x"\nprint(1)', outs=[])) == []
    assert check(cell('print(1)', outs=[]), cell('plt.plot([1])')) == ['cell 1: 1 image(s) and no `#| fig-alt:` line']
    assert check(cell('#| slow\nplt.plot([1])\n#| fig-alt: "too late"')) == ['cell 0: 1 image(s) and no `#| fig-alt:` line']
    assert check(cell('#| fig-alt: ["a", "b"]\nplt.plot([1])')) == ['cell 0: 2 alt texts for 1 images']
    assert check(cell('#| fig-alt: ""\nplt.plot([1])')) == ['cell 0: empty or non-text fig-alt']
    assert check(cell('#| fig-alt: "a "quoted" word"\nplt.plot([1])'))[0].startswith('cell 0: cell options are not valid YAML')

_EXPORTED = re.compile(r'^#\|\s*(export|exports|exporti|exec_doc)\b', re.M)

def mixed_import_cells(nb) -> list:
    """Indices of code cells that import and also run code: nbdev's docs step (nbdev_proc_nbs, before Quarto) executes
    every cell with an import, alone, so such a cell fails there (a NameError) or trains a model in the middle of a docs build."""
    import ast
    bad = []
    for i, c in enumerate(nb['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or _EXPORTED.search(src): continue  # exported cells run there anyway, in order
        try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
        except SyntaxError: continue
        nodes = list(ast.walk(tree))
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes) and any(isinstance(n, (ast.Expr, ast.Assign)) for n in nodes):
            bad.append(i)
    return bad

@pytest.mark.parametrize('nb_path', NOTEBOOKS, ids=lambda p: p.name)
def test_imports_in_their_own_cells(nb_path):
    "No cell mixes imports with other code (the rule nbdev's docs processing relies on; see its FAQ)."
    bad = mixed_import_cells(json.loads(nb_path.read_text(encoding='utf-8')))
    assert not bad, f'{nb_path.name}: cells {bad} import and run code; move the imports into a cell of their own'

def test_mixed_import_check_flags_mixing():
    def nb(*srcs): return {'cells': [{'cell_type': 'code', 'source': s} for s in srcs]}
    assert mixed_import_cells(nb('import math\nfrom x import y', 'x = 1\nprint(x)', '#| export\nimport os\nA = 1')) == []
    assert mixed_import_cells(nb('import math', 'import copy\nm2 = copy.deepcopy(m)', '#| hide\nfrom a import b\nb()')) == [1, 2]

def test_lessons_end_with_exercises():
    "Lessons carry an exercises section with a folded solution cell."
    for name in LESSONS + ['91_common_mistakes']:
        p = NBS / f'{name}.ipynb'
        if not p.exists(): continue
        cells = json.loads(p.read_text(encoding='utf-8'))['cells']
        assert any(c['cell_type'] == 'markdown' and '연습 문제 (Exercises)' in ''.join(c['source']) for c in cells), name
        assert any(c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| code-fold: true\n#| code-summary: "정답 보기 (Show solution)"')
                   for c in cells), name

CHECKER_TEST = re.compile(r'assert (not )?check_\w+\(')

def test_checker_tests_are_hidden():
    "A cell that tests an exercise's checker is hidden: the reader sees the exercise, not the checker's own test."
    bad = [f"{p.name} cell {c.get('id')}" for p in NOTEBOOKS for c in json.loads(p.read_text(encoding='utf-8'))['cells']
           if c['cell_type'] == 'code' and CHECKER_TEST.search(''.join(c['source']))
           and not ''.join(c['source']).startswith('#| hide')]
    assert not bad, f"add #| hide to: {bad}"

# --- running notebooks in a real kernel -------------------------------------------------------------------------

def _digest(folder):
    return hashlib.sha256(b''.join(p.read_bytes() for p in sorted(folder.glob('*.ipynb')))).hexdigest()

def test_run_notebooks_fast():
    "scripts/run_notebooks.py executes notebooks top to bottom in a Jupyter kernel and leaves nbs/ untouched."
    before = _digest(NBS)
    r = run_script('run_notebooks.py', '--fast', '01_models', '03_plots', cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r'^pass\s+01_models\.ipynb', r.stdout, re.M) and re.search(r'^pass\s+03_plots\.ipynb', r.stdout, re.M)
    assert '2/2 notebooks passed' in r.stdout
    assert _digest(NBS) == before, 'run_notebooks.py modified nbs/'

def test_full_size_asserts_run_on_a_schedule():
    "A scheduled hosted workflow re-executes every notebook at full size (no --fast, every notebook), so the `if not fast_mode():` asserts run."
    wf = yaml.safe_load((ROOT/'.github'/'workflows'/'full-run.yaml').read_text(encoding='utf-8'))
    on = wf.get('on', wf.get(True))                  # YAML 1.1 reads the key `on` as True
    assert on['schedule'] and 'workflow_dispatch' in on, on
    runs = [s['run'] for job in wf['jobs'].values() for s in job['steps'] if 'run_notebooks.py' in s.get('run', '')]
    assert len(runs) == 1 and '--fast' not in runs[0] and 'OMP_NUM_THREADS' not in runs[0], runs
    args = runs[0].split('run_notebooks.py', 1)[1].split()
    assert not [a for a in args if not a.startswith('--') and not a.isdigit()], f'every notebook, not a list: {args}'
    assert all(job.get('timeout-minutes', 360) >= 60 for job in wf['jobs'].values())


def test_run_notebooks_reports_failure(tmp_path):
    "A notebook that raises makes the runner fail and name it; --fast reaches the kernel's environment."
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nassert os.environ['IN_TEST'] == '1' and os.environ['OMP_NUM_THREADS'] == '1'\nraise ValueError('boom')")])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    p = tmp_path / 'bad.ipynb'; nbformat.write(nb, p)
    r = run_script('run_notebooks.py', '--fast', p, cwd=ROOT)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r'^FAIL\s+bad\.ipynb.*ValueError: boom', r.stdout, re.M), r.stdout


def test_summary_table_numbers_were_printed():
    "Every measured number in 91's summary table is one its run printed (the table goes stale when a rerun changes them)."
    cells = json.loads((NBS/'91_common_mistakes.ipynb').read_text(encoding='utf-8'))['cells']
    table = next(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown' and '한눈에 보기 (At a glance)' in ''.join(c['source']))
    printed = ' '.join(''.join(o.get('text', '')) for c in cells for o in c.get('outputs', []))
    numbers = set(re.findall(r'\d+\.\d+(?:e-\d+)?', table.replace('−', '-')))
    assert len(numbers) >= 8, numbers
    missing = sorted(n for n in numbers if n not in printed)
    assert not missing, f"in 91's summary table but not in its outputs: {missing}"
