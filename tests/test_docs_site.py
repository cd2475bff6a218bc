"""The docs site as readers see it, in a real browser (Playwright + the system Chromium, one browser for the file).

The pages are the preview of scripts/render_docs.py, built from the session's one run of nbdev's docs processing
(conftest's `docs_proc`, the notebooks Quarto would render): Quarto-shaped HTML with the site's styles.css, its
include-in-header / include-after-body (the language switch, nbs/bilingual.js) and a local MathJax, served over
http on 127.0.0.1. On every page, once MathJax has typeset it:
- no raw TeX in the text (a `$`, `\\(`, `\\[` or `\\macro` outside code and typeset math), every formula typeset and
  none with a MathJax error (an undefined macro, a parse error);
- no `#|` line anywhere, no literal `**` in the prose, nothing of a `#| hide` cell (source or output).
The language switch (한국어 / English / both): a labelled radio group; choosing a language hides the other language's
prose and nothing else (figures, code, outputs, tables, headings and equations stay); the choice holds after a
reload and on the next page; the arrow keys change it; another open tab follows, keeping the reader's place; the
switch never moves when used. The tagging rules of bilingual.js are checked on a planted page."""
import functools, http.server, json, re, shutil, threading

import pytest

from conftest import ROOT, load_script
from browser import browser  # noqa: F401  (fixture)

render_docs = load_script('render_docs')
NBS = ROOT/'nbs'
SCRIPT = (NBS/'bilingual.js').read_text(encoding='utf-8')
WIDTH = 968  # JupyterLab's notebook width: what a student who reads both sees

# --- the page check (run in the browser) ---------------------------------------------------------------------------

READ_PAGE = r"""(hidden) => {
  const main = document.querySelector('main'), bad = [];
  const NOT_TEXT = 'pre, code, script, style, .MathJax, .MathJax_Display, .MathJax_Preview, mjx-container';
  const walk = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (n.parentElement.closest(NOT_TEXT)) continue;
    const t = n.textContent;
    if (/\$|\\[()[\]]|\\[A-Za-z]+/.test(t)) bad.push('raw TeX: ' + t.trim().slice(0, 100));
    if (t.includes('**')) bad.push('literal **: ' + t.trim().slice(0, 100));
  }
  const formulas = main.querySelectorAll('span.math.inline, span.math.display');
  formulas.forEach(s => { if (!s.querySelector('.MathJax, .MathJax_Display')) bad.push('not typeset: ' + s.textContent.slice(0, 80)); });
  main.querySelectorAll('.MathJax, .MathJax_Display').forEach(m => {
    if (m.querySelector('.merror, [style*="color: red"]') || /\\[A-Za-z]/.test(m.textContent))
      bad.push('MathJax error: ' + m.textContent.slice(0, 100)); });
  const all = main.textContent;
  for (const line of all.split('\n')) if (/^\s*#\s*\|/.test(line)) bad.push('#| line: ' + line.trim().slice(0, 100));
  for (const h of hidden) if (all.includes(h)) bad.push('hidden cell content: ' + h.slice(0, 100));
  return {bad, formulas: formulas.length};
}"""

HIDE = re.compile(r'^\s*#\s*\|\s*hide\s*$')


def hidden_snippets(nb: dict) -> list:
    "Lines (25+ characters) of a notebook's `#| hide` cells and their text outputs that no other cell shows."
    def src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']
    def outs(c): return '\n'.join(''.join(o.get('text', '')) if 'text' in o else ''.join(o.get('data', {}).get('text/plain', ''))
                                   for o in c.get('outputs', []))
    hidden = [c for c in nb['cells'] if c['cell_type'] == 'code' and any(HIDE.match(l) for l in src(c).splitlines()[:5])]
    shown = '\n'.join(src(c) + '\n' + outs(c) for c in nb['cells'] if c not in hidden)
    lines = {l.strip() for c in hidden for l in (src(c) + '\n' + outs(c)).splitlines()}
    return sorted(l for l in lines if len(l) >= 25 and not l.startswith('#') and l not in shown)


def typeset(page, timeout=60_000):
    page.wait_for_function("document.documentElement.getAttribute('data-mathjax') === 'done'", timeout=timeout)


# --- fixtures --------------------------------------------------------------------------------------------------------

def build(proc, out):
    "Render every processed notebook in `proc` into `out`: {notebook name: page file name}."
    site = render_docs.Site(proc, out)
    site.assets()
    return {name: site.render(name).name for name in site.pages}


