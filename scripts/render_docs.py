#!/usr/bin/env python
"""Render notebooks to HTML (`jupyter nbconvert --to html`) into `_render/` and take a headless Chromium screenshot
of each page, so a person can LOOK at what readers see (plots, logs, math) without Quarto.

usage: python scripts/render_docs.py [NB ...] [--out _render] [--height 2400] [--pages N] [--no-shots]
--pages N shoots a window N times as tall and cuts it into N pages NAME.png, NAME-2.png, ... (blank tails dropped),
so whole notebooks can be looked at page by page.
With no NB, renders every nbs/*.ipynb. Stored outputs are rendered as committed; nothing is executed.
Needs /usr/bin/chromium (Debian: `apt-get install -y chromium`) for the screenshots."""
import argparse, shutil, subprocess, sys, tempfile, time
from pathlib import Path

from run_notebooks import resolve  # the same names and paths as the runner (this folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--hide-scrollbars', '--font-render-hinting=none']

def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        p = shutil.which(name)
        if p: return p
    return None

def to_html(nb: Path, out: Path) -> Path:
    "Convert one notebook to a standalone HTML page (MathJax is loaded from the CDN when online)."
    subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'html', '--log-level', 'WARN',
                    '--output-dir', str(out), str(nb)], check=True)
    return out / (nb.stem + '.html')

def screenshot(chrome: str, html: Path, png: Path, width=1280, height=2400, timeout=120):
    "One screenshot of the top `height` px of the page; a fresh profile dir each time keeps runs independent."
    with tempfile.TemporaryDirectory(prefix='render-chrome-') as prof:
        cmd = [chrome, *CHROME_FLAGS, f'--user-data-dir={prof}', f'--window-size={width},{height}',
               f'--screenshot={png}', '--virtual-time-budget=5000', html.resolve().as_uri()]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    return png

def split_pages(png: Path, height: int):
    "Cut a tall screenshot into pages of `height` px; drop pages that are blank (past the end of the document)."
    from PIL import Image, ImageChops
    im = Image.open(png).convert('RGB')
    pages = []
    for i, top in enumerate(range(0, im.height, height)):
        tile = im.crop((0, top, im.width, min(top + height, im.height)))
        if ImageChops.difference(tile, Image.new('RGB', tile.size, tile.getpixel((0, 0)))).getbbox() is None: break
        out = png if i == 0 else png.with_name(f'{png.stem}-{i + 1}.png')
        tile.save(out); pages.append(out)
    return pages

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nbs', nargs='*', help='notebooks (default: every nbs/*.ipynb)')
    ap.add_argument('--out', default=str(ROOT / '_render'))
    ap.add_argument('--height', type=int, default=2400)
    ap.add_argument('--pages', type=int, default=1, help='shoot N window heights and split into N pages')
    ap.add_argument('--no-shots', action='store_true', help='HTML only')
    a = ap.parse_args(argv)
    paths = resolve(a.nbs)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    chrome = None if a.no_shots else find_chromium()
    if not a.no_shots and chrome is None:
        print('no chromium found: install it (apt-get install -y chromium) or pass --no-shots', file=sys.stderr)
    bad = 0
    for nb in paths:
        t = time.time()
        try:
            html = to_html(nb, out)
            for old in out.glob(nb.stem + '-*.png'): old.unlink()
            shot = screenshot(chrome, html, out / (nb.stem + '.png'), height=a.height * a.pages) if chrome else None
            if shot and a.pages > 1: shot = split_pages(shot, a.height)[-1]
            print(f'ok   {nb.name:<28} {time.time() - t:5.1f}s  {html.relative_to(out.parent) if out.is_relative_to(ROOT) else html}'
                  + (f'  ..{shot.name}' if shot else ''))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            bad += 1
            print(f'FAIL {nb.name:<28} {time.time() - t:5.1f}s  {e}')
    return 1 if bad else 0

if __name__ == '__main__':
    sys.exit(main())
