#!/usr/bin/env python
"""Speed benchmark: the seed lab's own training loop vs bn_course's, side by side, on real data at full size.

Runs on full Fashion-MNIST (60,000 / 10,000 real images, 28×28) when it is installed (Debian's dataset-fashion-mnist, or
DIR/FashionMNIST/raw/); the seed loop reads it through torchvision's own dataset class, so the benchmark writes the four
uncompressed IDX files under --data-dir first. Only when Fashion-MNIST is missing does it fall back to MNIST-format
synthetic images made from scikit-learn's digits (not real data; every line printed says so). Then it trains the BN + plain pair for one epoch at batch 32 with Adam lr 0.01 in the seed's own loop, in
bn_course's readable loop (train_models), in its stacked loop (train_stacked, what `bn-course compare` uses), in
the stacked loop compiled by torch.compile (`bn-course compare --compile`), and 5 seeds of the pair in one stack
(`bn-course compare --seeds 5`), with and without compiling, plus one seed of the CNN pair (`--arch cnn`). Prints seconds per epoch (median over seeds), the
speed-up over the seed loop, and each model's test accuracy (over all test images, mean over seeds) after training;
torch.compile's one-time compile is taken out of the epoch times and printed on its own line. bn_course's optimizer sets
Adam's subnormal moments to zero every 64 steps (nbs/06_stacked.ipynb, "Subnormal numbers"); the two other stacks do the same,
so that each row differs from bn_course's in the one thing it names; the seed loop runs as the seed notebook wrote it. Last, the grid engine
(bn_course.grid.train_grid): --grid-seeds seeds × 5 learning rates × (BN, plain) MLPs, one epoch each, in models trained
per second of training time, beside the readable loop's rate (measured on seed 1's 10 models: it trains one model after
another, so its rate does not depend on how many there are).

Every loop sees the same batches: the seed loop's DataLoader takes its shuffle from a sampler that draws one
permutation per epoch like bn_course's loops (DataLoader(shuffle=True, generator=g) first draws a worker base seed from
g, and RandomSampler(generator=g) draws an extra permutation after each epoch: both shift the order; tested).

    python scripts/benchmark.py [--data synthetic] [--data-dir bench_data] [--epochs 1] [--seeds 5] [--threads N]
                                [--n-train N] [--n-test N] [--grid-seeds 10]
"""
import argparse, statistics, sys, time
from pathlib import Path

import torch
import torchvision.datasets as dsets  # noqa: the seed lab's own imports
import torchvision.transforms as transforms

from bn_course.data import DataNotFound, MNIST_FILES, check_idx, load_data, mnist_raw_dir
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'tests'))  # IDX writers and synthetic data: test fixtures
from fixtures import synthetic_mnist, write_idx, write_mnist
from bn_course.models import MLP, lab_models
from bn_course.training import evaluate, set_seed, train_models
from bn_course.lab import run_comparison, run_seeds
from bn_course.stacked import zero_subnormals


class SameShuffle(torch.utils.data.Sampler):
    "bn_course's shuffle as a DataLoader sampler: one `torch.randperm` per epoch from one generator."
    # RandomSampler(generator=g) gives the same first epoch, but after each epoch it draws a second, empty permutation
    # from g, so from epoch 2 on its order differs; DataLoader(shuffle=True, generator=g) differs from the first batch.
    def __init__(self, n, seed): self.n, self.g = n, torch.Generator().manual_seed(seed)
    def __len__(self): return self.n
    def __iter__(self): return iter(torch.randperm(self.n, generator=self.g).tolist())