@pytest.fixture(scope='module')
def site(docs_proc, tmp_path_factory):
    out = tmp_path_factory.mktemp('site')
    return out, build(docs_proc, out)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='module')
def serve(tmp_path_factory):
    "serve(folder) → base URL of an http server on 127.0.0.1 for that folder (all stopped after the module)."
    servers = []
    def start(folder):
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f'http://127.0.0.1:{srv.server_address[1]}/'
    yield start
    for s in servers: s.shutdown(); s.server_close()


@pytest.fixture(scope='module')
def base(site, serve): return serve(site[0])


@pytest.fixture
def context(browser):
    "A fresh browser profile (empty localStorage) for one test."
    ctx = browser.new_context(viewport={'width': WIDTH, 'height': 900})
    ctx.set_default_timeout(60_000)
    yield ctx
    ctx.close()


@pytest.fixture
def quick(context):
    """The same, without MathJax: the switch tests need no typeset math (bilingual.js tags the page before MathJax
    typesets it, on the site too), and skipping it saves most of their time."""
    context.route('**/site_libs/mathjax/**', lambda route: route.abort())
    return context


# --- every page -------------------------------------------------------------------------------------------------------

def test_every_page_reads_clean(site, base, context):
    out, pages = site
    assert set(pages) == {p.name for p in NBS.glob('*.ipynb') if not p.name.startswith('_')}
    page, problems, formulas = context.new_page(), {}, 0
    for name, file in sorted(pages.items()):
        page.goto(base + file)
        typeset(page)
        seen = page.evaluate(READ_PAGE, hidden_snippets(json.loads((NBS/name).read_text(encoding='utf-8'))))
        formulas += seen['formulas']
        if seen['bad']: problems[name] = seen['bad'][:8]
    assert not problems, '\n'.join(f"{n} ({pages[n]}):\n  " + '\n  '.join(b) for n, b in problems.items())
    assert formulas > 300, f"only {formulas} formulas on the whole site: is math still written as $...$?"


def test_page_check_catches_planted_problems(docs_proc, serve, context, tmp_path):
    "The same check on a planted notebook: raw TeX, a MathJax error, a literal `**`, a `#|` line and a hidden cell's content."
    proc = tmp_path/'_proc'
    shutil.copytree(docs_proc, proc, ignore=lambda d, names: [n for n in names if n.endswith('.ipynb')])
    shutil.copy2(docs_proc.parent/'_quarto.yml', tmp_path/'_quarto.yml')
    md = lambda s: {'cell_type': 'markdown', 'metadata': {}, 'source': s}
    code = lambda s, out='': {'cell_type': 'code', 'metadata': {}, 'execution_count': 1, 'source': s,
                              'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': out}] if out else []}
    hidden = code('#| hide\nsecret_setting = "only for the tests, never on the page"')
    nb = {'nbformat': 4, 'nbformat_minor': 5, 'metadata': {}, 'cells': [
        {'cell_type': 'raw', 'metadata': {}, 'source': '---\ntitle: planted\noutput-file: planted.html\n---'},
        md('Spaces inside dollars stay raw in pandoc: $ x^2 $ and $$ y $$ are not math.'),
        md('An unknown macro: $\\notamacro{x}$, and a bad one: $\\frac{1}{$.'),
        md('**굵게(bold)**은 CommonMark가 닫지 않습니다.'),
        code('x = 1\n#| echo: false\nprint(x)'),
        code('secret_setting = "only for the tests, never on the page"'),   # a hidden cell that nbdev left on the page
    ]}
    (proc/'planted.ipynb').write_text(json.dumps(nb), encoding='utf-8')
    out = tmp_path/'site'
    build(proc, out)
    page = context.new_page()
    page.goto(serve(out) + 'planted.html')
    typeset(page)
    bad = page.evaluate(READ_PAGE, hidden_snippets({'cells': [hidden, code('print(secret_setting)')]}))['bad']
    for what, also in (('raw TeX: Spaces inside', ''), ('MathJax error', 'notamacro'), ('MathJax error', 'frac'),
                       ('literal **', '굵게'), ('#| line: #| echo: false', ''), ('hidden cell content: secret_setting', '')):
        assert any(b.startswith(what) and also in b for b in bad), (what, also, bad)
    assert len(bad) == 6, bad
    # a hidden cell's line that another cell shows anyway is not a leak
    assert hidden_snippets({'cells': [hidden, code('print(1)')]}) == ['secret_setting = "only for the tests, never on the page"']
    assert hidden_snippets({'cells': [hidden, code('secret_setting = "only for the tests, never on the page"')]}) == []


