"""The README's `jupyter lab nbs/` really serves the course, and the notebooks run there as a student runs them:
JupyterLab headless, then a real browser (Playwright driving the system Chromium) opens the lab notebook and a lesson,
runs all cells and reads the page: no error outputs, no literal `**` or `$` left in rendered markdown."""
import contextlib, json, os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from browser import browser  # noqa: F401  (fixture)

IN_BROWSER = ['05_lab_bn_vs_plain.ipynb', '12_batchnorm.ipynb']  # the lab and one lesson


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
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
        assert proc.poll() is None, proc.stdout.read()
        yield url
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()


def test_jupyter_lab_serves_the_notebooks(tmp_path):
    with jupyter_lab(ROOT/'nbs', tmp_path) as url:
        contents = json.load(urllib.request.urlopen(f'{url}/api/contents', timeout=5))
        names = {c['name'] for c in contents['content']}
        assert {'index.ipynb', '05_lab_bn_vs_plain.ipynb'} <= names
        assert 'JupyterLab' in urllib.request.urlopen(f'{url}/lab', timeout=5).read().decode()
        kernels = json.load(urllib.request.urlopen(f'{url}/api/kernelspecs', timeout=5))
        assert 'python3' in kernels['kernelspecs']


KERNEL_READY = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle' && !document.querySelector('.jp-Dialog');
}"""

READ_PAGE = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const code = cells.filter(c => c.classList.contains('jp-CodeCell'));
  const prompts = code.map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '');
  // an error output renders on the stderr channel (a printed "ValueError: ..." line in stdout is not one)
  const errors = [...document.querySelectorAll('.jp-OutputArea-output')]
      .filter(o => o.dataset.mimeType === 'application/vnd.jupyter.stderr' || /Traceback \\(most recent call last\\)/.test(o.innerText))
      .map(o => o.innerText).filter(t => /Traceback \\(most recent call last\\)|\\w+(Error|Exception)\\b/.test(t));
  const md = [...document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')].map(m => {
      const c = m.cloneNode(true);
      c.querySelectorAll('code, pre, mjx-container, .MathJax, .katex, script').forEach(e => e.remove());
      return c.innerText; });
  return {n_code: code.length, prompts, errors, md};
}"""


def run_all_in_lab(browser, tmp_path, name, planted: dict | None = None) -> dict:
    "Open `name` in JupyterLab (on a copy of nbs/, plus `planted` notebooks), Run All Cells, and read the page."
    root = tmp_path/'nbs'
    shutil.copytree(ROOT/'nbs', root, ignore=shutil.ignore_patterns('_docs', '.quarto', '.ipynb_checkpoints'))  # never save into nbs/
    for fname, nb in (planted or {}).items(): (root/fname).write_text(json.dumps(nb))
    env = {'IN_TEST': '1', 'OMP_NUM_THREADS': '1', 'BN_COURSE_OFFLINE': '1', 'PYTHONPATH': str(ROOT)}
    with jupyter_lab(root, tmp_path, env) as url:
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.goto(f'{url}/lab/tree/{name}')
        page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
        page.set_default_timeout(60_000)  # no browser call may hang the test
        # the notebook's own kernel connected and idle: running before that makes JupyterLab ask "Select Kernel"
        # and run nothing (what timed out in CI)
        page.wait_for_function(KERNEL_READY, timeout=120_000)
        # Run ▸ Run All Cells; the command's promise settles only when every cell has run, so it is not awaited here
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
        # done when the kernel is idle again with nothing queued ([*]); a cell that raises stops the run early,
        # which the checks then report, instead of waiting for cells that will never run
        state = "() => ({busy: !!document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"busy\"]'), " \
                "queued: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].some(e => e.textContent.includes('*')), " \
                "ran: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].some(e => /\\d/.test(e.textContent))})"
        deadline, quiet = time.time() + 280, 0
        while time.time() < deadline and quiet < 3:
            st = page.evaluate(state)
            quiet = quiet + 1 if st['ran'] and not st['busy'] and not st['queued'] else 0
            time.sleep(1)
        assert quiet >= 3, f"{name}: still running after 280 s"
        return page.evaluate(READ_PAGE)


def problems(seen: dict) -> list:
    "What a student would see go wrong: error outputs, cells that did not run, literal ** or $ in rendered markdown."
    out = [f"error output: {e[:600]}" for e in seen['errors']]
    out += [f"{n} code cells did not run" for n in [sum(not any(ch.isdigit() for ch in p) for p in seen['prompts'])] if n]
    out += [f"literal ** or $ in rendered markdown: {t[:120]}" for t in seen['md'] if '**' in t or '$' in t]
    return out


@pytest.mark.parametrize('name', IN_BROWSER)
def test_notebook_runs_in_jupyterlab(browser, tmp_path, name):
    "Open the notebook in JupyterLab, Run All Cells (fast configuration), then read the page as a student sees it."
    seen = run_all_in_lab(browser, tmp_path, name)
    assert seen['n_code'] > 5
    bad = problems(seen)
    assert not bad, f"{name}:\n" + '\n'.join(bad)


def test_browser_check_catches_planted_problems(browser, tmp_path):
    "The same check on a planted notebook: a raising cell and a bold span next to Hangul are caught; a printed 'ValueError:' is not."
    cell = lambda kind, src: {'cell_type': kind, 'metadata': {}, 'source': src,
                              **({'outputs': [], 'execution_count': None} if kind == 'code' else {})}
    nb = {'nbformat': 4, 'nbformat_minor': 5, 'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}},
          'cells': [cell('markdown', '**배치 정규화(BN)**은 좋다'), cell('code', 'print("ValueError: printed, not raised")'),
                    cell('code', '1 / 0'), cell('code', 'print("never runs")')]}
    bad = problems(run_all_in_lab(browser, tmp_path, '_planted.ipynb', {'_planted.ipynb': nb}))
    assert any('ZeroDivisionError' in b for b in bad), bad
    assert not any('printed, not raised' in b for b in bad), bad
    assert any('did not run' in b for b in bad) and any('literal **' in b for b in bad), bad
