#!/usr/bin/env python
"""Preview the docs site without Quarto: the pages readers will see, in `_render/`, and optionally screenshots of them.

usage: python scripts/render_docs.py [NB ...] [--out _render] [--shots] [--width 968 ...] [--lang both ko en]
                                     [--height 1400] [--pages 1] [--serve [PORT]]

What it does, step by step, as the site build does it:
1. nbdev's own docs processing (`nbdev.serve.proc_nbs`, what `nbdev_preview` / `nbdev_docs` run before Quarto) on a
   temporary copy of settings.ini and nbs/: `#| hide` cells and the source of `#| export` cells go, `#| exports` cells
   become folded "Exported source", show_doc calls become markdown cards. Nothing in the repo is written.
2. Each processed notebook becomes one HTML page shaped like Quarto's: the same file name (`output-file`), title
   block, `<main>`, `div.cell` / `cell-output-*` / `details.code-fold` / `figure` markup and the Quarto cell options
   nbdev leaves (`echo`, `output: asis`, `code-fold`, `code-summary`, `fig-alt`, `fig-cap`, `include`); markdown by a
   CommonMark renderer with pandoc's `$` math rule (math into `span.math` as pandoc writes it). Links to notebooks and
   to the site's own URLs point at the preview pages.
3. The page loads what nbs/_quarto.yml gives the site: its css (styles.css), its include-in-header and
   include-after-body (the language switch, bilingual.js) and its resources; math is typeset by a local MathJax
   (MathJax 2.7 from the `jupyter-server-mathjax` package, a dev dependency: no CDN, works offline; the site's
   Quarto loads MathJax 3, the same TeX input). A small stand-in replaces Quarto's Bootstrap theme and navbar.
With no NB, renders every nbs/*.ipynb. NB may be a notebook path, name or number prefix (`10`, `12_batchnorm`).
Nothing is executed: pages show the committed outputs, as the site does.

--shots: screenshots of each page in headless Chromium (Playwright + the system Chromium: `apt-get install chromium`)
at each --width (default 968, JupyterLab's notebook width) and in each --lang mode, as NAME-WIDTH-LANG.png (first
--pages screens of --height px; --pages 0: the whole page). --serve: serve the preview on http://127.0.0.1:PORT/."""
import argparse, base64, html, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
MODES = ('both', 'ko', 'en')


# --- which notebooks ------------------------------------------------------------------------------------------------

def notebooks(names=()) -> list:
    "Notebook paths in nbs/ for CLI names (path, file name, stem or number prefix); all of them when none."
    every = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
    if not names: return every
    out = []
    for n in names:
        p = Path(n)
        hits = [p.resolve()] if p.suffix == '.ipynb' and p.exists() else \
               [q for q in every if q.stem == p.stem] or [q for q in every if q.stem.split('_')[0] == p.stem]
        if len(hits) != 1: raise SystemExit(f'no single notebook for {n!r} in nbs/ ({len(hits)} found)')
        out.append(hits[0])
    return out


# --- step 1: nbdev's processing -------------------------------------------------------------------------------------

def proc_nbs(dest: Path, nbs=None) -> Path:
    "nbdev's docs processing of a copy of settings.ini + nbs/ (only `nbs` notebooks, default all) in `dest`; the `_proc` folder."
    dest = Path(dest)
    for f in ('settings.ini', '_quarto.yml'): shutil.copy2(ROOT/f, dest/f)   # nbs/_quarto.yml reads ../_quarto.yml
    keep = {p.name for p in (nbs or notebooks())}
    skip = shutil.ignore_patterns('_docs', '.quarto', '.ipynb_checkpoints', 'runs', '_proc')
    shutil.copytree(NBS, dest/'nbs', ignore=lambda d, names: set(skip(d, names)) |
                    {n for n in names if n.endswith('.ipynb') and Path(d) == NBS and n not in keep})
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]),
           'BN_COURSE_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
    r = subprocess.run([sys.executable, '-c', 'from nbdev.serve import proc_nbs; proc_nbs(n_workers=0, force=True)'],
                       cwd=dest, env=env, capture_output=True, text=True, timeout=900)
    if r.returncode: raise RuntimeError(f"nbdev's processing failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return dest/'_proc'


# --- step 2: Quarto-shaped HTML ---------------------------------------------------------------------------------------

def quarto_config(proc: Path) -> dict:
    "The site's settings as Quarto merges them: ../_quarto.yml, then nbs/_quarto.yml's metadata files, then itself."
    proj = yaml.safe_load((proc/'_quarto.yml').read_text(encoding='utf-8'))
    merged = {}
    def merge(a, b):
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict): merge(a[k], v)
            else: a[k] = v
    for f in proj.get('metadata-files', []): merge(merged, yaml.safe_load((proc/f).read_text(encoding='utf-8')) or {})
    merge(merged, proj)
    return merged


