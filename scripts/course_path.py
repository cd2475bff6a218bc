#!/usr/bin/env python
"""The cells every lesson shares, generated from settings.ini and nbs/sidebar.yml so they never drift:

- the **runtime cell**, right below the title cell: an "Open in Colab" badge and how long a full Run All takes, in Korean
  then English, with the machine it was measured on. The time comes from `scripts/run_notebooks.py --write` (a quiet,
  full run; the same run that makes the committed outputs); until then the cell says the time is not measured yet;
- the **Colab cell**, the first code cell (after nbdev's `#| default_exp`): installs the course package when the
  notebook runs in Google Colab and does nothing anywhere else; hidden on the docs site;
- the **navigation cell**, the last cell: links to the previous and next page in the sidebar's order.

A *course page* is a notebook in the sidebar outside the library reference section; a *lesson* is a course page with
code for the student to run (a code cell not marked `#| hide`). Lessons get all three cells; the other course pages
except the index get the navigation cell.

usage: python scripts/course_path.py [--check | --write] [NB ...]
  --check  exit 1 and list what is missing or stale (the tests run this check)
  --write  insert or refresh the cells in place (measured times are kept)"""
import argparse, configparser, copy, json, re, sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
LIBRARY_SECTION = '라이브러리'                       # the sidebar section of library reference pages starts with this
START_TITLE = '시작하기 (Start here)'                # how links name the index page
RUNTIME_ID, COLAB_ID, NAV_ID = 'course-runtime', 'course-colab', 'course-nav'
RUNTIME_TAG = re.compile(r'<!-- runtime: (?:(?P<secs>\d+) s on (?P<cores>\d+) cores, (?P<threads>\d+) torch threads?, '
                         r'gpu (?P<gpu>[^;]+?); written by scripts/run_notebooks\.py --write|(?P<none>not measured yet)[^>]*?) -->')
NAV_TAG = '<!-- course-nav: generated from nbs/sidebar.yml by scripts/course_path.py -->'
COLAB_TAG = '# Google Colab only: install the course package (this cell does nothing anywhere else).'


# --- reading the course ---------------------------------------------------------------------------------------------

def settings() -> configparser.SectionProxy:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT/'settings.ini', encoding='utf-8')
    return cfg['DEFAULT']


def git_url() -> str: return settings()['git_url']          # https://github.com/<user>/<repo>


def load(name) -> dict: return json.loads((NBS/name).read_text(encoding='utf-8'))


