"End-to-end tests of `bn-course compare`, run as a separate process exactly as a user runs it."
import json, math
from pathlib import Path

import pytest

from bn_course.data import synthetic_mnist, write_mnist
from conftest import run_cli

KEYS = {'dataset', 'fallback', 'config', 'epoch_seconds', 'models'}
METRICS = {'train_loss', 'train_acc', 'valid_loss', 'valid_acc', 'diverged'}


def check_metrics(path, dataset, epochs):
    m = json.loads(Path(path).read_text())
    assert set(m) == KEYS
    assert m['dataset'] == dataset
    assert len(m['epoch_seconds']) == epochs and all(s > 0 for s in m['epoch_seconds'])
    assert set(m['models']) == {'bn', 'plain'}
    for h in m['models'].values():
        assert set(h) == METRICS and h['diverged'] is False
        for k in METRICS - {'diverged'}: assert len(h[k]) == epochs and all(math.isfinite(v) for v in h[k])
        assert 0 <= min(h['valid_acc']) and max(h['valid_acc']) <= 1
    return m


@pytest.fixture(scope='module')
def small_mnist(tmp_path_factory):
    "A small MNIST-format dataset in IDX files, read through torchvision like the real one."
    root = tmp_path_factory.mktemp('mnist')
    write_mnist(root, *synthetic_mnist(2_000, 500, seed=3))
    return root


def test_digits_run(tmp_path):
    out = tmp_path/'out'
    r = run_cli('compare', '--dataset', 'digits', '--epochs', '3', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'digits', 3)
    assert m['fallback'] is None and 'compiled' not in m['config']  # the foundation's format, unchanged without --compile
    assert m['config']['batch_size'] == 32 and m['config']['lr'] == 0.01 and m['config']['seed'] == 1
    assert m['models']['bn']['valid_acc'][-1] > 0.9 and m['models']['plain']['valid_acc'][-1] > 0.85
    assert (out/'curves.png').read_bytes()[:4] == b'\x89PNG'
    assert 'valid acc' in r.stdout and 'digits' in r.stdout  # the summary table names the dataset


def test_mnist_files_are_used(tmp_path, small_mnist):
    out = tmp_path/'out'
    r = run_cli('compare', '--data-dir', small_mnist, '--epochs', '2', '--batch-size', '64', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'mnist', 2)
    assert m['fallback'] is None and (m['config']['n_train'], m['config']['n_test']) == (2000, 500)
    assert m['config']['models']['bn']['sizes'] == [784, 32, 32, 10]
    assert r.stdout == ''  # --quiet


def test_mnist_missing_falls_back_to_digits(tmp_path):
    out = tmp_path/'out'
    r = run_cli('compare', '--dataset', 'mnist', '--data-dir', tmp_path/'empty', '--epochs', '1', '--out', out)
    assert r.returncode == 0, r.stderr
    m = check_metrics(out/'metrics.json', 'digits', 1)
    assert 'MNIST files missing' in m['fallback']
    assert "instead of MNIST" in r.stderr and 'fix:' in r.stderr  # the loud notice says why and how
    assert 'fallback' in r.stdout


def test_same_seed_same_numbers(tmp_path):
    runs = []
    for i in range(2):
        r = run_cli('compare', '--dataset', 'digits', '--epochs', '2', '--seed', '7', '--out', tmp_path/f'r{i}', '--quiet')
        assert r.returncode == 0, r.stderr
        runs.append(json.loads((tmp_path/f'r{i}'/'metrics.json').read_text())['models'])
    assert runs[0] == runs[1]
    r = run_cli('compare', '--dataset', 'digits', '--epochs', '2', '--seed', '8', '--out', tmp_path/'r2', '--quiet')
    assert json.loads((tmp_path/'r2'/'metrics.json').read_text())['models'] != runs[0]


@pytest.mark.parametrize('bad', [['--epochs', '-3'], ['--epochs', '0'], ['--batch-size', '1'], ['--lr', '-0.1'],
                                 ['--lr', 'inf'], ['--dataset', 'cifar10'], ['--device', 'tpu'], ['--seed', '-1'],
                                 ['--bogus']])
def test_bad_arguments(tmp_path, bad):
    r = run_cli('compare', '--out', tmp_path/'out', *bad)
    assert r.returncode == 2
    assert 'usage: bn-course compare' in r.stderr and 'error:' in r.stderr
    assert not (tmp_path/'out').exists()


def test_corrupt_file_is_named(tmp_path, small_mnist):
    import shutil
    root = tmp_path/'data'
    shutil.copytree(small_mnist, root)
    f = root/'MNIST'/'raw'/'train-labels-idx1-ubyte'
    f.write_bytes(f.read_bytes()[:100])
    r = run_cli('compare', '--data-dir', root, '--epochs', '1', '--out', tmp_path/'out')
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'train-labels-idx1-ubyte' in lines[0] and 'Fix:' in lines[0]
    assert not (tmp_path/'out').exists()


def test_out_is_a_file(tmp_path):
    (tmp_path/'f').write_text('keep me')
    r = run_cli('compare', '--dataset', 'digits', '--epochs', '1', '--out', tmp_path/'f')
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path/'f').read_text() == 'keep me'


