"""PyTorch's own LayerNorm, GroupNorm and InstanceNorm tests, run against torch's classes (the control) and bn_course's
from-scratch copies (`bn_course.norm_layers.LayerNorm`, `GroupNorm`, `InstanceNorm2d`).

Every test is parametrized over the implementation under test: `torch` (must pass) and `bn_course` (the claim "a
drop-in for torch.nn.LayerNorm / GroupNorm / InstanceNorm2d" is what is tested). Only the class under test is swapped;
upstream's inputs and asserts are kept, no test is marked xfail. Helpers (`assert_equal` = TestCase.assertEqual,
`_test_module_empty_input`) come from tests/test_batchnorm_upstream.py, which re-states them from torch's internals.

Source: test/test_nn.py, TestNNDeviceType (device='cpu'), PyTorch main at commit 74f2fa66feec (read 2026-12; torch
2.14.1 installed here). Adapted (upstream → here):
  test_LayerNorm_general (_test_LayerNorm_general in float, half and bfloat16, then _test_LayerNorm_cpu_mixed_dtype in
    half and bfloat16) → same name
  test_LayerNorm_numeric → same name; normalized_shape [256, 256, 144] → [64, 64, 36] (LAYER_NORM_NUMERIC_SHAPE: the
    same code path, a sixteenth of the memory)
  test_GroupNorm_general (_test_GroupNorm_general, then _test_GroupNorm_cpu_mixed_dtype) → same name
  test_GroupNorm_raises_error_if_one_value_per_group, test_GroupNorm_empty, test_GroupNorm_memory_format → same names
  test_GroupNorm_numeric → same name; X (1, 8, 256, 256, 72) → (1, 8, 64, 64, 18) (GROUP_NORM_NUMERIC_SHAPE)
  test_groupnorm_nhwc (float, double, bfloat16, half) → same name
  test_InstanceNorm2d_general (_test_InstanceNorm_general) → same name
  test_instancenorm_raises_error_if_input_channels_is_not_num_features → same name (its InstanceNorm2d parameters)
  test_instancenorm_raises_error_for_single_spatial_element_during_training → same name (its InstanceNorm2d step)
Skipped: CUDA only (_test_LayerNorm_cuda_half, _test_GroupNorm_cuda_half, _test_InstanceNorm_cuda_half); the 1d/3d
instance norms (no such bn_course class: InstanceNorm1d/3d, test_instancenorm_raises_error_if_less_than_one_value_per_
channel which uses InstanceNorm1d); test_rmsnorm_numeric (no RMSNorm in the course).

Found in bn_course by this suite (each fixed in nbs/14_norm_layers.ipynb; the tests failed before): float16/bfloat16
input with float32 parameters came back in float32 (LayerNorm, GroupNorm, InstanceNorm2d: mixed-dtype tests); a group
of one value was normalized to 0 instead of raising (GroupNorm raises_error_if_one_value_per_group); an empty batch
could not be reshaped (GroupNorm_empty); channels-last input came back contiguous (groupnorm_nhwc,
GroupNorm_memory_format); LayerNorm(()) normalized over everything instead of raising (LayerNorm_general).
"""
from __future__ import annotations

import random
import warnings
from copy import deepcopy
from itertools import product

import pytest
import torch
from torch import nn

from bn_course import norm_layers as norms
from test_batchnorm_upstream import _impls, _test_module_empty_input, assert_equal

LAYER_NORM = _impls(nn.LayerNorm, norms.LayerNorm)
GROUP_NORM = _impls(nn.GroupNorm, norms.GroupNorm)
INSTANCE_NORM_2D = _impls(nn.InstanceNorm2d, norms.InstanceNorm2d)
LAYER_NORM_NUMERIC_SHAPE = [64, 64, 36]            # upstream [256, 256, 144]
GROUP_NORM_NUMERIC_SHAPE = (1, 8, 64, 64, 18)      # upstream (1, 8, 256, 256, 72)
device = 'cpu'


@pytest.fixture(autouse=True)
def _seed():
    "TestCase.setUp seeds torch and random with common_utils.SEED (1234)."
    torch.manual_seed(1234)
    random.seed(1234)


# ---------------------------------------------------------------------------------------------------------------
# LayerNorm

