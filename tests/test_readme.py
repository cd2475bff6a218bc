"The README is generated from nbs/index.ipynb and shows exactly the commands CI runs."
import re

from conftest import ROOT, run_script

README = (ROOT/'README.md').read_text(encoding='utf-8')
CI = (ROOT/'.ci'/'run').read_text()


def sh_blocks(text): return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_readme_matches_index():
    r = run_script('make_readme.py', '--check')
    assert r.returncode == 0, r.stderr


def test_three_commands():
    blocks = sh_blocks(README)
    install, run, test, lab = 'pip install -e ".[dev]"', 'bn-course compare', 'OMP_NUM_THREADS=1 nbdev_test && pytest', 'jupyter lab nbs/'
    for cmd in (install, run, test, lab): assert cmd in blocks, f"README lacks {cmd!r} as a shell block"
    # CI installs and tests with the very same commands
    assert f"\n{install}\n" in CI
    assert f"\n{test} || exit 1\n" in CI


def test_readme_links_exist():
    for target in re.findall(r"\]\((nbs/[^)]+\.ipynb)\)", README):
        assert (ROOT/target).exists(), target


def test_start_here():
    """The README guides a student before anything else: who it is for, the Python and PyTorch versions settings.ini
    requires, the hardware, the order, the glossary and the common-mistakes page; the syllabus asks, results come after."""
    import configparser
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini', encoding='utf-8')
    py, torch = cfg['DEFAULT']['min_python'], re.search(r'torch>=([\d.]+)', cfg['DEFAULT']['requirements'])[1]
    start = README.split('## 시작하기 (Start here)', 1)[1].split('\n## ', 1)[0]
    assert f'파이썬 {py} 이상' in start and f'Python {py} or later' in start
    assert f'PyTorch {torch} 이상' in start and f'PyTorch {torch} or later' in start
    assert '2코어 CPU' in start and 'GPU는 필요 없습니다' in start and 'no GPU is needed' in start
    for target in ('nbs/05_lab_bn_vs_plain.ipynb', 'nbs/90_glossary.ipynb', 'nbs/91_common_mistakes.ipynb'): assert f']({target})' in start
    heads = [h for h in re.findall(r'^## (.+)$', README, re.M)]
    assert heads.index('시작하기 (Start here)') < heads.index('강의 구성 (Syllabus)') < heads.index('결과 미리 보기 (Results at a glance)')
    syllabus = README.split('## 강의 구성 (Syllabus)', 1)[1].split('\n## ', 1)[0]
    assert not re.search(r'Δ|CI \[|\[[+−-]\d', syllabus), 'the syllabus gives results before the lesson is read'


def test_contributor_note_is_linked():
    assert '](CONTRIBUTING.md)' in README and (ROOT/'CONTRIBUTING.md').is_file()
    note = (ROOT/'CONTRIBUTING.md').read_text(encoding='utf-8')
    for topic in ('IN_TEST', 'run_notebooks.py --fast', 'run_notebooks.py --write', 'allowed_cell_metadata_keys',
                  '## Term rules (용어 규칙)', '#| exports', 'not tried yet', 'course_path.py --write'):
        assert topic in note, topic