# --- the language switch -------------------------------------------------------------------------------------------------

SEEN = r"""() => {
  const shown = e => e.checkVisibility();
  const count = sel => [...document.querySelectorAll(sel)].filter(shown).length;
  const untagged = sel => [...document.querySelectorAll(sel)].filter(e => !e.closest('.bi-ko, .bi-en') && shown(e)).length;
  const box = document.querySelector('.bi-switch').getBoundingClientRect();
  return {mode: document.documentElement.getAttribute('data-bi-lang'),
          checked: (document.querySelector('.bi-switch input:checked') || {}).value,
          ko: count('main .bi-ko'), en: count('main .bi-en'),
          all_ko: document.querySelectorAll('main .bi-ko').length, all_en: document.querySelectorAll('main .bi-en').length,
          kept: {img: count('main img'), code: count('main pre'), table: count('main table'), heading: count('main h1, main h2, main h3'),
                 equation: untagged('main span.math.display'), output: count('main .cell-output')},
          box: [box.left, box.top, box.right], scrollY: window.scrollY};
}"""


def test_language_switch(site, base, quick):
    out, pages = site
    page = quick.new_page()
    page.goto(base + pages['10_gradients.ipynb'])
    group = page.get_by_role('radiogroup', name='언어 · Language')
    radio = {m: group.get_by_role('radio', name=n, exact=True) for m, n in (('ko', '한국어'), ('en', 'English'), ('both', '둘 다 · Both'))}
    both = page.evaluate(SEEN)
    assert both['mode'] == both['checked'] == 'both', both                       # the default: both languages
    assert both['ko'] == both['all_ko'] > 50 and both['en'] == both['all_en'] > 50, both
    assert all(v > 0 for k, v in both['kept'].items() if k != 'table'), both['kept']

    radio['en'].click()                                                           # a real click on the label's radio
    en = page.evaluate(SEEN)
    assert en['mode'] == en['checked'] == 'en' and en['ko'] == 0 and en['en'] == en['all_en'], en
    assert en['kept'] == both['kept'], (en['kept'], both['kept'])                 # figures, code, equations untouched
    assert en['box'] == both['box'], 'the switch moved when used'

    page.reload()                                                                 # remembered after a reload ...
    again = page.evaluate(SEEN)
    assert again['mode'] == again['checked'] == 'en' and again['ko'] == 0, again
    page.goto(base + pages['12_batchnorm.ipynb'])                                 # ... and on the next page
    nxt = page.evaluate(SEEN)
    assert nxt['mode'] == 'en' and nxt['ko'] == 0 and nxt['en'] > 20, nxt

    page.focus('#bi-lang-en'); page.keyboard.press('ArrowLeft')                   # keyboard: en → ko
    ko = page.evaluate(SEEN)
    assert ko['mode'] == ko['checked'] == 'ko' and ko['en'] == 0 and ko['ko'] == ko['all_ko'] > 20, ko
    assert page.evaluate("document.activeElement.id") == 'bi-lang-ko'


def test_previous_next_shown_once(site, base, quick):
    "On the site, Quarto's page navigation shows previous/next; the notebook's own course-nav cell is hidden there."
    out, pages = site
    page = quick.new_page()
    page.goto(base + pages['12_batchnorm.ipynb'])
    seen = page.evaluate("""() => ({cell: document.querySelectorAll('.course-nav').length,
        shown: [...document.querySelectorAll('.course-nav')].filter(e => e.getClientRects().length).length,
        links: [...document.querySelectorAll('nav.page-navigation a')].filter(e => e.getClientRects().length).length})""")
    assert seen == {'cell': 1, 'shown': 0, 'links': 2}, seen


def test_other_tabs_follow_and_keep_the_readers_place(site, base, quick):
    "A choice made in one tab reaches an open tab, whose reader stays on the paragraph they were reading."
    out, pages = site
    reading, other = quick.new_page(), quick.new_page()
    reading.goto(base + pages['10_gradients.ipynb'])
    other.goto(base + pages['90_glossary.ipynb'])
    # scroll to a Korean paragraph halfway down (it stays visible in Korean mode)
    top = reading.evaluate("""() => { const p = [...document.querySelectorAll('main p.bi-ko')][10];
        p.id = 'reading-here'; p.scrollIntoView(); window.scrollBy(0, -100); return p.getBoundingClientRect().top; }""")
    other.get_by_role('radio', name='한국어', exact=True).click()
    reading.wait_for_function("document.documentElement.getAttribute('data-bi-lang') === 'ko'")
    seen = reading.evaluate(SEEN)
    assert seen['en'] == 0 and seen['scrollY'] > 0, seen
    moved = reading.evaluate("document.getElementById('reading-here').getBoundingClientRect().top") - top
    assert abs(moved) < 2, f"the paragraph being read moved {moved:.0f} px"


