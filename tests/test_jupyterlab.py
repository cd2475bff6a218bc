"""The README's `jupyter lab nbs/` really serves the course, and the notebooks work there as a student uses them:
one headless JupyterLab (on a copy of nbs/) for the module, and a real browser (Playwright driving the system Chromium):
- the lab notebook (the README's main path) is opened, Run All Cells (fast configuration), and its page read: no error
  outputs, every cell ran, no literal `**` or `$` left in the rendered markdown;
- lessons are opened and read as committed (nbdev_test already runs every notebook in a kernel; what only JupyterLab
  shows is how its markdown renderer and MathJax draw the prose): no error outputs, no literal `**` or `$`;
- the same check on a planted notebook catches a raising cell, the cells it stopped and a `**` that does not close."""
import contextlib, json, os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from browser import browser  # noqa: F401  (fixture)

RUN_ALL = '05_lab_bn_vs_plain.ipynb'                       # the README's main path: run as a student runs it
READ = ['10_gradients.ipynb', '12_batchnorm.ipynb']     # the lessons with the most math: read as committed
PLANTED = '_planted.ipynb'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, tmp_path: Path, env: dict | None = None):
    "A headless JupyterLab serving `root` without a token; yields its base URL."
    port = free_port()
    cmd = [str(Path(sys.executable).parent/'jupyter'), 'lab', str(root), '--no-browser', f'--port={port}', '--ip=127.0.0.1',
           '--IdentityProvider.token=', '--ServerApp.password=', f'--ServerApp.runtime_dir={tmp_path}',
           f'--LabApp.workspaces_dir={tmp_path}/workspaces', '--expose-app-in-browser']   # a fresh workspace; app for commands
    if os.geteuid() == 0: cmd.append('--allow-root')  # as the README says for root
    settings = tmp_path/'settings'/'@jupyterlab'/'notebook-extension'
    settings.mkdir(parents=True)
    # render every cell, not only those on screen, so the whole page can be read
    (settings/'tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))
    log = open(tmp_path/'jupyterlab.log', 'w')   # a file, not a pipe nobody reads (a full pipe would stall the server)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'JUPYTER_RUNTIME_DIR': str(tmp_path), 'JUPYTERLAB_SETTINGS_DIR': str(tmp_path/'settings'),
                                 **(env or {})})
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            try: urllib.request.urlopen(f'{url}/api/contents', timeout=2); break
            except OSError:
                if proc.poll() is not None: break
                time.sleep(0.5)
        else: pytest.fail('JupyterLab did not answer')
        assert proc.poll() is None, (tmp_path/'jupyterlab.log').read_text()
        yield url
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()


PLANTED_NB = {'nbformat': 4, 'nbformat_minor': 5,
              'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}},
              'cells': [{'cell_type': kind, 'metadata': {}, 'source': src,
                         **({'outputs': [], 'execution_count': None} if kind == 'code' else {})}
                        for kind, src in [('markdown', '**배치 정규화(BN)**은 좋다'), ('code', 'print("ValueError: printed, not raised")'),
                                          ('code', '1 / 0'), ('code', 'print("never runs")')]]}


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "One JupyterLab for the module, serving a copy of nbs/ (nothing is saved into nbs/) plus the planted notebook."
    tmp = tmp_path_factory.mktemp('lab')
    root = tmp/'nbs'
    shutil.copytree(ROOT/'nbs', root, ignore=shutil.ignore_patterns('_docs', '.quarto', '.ipynb_checkpoints'))
    (root/PLANTED).write_text(json.dumps(PLANTED_NB))
    env = {'IN_TEST': '1', 'OMP_NUM_THREADS': '1', 'BN_COURSE_OFFLINE': '1', 'PYTHONPATH': str(ROOT)}
    with jupyter_lab(root, tmp, env) as url: yield url


def test_jupyter_lab_serves_the_notebooks(lab):
    contents = json.load(urllib.request.urlopen(f'{lab}/api/contents', timeout=5))
    names = {c['name'] for c in contents['content']}
    assert {p.name for p in (ROOT/'nbs').glob('*.ipynb')} <= names and 'index.ipynb' in names
    assert 'JupyterLab' in urllib.request.urlopen(f'{lab}/lab', timeout=5).read().decode()
    kernels = json.load(urllib.request.urlopen(f'{lab}/api/kernelspecs', timeout=5))
    assert 'python3' in kernels['kernelspecs']