def seed_lab_epochs(root, epochs, device, seed=1, folder='MNIST', losses=None):
    "The seed notebook's loop, verbatim in spirit: DataLoader + ToTensor, default Adam, both models per batch."
    set_seed(seed)
    models = lab_models(784)
    bn_model, nn_model = models['bn'].to(device), models['plain'].to(device)
    mnist_train = getattr(dsets, folder)(root=root, train=True, transform=transforms.ToTensor(), download=False)
    sampler = SameShuffle(len(mnist_train), seed)  # the shuffle bn_course draws for `seed`: every loop sees the same batches
    train_loader = torch.utils.data.DataLoader(dataset=mnist_train, batch_size=32, sampler=sampler, drop_last=True)
    criterion = torch.nn.CrossEntropyLoss().to(device)
    bn_optimizer = torch.optim.Adam(bn_model.parameters(), lr=0.01)
    nn_optimizer = torch.optim.Adam(nn_model.parameters(), lr=0.01)
    secs = []
    for epoch in range(epochs):
        bn_model.train(); nn_model.train()
        t0 = time.perf_counter()
        for X, Y in train_loader:
            X = X.view(-1, 784).to(device)
            Y = Y.to(device)
            bn_optimizer.zero_grad()
            bn_loss = criterion(bn_model(X), Y)
            bn_loss.backward()
            bn_optimizer.step()
            nn_optimizer.zero_grad()
            nn_loss = criterion(nn_model(X), Y)
            nn_loss.backward()
            nn_optimizer.step()
            if losses is not None: losses.append((bn_loss.item(), nn_loss.item()))  # for the step-by-step test only
        secs.append(time.perf_counter() - t0)
    return secs, models


class AutogradStack(torch.nn.Module):
    """The stacked idea from ordinary modules and autograd, for the benchmark row that decides whether the hand-written
    backward and torch's private kernels (bn_course.stacked) pay: Linear(F, K·n) → BatchNorm1d(K·n) (masked for models
    without BN) → activation → per-model (K, n, n) weights with baddbmm; trained with torch.optim.Adam(fused=True), its
    subnormal moments flushed every 64 steps as bn_course's optimizer does (`flush_subnormals`)."""
    def __init__(self, models):
        super().__init__()
        lins = [[l for l in m if isinstance(l, torch.nn.Linear)] for m in models]
        bns = [[l for l in m if isinstance(l, torch.nn.BatchNorm1d)] for m in models]
        self.K, sizes = len(models), models[0].config['sizes']
        self.first = torch.nn.Linear(sizes[0], self.K * sizes[1])
        self.norms, self.masks = torch.nn.ModuleList(), []
        self.w = torch.nn.ParameterList(); self.b = torch.nn.ParameterList()
        with torch.no_grad():
            self.first.weight.copy_(torch.cat([ls[0].weight for ls in lins])); self.first.bias.copy_(torch.cat([ls[0].bias for ls in lins]))
            for i, n in enumerate(sizes[1:-1]):
                bn = torch.nn.BatchNorm1d(self.K * n)
                bn.weight.copy_(torch.cat([b[i].weight if b else torch.ones(n) for b in bns]))
                bn.bias.copy_(torch.cat([b[i].bias if b else torch.zeros(n) for b in bns]))
                self.norms.append(bn)
                self.masks.append(torch.cat([torch.full((n,), bool(b)) for b in bns]))
                self.w.append(torch.nn.Parameter(torch.stack([ls[i + 1].weight.t() for ls in lins])))
                self.b.append(torch.nn.Parameter(torch.stack([ls[i + 1].bias for ls in lins])[:, None]))
        self.mixed = not all(m.all() for m in self.masks)

    def forward(self, x):
        B, a = x.shape[0], self.first(x)
        for i, (bn, mask) in enumerate(zip(self.norms, self.masks)):
            a = torch.relu(torch.where(mask, bn(a), a) if self.mixed else bn(a))
            a = torch.baddbmm(self.b[i], a.view(B, self.K, -1).transpose(0, 1), self.w[i])   # (K, B, n_out)
            if i < len(self.norms) - 1: a = a.transpose(0, 1).reshape(B, -1)
        return a                                                                         # (K, B, classes)


def flush_subnormals(opt, every=64):
    "What StackedOptimizer does every 64 steps, for torch.optim.Adam: its subnormal moments set to zero (same numbers, no slow path)."
    opt.n_steps = getattr(opt, 'n_steps', 0) + 1     # so that these rows differ from bn_course's in one thing only
    if opt.n_steps % every: return
    zero_subnormals(st[k] for st in opt.state.values() for k in ('exp_avg', 'exp_avg_sq'))


