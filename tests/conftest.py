import importlib.util, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope='session', autouse=True)
def offline_single_thread():
    "Tests never download, and child processes use one torch thread each."
    os.environ['BN_COURSE_OFFLINE'] = '1'
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ['MPLBACKEND'] = 'Agg'


def bn_course_cmd():
    "The installed `bn-course` console script (what a user runs)."
    exe = shutil.which('bn-course', path=str(BIN)) or shutil.which('bn-course')
    assert exe, "bn-course is not installed: run pip install -e '.[dev]'"
    return exe


def run_script(name: str, *args, timeout=300, **kw):
    "Run scripts/NAME with this Python, output captured as text."
    return subprocess.run([sys.executable, str(ROOT/'scripts'/name), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def run_cli(*args, cwd=None, env=None, timeout=300):
    return subprocess.run([bn_course_cmd(), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


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
