"""The speed benchmark runs end to end (on small synthetic data here; full-size real data is for measuring), and its
seed-lab loop trains on exactly the batches bn_course's loops use, step for step."""
import importlib.util, re

import torch
import torch.nn.functional as F

from conftest import ROOT, run_script
from bn_course.data import load_data
from fixtures import synthetic_mnist, write_mnist
from bn_course.training import train_models, set_seed
from bn_course.models import lab_models


def benchmark_module():
    spec = importlib.util.spec_from_file_location('benchmark', ROOT/'scripts'/'benchmark.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def test_benchmark_prints_ratios(tmp_path):
    r = run_script('benchmark.py', '--data', 'synthetic', '--data-dir', tmp_path, '--n-train', 960, '--n-test', 200,
                   '--threads', 1, '--seeds', 1, '--grid-seeds', 2)
    assert r.returncode == 0, r.stderr
    rows = {l.split('  ')[0].strip(): l for l in r.stdout.splitlines()}
    failed = 'torch.compile failed' in r.stderr  # no C++ compiler here: the compiled rows must say so, not fake a number
    for loop in ('seed lab (DataLoader)', 'bn_course.train_models', 'stack: nn modules + autograd',
                 'stack: hand backward + optim.Adam', 'bn_course.train_stacked', 'train_stacked(compile=True)',
                 'train_stacked, 5 seeds at once', '5 seeds at once, compiled'):
        assert loop in rows, r.stdout
        if failed and 'compile' in loop: assert 'n/a: torch.compile failed' in rows[loop]
        else: assert rows[loop].rstrip().endswith('%') and 'x' in rows[loop]
    assert 'NOT real data' in r.stdout and '960 train / 200 test' in r.stdout and 'speed-up' in r.stdout
    assert re.search(r"CNN pair .*: \d+\.\d\d s/epoch .*test accuracy bn \d+\.\d\d%", r.stdout), r.stdout
    assert ("torch.compile's one-time cost" in r.stdout) != failed
    # the grid engine's row: 2 seeds × 5 rates × 2 arms, both rates and their ratio, both loops' accuracy
    assert re.search(r"grid engine \(train_grid\), 2 seeds × 5 rates × BN/plain MLP = 20 models, 1 epoch\(s\) each: "
                     r"\d+\.\d\d models/s vs the readable loop \d+\.\d\d models/s \(seed 1's 10 models\) = \d+\.\d×; "
                     r"mean test accuracy of seed 1's models: grid \d+\.\d\d%, readable \d+\.\d\d%", r.stdout), r.stdout


def test_fashion_missing_is_refused_when_asked_for(tmp_path):
    r = run_script('benchmark.py', '--data', 'fashion', '--data-dir', tmp_path, '--seeds', 1,
                   env={**__import__('os').environ, 'BN_COURSE_FASHION_DIR': str(tmp_path/'none')})
    assert r.returncode != 0 and 'apt-get install dataset-fashion-mnist' in r.stderr, (r.stdout, r.stderr)


def _small_mnist(tmp_path, n=3200):
    write_mnist(tmp_path, *synthetic_mnist(n, 100))
    return load_data('mnist', tmp_path, download=False, fallback=False)


def test_seed_loop_sees_bn_course_batches(tmp_path):
    "The benchmark's DataLoader yields bn_course's batches for 3 epochs; torch's own shuffling options would not."
    import torchvision
    data = _small_mnist(tmp_path, 320)
    ds = torchvision.datasets.MNIST(tmp_path, train=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=32, sampler=benchmark_module().SameShuffle(len(ds), 1), drop_last=True)
    rs = torch.utils.data.DataLoader(ds, batch_size=32, drop_last=True,
                                     sampler=torch.utils.data.RandomSampler(ds, generator=torch.Generator().manual_seed(1)))
    g = torch.Generator().manual_seed(1)
    for epoch in range(3):
        ours = list(data.train_batches(32, generator=g))
        theirs, random_sampler = list(loader), list(rs)
        assert len(ours) == len(theirs) == 10
        for (xa, ya), (xb, yb) in zip(ours, theirs):
            assert torch.equal(xa, xb.view(-1, 784)) and torch.equal(ya, yb)
        # RandomSampler(generator=g) matches in epoch 1 only: it draws an extra permutation after every epoch
        assert torch.equal(ours[0][1], random_sampler[0][1]) == (epoch == 0)
    # the old benchmark's way: DataLoader(shuffle=True, generator=g) draws a base seed from g before shuffling
    old = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(1))
    first = next(iter(data.train_batches(32, generator=torch.Generator().manual_seed(1))))[1]
    assert not torch.equal(next(iter(old))[1], first)


def test_readable_loop_reproduces_seed_loop(tmp_path):
    "Same init, same batches: bn_course's train_models and the seed lab's loop give the same per-step losses for 100 steps."
    data = _small_mnist(tmp_path)                               # 3,200 images: one epoch = 100 steps of 32
    bench = benchmark_module()
    seed_losses = []
    bench.seed_lab_epochs(tmp_path, 1, torch.device('cpu'), seed=1, losses=seed_losses)
    set_seed(1)
    models = lab_models(784)
    logits = {n: [] for n in models}
    for n, m in models.items():   # record training-mode outputs, from which the loop's losses follow
        m.register_forward_hook(lambda mod, inp, out, n=n: logits[n].append(out.detach()) if mod.training else None)
    train_models(models, data, epochs=1, bs=32, lr=0.01, seed=1, device='cpu', progress=False)
    ys = [yb for _, yb in data.train_batches(32, generator=torch.Generator().manual_seed(1))]
    ours = {n: torch.stack([F.cross_entropy(o, y) for o, y in zip(logits[n], ys)]) for n in models}
    theirs = torch.tensor(seed_losses)
    assert len(ys) == len(seed_losses) == 100
    # fused Adam (bn_course) and the default Adam (seed) differ in rounding only: float tolerance for the plain model
    torch.testing.assert_close(ours['plain'], theirs[:, 1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours['bn'][:20], theirs[:20, 0], rtol=1e-4, atol=1e-5)