def autograd_stack_epochs(data, epochs, seed=1, bs=32, lr=0.01):
    "The lab's pair for one seed as an AutogradStack: (seconds per epoch, test accuracy per model)."
    set_seed(seed)
    models = lab_models(784)
    st = AutogradStack(list(models.values()))
    opt = torch.optim.Adam(st.parameters(), lr=lr, fused=True)
    g, secs = torch.Generator().manual_seed(seed), []
    for _ in range(epochs):
        st.train(); t0 = time.perf_counter()
        for xb, yb in data.train_batches(bs, generator=g):
            out = st(xb)
            loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), yb.repeat(st.K)) * st.K  # sum of per-model means
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
            flush_subnormals(opt)
        secs.append(time.perf_counter() - t0)
    st.eval()
    with torch.no_grad(): out = torch.cat([st(data.x_test[i:i + 5000]) for i in range(0, len(data.x_test), 5000)], 1)
    acc = (out.argmax(-1) == data.y_test).float().mean(1).tolist()
    return secs, dict(zip(models, acc))


def public_adam_stack_epochs(data, epochs, seed=1, bs=32, lr=0.01):
    """bn_course's StackedMLP (hand-written backward) with the public torch.optim.Adam(fused=True) instead of torch._fused_adam_
    (subnormal moments flushed every 64 steps, as in bn_course)."""
    from bn_course.stacked import StackedMLP
    set_seed(seed)
    models = lab_models(784)
    sm = StackedMLP(list(models.values()))
    params = [p for p in sm.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, fused=True)
    g, eye, secs = torch.Generator().manual_seed(seed), torch.eye(10), []
    for _ in range(epochs):
        t0 = time.perf_counter()
        with torch.no_grad():
            for xb, yb in data.train_batches(bs, generator=g):
                _, grads = sm.loss_and_grads(xb, yb, eye[yb], need_loss=False)
                for p in params: p.grad = grads[p]
                opt.step()
                flush_subnormals(opt)
        secs.append(time.perf_counter() - t0)
    sm.write_back(list(models.values()))
    return secs, {n: evaluate(m, data.x_test, data.y_test)[1] for n, m in models.items()}


GRID_LRS = (0.0003, 0.001, 0.003, 0.01, 0.03)

def grid_rates(data, epochs, n_seeds):
    """The grid engine's row: models trained per second of training time (evaluation excluded) by train_grid on
    n_seeds × GRID_LRS × (BN, plain) lab MLPs, and by the readable loop on seed 1's 10 of them; with both loops' mean test
    accuracy over seed 1's models (the same initial weights and batches in both)."""
    from bn_course.grid import train_grid
    sizes = (data.n_features, 32, 32, data.n_classes)
    arms = {'bn': lambda: MLP(sizes, norm='batch'), 'plain': lambda: MLP(sizes)}
    grid, _ = train_grid(arms, data, GRID_LRS, seeds=range(1, n_seeds + 1), epochs=epochs, device='cpu', progress=False)
    secs, accs = 0., []
    for lr in GRID_LRS:                                  # the readable loop: seed 1's models, as train_grid builds them
        models = {}
        for a, build in arms.items(): set_seed(1); models[a] = build()
        res = train_models(models, data, epochs=epochs, lr=lr, seed=1, device='cpu', progress=False)
        secs += sum(res.seconds); accs += [h.test_acc[-1] for h in res.histories.values()]
    seed1 = [h.test_acc[-1] for h in grid.select(seed=1).values()]
    return (len(grid.histories) / sum(grid.seconds), len(accs) / secs,
            len(grid.histories), statistics.mean(seed1), statistics.mean(accs))


def image_counts(root, folder='MNIST'):
    "(train, test) image counts of the IDX files under root, from their headers; () when missing or broken."
    try: return tuple(check_idx(mnist_raw_dir(root, folder)/MNIST_FILES[p][0], 3)[0] for p in ('train', 'test'))
    except (OSError, ValueError): return ()