def save(nb: dict, name):
    "Write a notebook in the format nbdev_clean leaves (one-space indent, UTF-8, final newline)."
    (NBS/name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')


def src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def lines(text: str) -> list:
    ls = text.split('\n')
    return [l + '\n' for l in ls[:-1]] + ([ls[-1]] if ls[-1] else [])


def sidebar_sections(path=NBS/'sidebar.yml') -> list:
    "[(section title or None, [notebook, ...]), ...] in the sidebar's order."
    out = []
    for it in yaml.safe_load(path.read_text(encoding='utf-8'))['website']['sidebar']['contents']:
        if isinstance(it, str): out.append((None, [it]))
        else: out.append((it.get('section'), [c for c in it.get('contents', []) if isinstance(c, str)]))
    return out


def course_pages() -> list:
    "The reader's path: every sidebar page outside the library reference, in order (index first)."
    return [nb for sec, nbs in sidebar_sections() if not (sec or '').startswith(LIBRARY_SECTION) for nb in nbs]


def directives(cell) -> list:
    "The leading `#|` lines of a code cell."
    out = []
    for l in src(cell).splitlines():
        if not re.match(r'\s*#\s*\|', l): break
        out.append(l)
    return out


def is_hidden(cell) -> bool: return any(re.match(r'\s*#\s*\|\s*hide\s*$', l) for l in directives(cell))


def is_default_exp(cell) -> bool:
    return cell['cell_type'] == 'code' and all(re.match(r'\s*#\s*\|\s*default_exp\b', l) for l in src(cell).strip().splitlines())


def is_lesson(nb: dict) -> bool:
    "A page with code the student runs: some code cell that is not hidden and not only nbdev's default_exp."
    return any(c['cell_type'] == 'code' and not is_hidden(c) and not is_default_exp(c) and src(c).strip() for c in nb['cells'])


def lessons() -> list:
    return [p for p in course_pages() if is_lesson(load(p))]


def page_title(nb: dict) -> str:
    "A page's title as the site shows it: its first `# ` heading, code marks dropped."
    return next(l for c in nb['cells'] if c['cell_type'] == 'markdown' for l in src(c).splitlines()
                if l.startswith('# '))[2:].strip().replace('`', '')


def title_index(nb: dict) -> int:
    "Index of the title cell (the first markdown cell that opens with a `# ` heading)."
    return next(i for i, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown' and src(c).startswith('# '))


# --- the runtime line -----------------------------------------------------------------------------------------------

def minutes(secs: float) -> int:
    "Whole minutes as a student reads them: never 0."
    return max(1, round(secs / 60))


def machine_ko(m: dict) -> str:
    return f"{m['cores']}코어 CPU, torch 스레드 {m['threads']}개, " + (f"GPU {m['gpu']}" if m['gpu'] else 'GPU 없음')


def machine_en(m: dict) -> str:
    return (f"{m['cores']}-core CPU, {m['threads']} torch thread{'' if m['threads'] == 1 else 's'}, "
            + (f"GPU {m['gpu']}" if m['gpu'] else 'no GPU'))


def parse_runtime(text: str):
    """The measurement recorded in a runtime cell: None if the cell has no runtime tag, {'secs': None} if it says the
    time is not measured yet, else {'secs', 'cores', 'threads', 'gpu'} (gpu '' for none)."""
    m = RUNTIME_TAG.search(text)
    if not m: return None
    if m['none']: return {'secs': None}
    return {'secs': int(m['secs']), 'cores': int(m['cores']), 'threads': int(m['threads']),
            'gpu': '' if m['gpu'] == 'none' else m['gpu']}


def colab_url(name: str) -> str:
    return git_url().replace('https://github.com/', 'https://colab.research.google.com/github/') + \
        f"/blob/{settings()['branch']}/nbs/{name}"


def runtime_text(name: str, run: dict = None) -> str:
    "The runtime cell's markdown: Colab badge, then the Run All time in Korean and in English."
    badge = (f"[![Colab에서 열기 (Open in Colab)](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"({colab_url(name)})")
    if not run or run.get('secs') is None:
        return (f"<!-- runtime: not measured yet; scripts/run_notebooks.py --write measures it -->\n{badge}\n\n"
                "이 노트북을 처음부터 끝까지 실행하는 데 걸리는 시간은 아직 재지 않았습니다.\n\n"
                "How long a full Run All of this notebook takes has not been measured yet.")
    n = minutes(run['secs'])
    return (f"<!-- runtime: {run['secs']} s on {run['cores']} cores, {run['threads']} torch threads, "
            f"gpu {run['gpu'] or 'none'}; written by scripts/run_notebooks.py --write -->\n{badge}\n\n"
            f"이 노트북을 처음부터 끝까지 실행하면 약 {n}분 걸립니다({machine_ko(run)}).\n\n"
            f"A full Run All takes about {n} min ({machine_en(run)}).")


# --- the Colab cell -------------------------------------------------------------------------------------------------

def colab_source() -> str:
    "A hidden first code cell: `%pip install` the package from its git repository, in Colab only."
    return (f"#| hide\n{COLAB_TAG}\nif 'google.colab' in str(get_ipython()):\n"
            f"    %pip install -q git+{git_url()}.git")


# --- previous / next ------------------------------------------------------------------------------------------------

def nav_text(name: str, pages: list, titles: dict) -> str:
    "Links to the previous and next course page (the index is the first page)."
    i = pages.index(name)
    def link(p): return f"[{START_TITLE if p == 'index.ipynb' else titles[p]}]({p})"
    items = []
    if i > 0: items.append(f"- ← 이전 (Previous): {link(pages[i - 1])}")
    if i + 1 < len(pages): items.append(f"- 다음 (Next) →: {link(pages[i + 1])}")
    return f"{NAV_TAG}\n<div class=\"course-nav\">\n\n---\n\n" + '\n'.join(items) + "\n\n</div>"


# --- putting the cells in place -------------------------------------------------------------------------------------

def _cell(kind: str, cid: str, text: str, old: dict = None) -> dict:
    c = {'cell_type': kind, 'id': cid, 'metadata': (old or {}).get('metadata', {}), 'source': lines(text)}
    if kind == 'code': c.update(execution_count=None, outputs=[])
    return c


def _is_std(c) -> bool:
    s = src(c)
    return c.get('id') in (RUNTIME_ID, COLAB_ID, NAV_ID) or bool(RUNTIME_TAG.search(s)) or NAV_TAG in s or COLAB_TAG in s


def apply(nb: dict, name: str, pages: list = None, titles: dict = None) -> dict:
    "A copy of `nb` with the standard cells in their places, their text regenerated (a measured time is kept)."
    pages = pages or course_pages()
    titles = titles or {p: page_title(load(p)) for p in pages if p != 'index.ipynb'}
    nb = copy.deepcopy(nb)
    old = {c['id']: c for c in nb['cells'] if _is_std(c)}
    run = next((parse_runtime(src(c)) for c in old.values() if parse_runtime(src(c))), None)
    nb['cells'] = [c for c in nb['cells'] if not _is_std(c)]
    if name not in pages or name == 'index.ipynb': return nb
    if is_lesson(nb):
        at = title_index(nb) + 1
        nb['cells'][at:at] = [_cell('markdown', RUNTIME_ID, runtime_text(name, run), old.get(RUNTIME_ID)),
                              _cell('code', COLAB_ID, colab_source(), old.get(COLAB_ID))]
    nb['cells'].append(_cell('markdown', NAV_ID, nav_text(name, pages, titles), old.get(NAV_ID)))
    return nb


def with_runtime(nb: dict, name: str, run: dict) -> dict:
    "`nb` with its runtime cell rewritten for the measurement `run` (secs, cores, threads, gpu)."
    nb = copy.deepcopy(nb)
    for c in nb['cells']:
        if parse_runtime(src(c)) is not None: c['source'] = lines(runtime_text(name, run))
    return nb


def runtime_of(name: str):
    "The measurement in a lesson's runtime cell (see parse_runtime); None if it has no runtime cell."
    return next((r for c in load(name)['cells'] if c['cell_type'] == 'markdown' for r in [parse_runtime(src(c))] if r), None)


def problems(name: str, pages=None, titles=None) -> list:
    "What `--write` would change in one notebook, in words."
    nb = load(name)
    want = apply(nb, name, pages, titles)
    if want == nb: return []
    have = {c['id']: (i, c) for i, c in enumerate(nb['cells'])}
    out = []
    for i, c in enumerate(want['cells']):
        if c['id'] not in (RUNTIME_ID, COLAB_ID, NAV_ID): continue
        if c['id'] not in have: out.append(f"{name}: no {c['id']} cell (it belongs at cell {i})")
        elif have[c['id']][0] != i: out.append(f"{name}: the {c['id']} cell is cell {have[c['id']][0]}, not cell {i}")
        elif src(have[c['id']][1]) != src(c): out.append(f"{name}: the {c['id']} cell's text is stale")
    return out or [f"{name}: standard cells out of place"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nbs', nargs='*')
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument('--check', action='store_true')
    g.add_argument('--write', action='store_true')
    a = ap.parse_args(argv)
    pages = course_pages()
    titles = {p: page_title(load(p)) for p in pages if p != 'index.ipynb'}
    names = [Path(n).name if n.endswith('.ipynb') else f'{n}.ipynb' for n in a.nbs] or pages
    bad = []
    for n in names:
        if a.write:
            nb = load(n); new = apply(nb, n, pages, titles)
            if new != nb: save(new, n); print(f'updated {n}')
        else: bad += problems(n, pages, titles)
    for b in bad: print(b, file=sys.stderr)
    if bad: print('fix: python scripts/course_path.py --write', file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