def sidebar_order(cfg: dict) -> list:
    "Notebook file names in the sidebar's order."
    out = []
    def walk(items):
        for it in items:
            if isinstance(it, str): out.append(it)
            elif isinstance(it, dict): walk(it.get('contents', []) or ([it['href']] if 'href' in it else []))
    walk(cfg.get('website', {}).get('sidebar', {}).get('contents', []))
    return out


def markdown_renderer():
    "CommonMark + tables + `{...}` attributes (pandoc's link attributes in show_doc cards) + pandoc's `$` math rule."
    from markdown_it import MarkdownIt
    from mdit_py_plugins.attrs import attrs_plugin
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.dollarmath.index import math_inline_dollar
    md = (MarkdownIt('commonmark', {'html': True}).enable(['table', 'strikethrough']).use(attrs_plugin)
          # pandoc: `$` opens math only before a non-space, closes only after one and not before a digit;
          # display math holds no blank line
          .use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True, allow_labels=False,
               allow_blank_lines=False))
    rule = math_inline_dollar(allow_space=False, allow_digits=False, allow_double=True)
    def math_inline(state, silent):
        # the plugin looks at src[pos - 1] for "a digit before `$`", which at pos 0 is the *last* character:
        # `$x$ starts at 0` in a table cell would stay raw. Pad the end while it looks.
        if state.pos: return rule(state, silent)
        src = state.src
        state.src = src + ' '
        try: return rule(state, silent)
        finally: state.src = src
    md.inline.ruler.at('math_inline', math_inline)
    esc = html.escape
    md.add_render_rule('math_inline', lambda self, t, i, o, e: f'<span class="math inline">\\({esc(t[i].content)}\\)</span>')
    md.add_render_rule('math_inline_double', lambda self, t, i, o, e: f'<span class="math display">\\[{esc(t[i].content)}\\]</span>')
    md.add_render_rule('math_block', lambda self, t, i, o, e: f'<p><span class="math display">\\[{esc(t[i].content)}\\]</span></p>\n')
    md.add_render_rule('math_block_label', lambda self, t, i, o, e: f'<p><span class="math display">\\[{esc(t[i].content)}\\]</span></p>\n')
    return md


def slug(text: str, seen: set) -> str:
    "pandoc's auto_identifiers: lower case, letters/digits/_-. kept (Hangul too), spaces to '-', unique."
    s = re.sub(r'[^\w\s.-]', '', re.sub(r'<[^>]+>', '', text)).strip().lower()
    s = re.sub(r'\s+', '-', s).lstrip('0123456789.-_') or 'section'
    base, k = s, 1
    while s in seen: s, k = f'{base}-{k}', k + 1
    seen.add(s)
    return s


OPTION = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:\s*(.*?)\s*$')


def cell_options(source: str):
    "(Quarto options of a code cell's leading `#| key: value` lines, the rest of the source)."
    lines, opts, k = source.splitlines(), {}, 0
    while k < len(lines) and (m := OPTION.match(lines[k])):
        try: opts[m[1]] = yaml.safe_load(m[2]) if m[2] else None
        except yaml.YAMLError: opts[m[1]] = m[2]
        k += 1
    return opts, '\n'.join(lines[k:]).strip('\n')


def text(v) -> str: return ''.join(v) if isinstance(v, list) else (v or '')