def test_switch_fits_a_phone(site, base, browser):
    ctx = browser.new_context(viewport={'width': 360, 'height': 740}, device_scale_factor=2)
    ctx.route('**/site_libs/mathjax/**', lambda route: route.abort())
    try:
        page = ctx.new_page()
        page.goto(base + site[1]['12_batchnorm.ipynb'])
        box = page.evaluate(SEEN)['box']
        assert box[0] >= 0 and box[2] <= 360, box
    finally: ctx.close()


def test_site_config_loads_the_switch():
    "The Quarto config ships bilingual.js with the site and loads it on every page; the head snippet reads the same key."
    cfg = render_docs.quarto_config(NBS)
    html_fmt, project = cfg['format']['html'], cfg['project']
    assert 'bilingual.js' in project['resources'] and (NBS/'bilingual.js').is_file()
    assert '<script src="bilingual.js"></script>' in html_fmt['include-after-body']['text']
    key = re.search(r"KEY = '([^']+)'", SCRIPT)[1]
    assert f"localStorage.getItem('{key}')" in html_fmt['include-in-header']['text']
    assert cfg['format']['html']['html-math-method'] == 'mathjax'   # what the preview's local MathJax stands for


# --- which paragraphs are tagged ------------------------------------------------------------------------------------------

PLANTED = """<html><body><main>
<header id="title-block-header"><div class="description">깊은 신경망은 왜 학습하기 어려운가 — Why deep networks are hard to train</div></header>
<h2 id="h">배치 정규화 직접 구현 (BatchNorm from scratch)</h2>
<p id="ko">배치 정규화는 미니배치의 평균과 분산으로 각 특성을 정규화한 뒤, 학습되는 스케일과 이동으로 되돌립니다.</p>
<p id="en">Batch normalization normalizes each feature with the mini-batch mean and variance, then applies a learned scale and shift.</p>
<p id="eq"><span class="math display">\\[\\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}, \\quad y = \\gamma \\hat x + \\beta \\quad \\text{with the batch mean and variance}\\]</span></p>
<p id="eq_en">The output is <span class="math inline">\\(\\gamma \\hat x + \\beta\\)</span>, where the scale and the shift are learned during training like weights.</p>
<p id="ko_cites">배치 정규화(Batch Normalization, BN)는 Ioffe & Szegedy(2015, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift")가 제안했고 프로세스별 BN(per-rank BN)과 동기화 BN(synchronized BN)으로 나뉩니다.</p>
<p id="en_term">The Korean term for it, 배치 정규화, is used on every page of the course and in the glossary.</p>
<p id="mixed">2. (도전, challenge) 고스트 배치 크기를 바꿔 여러 시드로 재 보세요. / Vary the ghost batch size and measure it over several seeds.</p>
<ul id="list_en"><li>the first item in English words only</li><li>and the second item in English words as well</li></ul>
<table><tr><td id="cell">배치 정규화는 미니배치의 평균과 분산으로 정규화합니다 / normalizes with the batch mean and variance</td></tr></table>
<div class="cell"><p id="doc"><em>Fraction of the outputs of a sigmoid module within eps of the function's limits.</em></p></div>
<figure><figcaption><p id="cap">The accuracy of the model with batch normalization over the epochs of training.</p></figcaption></figure>
<pre><code>print("no styling inside code blocks at all, whatever the words")</code></pre>
</main><script>%s</script></body></html>"""


def test_paragraphs_are_tagged_by_language(browser, tmp_path):
    (tmp_path/'p.html').write_text(PLANTED % SCRIPT, encoding='utf-8')
    page = browser.new_page()
    try:
        page.goto((tmp_path/'p.html').as_uri())
        tags = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[id]')].map(e =>
            [e.id, e.classList.contains('bi-ko') ? 'ko' : e.classList.contains('bi-en') ? 'en' : '-']))""")
    finally: page.close()
    expect = {'ko': 'ko', 'en': 'en', 'eq': '-', 'eq_en': 'en', 'ko_cites': 'ko', 'en_term': 'en', 'mixed': '-',
              'list_en': 'en', 'cell': '-', 'doc': '-', 'cap': '-', 'h': '-'}
    assert {k: tags[k] for k in expect} == expect