def _test_LayerNorm_general(cls, device, dtype=torch.float):
    for i in range(2, 6):
        shape = torch.randint(3, 6, (i,), dtype=torch.long).tolist()
        x = torch.empty(*shape, device=device, dtype=dtype).uniform_(0, 10)
        normalized_ndim = random.randint(1, i - 1)  # inclusive
        normalized_shape = shape[-normalized_ndim:]
        unnormalized_shape = shape[:-normalized_ndim]

        # test that LN normalizes to mean 0 and stddev 1
        ln = cls(normalized_shape, eps=0).to(device, dtype)
        ln.weight.data.fill_(1)
        ln.bias.data.fill_(0)
        output = ln(x)
        out_reshaped = output.view(*(unnormalized_shape + [-1]))
        mean = out_reshaped.mean(-1)
        var = out_reshaped.var(-1, unbiased=False)

        delta = 1e-1 if (dtype == torch.bfloat16 or dtype == torch.half) else 1e-5
        assert_equal(torch.abs(mean.data).mean().item(), 0., atol=delta, rtol=0)
        assert_equal(torch.abs(var.data).mean().item(), 1., atol=delta, rtol=0)

        # test that LN applies weight and bias correctly
        scale, bias = torch.empty(2).uniform_(0.2, 2).tolist()
        ln.weight.data.fill_(scale)
        ln.bias.data.fill_(bias)
        output = ln(x)
        out_reshaped = output.view(*(unnormalized_shape + [-1]))
        mean = out_reshaped.mean(-1)
        var = out_reshaped.var(-1, unbiased=False)
        assert_equal(torch.abs(mean.data).mean().item(), bias, atol=delta, rtol=0)
        assert_equal(torch.abs(var.data).mean().item(), scale ** 2, atol=delta, rtol=0)

    bad_norm_shape_input_shape = {
        (): (),
        (2, 3): (3,),
        (2,): (1, 2, 3),
        (10,): (2, 3),
        10: (2, 3),
    }
    for norm_shape, input_shape in bad_norm_shape_input_shape.items():
        ln = cls(norm_shape)
        input = torch.empty(input_shape, device=device, dtype=dtype).uniform_(0, 10)
        with pytest.raises(RuntimeError): ln(input)


def _test_LayerNorm_cpu_mixed_dtype(cls, device, dtype):
    for elementwise_affine in [True, False]:
        # layer norm input shape is normalized to m x n, cpu vectorized on n,
        # so make sure n exceeds vector length
        input = torch.empty(2, 3, 11, 3, device=device, dtype=dtype).random_(1, 10)
        m = cls([11, 3], elementwise_affine=elementwise_affine).to(device, dtype)

        # fp32
        m_fp32 = deepcopy(m).to(device, torch.float)
        x_fp32 = input.detach().clone().float().requires_grad_()
        out_fp32 = m_fp32(x_fp32)
        out_fp32.sum().backward()

        # bf16/half
        m_bf16 = deepcopy(m)
        x_bf16 = input.detach().clone().requires_grad_()
        out_bf16 = m_bf16(x_bf16)
        out_bf16.sum().backward()

        # bf16/half mixed type
        m_mix = deepcopy(m).to(device, torch.float)
        x_mix = input.detach().clone().requires_grad_()
        out_mix = m_mix(x_mix)
        out_mix.sum().backward()
        assert_equal(out_fp32.to(dtype=dtype), out_bf16)
        assert_equal(out_fp32.to(dtype=dtype), out_mix)
        assert_equal(x_fp32.grad.to(dtype=dtype), x_bf16.grad, atol=1e-1, rtol=1e-1)
        assert_equal(x_fp32.grad.to(dtype=dtype), x_mix.grad, atol=1e-1, rtol=1e-1)


@pytest.mark.parametrize('cls', LAYER_NORM)
def test_LayerNorm_general(cls):
    _test_LayerNorm_general(cls, device)
    for dtype in [torch.half, torch.bfloat16]:
        _test_LayerNorm_general(cls, device, dtype=dtype)
    for dtype in [torch.half, torch.bfloat16]:   # upstream's cpu branch, in the same test (the same random draws)
        _test_LayerNorm_cpu_mixed_dtype(cls, device, dtype=dtype)