class Page:
    "One processed notebook as a Quarto-shaped HTML page."
    def __init__(self, nb: dict, name: str, site):
        self.nb, self.name, self.site = nb, name, site
        self.meta, self.figs, self.ids = {}, 0, set()
        cells = nb['cells']
        if cells and cells[0]['cell_type'] == 'raw' and text(cells[0]['source']).startswith('---'):
            self.meta = yaml.safe_load(text(cells[0]['source']).strip().strip('-')) or {}
            cells = cells[1:]
        self.cells = cells
        self.file = self.meta.get('output-file') or Path(name).with_suffix('.html').name

    def md(self, src: str) -> str:
        out = self.site.md.render(self.site.links(src))
        # headings: pandoc ids + Quarto's anchor class
        def h(m):
            lvl, attrs, inner = m[1], m[2], m[3]
            if 'id=' not in attrs: attrs += f' id="{slug(inner, self.ids)}"'
            return f'<h{lvl}{attrs} class="anchored">{inner}</h{lvl}>'
        return re.sub(r'<h([1-6])([^>]*)>(.*?)</h\1>', h, out, flags=re.S)

    def code_cell(self, i: int, cell: dict) -> str:
        opts, src = cell_options(text(cell['source']))
        if opts.get('include') is False: return ''
        parts = []
        if opts.get('echo') is not False and src:
            wrap = ' code-overflow-wrap' if self.site.fmt.get('code-overflow') == 'wrap' else ''
            code = f'<div class="sourceCode cell-code{wrap}"><pre class="sourceCode python code-with-copy"><code class="sourceCode python">{self.site.highlight(src)}</code></pre></div>'
            fold = opts.get('code-fold', self.site.fmt.get('code-fold'))
            if fold in (True, 'true', 'show'):
                summary = html.escape(str(opts.get('code-summary') or self.site.fmt.get('code-summary') or 'Code'))
                code = f'<details class="code-fold"{" open" if fold == "show" else ""}>\n<summary>{summary}</summary>\n{code}\n</details>'
            parts.append(code)
        if opts.get('output') is not False:
            for o in cell.get('outputs', []): parts.append(self.output(o, opts, i))
        return f'<div id="cell-{i}" class="cell">\n' + '\n'.join(p for p in parts if p) + '\n</div>'

    def output(self, o: dict, opts: dict, i: int) -> str:
        kind = o['output_type']
        if kind == 'stream':
            if o.get('name') == 'stderr' and opts.get('warning') is False: return ''
            return f'<div class="cell-output cell-output-{o.get("name", "stdout")}">\n<pre><code>{html.escape(text(o.get("text")))}</code></pre>\n</div>'
        if kind == 'error':
            return f'<div class="cell-output cell-output-error">\n<pre><code>{html.escape(o.get("ename", "") + ": " + o.get("evalue", ""))}</code></pre>\n</div>'
        data = o.get('data', {})
        if 'text/markdown' in data and opts.get('output') == 'asis': return self.md(text(data['text/markdown']))
        if 'text/html' in data: body = text(data['text/html'])
        elif 'text/markdown' in data: body = self.md(text(data['text/markdown']))
        elif any(k.startswith('image/') for k in data):
            mime = next(k for k in ('image/svg+xml', 'image/png', 'image/jpeg', 'image/gif') if k in data)
            self.figs += 1
            fname = f'{Path(self.file).stem}_files/figure-html/cell-{i}-output-{self.figs}.{mime.split("/")[1].split("+")[0]}'
            dest = self.site.out/fname
            dest.parent.mkdir(parents=True, exist_ok=True)
            raw = text(data[mime])
            if mime == 'image/svg+xml': dest.write_text(raw, encoding='utf-8')
            else: dest.write_bytes(base64.b64decode(raw))
            alt = opts.get('fig-alt') or ''
            cap = f'<figcaption>{self.site.md.renderInline(str(opts["fig-cap"]))}</figcaption>' if opts.get('fig-cap') else ''
            body = (f'<div>\n<figure class="figure">\n<p><img src="{fname}" class="img-fluid figure-img" alt="{html.escape(str(alt), quote=True)}"></p>\n'
                    f'{cap}</figure>\n</div>')
        elif 'text/plain' in data: body = f'<pre><code>{html.escape(text(data["text/plain"]))}</code></pre>'
        else: return ''
        return f'<div class="cell-output cell-output-display">\n{body}\n</div>'

    def body(self) -> str:
        out = []
        for i, c in enumerate(self.cells):
            if c['cell_type'] == 'markdown': out.append(self.md(text(c['source'])))
            elif c['cell_type'] == 'code': out.append(self.code_cell(i, c))
        return '\n'.join(out)

    def title_block(self) -> str:
        t = self.site.md.renderInline(str(self.meta.get('title', Path(self.name).stem)))
        d = self.meta.get('description')
        desc = f'\n<div>\n<div class="description">\n{self.site.md.renderInline(self.site.links(str(d)))}\n</div>\n</div>' if d else ''
        return f'<header id="title-block-header" class="quarto-title-block default">\n<div class="quarto-title">\n<h1 class="title">{t}</h1>\n</div>{desc}\n</header>'


