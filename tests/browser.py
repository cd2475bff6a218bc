"""A real browser for the tests that check what readers see: Playwright driving the system's Chromium (never a downloaded one).

Where Playwright or Chromium is missing the browser tests skip, saying why; in CI (`CI` set) they fail instead, since
.ci/run installs Chromium (Debian's `chromium`) and must never pass without them."""
import os, shutil
import pytest

CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')


def chromium_path():
    "The system Chromium (`$BN_COURSE_CHROMIUM`, else the first of CHROMIUM_NAMES on PATH), or None."
    return os.environ.get('BN_COURSE_CHROMIUM') or next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)


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
