#!/usr/bin/env python
"""Speed benchmark: the seed lab's own training loop vs bn_course's, side by side, on full-size synthetic MNIST.

Writes 60,000 / 10,000 MNIST-format images (IDX files, made from scikit-learn's digits; not real MNIST) unless they
exist, then trains the BN + plain pair for one epoch at batch 32 with Adam lr 0.01 in both loops and prints seconds
per epoch, the speed ratio and each model's test accuracy (over all 10,000 test images) after that epoch.

    python scripts/benchmark.py [--data-dir bench_data] [--epochs 1] [--threads N]
"""
import argparse, sys, time
from pathlib import Path

import torch
import torchvision.datasets as dsets
import torchvision.transforms as transforms

from bn_course.data import load_data, synthetic_mnist, write_mnist, mnist_raw_dir, MNIST_FILES
from bn_course.models import lab_models
from bn_course.training import evaluate, set_seed, train_models


def seed_lab_epochs(root, epochs, device):
    "The seed notebook's loop, verbatim in spirit: DataLoader + ToTensor, default Adam, both models per batch."
    set_seed(1)
    models = lab_models(784)
    bn_model, nn_model = models['bn'].to(device), models['plain'].to(device)
    mnist_train = dsets.MNIST(root=root, train=True, transform=transforms.ToTensor(), download=False)
    # the generator only fixes the shuffle to the one bn_course draws for seed 1, so both loops see the same batches
    train_loader = torch.utils.data.DataLoader(dataset=mnist_train, batch_size=32, shuffle=True, drop_last=True,
                                               generator=torch.Generator().manual_seed(1))
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
        secs.append(time.perf_counter() - t0)
    return secs, models


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data-dir', default='bench_data', help='where the synthetic MNIST files go (default: bench_data)')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s own choice)')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    raw = mnist_raw_dir(args.data_dir)
    if not all((raw/f).exists() for pair in MNIST_FILES.values() for f in pair):
        print(f"writing full-size synthetic MNIST (60,000 / 10,000 images) to {raw} ...", flush=True)
        write_mnist(args.data_dir, *synthetic_mnist(60_000, 10_000))
    device = torch.device('cpu')
    data = load_data('mnist', args.data_dir, download=False)

    lab_secs, lab_models_ = seed_lab_epochs(args.data_dir, args.epochs, device)
    t0 = time.perf_counter()
    lab_acc = {n: evaluate(m, data.x_test, data.y_test)[1] for n, m in lab_models_.items()}
    eval_secs = (time.perf_counter() - t0) / len(lab_models_)

    set_seed(1)
    ours = lab_models(784)
    comp = train_models(ours, data, epochs=args.epochs, bs=32, lr=0.01, seed=1, device='cpu', progress=False)
    our_acc = {n: h.valid_acc[-1] for n, h in comp.histories.items()}

    lab_s, our_s = sum(lab_secs) / len(lab_secs), sum(comp.epoch_seconds) / len(comp.epoch_seconds)
    print(f"\nsynthetic MNIST (60,000 train / 10,000 test, from scikit-learn digits), BN + plain pair, batch 32, "
          f"Adam lr 0.01, {args.epochs} epoch(s), torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"{'loop':<28}{'s/epoch':>9}{'bn acc':>9}{'plain acc':>11}")
    print(f"{'seed lab (DataLoader)':<28}{lab_s:>9.2f}{lab_acc['bn']:>9.2%}{lab_acc['plain']:>11.2%}")
    print(f"{'bn_course.train_models':<28}{our_s:>9.2f}{our_acc['bn']:>9.2%}{our_acc['plain']:>11.2%}")
    print(f"speed-up: {lab_s / our_s:.1f}x per epoch   |   evaluation of 10,000 test images: {eval_secs*1000:.0f} ms per model")
    gap = max(abs(lab_acc[n] - our_acc[n]) for n in lab_acc)
    print(f"largest accuracy gap between the loops: {gap*100:.2f} points")


if __name__ == '__main__':
    sys.exit(main())