class Site:
    "Every page of one processed folder, rendered into `out` with the site's css, includes and a local MathJax."
    def __init__(self, proc: Path, out: Path):
        self.proc, self.out = Path(proc), Path(out)
        self.cfg = quarto_config(self.proc)
        self.fmt = self.cfg.get('format', {}).get('html', {})
        self.md = markdown_renderer()
        url = self.cfg.get('website', {}).get('site-url', '')
        self.site_url = url.rstrip('/') + '/' if url else None
        self.pages = {}
        for p in sorted(self.proc.glob('*.ipynb')):
            self.pages[p.name] = Page(json.loads(p.read_text(encoding='utf-8')), p.name, self)

    def href(self, target: str) -> str:
        "Where a link to `target` goes on the site: a notebook → its page (`output-file`)."
        if not target.endswith('.ipynb'): return target
        pg = self.pages.get(Path(target).name)
        return pg.file if pg else Path(target).with_suffix('.html').name

    def links(self, src: str) -> str:
        "Links as the site resolves them: `X.ipynb` → its page; the site's own absolute URLs → the local page."
        src = re.sub(r'\]\((?!https?:)([^)#\s]+\.ipynb)(#[^)\s]*)?\)', lambda m: f']({self.href(m[1])}{m[2] or ""})', src)
        if self.site_url: src = src.replace(f']({self.site_url}', '](')
        return src

    def highlight(self, code: str) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
        return highlight(code, PythonLexer(), HtmlFormatter(nowrap=True))

    def assets(self):
        "styles.css, the site's resources (bilingual.js), images, and MathJax under site_libs/mathjax."
        (self.out/'site_libs').mkdir(parents=True, exist_ok=True)
        for f in [self.fmt.get('css')] + list(self.cfg.get('project', {}).get('resources', [])):
            if f: shutil.copy2(self.proc/f, self.out/f)
        if (self.proc/'images').is_dir(): shutil.copytree(self.proc/'images', self.out/'images', dirs_exist_ok=True)
        mj = self.out/'site_libs'/'mathjax'
        if not (mj/'MathJax.js').exists(): shutil.copytree(mathjax_dir(), mj, dirs_exist_ok=True)
        from pygments.formatters import HtmlFormatter
        (self.out/'site_libs'/'preview.css').write_text(PREVIEW_CSS + HtmlFormatter(style='default').get_style_defs('code.sourceCode'),
                                                      encoding='utf-8')

    def include(self, key: str) -> str:
        "An include-in-header / include-after-body value: `text:` items, or files next to _quarto.yml."
        items = self.fmt.get(key) or []
        if not isinstance(items, list): items = [items]
        return '\n'.join(it['text'] if isinstance(it, dict) else (self.proc/it).read_text(encoding='utf-8') for it in items)

    def navbar(self) -> str:
        w = self.cfg.get('website', {})
        links = ''.join(f'<li><a href="{self.href(i["href"])}">{html.escape(i["text"])}</a></li>'
                        for i in w.get('navbar', {}).get('left', []))
        return (f'<header id="quarto-header"><nav class="navbar"><a class="navbar-brand" href="index.html">'
                f'{html.escape(w.get("title", ""))}</a><ul class="navbar-nav">{links}</ul></nav></header>')

    def page_nav(self, name: str) -> str:
        "Quarto's page-navigation: previous / next page in the sidebar's order."
        order = [n for n in sidebar_order(self.cfg) if n in self.pages]
        if name not in order: return ''
        k, out = order.index(name), []
        for j, cls, arrow in ((k - 1, 'nav-page-previous', '←'), (k + 1, 'nav-page-next', '→')):
            if 0 <= j < len(order):
                pg = self.pages[order[j]]
                title = self.md.renderInline(str(pg.meta.get('title', pg.name)))
                out.append(f'<div class="{cls}"><a href="{pg.file}">{arrow} {title}</a></div>')
        return f'<nav class="page-navigation">{"".join(out)}</nav>'

    def render(self, name: str) -> Path:
        pg = self.pages[name]
        body = pg.body()
        lang = self.fmt.get('lang', 'en')
        title = re.sub(r'<[^>]+>', '', self.md.renderInline(str(pg.meta.get('title', name))))
        doc = f"""<!DOCTYPE html>
<html lang="{lang}" xml:lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0, user-scalable=yes">
<title>{html.escape(title)} – {html.escape(self.cfg.get('website', {}).get('title', ''))}</title>
<link rel="stylesheet" href="site_libs/preview.css">
<link rel="stylesheet" href="{self.fmt.get('css', 'styles.css')}">
{self.include('include-in-header')}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({{messageStyle: "none", showMathMenu: false, "fast-preview": {{disabled: true}}, menuSettings: {{assistiveMML: false}},
  "HTML-CSS": {{availableFonts: [], webFont: "STIX-Web", imageFont: null, preferredFont: null}}}});
MathJax.Hub.Register.StartupHook("End", function () {{ document.documentElement.setAttribute("data-mathjax", "done"); }});
</script>
<script src="site_libs/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"></script>
</head>
<body>
{self.navbar()}
<div id="quarto-content" class="page-columns">
<main class="content" id="quarto-document-content">
{pg.title_block()}
{body}
</main>
{self.page_nav(name)}
</div>
{self.include('include-after-body')}
</body>
</html>
"""
        dest = self.out/pg.file
        dest.write_text(doc, encoding='utf-8')
        return dest


