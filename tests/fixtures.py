"""Test data written to disk: IDX files and MNIST-shaped images. Used by the tests and by `scripts/benchmark.py`; kept
out of the installed package, which only reads data. (The 00_data notebook writes its own small IDX files inline.)"""
import struct
from pathlib import Path

import numpy as np
import torch

from bn_course.data import MNIST_FILES, mnist_raw_dir


def write_idx(path,  # the file to write (parent folders are made)
              arr):  # uint8 values (or whole numbers in 0..255), 1 to 3 dimensions
    "Write `arr` to `path` in IDX format: magic number (0, 0, 0x08 = uint8, dims), big-endian sizes, then the bytes."
    a = np.asarray(arr)
    if a.dtype != np.uint8:
        if a.size and (a.min() < 0 or a.max() > 255 or not np.all(np.equal(np.mod(a, 1), 0))):
            raise ValueError(f"write_idx stores uint8 values: got {a.dtype} values outside 0..255 or not whole numbers")
        a = a.astype(np.uint8)
    if not 1 <= a.ndim <= 3: raise ValueError(f"IDX arrays have 1 to 3 dimensions, got shape {a.shape}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(bytes([0, 0, 0x08, a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape)
                           + np.ascontiguousarray(a).tobytes())


def write_mnist(root, x_train, y_train, x_test, y_test, folder: str = 'MNIST') -> Path:
    "Write the four uncompressed IDX files under `root/folder/raw/` (torchvision's layout); returns that folder."
    raw = mnist_raw_dir(root, folder)
    for (img, lbl), x, y in zip(MNIST_FILES.values(), (x_train, x_test), (y_train, y_test)):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ValueError(f"MNIST images have shape (N, 28, 28), got {x.shape}")
        if len(x) != len(y): raise ValueError(f"{len(x)} images but {len(y)} labels")
        write_idx(raw/img, x)
        write_idx(raw/lbl, y)
    return raw


def synthetic_mnist(n_train: int = 60_000, n_test: int = 10_000, seed: int = 0):
    "MNIST-shaped uint8 images `(x_train, y_train, x_test, y_test)` made from scikit-learn's digits: NOT MNIST."
    from sklearn.datasets import load_digits
    d = load_digits()
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.tensor(d.images, dtype=torch.float32)[:, None] / 16,
                                           size=(20, 20), mode='bilinear', align_corners=False)[:, 0]
    perm = torch.randperm(len(base), generator=g)
    split = {'train': perm[:-360], 'test': perm[-360:]}  # test images come from held-out digits
    out = []
    for part, n in (('train', n_train), ('test', n_test)):
        pick = split[part][torch.randint(len(split[part]), (n,), generator=g)]
        canvas = torch.zeros(n, 28, 28)
        dy, dx = torch.randint(2, 7, (2, n), generator=g)  # within ±2 px of centre, as MNIST is centred
        for oy in range(2, 7):
            for ox in range(2, 7):
                m = (dy == oy) & (dx == ox)
                canvas[m, oy:oy + 20, ox:ox + 20] = base[pick[m]]
        canvas = (canvas + 0.1 * torch.rand(n, 28, 28, generator=g)).clamp(0, 1)
        out += [(canvas * 255).round().to(torch.uint8).numpy(), torch.tensor(d.target)[pick].to(torch.uint8).numpy()]
    return tuple(out)
