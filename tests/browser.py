"A real browser for the tests that check what readers see: Playwright driving the system's Chromium (never a downloaded one)."
import os, shutil
import pytest

CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')


def chromium_path():
    "The system Chromium (`$BN_COURSE_CHROMIUM`, else the first of CHROMIUM_NAMES on PATH), or None."
    return os.environ.get('BN_COURSE_CHROMIUM') or next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)


@pytest.fixture
def browser():
    "A headless Chromium page factory; the test is skipped, saying why, where Playwright or Chromium is missing."
    sync = pytest.importorskip('playwright.sync_api', reason='Playwright for Python is not installed (pip install playwright)')
    exe = chromium_path()
    if not exe: pytest.skip("no system Chromium: `apt-get install chromium` (Playwright's own browser download is not used)")
    with sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=['--no-sandbox', '--disable-gpu'])
        try: yield b
        finally: b.close()
