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
