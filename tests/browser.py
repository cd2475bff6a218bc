"""A real browser for the tests that check what readers see: Playwright driving the system's Chromium (never a downloaded one).

Where Playwright or Chromium is missing the browser tests skip, saying why; in CI (`CI` set) they fail instead, since
.ci/run installs Chromium (Debian's `chromium`) and must never pass without them."""
import os
import pytest

from conftest import load_script

# The system Chromium (`$BN_COURSE_CHROMIUM`, else chromium / chromium-browser / google-chrome on PATH), or None:
# the same one scripts/render_docs.py takes its screenshots with.
chromium_path = load_script('render_docs').chromium_path


def _missing(why: str):
    if os.environ.get('CI', '').lower() not in ('', '0', 'false'):
        pytest.fail(f"{why}; CI must run the browser tests (.ci/run installs Chromium)")
    pytest.skip(why)


@pytest.fixture(scope='module')
def browser():
    "A headless Chromium, one per test module (its pages and contexts are the tests' to open and close)."
    try: from playwright.sync_api import sync_playwright
    except ImportError: _missing('Playwright for Python is not installed (pip install playwright)')
    exe = chromium_path()
    if not exe: _missing("no system Chromium: `apt-get install chromium` (Playwright's own browser download is not used)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=['--no-sandbox', '--disable-gpu'])
        try: yield b
        finally: b.close()
