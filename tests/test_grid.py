"""The grid engine (bn_course.grid) beyond its notebook's proofs: the structures the lessons bring (deep residual MLPs
with BN and SkipInit from bn_course.depth, GroupNorm MLPs) on the torch.func path, and every path on a CUDA GPU (skipped
where there is none). Each grid model is compared with the same model trained alone by the readable loop, in float64,
where the two computations agree to rounding level when their math is the same."""
import dataclasses

import pytest
import torch
from torch import nn

from bn_course.data import load_mnist_subset
from bn_course.depth import deep_mlp
from bn_course.grid import train_grid
from bn_course.models import CNN, MLP
from bn_course.training import set_seed, train_models


def small(device='cpu', n_train=192):
    "A float64 slice of MNIST-5k: n_train training images (32 held out for validation), every tenth test image."
    d = load_mnist_subset()
    d = dataclasses.replace(d, x_train=d.x_train[:n_train].double(), y_train=d.y_train[:n_train],
                            x_test=d.x_test[::10].double(), y_test=d.y_test[::10])
    return d.split_valid(32).to(device)


def pre_bn(model) -> set:
    "The bias right before each BatchNorm and that BN's running mean: Adam turns their zero gradient's rounding noise into lr-sized steps."
    names = {}
    for n, m in model.named_modules():
        kids = list(m.named_children())
        for (n1, a), (n2, b) in zip(kids, kids[1:]):
            if isinstance(b, nn.modules.batchnorm._BatchNorm) and getattr(a, 'bias', None) is not None:
                p = f'{n}.' if n else ''
                names |= {f'{p}{n1}.bias', f'{p}{n2}.running_mean'}
    return names


def check_against_alone(arms, data, lrs, optimizer, device, paths, tol=1e-10):
    result, models = train_grid(arms, data, lrs, seeds=(1, 2), epochs=2, optimizer=optimizer, device=device,
                                progress=False, func=None)
    assert result.config['paths'] == paths, result.config
    for name, h in result.histories.items():
        a = h.attrs
        set_seed(a['seed'])
        model = arms[a['arm']]().to(device)
        ref = train_models({'m': model}, data, epochs=2, lr=a['lr'], seed=a['seed'], optimizer=optimizer, device=device,
                           progress=False).histories['m']
        for k, v in h.metrics.items():
            assert max(abs(x - y) for x, y in zip(v, ref.metrics[k])) < tol, (name, k, v, ref.metrics[k])
        ours, theirs, skip = models[name].state_dict(), model.state_dict(), pre_bn(model) if optimizer == 'adam' else set()
        for k, t in theirs.items():
            if t.is_floating_point() and k not in skip: torch.testing.assert_close(ours[k], t, rtol=0, atol=tol)
    return result


@pytest.mark.parametrize('optimizer, lrs', [('adam', [0.001, 0.003]), ('sgd', [0.03, 0.1])])
def test_depth_and_groupnorm_models_on_the_func_path(optimizer, lrs):
    torch.manual_seed(0)
    arms = {'res_bn': lambda: deep_mlp('res_bn', 3, width=16).double(), 'skipinit': lambda: deep_mlp('skipinit', 3, width=16).double(),
            'gn': lambda: MLP((784, 64, 10), norm='group').double()}   # 8 groups of 8: fewer features per group are ill-conditioned
    # under Adam, eval-mode metrics of BN models carry the pre-BN biases' noise (see 06b_grid): a looser bound there
    check_against_alone(arms, small(), lrs, optimizer, 'cpu', {'stacked': 0, 'func': 12, 'alone': 0},
                        tol=1e-6 if optimizer == 'adam' else 1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize('optimizer, lrs', [('adam', [0.001, 0.003]), ('sgd', [0.03, 0.1])])
def test_every_path_on_cuda(optimizer, lrs):
    arms = {'bn': lambda: MLP((784, 32, 32, 10), norm='batch').double(), 'plain': lambda: MLP((784, 32, 32, 10)).double(),
            'ln': lambda: MLP((784, 32, 32, 10), norm='layer').double(),
            'cnn': lambda: CNN(norm='batch', channels=(4, 8), hidden=(32,)).double(),     # grouped on a GPU by default
            'drop': lambda: MLP((784, 32, 32, 10), dropout=0.2).double()}                # alone, its own CUDA random stream
    check_against_alone(arms, small('cuda'), lrs, optimizer, 'cuda', {'stacked': 8, 'func': 8, 'alone': 4},
                        tol=1e-6 if optimizer == 'adam' else 1e-9)