def mathjax_dir() -> Path:
    "MathJax 2.7 as the `jupyter-server-mathjax` package ships it (a dev dependency; no CDN needed)."
    try: import jupyter_server_mathjax
    except ImportError: raise SystemExit("no local MathJax: pip install jupyter-server-mathjax (a dev dependency: pip install -e '.[dev]')")
    return Path(jupyter_server_mathjax.__file__).parent/'static'


# Stands in for Quarto's Bootstrap theme (cosmo) and layout: the content column, navbar, code and output boxes.
PREVIEW_CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font-size: 1rem; line-height: 1.5; color: #373a3c; background: #fff;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Noto Sans CJK KR", Arial, sans-serif; }
a { color: #2780e3; text-decoration: underline; }
#quarto-header .navbar { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1.25rem; padding: .5rem 1rem;
                         background: #2780e3; }
#quarto-header a { color: #fdfeff; text-decoration: none; }
.navbar-brand { font-size: 1.25rem; }
.navbar-nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
#quarto-content { max-width: 900px; margin: 0 auto; padding: 0 1rem; }
main.content { margin-top: 1.5rem; }
h1, h2, h3, h4 { font-weight: 500; line-height: 1.2; margin: 1.75rem 0 .75rem; }
h1.title { font-size: 2rem; margin-top: .5rem; }
h2 { font-size: 1.6rem; border-bottom: 1px solid #dee2e6; padding-bottom: .5rem; }
h3 { font-size: 1.3rem; }
.description { margin: .75rem 0 1rem; color: #5a6570; }
p { margin: 0 0 1rem; }
img { max-width: 100%; height: auto; }
figure { margin: 0 0 1rem; text-align: center; }
table { border-collapse: collapse; margin-bottom: 1rem; }
th, td { border-bottom: 1px solid #dee2e6; }
code { font-family: SFMono-Regular, Menlo, Monaco, Consolas, "Liberation Mono", "Courier New", monospace; font-size: .875em;
       color: #9753b8; }
pre code { color: inherit; }
pre { margin: 0 0 1rem; padding: .5rem; overflow: auto; }
div.sourceCode { background: rgba(233, 236, 239, .65); border-radius: .25rem; margin: 0 0 1rem; }
div.sourceCode pre { margin: 0; background: none; }
.code-overflow-wrap pre, .code-overflow-wrap code { white-space: pre-wrap; }
div.cell { margin-bottom: 1rem; }
div.cell-output pre { background: none; padding: .25rem .5rem; }
details.code-fold { margin-bottom: .5rem; }
blockquote { margin: 0 0 1rem; padding: .5rem 1rem; border-left: .25rem solid #e9ecef; color: #6c757d; }
hr { border: 0; border-top: 1px solid #dee2e6; margin: 1rem 0; }
.page-navigation { display: flex; justify-content: space-between; gap: 1rem; margin: 2rem 0; padding-top: 1rem;
                   border-top: 1px solid #dee2e6; }
.nav-page-next { margin-left: auto; text-align: right; }
"""


def render_site(out: Path, nbs=None, proc: Path = None) -> list:
    "Process (unless `proc` is given) and render `nbs` (default: every notebook) into `out`; the HTML files."
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='render-docs-') as tmp:
        proc = Path(proc) if proc else proc_nbs(Path(tmp), nbs)
        site = Site(proc, out)
        site.assets()
        names = [p.name for p in nbs] if nbs else list(site.pages)
        return [site.render(n) for n in names]


# --- screenshots --------------------------------------------------------------------------------------------------------

def chromium_path():
    "The system Chromium (`$BN_COURSE_CHROMIUM`, else the first found on PATH), or None."
    names = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')
    return os.environ.get('BN_COURSE_CHROMIUM') or next((p for n in names if (p := shutil.which(n))), None)


def wait_until_typeset(page, timeout=60_000):
    "The page is drawn: MathJax has typeset every formula (and web fonts are in)."
    page.wait_for_function("document.documentElement.getAttribute('data-mathjax') === 'done'", timeout=timeout)
    page.evaluate('document.fonts.ready.then(() => true)')


def screenshots(pages, widths=(968,), langs=MODES, height=1400, n_pages=1) -> list:
    "NAME-WIDTH-LANG.png (+ -2, -3 … per further screen) next to each page; one browser for all."
    from playwright.sync_api import sync_playwright
    from PIL import Image
    exe = chromium_path()
    if not exe: raise SystemExit('no system Chromium: apt-get install -y chromium (or leave out --shots)')
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=['--no-sandbox', '--disable-gpu'])
        for w in widths:
            ctx = browser.new_context(viewport={'width': w, 'height': height}, device_scale_factor=1)
            page = ctx.new_page()
            for html_file in pages:
                for lang in langs:
                    page.goto(f'{Path(html_file).resolve().as_uri()}?lang={lang}')
                    wait_until_typeset(page)
                    png = Path(html_file).with_name(f'{Path(html_file).stem}-{w}-{lang}.png')
                    for old in png.parent.glob(png.stem + '-*.png'): old.unlink()
                    total = page.evaluate('document.documentElement.scrollHeight')
                    tall = total if n_pages == 0 else min(total, n_pages * height)
                    page.screenshot(path=str(png), full_page=True, clip={'x': 0, 'y': 0, 'width': w, 'height': tall})
                    im = Image.open(png)
                    for k, top in enumerate(range(0, im.height, height)):
                        tile = im.crop((0, top, im.width, min(top + height, im.height)))
                        out = png if k == 0 else png.with_name(f'{png.stem}-{k + 1}.png')
                        tile.save(out); shots.append(out)
            ctx.close()
        browser.close()
    return shots


def serve(out: Path, port: int):
    import functools, http.server
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer(('127.0.0.1', port), handler) as httpd:
        print(f'serving {out} on http://127.0.0.1:{port}/index.html (Ctrl-C stops)')
        try: httpd.serve_forever()
        except KeyboardInterrupt: pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[4:]))
    ap.add_argument('nbs', nargs='*', help='notebooks (default: every nbs/*.ipynb)')
    ap.add_argument('--out', default=str(ROOT/'_render'))
    ap.add_argument('--shots', action='store_true', help='screenshots in headless Chromium')
    ap.add_argument('--width', type=int, action='append', help='viewport width for --shots (repeatable; default 968)')
    ap.add_argument('--lang', nargs='+', choices=MODES, default=list(MODES), help='language modes for --shots')
    ap.add_argument('--height', type=int, default=1400, help='screen height for --shots')
    ap.add_argument('--pages', type=int, default=1, help='screens kept per shot (0: the whole page)')
    ap.add_argument('--serve', type=int, nargs='?', const=8000, metavar='PORT', help='then serve the preview over http')
    a = ap.parse_args(argv)
    nbs = notebooks(a.nbs) if a.nbs else None
    t = time.time()
    pages = render_site(Path(a.out), nbs)
    for p in pages: print(f'ok   {p}')
    print(f'{len(pages)} page(s) in {time.time() - t:.1f}s; open {Path(a.out).resolve()/"index.html"} '
          '(or --serve; the language choice is kept per origin)')
    if a.shots:
        for s in screenshots(pages, a.width or [968], a.lang, a.height, a.pages): print(f'shot {s}')
    if a.serve is not None: serve(Path(a.out), a.serve)
    return 0


if __name__ == '__main__':
    sys.exit(main())
