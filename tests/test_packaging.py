"Packaging as nbdev projects do it: runtime requirements are what the library imports; the rest is for developers."
import ast, configparser, re, subprocess, sys

from conftest import ROOT

CFG = configparser.ConfigParser(delimiters=['=']); CFG.read(ROOT/'settings.ini', encoding='utf-8')
SETTINGS = CFG['DEFAULT']
# import name → distribution name, for the third-party packages the library may import
DIST = {'torch': 'torch', 'torchvision': 'torchvision', 'numpy': 'numpy', 'scipy': 'scipy', 'matplotlib': 'matplotlib',
        'sklearn': 'scikit-learn', 'mlxtend': 'mlxtend', 'tqdm': 'tqdm', 'IPython': 'ipython'}


def names(key): return {re.split(r'[<>=!~ ]', r)[0].lower() for r in SETTINGS.get(key, '').split()}


def library_imports() -> set:
    "Top-level modules that bn_course/*.py import (outside the standard library and bn_course itself)."
    found = set()
    for p in (ROOT/'bn_course').glob('*.py'):
        for node in ast.walk(ast.parse(p.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import): found |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module: found.add(node.module.split('.')[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ('bn_course', '__future__')}


def test_requirements_are_the_library_imports():
    imports = library_imports()
    unknown = imports - DIST.keys()
    assert not unknown, f"add these to DIST and settings.ini requirements: {unknown}"
    # IPython is only imported inside a notebook kernel (the fallback note), where it is always present
    assert {DIST[m] for m in imports} - {'ipython'} == names('requirements'), (imports, names('requirements'))
    # pytest-xdist: pytest.ini's addopts (-n) need it
    for dev in ('nbdev', 'execnb', 'fastcore', 'pytest', 'pytest-xdist'): assert dev in names('dev_requirements') and dev not in names('requirements')


def test_manifest_names_existing_files():
    for line in (ROOT/'MANIFEST.in').read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == 'include':
            for f in parts[1:]: assert (ROOT/f).exists(), f"MANIFEST.in includes {f}, which does not exist"


def test_build_system_and_classifiers():
    assert 'setuptools.build_meta' in (ROOT/'pyproject.toml').read_text()
    meta = subprocess.run([sys.executable, 'setup.py', '--classifiers'], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    status = int(SETTINGS['status'])
    assert f"Development Status :: {status} - " in meta, meta
    assert f"Intended Audience :: {SETTINGS['audience'].title()}" in meta
    for extra in SETTINGS['extra_classifiers'].splitlines():
        if extra.strip(): assert extra.strip() in meta
    assert f"Programming Language :: Python :: {SETTINGS['min_python']}" in meta