@pytest.mark.parametrize('cls', LAYER_NORM)
def test_LayerNorm_numeric(cls):
    def layer_norm_ref(X, gamma, beta, normalized_shape, eps):
        feature_size = torch.tensor(normalized_shape).prod().item()
        X_view = X.view(-1, feature_size)
        mean = X_view.mean(dim=-1, keepdim=True)
        var = X_view.var(dim=-1, unbiased=False, keepdim=True)
        Y = (X_view - mean) / torch.sqrt(var + eps)
        Y = Y * gamma.view(-1) + beta.view(-1)
        return Y.view(*X.size())

    normalized_shape = LAYER_NORM_NUMERIC_SHAPE
    layer_norm = cls(normalized_shape).float().to(device)
    X = torch.rand(2, *normalized_shape, dtype=torch.float32, device=device)

    Y = layer_norm(X)
    Y_ref = layer_norm_ref(X, layer_norm.weight.data, layer_norm.bias.data, normalized_shape, layer_norm.eps)
    assert_equal(Y, Y_ref, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# GroupNorm

@pytest.mark.parametrize('cls', GROUP_NORM)
def test_GroupNorm_general(cls):
    _test_GroupNorm_general(cls)
    _test_GroupNorm_cpu_mixed_dtype(cls)   # upstream's cpu branch, in the same test (the same random draws)


def _test_GroupNorm_general(cls, dtype=torch.float):
    good_shape_g = {
        (1, 2, 3, 4): 2,
        (2, 3, 10): 3,
        (3, 1, 1, 1, 2): 1,
        (2, 6, 4, 2, 2): 3,
        (1, 256, 1, 1): 32,
    }
    for shape_g, grad in product(good_shape_g.items(), [True, False]):
        shape, g = shape_g
        x = torch.empty(*shape, device=device, dtype=dtype).uniform_(0, 10)
        x.requires_grad_(grad)
        b = shape[0]
        c = shape[1]

        # test that GN normalizes to mean 0 and stddev 1
        gn = cls(g, c, eps=0).to(device, dtype)
        gn.weight.data.fill_(1)
        gn.bias.data.fill_(0)
        output = gn(x)
        out_reshaped = output.view(b, g, -1)
        mean = out_reshaped.mean(-1)
        var = out_reshaped.var(-1, unbiased=False)
        assert_equal(torch.abs(mean).mean().item(), 0., atol=1e-5, rtol=0)
        assert_equal(torch.abs(var).mean().item(), 1., atol=1e-5, rtol=0)

        output.backward(torch.randn_like(output))

        # test that GN applies weight and bias correctly
        scale = torch.empty(c, device=device, dtype=dtype).uniform_(0.2, 2)
        bias = torch.empty(c, device=device, dtype=dtype).uniform_(0.2, 2)
        gn.weight.data.copy_(scale)
        gn.bias.data.copy_(bias)
        output = gn(x)
        out_reshaped = output.view(b, c, -1)
        out_normed = (out_reshaped - bias.view(c, 1)) / scale.view(c, 1)
        out_normed_reshaped = out_normed.view(b, g, -1)
        mean = out_normed_reshaped.mean(-1)
        var = out_normed_reshaped.var(-1, unbiased=False)
        assert_equal(torch.abs(mean).mean().item(), 0., atol=1e-5, rtol=0)
        assert_equal(torch.abs(var).mean().item(), 1., atol=1e-5, rtol=0)

    bad_shape_g = {
        (1, 2, 3, 4): 3,
        (2, 3, 10): 2,
        (3, 1, 1, 1, 2): 10,
        (2, 6, 4, 2, 2): 4,
    }
    for shape, g in bad_shape_g.items():
        with pytest.raises(ValueError):
            gn = cls(g, shape[1])


def _test_GroupNorm_cpu_mixed_dtype(cls):
    def helper(size, groups, memory_format, dtype):
        channels = size[1]
        input = torch.randn(size).cpu().to(dtype=dtype)
        input_bf1 = input.contiguous(memory_format=memory_format).detach().requires_grad_(True)
        input_bf2 = input_bf1.detach().clone().requires_grad_(True)
        input_f = input_bf1.float().detach().requires_grad_(True)
        m_bf = cls(groups, channels).cpu().to(dtype=dtype)
        m_f = deepcopy(m_bf).float()
        m_f2 = deepcopy(m_f)
        # bfloat16 input and bfloat16 parameters
        out = m_bf(input_bf1)
        # bfloat16 input and float parameters
        out2 = m_f(input_bf2)
        # float input and float parameters
        out3 = m_f2(input_f)
        assert_equal(out, out2, atol=5e-3, rtol=5e-3)
        assert_equal(out2.float(), out3, atol=5e-3, rtol=5e-3)
        grad_out = torch.randn(out2.shape).cpu().to(dtype=dtype)
        grad_out_bf1 = grad_out.contiguous(memory_format=memory_format).detach().requires_grad_(True)
        grad_out_bf2 = grad_out_bf1.detach().clone().requires_grad_(True)
        grad_out_f = grad_out_bf2.clone().float().detach().requires_grad_(True)
        # bfloat16/half input grad and float parameters
        out2.backward(grad_out_bf2, retain_graph=True)
        # float input grad and float parameters
        out3.backward(grad_out_f, retain_graph=True)
        # bfloat16/half input grad and bfloat16/half parameters
        out.backward(grad_out_bf1, retain_graph=True)
        # Need higher tolerances atol=1e-4 and rtol=1e-4 on macos
        assert_equal(m_f.weight.grad, m_f2.weight.grad, atol=1e-4, rtol=1e-4)
        assert_equal(m_f.bias.grad, m_f2.bias.grad, atol=1e-5, rtol=1e-5)
        assert_equal(input_bf2.grad.float(), input_f.grad, atol=5e-5, rtol=5e-3)
        # Full bf16/half has lower precision compared with mixed bf16/half and fp32.
        # Use Amp to keep module parameters in acc dtype, i.e. float, for better numerical stability
        if dtype == torch.bfloat16:
            atol = 1e-2
            rtol = 1.2e-1
        else:
            assert dtype == torch.half
            atol = 5e-3
            rtol = 1.5e-2
        assert_equal(m_bf.weight.grad, m_f.weight.grad.to(dtype=dtype), atol=atol, rtol=rtol)
        assert_equal(m_bf.bias.grad, m_f.bias.grad.to(dtype=dtype), atol=atol, rtol=rtol)
        assert_equal(input_bf1.grad, input_bf2.grad, atol=atol, rtol=rtol)

    cl_formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for dtype in [torch.bfloat16, torch.half]:
        for shape, g in [((1, 8, 4, 3), 2), ((1, 8, 3, 4), 4),
                         ((4, 40, 40, 40), 2), ((4, 8, 40, 40), 4),
                         ((1, 8, 40, 40), 4), ((1, 8, 40, 40), 2),
                         ((1, 8, 50, 50), 2), ((1, 8, 50, 50), 4),
                         ((1, 40, 50, 50), 2), ((1, 9, 3, 4, 5), 3),
                         ((1, 60, 10, 10, 10), 3), ((1, 9, 10, 50, 50), 3),
                         ((1, 60, 10, 50, 50), 3), ((1, 8, 65, 55), 2),
                         ((1, 3, 65, 55), 1), ((1, 3, 20, 20), 1)]:
            for is_cl in [False, True]:
                format = cl_formats[len(shape)] if is_cl else torch.contiguous_format
                helper(shape, g, format, dtype)


@pytest.mark.parametrize('cls', GROUP_NORM)
def test_GroupNorm_raises_error_if_one_value_per_group(cls):
    x = torch.rand(10)[None, :, None]
    with pytest.raises(ValueError):
        cls(10, 10)(x).to(device)


@pytest.mark.parametrize('cls', GROUP_NORM)
def test_GroupNorm_empty(cls):
    mod = cls(2, 4).to(device)
    inp = torch.randn(0, 4, 2, 2, device=device)
    _test_module_empty_input(mod, inp)


@pytest.mark.parametrize('cls', GROUP_NORM)
@pytest.mark.parametrize('dtype', [torch.float, torch.double, torch.bfloat16, torch.half])
def test_groupnorm_nhwc(cls, dtype):
    def helper(size, groups, memory_format, is_mixed):
        channels = size[1]
        input = torch.randn(size, dtype=dtype, device=device, requires_grad=True)
        input = input.contiguous(memory_format=memory_format)
        input.retain_grad()
        grad = torch.randn(size, dtype=dtype, device=device)
        grad = grad.contiguous(memory_format=memory_format)
        if dtype == torch.bfloat16 and is_mixed:
            gn = cls(groups, channels).to(device).to(torch.float)
        else:
            gn = cls(groups, channels).to(device).to(dtype)
        gn.weight.data.uniform_()
        gn.bias.data.uniform_()

        ref_input = input.detach().clone().contiguous(memory_format=torch.contiguous_format).requires_grad_(True)
        ref_grad = grad.detach().clone().contiguous(memory_format=torch.contiguous_format)
        if dtype == torch.bfloat16 and is_mixed:
            ref_gn = cls(groups, channels).to(device).to(torch.float)
        else:
            ref_gn = cls(groups, channels).to(device).to(dtype)
        ref_gn.load_state_dict(gn.state_dict())
        out = gn(input)
        out.backward(grad)
        ref_out = ref_gn(ref_input)
        ref_out.backward(ref_grad)

        assert out.is_contiguous(memory_format=memory_format)
        assert ref_out.is_contiguous(memory_format=torch.contiguous_format)
        assert_equal(out, ref_out)
        # parameters in bfloat16/Half is not recommended
        atol = 5e-4
        rtol = 8e-3

        assert_equal(gn.weight.grad, ref_gn.weight.grad, atol=atol, rtol=rtol)
        assert_equal(gn.bias.grad, ref_gn.bias.grad, atol=atol, rtol=rtol)
        assert_equal(input.grad, ref_input.grad, atol=atol, rtol=rtol)

    for is_mixed in [True, False]:
        helper((4, 8, 10, 10), 4, torch.channels_last, is_mixed)
        helper((2, 30, 9, 9), 3, torch.channels_last, is_mixed)
        helper((4, 8, 40, 40), 4, torch.channels_last, is_mixed)
        helper((4, 40, 40, 40), 2, torch.channels_last, is_mixed)
        helper((2, 30, 50, 50), 3, torch.channels_last, is_mixed)
        helper((2, 60, 50, 50), 3, torch.channels_last, is_mixed)
        helper((2, 9, 7, 11, 15), 3, torch.channels_last_3d, is_mixed)
        helper((2, 9, 7, 200, 15), 3, torch.channels_last_3d, is_mixed)
        helper((2, 60, 7, 200, 15), 3, torch.channels_last_3d, is_mixed)


@pytest.mark.parametrize('cls', GROUP_NORM)
def test_GroupNorm_memory_format(cls):
    # Tests for regression reported in https://github.com/pytorch/pytorch/issues/92166

    def helper(input_format, grad_format, B=2, C=4, W=4, H=4):
        net_orig = cls(B, C).to(device=device)
        net = deepcopy(net_orig)
        x_orig = torch.rand(B, C, W, H, device=device, requires_grad=True)
        grad_orig = torch.rand(B, C, W, H, device=device)
        x = x_orig.detach().clone().to(memory_format=input_format).requires_grad_(True)
        grad = grad_orig.detach().to(memory_format=grad_format)

        y = net(x)
        y.backward(grad)

        y_orig = net_orig(x_orig)
        y_orig.backward(grad_orig)

        assert_equal(y, y_orig)
        assert_equal(x.grad, x_orig.grad)

    for input_format in [torch.contiguous_format, torch.channels_last]:
        for grad_format in [torch.contiguous_format, torch.channels_last]:
            helper(input_format, grad_format)


@pytest.mark.parametrize('cls', GROUP_NORM)
def test_GroupNorm_numeric(cls):
    def group_norm_ref(X, gamma, beta, groups, channels, eps):
        batch_size = X.size()[0]
        X_view = X.view(batch_size, groups, -1)
        mean = X_view.mean(dim=-1, keepdim=True)
        var = X_view.var(dim=-1, unbiased=False, keepdim=True)
        Y = ((X_view - mean) / torch.sqrt(var + eps)).view(batch_size, channels, -1)
        Y = Y * gamma.view(channels, 1) + beta.view(channels, 1)
        return Y.view(*X.size())

    batch_size, channels, *rest = GROUP_NORM_NUMERIC_SHAPE
    groups = 2
    group_norm = cls(groups, channels).float().to(device)
    X = torch.rand(batch_size, channels, *rest, dtype=torch.float32, device=device)

    Y = group_norm(X)
    Y_ref = group_norm_ref(X, group_norm.weight.data, group_norm.bias.data, groups, channels, group_norm.eps)
    assert_equal(Y, Y_ref, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# InstanceNorm2d

def _test_InstanceNorm_general(cls, input, device, dtype=torch.float):
    # default case track_running_stats=False
    b, c = input.size(0), input.size(1)
    input_var = input.to(device=device, dtype=dtype).requires_grad_()

    IN = cls(c, eps=0).to(device, dtype)

    output = IN(input_var)
    out_reshaped = output.view(b * c, -1)

    mean = out_reshaped.mean(1)
    var = out_reshaped.var(1, unbiased=False)

    assert_equal(torch.abs(mean.data).mean().item(), 0., atol=1e-5, rtol=0)
    assert_equal(torch.abs(var.data).mean().item(), 1., atol=1e-5, rtol=0)

    # check that eval mode doesn't change behavior
    grad_out = torch.randn_like(output)
    res1 = output.data.clone()
    output.backward(grad_out)
    grad1 = input_var.grad.data.clone()

    IN.eval()
    output = IN(input_var)
    input_var.grad = None
    output.backward(grad_out)
    res2 = output.data
    grad2 = input_var.grad.data
    assert_equal(res1, res2)
    assert_equal(grad1, grad2)

    # If track_running_stats=True and momentum=1, running_mean/var should be
    # equal to mean/var of the input (with unbias correction)
    IN = cls(c, momentum=1, eps=0, track_running_stats=True).to(device, dtype)

    output = IN(input_var)

    input_reshaped = input_var.transpose(1, 0).reshape(c, -1)
    mean = input_reshaped.mean(1)

    input_reshaped = input_var.transpose(1, 0).reshape(c, b, -1)
    var = input_reshaped.var(2, unbiased=True)[:, :]

    assert_equal(torch.abs(mean.data - IN.running_mean).mean().item(), 0., atol=1e-5, rtol=0)
    assert_equal(torch.abs(var.data.mean(1) - IN.running_var).mean().item(), 0., atol=1e-5, rtol=0)

    # in eval mode, adding X * std to a channel in input should make the
    # corresponding channel in output have mean X
    IN.eval()
    delta = IN.running_var.sqrt() * torch.arange(c, device=device, dtype=dtype)
    delta = delta.view(-1, *[1 for _ in range(2, input.dim())])
    output = IN(input_var + delta)
    assert_equal(output.transpose(0, 1).reshape(c, -1).mean(1), torch.arange(c, dtype=dtype))


@pytest.mark.parametrize('cls', INSTANCE_NORM_2D)
def test_InstanceNorm2d_general(cls):
    b = random.randint(3, 5)
    c = random.randint(3, 5)
    w = random.randint(3, 6)
    h = random.randint(6, 8)

    input = torch.rand(b, c, h, w)
    _test_InstanceNorm_general(cls, input, device)


@pytest.mark.parametrize('cls', INSTANCE_NORM_2D)
@pytest.mark.parametrize('no_batch_dim', [True, False])
@pytest.mark.parametrize('affine', [True, False])
def test_instancenorm_raises_error_if_input_channels_is_not_num_features(cls, no_batch_dim, affine):
    inst_norm = cls(4, affine=affine)
    size = [2] * 3                 # upstream: inst_norm._get_no_batch_dim(), 3 for a 2d instance norm
    if not no_batch_dim:
        size = [3] + size
    t = torch.randn(size)
    if affine:
        with pytest.raises(ValueError, match="expected input's size at dim="):
            inst_norm(t)
    else:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            inst_norm(t)
        assert "which is not used because affine=False" in str(w[0].message)


@pytest.mark.parametrize('cls', INSTANCE_NORM_2D)
def test_instancenorm_raises_error_for_single_spatial_element_during_training(cls):
    BATCH_SIZE = 10
    NUM_CHANNELS = 3
    m = cls(NUM_CHANNELS, track_running_stats=True)   # upstream loops over InstanceNorm1d/2d/3d; its 2d step
    m.to(device)

    # Create an appropriately-sized input with a single spatial element.
    input = torch.randn(BATCH_SIZE, NUM_CHANNELS, 1, 1, device=device)
    with pytest.raises(ValueError):
        m(input)

    # Single spatial element should be fine in eval.
    m.eval()
    m(input)