KERNEL_READY = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle' && !document.querySelector('.jp-Dialog');
}"""

READ_PAGE = """() => {
  const w = window.jupyterapp.shell.currentWidget, root = w.node;   // the open notebook only (other tabs stay in the DOM)
  // execution counts from the cell models: a solution cell whose input is collapsed shows no prompt, yet it runs
  const counts = w.content.widgets.filter(c => c.model.type === 'code').map(c => c.model.executionCount);
  // an error output renders on the stderr channel (a printed "ValueError: ..." line in stdout is not one)
  const errors = [...root.querySelectorAll('.jp-OutputArea-output')]
      .filter(o => o.dataset.mimeType === 'application/vnd.jupyter.stderr' || /Traceback \\(most recent call last\\)/.test(o.innerText))
      .map(o => o.innerText).filter(t => /Traceback \\(most recent call last\\)|\\w+(Error|Exception)\\b/.test(t));
  const md = [...root.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')].map(m => {
      const c = m.cloneNode(true);
      c.querySelectorAll('code, pre, mjx-container, .MathJax, .katex, script').forEach(e => e.remove());
      return c.innerText; });
  return {n_code: counts.length, counts, errors, md};
}"""


# open, with all its `n` cells made and drawn (JupyterLab adds them a few at a time)
OPENED = """([name, n]) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!w && !!w.context && w.context.path.endsWith(name) && !!w.content && w.content.widgets.length === n &&
         w.node.querySelectorAll('.jp-Notebook .jp-Cell').length === n; }"""


def n_cells(name: str) -> int: return len(json.loads((ROOT/'nbs'/name).read_text(encoding='utf-8'))['cells'])


def open_in_lab(browser, url: str, name: str, n_cells: int, kernel=True):
    "A page with notebook `name` open in JupyterLab (a fresh workspace: no tab of an earlier test) and, with `kernel`, its kernel idle."
    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
    page.set_default_timeout(60_000)  # no browser call may hang the test
    page.goto(f'{url}/lab/workspaces/{Path(name).stem.strip("_")}/tree/{name}?reset')
    page.wait_for_function(OPENED, arg=[name, n_cells], timeout=60_000)
    if not kernel: return page
    # the notebook's own kernel connected and idle: running before that makes JupyterLab ask "Select Kernel"
    # and run nothing (what timed out in CI)
    page.wait_for_function(KERNEL_READY, timeout=120_000)
    return page


def run_all(page, name: str) -> dict:
    "Run ▸ Run All Cells, wait until the kernel is idle with nothing queued, and read the page."
    # the command's promise settles only when every cell has run, so it is not awaited here
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
    # done when the kernel is idle again with nothing queued ([*]); a cell that raises stops the run early,
    # which the checks then report, instead of waiting for cells that will never run
    state = "() => { const w = window.jupyterapp.shell.currentWidget; return {" \
            "busy: w.sessionContext.session.kernel.status !== 'idle', " \
            "queued: [...w.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].some(e => e.textContent.includes('*')), " \
            "ran: w.content.widgets.some(c => c.model.type === 'code' && c.model.executionCount !== null)}; }"
    deadline, quiet = time.time() + 280, 0
    while time.time() < deadline and quiet < 3:
        st = page.evaluate(state)
        quiet = quiet + 1 if st['ran'] and not st['busy'] and not st['queued'] else 0
        time.sleep(1)
    assert quiet >= 3, f"{name}: still running after 280 s"
    return page.evaluate(READ_PAGE)


def read_rendered(page, settle=20) -> dict:
    "The page as committed, once JupyterLab's MathJax has drawn the math (or `settle` s have passed)."
    deadline = time.time() + settle
    while True:
        seen = page.evaluate(READ_PAGE)
        if time.time() > deadline or not any('$' in t for t in seen['md']): return seen
        time.sleep(0.5)


def problems(seen: dict, ran=True) -> list:
    "What a student would see go wrong: error outputs, cells that did not run, literal ** or $ in rendered markdown."
    out = [f"error output: {e[:600]}" for e in seen['errors']]
    if ran: out += [f"{n} code cells did not run" for n in [sum(c is None for c in seen['counts'])] if n]
    out += [f"literal ** or $ in rendered markdown: {t[:120]}" for t in seen['md'] if '**' in t or '$' in t]
    return out


def test_lab_notebook_runs_in_jupyterlab(browser, lab):
    "Open the lab notebook in JupyterLab, Run All Cells (fast configuration), then read the page as a student sees it."
    page = open_in_lab(browser, lab, RUN_ALL, n_cells(RUN_ALL))
    try: seen = run_all(page, RUN_ALL)
    finally: page.close()
    assert seen['n_code'] > 5
    bad = problems(seen)
    assert not bad, f"{RUN_ALL}:\n" + '\n'.join(bad)


@pytest.mark.parametrize('name', READ)
def test_lesson_reads_clean_in_jupyterlab(browser, lab, name):
    "Open a lesson as committed: JupyterLab's markdown renderer and MathJax leave no literal ** or $, no error output shows."
    page = open_in_lab(browser, lab, name, n_cells(name), kernel=False)
    try: seen = read_rendered(page)
    finally: page.close()
    assert seen['n_code'] > 5 and len(seen['md']) > 10
    bad = problems(seen, ran=False)
    assert not bad, f"{name}:\n" + '\n'.join(bad)


def test_browser_check_catches_planted_problems(browser, lab):
    "The same check on a planted notebook: a raising cell and a bold span next to Hangul are caught; a printed 'ValueError:' is not."
    page = open_in_lab(browser, lab, PLANTED, len(PLANTED_NB['cells']))
    try:
        as_committed = problems(read_rendered(page, settle=2), ran=False)   # before running: the lessons' check
        bad = problems(run_all(page, PLANTED))
    finally: page.close()
    assert [b[:40] for b in as_committed] == ['literal ** or $ in rendered markdown: **'], as_committed
    assert any('ZeroDivisionError' in b for b in bad), bad
    assert not any('printed, not raised' in b for b in bad), bad
    assert any('did not run' in b for b in bad) and any('literal **' in b for b in bad), bad