def test_cuda_when_absent(tmp_path):
    import torch
    if torch.cuda.is_available(): pytest.skip('a GPU is present')
    r = run_cli('compare', '--dataset', 'digits', '--device', 'cuda', '--out', tmp_path/'out')
    assert r.returncode == 1 and 'no CUDA GPU' in r.stderr and not (tmp_path/'out').exists()


def test_saved_models_reload(tmp_path):
    from bn_course.data import load_data
    from bn_course.models import load_model
    from bn_course.training import evaluate
    out = tmp_path/'out'
    assert run_cli('compare', '--dataset', 'digits', '--epochs', '2', '--out', out, '--quiet').returncode == 0
    m = json.loads((out/'metrics.json').read_text())
    data = load_data('digits')
    for name in ('bn', 'plain'):
        model = load_model(out/f'{name}.pt')
        loss, acc = evaluate(model, data.x_test, data.y_test)
        assert acc == pytest.approx(m['models'][name]['valid_acc'][-1], abs=1e-9)
        assert loss == pytest.approx(m['models'][name]['valid_loss'][-1], rel=1e-5)
    assert int(load_model(out/'bn.pt')[1].num_batches_tracked) == 2 * (1438 // 32)


def test_seeds_format_and_bands(tmp_path):
    out = tmp_path/'out'
    r = run_cli('compare', '--dataset', 'digits', '--epochs', '2', '--seeds', '4', '--seed', '3', '--out', out)
    assert r.returncode == 0, r.stderr
    m = json.loads((out/'metrics.json').read_text())
    assert set(m) == KEYS | {'seeds'} and m['seeds'] == [3, 4, 5, 6]
    assert len(m['epoch_seconds']) == 2
    for h in m['models'].values():
        assert h['diverged'] == [False] * 4
        for k in METRICS - {'diverged'}:
            assert len(h[k]) == 4 and all(len(run) == 2 and all(math.isfinite(v) for v in run) for run in h[k])
    # each seed is a real, different run; the first seed matches a plain single-seed run of the same seed
    assert len({tuple(run) for run in m['models']['plain']['valid_loss']}) == 4
    single = run_cli('compare', '--dataset', 'digits', '--epochs', '2', '--seed', '3', '--out', tmp_path/'one', '--quiet')
    assert single.returncode == 0
    one = json.loads((tmp_path/'one'/'metrics.json').read_text())['models']['plain']['valid_loss']
    assert one == pytest.approx(m['models']['plain']['valid_loss'][0], abs=1e-4)
    assert (out/'curves.png').read_bytes()[:4] == b'\x89PNG' and (out/'bn_seed6.pt').exists()
    assert 'mean ± std' in r.stdout and 'seeds 3–6' in r.stdout


def test_compile(tmp_path):
    "--compile trains with torch.compile (or says why it could not): same numbers as without, compile time recorded apart."
    runs = {}
    for name, extra in (('eager', []), ('compiled', ['--compile']), ('seeds', ['--compile', '--seeds', '2'])):
        r = run_cli('compare', '--dataset', 'digits', '--epochs', '2', '--seed', '3', '--device', 'cpu', '--out', tmp_path/name,
                    '--quiet', *extra)
        assert r.returncode == 0, r.stderr
        runs[name] = json.loads((tmp_path/name/'metrics.json').read_text())
        if extra: assert runs[name]['config']['compiled'] is True or 'torch.compile failed' in r.stderr, r.stderr
    c = runs['compiled']['config']
    assert 0 < c['compile_seconds'] <= runs['compiled']['epoch_seconds'][0] and runs['seeds']['seeds'] == [3, 4]
    plain = runs['eager']['models']['plain']['valid_loss']
    assert runs['compiled']['models']['plain']['valid_loss'] == pytest.approx(plain, abs=1e-4)
    assert runs['seeds']['models']['plain']['valid_loss'][0] == pytest.approx(plain, abs=1e-4)
    assert runs['compiled']['models']['bn']['valid_loss'] == pytest.approx(runs['eager']['models']['bn']['valid_loss'], abs=0.02)


def test_seeds_bad_argument(tmp_path):
    r = run_cli('compare', '--seeds', '0', '--out', tmp_path/'out')
    assert r.returncode == 2 and '--seeds' in r.stderr and not (tmp_path/'out').exists()


def test_sweep_command(tmp_path):
    out = tmp_path/'sw'
    r = run_cli('sweep', 'placement', '--seeds', '2', '--epochs', '1', '--out', out)
    assert r.returncode == 0, r.stderr
    res = json.loads((out/'sweep_placement.json').read_text())
    assert res['kind'] == 'placement' and res['dataset'] == 'digits' and res['grid'] == ['before', 'after']
    assert (out/'sweep_placement.png').read_bytes()[:4] == b'\x89PNG'
    assert 'digits' in r.stdout
    bad = run_cli('sweep', 'lr', '--values', 'abc', '--out', tmp_path/'bad')
    assert bad.returncode == 2 and 'usage: bn-course sweep' in bad.stderr and not (tmp_path/'bad').exists()
