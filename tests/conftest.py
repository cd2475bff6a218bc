import importlib.util, os, shutil, signal, subprocess, sys
from pathlib import Path
from types import SimpleNamespace
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope='session', autouse=True)
def offline_single_thread():
    "Tests never download, and every process (this one and its children) uses one torch thread."
    os.environ['BN_COURSE_OFFLINE'] = '1'
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ['MPLBACKEND'] = 'Agg'
    if 'torch' in sys.modules: sys.modules['torch'].set_num_threads(1)   # imported by a test module: this process too


def bn_course_cmd():
    "The installed `bn-course` console script (what a user runs)."
    exe = shutil.which('bn-course', path=str(BIN)) or shutil.which('bn-course')
    assert exe, "bn-course is not installed: run pip install -e '.[dev]'"
    return exe


def run_script(name: str, *args, timeout=300, **kw):
    "Run scripts/NAME with this Python, output captured as text."
    return subprocess.run([sys.executable, str(ROOT/'scripts'/name), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def default_sigint():
    "For a child's preexec_fn: SIGINT at its default, whatever the test runner inherited (a background job of a "
    "non-interactive shell starts with SIGINT ignored, and then Python installs no KeyboardInterrupt handler)."
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args, cwd=None, env=None, timeout=300):
    "`bn-course ARGS` as a separate process, as a user runs it: for exit codes, signals, pipes and the entry point."
    return subprocess.run([bn_course_cmd(), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.fixture
def cli(capsys):
    "`bn-course ARGS` in this process (`bn_course.cli.main`): the same code without a second of interpreter start-up; "
    "returns `returncode` (argparse's exit 2 included), `stdout` and `stderr` like `run_cli`."
    from bn_course.cli import main
    def run(*args):
        capsys.readouterr()
        try: rc = main([str(a) for a in args])
        except SystemExit as e: rc = e.code
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)
    return run


def load_script(name: str):
    "Import scripts/NAME.py as a module (scripts/ is not a package)."
    spec = importlib.util.spec_from_file_location(name, ROOT/'scripts'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='session')
def docs_proc(tmp_path_factory):
    """nbdev's docs processing (what `nbdev_preview` / `nbdev_docs` hand to Quarto) of a copy of settings.ini and nbs/,
    once per session, shared by the docs tests: the processed folder (`_proc`). Nothing in the repo is written."""
    return load_script('render_docs').proc_nbs(tmp_path_factory.mktemp('docs_proc'))