def prepare_data(args):
    "(Data, folder, description): full Fashion-MNIST as IDX files the seed loop can read, or the synthetic stand-in."
    if args.data != 'synthetic':
        try: data = load_data('fashion', args.data_dir, download=False)
        except DataNotFound as e:
            if args.data == 'fashion': raise SystemExit(f"benchmark: {e}")
            print(f"Fashion-MNIST not found, so the synthetic stand-in is used ({e})", flush=True)
        else:
            if image_counts(args.data_dir, 'FashionMNIST') != (len(data.x_train), len(data.x_test)):
                raw = mnist_raw_dir(args.data_dir, 'FashionMNIST')   # torchvision's dataset class reads uncompressed files
                for (img, lbl), x, y in zip(MNIST_FILES.values(), (data.x_train, data.x_test), (data.y_train, data.y_test)):
                    write_idx(raw/img, (x * 255).round().to(torch.uint8).view(-1, 28, 28).numpy())
                    write_idx(raw/lbl, y.to(torch.uint8).numpy())
            return data, 'FashionMNIST', f"Fashion-MNIST (real, {len(data.x_train):,} train / {len(data.x_test):,} test)"
    raw = mnist_raw_dir(args.data_dir)
    if image_counts(args.data_dir) != (args.n_train, args.n_test):
        print(f"writing synthetic MNIST ({args.n_train:,} / {args.n_test:,} images) to {raw} ...", flush=True)
        write_mnist(args.data_dir, *synthetic_mnist(args.n_train, args.n_test))
    return (load_data('mnist', args.data_dir, download=False, fallback=False), 'MNIST',
            f"synthetic MNIST (NOT real data: made from scikit-learn digits, {args.n_train:,} train / {args.n_test:,} test)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', choices=('auto', 'fashion', 'synthetic'), default='auto',
                   help='auto: Fashion-MNIST when installed, else synthetic (default: auto)')
    p.add_argument('--data-dir', default='bench_data', help='where the IDX files for the seed loop go (default: bench_data)')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s own choice)')
    p.add_argument('--n-train', type=int, default=60_000, help='synthetic data only: training images (default: 60,000)')
    p.add_argument('--n-test', type=int, default=10_000, help='synthetic data only: test images (default: 10,000)')
    p.add_argument('--seeds', type=int, default=5, help='seeds per loop; median times, mean accuracies (default: 5)')
    p.add_argument('--grid-seeds', type=int, default=10, help='seeds of the grid engine row (× 5 rates × 2 arms; default: 10)')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    data, folder, described = prepare_data(args)
    device = torch.device('cpu')

    # Every loop runs the same seeds; after one epoch a single run's accuracy swings by points from the rounding
    # differences alone (fused vs plain Adam), so accuracies are compared as means over seeds. Seeds are the outer loop,
    # so that a slow spell of the machine hits every loop alike, and times are medians, so that one spell moves little.
    seeds = range(1, args.seeds + 1)
    def mean(dicts): return {n: sum(d[n] for d in dicts) / len(dicts) for n in dicts[0]}
    evals, compile_secs, not_compiled = [], {}, set()

    def timed(label, result):
        "Seconds per epoch of a `Result`; a compiled run's one-time compile is taken out and kept apart (printed on its own line)."
        secs, c = list(result.seconds), result.config
        if c.get('compiled') is False: not_compiled.add(label)  # it fell back to the uncompiled step
        if c.get('compiled'): compile_secs.setdefault(label, []).append(c['compile_seconds']); secs[0] -= c['compile_seconds']
        return secs

    def seed_lab(label, s):
        sec, ms = seed_lab_epochs(args.data_dir, args.epochs, device, seed=s, folder=folder)
        t0 = time.perf_counter()
        acc = {n: evaluate(m, data.x_test, data.y_test)[1] for n, m in ms.items()}
        evals.append((time.perf_counter() - t0) / len(ms))
        return sec, acc

    kw = dict(epochs=args.epochs, bs=32, lr=0.01, device='cpu', progress=False)
    def pair(**opts):
        "The lab's pair for one seed, as `bn-course compare` trains it (fast=True) or one model at a time."
        def run(label, s):
            comp, _ = run_comparison(data, seed=s, **kw, **opts)
            return timed(label, comp), {n: h.test_acc[-1] for n, h in comp.histories.items()}
        return run

    def five_seeds(**opts):
        "Seeds 1-5 x (BN, plain) in one stack, each seed with its own initialization and batch order (compare --seeds 5)."
        def run(label, s):  # s only counts repetitions: the stack always holds seeds 1-5
            res, _ = run_seeds(data, n_seeds=5, seed=1, **kw, **opts)
            return timed(label, res), {n: float(res.values('test_acc', arm=n).mean()) for n in ('bn', 'plain')}
        return run

    def autograd_stack(label, s): return autograd_stack_epochs(data, args.epochs, seed=s)

    loops = {'seed lab (DataLoader)': seed_lab, 'bn_course.train_models': pair(), 'stack: nn modules + autograd': autograd_stack,
             'stack: hand backward + optim.Adam': lambda label, s: public_adam_stack_epochs(data, args.epochs, seed=s),
             'bn_course.train_stacked': pair(fast=True),
             'train_stacked(compile=True)': pair(fast=True, compile=True),
             'train_stacked, 5 seeds at once': five_seeds(), '5 seeds at once, compiled': five_seeds(compile=True)}
    secs, accs = {l: [] for l in loops}, {l: [] for l in loops}
    for s in seeds:
        for label, run in loops.items():
            sec, acc = run(label, s)
            secs[label] += sec; accs[label].append(acc)
    rows = [(label, statistics.median(secs[label]), mean(accs[label])) for label in loops]
    lab = accs['seed lab (DataLoader)']
    spread = ("seed-to-seed std of the seed loop's accuracy: " + ", ".join(
        f"{n} {statistics.pstdev(a[n] for a in lab) * 100:.2f}" for n in ('bn', 'plain')) + " points" if args.seeds > 1 else "one seed: no spread")

    print(f"\n{described}, BN + plain pair, "
          f"batch 32, Adam lr 0.01, {args.epochs} epoch(s), torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"times are medians and test accuracies means over seeds 1–{args.seeds} (the last two rows: seeds 1–5 trained together, "
          f"repeated {args.seeds}×)")
    print(f"{'loop':<36}{'s/epoch':>9}{'speed-up':>10}{'bn acc':>9}{'plain acc':>11}")
    base = rows[0][1]
    for label, secs, acc in rows:
        if label in not_compiled: print(f"{label:<36}  n/a: torch.compile failed, see the warning above"); continue
        print(f"{label:<36}{secs:>9.2f}{base / secs:>9.1f}x{acc['bn']:>9.2%}{acc['plain']:>11.2%}")
    gap = max(abs(acc[n] - rows[0][2][n]) for label, _, acc in rows[1:] for n in acc if label not in not_compiled)
    print(f"largest gap in mean accuracy to the seed loop: {gap*100:.2f} points ({spread}); "
          f"evaluation of {len(data.x_test):,} test images: {sum(evals) / len(evals) * 1000:.0f} ms per model")
    # the CNN pair (`bn-course compare --arch cnn`) trains in the readable loop; one seed, as it costs far more per epoch
    cnn_secs, cnn_acc = pair(arch='cnn')('cnn', 1)
    print(f"CNN pair (LeNet-style, bn-course compare --arch cnn, readable loop, seed 1): {statistics.median(cnn_secs):.2f} s/epoch "
          f"(= {statistics.median(cnn_secs) / base:.1f}× the MLP seed loop); test accuracy bn {cnn_acc['bn']:.2%}, plain {cnn_acc['plain']:.2%}")
    grid_rate, readable_rate, n_models, grid_acc, readable_acc = grid_rates(data, args.epochs, args.grid_seeds)
    print(f"grid engine (train_grid), {args.grid_seeds} seeds × {len(GRID_LRS)} rates × BN/plain MLP = {n_models} models, "
          f"{args.epochs} epoch(s) each: {grid_rate:.2f} models/s vs the readable loop {readable_rate:.2f} models/s "
          f"(seed 1's 10 models) = {grid_rate / readable_rate:.1f}×; mean test accuracy of seed 1's models: grid {grid_acc:.2%}, "
          f"readable {readable_acc:.2%}")
    if compile_secs:
        print("torch.compile's one-time cost (first call: compile + one step; not in s/epoch), in run order: " +
              "; ".join(f"{label} {', '.join(f'{c:.1f}' for c in cs)} s" for label, cs in compile_secs.items()) +
              " (a later call with the same shapes reuses the compiled step; a new process reuses the on-disk cache)")
    return 0

if __name__ == '__main__':
    sys.exit(main())
