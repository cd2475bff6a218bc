"""PyTorch's own BatchNorm tests, run against `torch.nn.BatchNorm1d`/`BatchNorm2d` (the control) and `bn_course`'s
from-scratch copies (`bn_course.batchnorm.BatchNorm1d`, `bn_course.norm_layers.BatchNorm2d`).

Every test is parametrized over the implementation under test: `torch` (must pass) and `bn_course` (the claim
"drop-in for torch.nn.BatchNorm1d / BatchNorm2d" is what is being tested). Only the class (or, for tests of
`F.batch_norm`, the function) under test is swapped; upstream's inputs and asserts are kept. No test is marked xfail:
every upstream assert must hold for bn_course as it does for torch. Class parameters carry the dimensionality in their
ids (torch-1d, bn_course-1d, torch-2d, bn_course-2d; TestModule: torch-2d-momentum-train, ...).

Sources (PyTorch main, read 2026-12; torch 2.14.1 installed here):
  * test/test_nn.py (TestNN, TestNNDeviceType, TestFusionEval, TestFusionUtils)
  * test/nn/test_load_state_dict.py (TestLoadStateDict)
  * test/test_modules.py (TestModule), driven by the `torch.nn.BatchNorm1d` and `torch.nn.BatchNorm2d` ModuleInfos of
    torch/testing/_internal/common_modules.py: `module_inputs_torch_nn_BatchNorm1d` / `module_inputs_torch_nn_BatchNorm2d`
    (copied below as MODULE_INPUTS[1] / MODULE_INPUTS[2]) and `module_error_inputs_torch_nn_BatchNorm1d_2d_3d`
    (ERROR_INPUTS, input (2, 10) for 1d, (2, 10, 5, 5) for 2d).
`torch.testing._internal` is NOT imported: `common_utils` needs `expecttest` (not installed) and calls
`torch.backends.disable_global_flags()` at import, which would leak into the rest of the test session. The few
helpers used (`gradcheck`/`gradgradcheck` wrappers with check_batched_grad=True, fast_mode=True; `mock_wrapper`;
`get_tensors_from`; `_test_module_empty_input`; `TestCase.assertEqual` = `assert_close(..., equal_nan=True)`) are
re-stated below, unchanged in behaviour.

Adapted (upstream → here; "cls1" = parametrized over torch/bn_course BatchNorm1d, "cls2" = over torch/bn_course
BatchNorm2d, "cls1+2" = over both pairs, "fn" = over F.batch_norm/bn_course.batch_norm):
  test_nn.py TestNN
    test_batchnorm_raises_error_if_less_than_one_value_per_channel → same name (cls1)
    test_batchnorm_raises_error_if_running_mean_is_not_same_size_as_input → same name (fn)
    test_batchnorm_raises_error_if_running_var_is_not_same_size_as_input → same name (fn)
    test_batchnorm_raises_error_if_weight_is_not_same_size_as_input → same name (fn)
    test_batchnorm_raises_error_if_bias_is_not_same_size_as_input → same name (fn)
    test_batchnorm_raises_error_if_running_var_or_running_mean_have_forward_grad → same name (fn)
    test_batchnorm_buffer_update_when_stats_are_not_tracked → same name (cls1)
    test_batchnorm_load_state_dict → same name (cls1+2; upstream uses BatchNorm2d; the code under test is the
        shared _NormBase state-dict logic, so BatchNorm1d runs it too)
    test_batchnorm_nhwc_cpu → same name (cls2; its BatchNorm2d/channels_last loop: (4, 8, 10, 10), (4, 1, 9, 9),
        (4, 9, 1, 1) x float/bfloat16/float16 x mixed dtype)
    test_batchnorm_half_overflow → same name (cls2; sizes reduced, see HALF_OVERFLOW_SIZE: (4, 80, 500, 500) →
        (4, 8, 160, 160) and (16, 3, 224, 224) → (16, 3, 80, 80), both still 102,400 > 65,504 values per channel)
    test_batchnorm_non_contig_cpu[BatchNorm2d] → test_batchnorm_non_contig_cpu (cls2; the reference stays torch's
        BatchNorm2d, as upstream)
  test_nn.py TestNNDeviceType (device='cpu')
    test_BatchNorm_empty → test_BatchNorm_empty (cls1+2; BatchNorm2d with (0, 3, 2, 2) as upstream, BatchNorm1d with
        (0, 3, 2))
    test_batchnorm_grad (_test_batchnorm_grad) → test_batchnorm_grad[training] (fn)
    test_batchnorm_eval (_test_batchnorm_eval, ndim 2 and 3) → test_batchnorm_eval (cls1)
    test_batchnorm_affine (_test_batchnorm_affine) → test_batchnorm_affine (cls1)
    test_batchnorm_simple_average (_test_batchnorm_simple_average) → test_batchnorm_simple_average (cls1)
    test_batchnorm_update_stats (_test_batchnorm_update_stats) → test_batchnorm_update_stats (cls1)
  test_nn.py TestFusionEval
    test_fuse_module_eval_numerics → same name (cls2; Conv2d + BatchNorm2d in eval, fused vs not; upstream draws the
        input and running statistics with hypothesis, which is not installed: FUSION_DRAWS seeded draws instead)
  test_nn.py TestFusionUtils
    test_fuse_conv_bn_requires_grad → same name (cls2)
    test_fuse_linear_bn_requires_grad → same name (cls1)
  test/nn/test_load_state_dict.py TestLoadStateDict (@swap([True, False]) → parametrize `swap`)
    test_load_state_dict → test_load_state_dict (cls1+2; upstream `net.bn` is BatchNorm2d(2))
    test_load_state_dict_BC → test_load_state_dict_BC (cls1+2; upstream BatchNorm2d(3))
    test_load_state_dict_assign_meta → test_load_state_dict_assign_meta (cls1)
    test_load_state_dict_assign_with_optimizer → test_load_state_dict_assign_with_optimizer (cls1)
    test_load_state_dict_assign_shape_stride → test_load_state_dict_assign_shape_stride (cls1)
  test/test_modules.py TestModule, one test per (implementation, ModuleInfo, input `desc`, train/eval) over both
  ModuleInfos (BatchNorm2d's first input has no desc: 'default' here); upstream loops over the inputs inside one test,
  split here so one failing input cannot hide the others
    test_forward, test_factory_kwargs, test_repr, test_save_load, test_non_contiguous_tensors, test_grad,
    test_gradgrad, test_memory_format (with its channels_last branches for the 4-D BatchNorm2d inputs),
    test_if_train_and_eval_modes_differ, test_device_ctx_init, test_errors, test_to, test_to_empty
    → test_module_<same name>

Skipped (not adapted), with the reason:
  CUDA / cuDNN / MIOpen only: test_batchnorm_cudnn_nhwc, test_batchnorm_cudnn_half, test_batchnorm_nonaffine_cuda_half_input,
    test_batchnorm_nhwc_cuda, test_batchnorm (NCHW/NHWC vs cpu/native, train/inference, mixed half/bfloat16),
    test_batchnorm_large_batch, test_batchnorm_simple_average_mixed, test_batchnorm_eval_mixed,
    test_batchnorm_affine_mixed (onlyCUDA, bfloat16/half input with float module), the cudnn-disabled second pass
    inside the device tests, TestModule test_cpu_gpu_parity and test_multiple_device_transfer (onlyCUDA), the bfloat16
    dtypesIfCUDA variants;
    (test_nn.py was read in the BatchNorm regions — TestNN's BN block, TestNNDeviceType's BN/empty-input tests,
    TestFusionEval, TestFusionUtils — not line by line; any further CUDA/SyncBatchNorm-only BN test there falls under
    this reason.)
  BatchNorm3d / channels_last_3d (the course has no 3d): the BatchNorm3d loop of test_batchnorm_nhwc_cpu, the
    BatchNorm3d calls of test_batchnorm_half_overflow, the channels_last_3d branch of TestModule.test_memory_format
    (never taken for 2D-4D input), the BatchNorm3d ModuleInfo.
  SyncBatchNorm (not a bn_course class of this module): test_batchnorm_non_contig_cpu[SyncBatchNorm].
  Not about the module: test_batch_norm_update_stats (checks the error message of the ATen op
    torch.batch_norm_update_stats on an empty input; bn_course has no such op); TestUtils
    test_consume_prefix_in_state_dict_if_present (its `net.bn = nn.BatchNorm2d(2)` lands on another module: no BN in
    the state dict it checks).
  Not applicable: TestModule.test_check_inplace (BatchNorm has no `inplace` argument); the ModuleInfos'
    TestEagerFusionModuleInfo / aot_autograd entries (torch.compile/functorch-specific).

Fixed in bn_course because this suite found them (each was a strict xfail on the bn_course parameter until the fix):
no `bias=` keyword; second-order gradients through the batch statistics silently wrong (the backward now recomputes
x̂ from the saved input with differentiable ops); an empty train-mode batch turning running stats into NaN; state dicts
without num_batches_tracked not loading (no `_load_from_state_dict`); eps <= 0 accepted; forward-mode tangents on the
running statistics accepted.
Found in bn_course's BatchNorm2d when the suite was extended to it (fixed in nbs/14_norm_layers.ipynb before the tests
were committed): an empty channels-last batch (the ModuleInfo's zero_batch input in test_module_memory_format) came
back in contiguous layout, output and input gradient (a view cannot carry the strides of an empty tensor; channels-last
input now goes through its (N, H·W, C) memory view); a float16 module on float16 input computed in 16-bit arithmetic,
4.8% of the outputs off torch's by more than float16's tolerance (test_batchnorm_half_overflow; now float32 arithmetic
and one rounding, as torch's CPU kernel).

Adaptation notes: every test is seeded with torch.manual_seed(1234) as TestCase.setUp does (ModuleInfo inputs come
from make_tensor, and gradcheck's fast mode draws random vectors); the forward-grad test skips the one-time
jit-scripting of torch._decomp.decompositions_for_jvp (runtime only, see there); TestModule.test_errors is run once,
not per train/eval, because upstream never calls m.train() in it.

Other differences found while adapting, not covered by an upstream assert, also fixed and tested in
test_batchnorm_dropin_details below: repr without `bias=`; a wrong number of channels raising ValueError (torch:
RuntimeError "running_mean should contain 5 elements not 3"); mixed dtypes (float module, double input) computed
silently in float64 (torch: RuntimeError "mixed dtype (CPU)"); an empty train-mode batch emitting UserWarnings.
"""
from __future__ import annotations

import tempfile
import warnings
from collections import OrderedDict
from copy import deepcopy
from functools import partial, wraps
from inspect import isgenerator
from itertools import chain, product
from operator import methodcaller
from unittest.mock import MagicMock, patch

import pytest
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import nn
from torch.nn import Parameter
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_weights
from torch.testing import assert_close, make_tensor

from bn_course import batchnorm as bnc
from bn_course import norm_layers as norms

# ---------------------------------------------------------------------------------------------------------------
def _impls(torch_impl, ours, tag=''):
    "The two implementations as pytest params, ids torch[-tag] / bn_course[-tag]."
    sfx = f'-{tag}' if tag else ''
    return [pytest.param(torch_impl, id=f'torch{sfx}'), pytest.param(ours, id=f'bn_course{sfx}')]


# (torch's class, bn_course's class) per number of spatial dimensions: 1 → BatchNorm1d, 2 → BatchNorm2d
BN = {1: (nn.BatchNorm1d, bnc.BatchNorm1d), 2: (nn.BatchNorm2d, norms.BatchNorm2d)}


def classes(*dims):
    "The BatchNorm classes of these dimensionalities as params, ids torch-1d, bn_course-1d, torch-2d, ..."
    return [p for d in dims for p in _impls(*BN[d], tag=f'{d}d')]


def _dim(cls) -> int:
    "1 for a BatchNorm1d, 2 for a BatchNorm2d (bn_course's BatchNorm2d subclasses its BatchNorm1d: test 2d first)."
    return 2 if issubclass(cls, (nn.BatchNorm2d, norms.BatchNorm2d)) else 1


CLASSES = classes(1)  # tests upstream wrote for BatchNorm1d only
FUNCS = _impls(F.batch_norm, bnc.batch_norm)

# ---------------------------------------------------------------------------------------------------------------
# Helpers re-stated from torch.testing._internal (same behaviour, see module docstring)

def assert_equal(actual, expected, *, atol=None, rtol=None, exact_dtype=True, msg=None):
    "TestCase.assertEqual for tensors / sequences / mappings / numbers: assert_close with equal_nan=True."
    assert_close(actual, expected, atol=atol, rtol=rtol, equal_nan=True, check_dtype=exact_dtype, msg=msg)


def assert_not_equal(actual, expected):
    "TestCase.assertNotEqual: fails exactly when assertEqual passes."
    with pytest.raises(AssertionError):
        assert_equal(actual, expected)


def gradcheck(fn, inputs, **kwargs):
    "common_utils.gradcheck: torch.autograd.gradcheck with check_batched_grad=True, fast_mode=True by default."
    for key, value in {'check_batched_grad': True, 'fast_mode': True}.items():
        if kwargs.get(key) is None: kwargs[key] = value
    return torch.autograd.gradcheck(fn, inputs, **kwargs)


def gradgradcheck(fn, inputs, grad_outputs=None, **kwargs):
    "common_utils.gradgradcheck, same defaults."
    for key, value in {'check_batched_grad': True, 'fast_mode': True}.items():
        if kwargs.get(key) is None: kwargs[key] = value
    return torch.autograd.gradgradcheck(fn, inputs, grad_outputs, **kwargs)


def _assertGradAndGradgradChecks(apply_fn, inputs, **kwargs):
    assert gradcheck(apply_fn, inputs, **kwargs)
    assert gradgradcheck(apply_fn, inputs, **kwargs)


def mock_wrapper(method):
    "Call the real method and record the call on a MagicMock (common_utils.mock_wrapper)."
    mock = MagicMock()

    @wraps(method)
    def wrapper(self, *args, **kwargs):
        mock(*args, **kwargs)
        return method(self, *args, **kwargs)
    wrapper.mock = mock
    return wrapper


def get_tensors_from(args, kwargs):
    return set([a for a in args if isinstance(a, torch.Tensor)] + [v for v in kwargs.values() if isinstance(v, torch.Tensor)])


def _test_module_empty_input(module, inp, check_size=True, inference=False):
    "common_nn._test_module_empty_input."
    if not inference:
        inp.requires_grad_(True)
    out = module(inp)
    if not inference:
        gO = torch.rand_like(out)
        out.backward(gO)
    if check_size:
        assert_equal(out.size(), inp.size())
    if not inference:
        for p in module.parameters():
            if p.requires_grad:
                assert_equal(p.grad, torch.zeros_like(p.grad))
        assert_equal(inp.grad, torch.zeros_like(inp))


class swap_params:
    "@swap([...]) / wrapSwapTensorsTest: set torch.__future__'s swap_module_params_on_conversion, restore after."
    def __init__(self, swap: bool): self.swap = swap
    def __enter__(self):
        self.old = torch.__future__.get_swap_module_params_on_conversion()
        torch.__future__.set_swap_module_params_on_conversion(self.swap)
    def __exit__(self, *exc): torch.__future__.set_swap_module_params_on_conversion(self.old)


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """One intra-op thread for this module (restored after): its tensors are small, and two threads fighting over
    shared cores made the suite ~4x slower in wall time (1018 tests: 185 s vs 41 s on a loaded 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _seed():
    "TestCase.setUp seeds every test with common_utils.SEED (1234); so do we, which makes every run identical."
    torch.manual_seed(1234)


# ===============================================================================================================
# test/test_nn.py — TestNN

@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_raises_error_if_less_than_one_value_per_channel(cls):
    x = torch.rand(10)[None, :, None]
    with pytest.raises(ValueError):
        cls(10)(x)


@pytest.mark.parametrize('batch_norm', FUNCS)
def test_batchnorm_raises_error_if_running_mean_is_not_same_size_as_input(batch_norm):
    input = torch.rand(2, 10)
    running_var = torch.rand(10)
    wrong_sizes = [9, 11]
    for size in wrong_sizes:
        with pytest.raises(RuntimeError):
            batch_norm(input, torch.rand(size), running_var)


@pytest.mark.parametrize('batch_norm', FUNCS)
def test_batchnorm_raises_error_if_running_var_is_not_same_size_as_input(batch_norm):
    input = torch.rand(2, 10)
    running_mean = torch.rand(10)
    wrong_sizes = [9, 11]
    for size in wrong_sizes:
        with pytest.raises(RuntimeError):
            batch_norm(input, running_mean, torch.rand(size))


@pytest.mark.parametrize('batch_norm', FUNCS)
def test_batchnorm_raises_error_if_weight_is_not_same_size_as_input(batch_norm):
    input = torch.rand(2, 10)
    running_mean = torch.rand(10)
    running_var = torch.rand(10)
    wrong_sizes = [9, 11]
    for size in wrong_sizes:
        with pytest.raises(RuntimeError):
            batch_norm(input, running_mean, running_var, weight=Parameter(torch.rand(size)))


@pytest.mark.parametrize('batch_norm', FUNCS)
def test_batchnorm_raises_error_if_bias_is_not_same_size_as_input(batch_norm):
    input = torch.rand(2, 10)
    running_mean = torch.rand(10)
    running_var = torch.rand(10)
    wrong_sizes = [9, 11]
    for size in wrong_sizes:
        with pytest.raises(RuntimeError):
            batch_norm(input, running_mean, running_var, bias=Parameter(torch.rand(size)))


@pytest.mark.parametrize('batch_norm', _impls(F.batch_norm, bnc.batch_norm))
def test_batchnorm_raises_error_if_running_var_or_running_mean_have_forward_grad(batch_norm, monkeypatch):
    # Runtime only: the first make_dual of a process jit-scripts torch._decomp.decompositions_for_jvp (seconds of CPU,
    # plus a torch.jit deprecation warning). Those decompositions serve forward-over-reverse of a few backward ops;
    # batch_norm's forward-mode formula (and the sub/mul/rsqrt/add of bn_course's eval path) are native, so skip it.
    monkeypatch.setattr(fwAD, '_maybe_load_decompositions', lambda: None)
    args = (
        torch.randn(3, 2, 5),  # input
        torch.randn(2),  # running_mean
        torch.randn(2),  # running_var
    )
    kwargs = {'training': False, 'momentum': -1.2}
    fn = partial(batch_norm, **kwargs)

    for dual_indices in ((0,), (1,), (1, 2), (0, 1), (0, 1, 2),):
        tangents = tuple(torch.rand_like(x) for x in args)

        with fwAD.dual_level():
            duals = [fwAD.make_dual(primal, tangent) if i in dual_indices else primal
                     for i, (primal, tangent) in enumerate(zip(args, tangents))]
            msg = "batch_norm is not differentiable wrt running_mean and running_var"
            # 0 needs to have forward grad because otherwise we won't even run batch_norm_jvp
            if (1 in dual_indices or 2 in dual_indices) and 0 in dual_indices:
                with pytest.raises(RuntimeError, match=msg):
                    fn(*duals)
            else:
                fn(*duals)


@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_buffer_update_when_stats_are_not_tracked(cls):
    input_size = (32, 4)
    # Instantiate BN with buffers that are not None
    bn = cls(input_size[1], track_running_stats=True)
    # Use buffers for normalization but don't update them
    bn.track_running_stats = False
    # Store initial values
    num_batches = bn.num_batches_tracked.clone()
    running_mean = bn.running_mean.clone()
    running_var = bn.running_var.clone()
    # Forward random tensor
    _ = bn(torch.rand(input_size))
    # Ensure none of the buffers has been updated
    assert torch.equal(num_batches, bn.num_batches_tracked)
    assert torch.equal(running_mean, bn.running_mean)
    assert torch.equal(running_var, bn.running_var)


@pytest.mark.parametrize('cls', classes(1, 2))
def test_batchnorm_load_state_dict(cls):
    bn = cls(3)  # upstream: torch.nn.BatchNorm2d(3); BatchNorm1d runs it too (the same state-dict logic)
    assert_equal(bn.state_dict()["num_batches_tracked"], torch.tensor(0))

    bn.num_batches_tracked = torch.tensor(10)
    assert_equal(bn.state_dict()["num_batches_tracked"], torch.tensor(10))

    empty_dict = OrderedDict()
    bn.load_state_dict(empty_dict, strict=False)
    assert_equal(bn.state_dict()["num_batches_tracked"], torch.tensor(10))

    # test that when `num_batches_tracked` is not in loaded state_dict,
    # meta num_batches_tracked is still replaced with singleton 0 tensor
    with torch.device('meta'):
        meta_bn = cls(3)
    assert meta_bn.num_batches_tracked.device == torch.device('meta')
    meta_bn.load_state_dict(empty_dict, assign=True, strict=False)
    assert_equal(meta_bn.state_dict()["num_batches_tracked"], torch.tensor(0))


@pytest.mark.parametrize('cls', classes(2))
def test_batchnorm_nhwc_cpu(cls):
    def helper(mod, size, dtype, mixed_dtype=False, format=torch.channels_last, precision=None):
        channels = size[1]
        input = torch.randn(size, dtype=dtype, device='cpu', requires_grad=True)
        input = input.contiguous(memory_format=format).to(dtype)
        input.retain_grad()
        grad = torch.randn(size, dtype=dtype, device='cpu')
        grad = grad.contiguous(memory_format=format)
        bn = mod(channels).cpu().to(dtype)
        bn.weight.data.uniform_()
        bn.bias.data.uniform_()

        ref_input = input.detach().clone().contiguous().requires_grad_(True)
        ref_grad = grad.detach().clone().contiguous()
        ref_bn = mod(channels).cpu().to(dtype)
        ref_bn.load_state_dict(bn.state_dict())

        if mixed_dtype:
            bn.float()
            ref_bn.float()

        out = bn(input)
        out.backward(grad)
        ref_out = ref_bn(ref_input)
        ref_out.backward(ref_grad)

        assert out.is_contiguous(memory_format=format)
        assert ref_out.is_contiguous()
        assert_equal(out, ref_out)
        assert_equal(bn.weight.grad, ref_bn.weight.grad, atol=precision, rtol=precision)
        assert_equal(bn.bias.grad, ref_bn.bias.grad)
        assert_equal(input.grad, ref_input.grad)

    # test NC11 and N1HW; test mixed dtype
    for shape in [(4, 8, 10, 10), (4, 1, 9, 9), (4, 9, 1, 1)]:
        for dtype in [torch.float, torch.bfloat16, torch.float16]:
            for mixed_dtype in [False, True]:
                if dtype == torch.float:
                    mixed_dtype = False
                helper(cls, shape, dtype, mixed_dtype, torch.channels_last)
    # (upstream's second loop runs BatchNorm3d on channels_last_3d: no 3d in the course)


# Sizes reduced for CPU time (bn_course's BatchNorm2d took ~19 s per call on upstream's 80M-value input): upstream's
# (4, 80, 500, 500) half-module input → (4, 8, 160, 160), and its (16, 3, 224, 224) float-module input → (16, 3, 80, 80).
# Both keep 102,400 values per channel, more than float16's largest value 65,504, so a float16 sum over a channel
# (Σx², or the count) would still overflow: what the test is about.
HALF_OVERFLOW_SIZE = (4, 8, 160, 160)
HALF_OVERFLOW_MIXED_SIZE = (16, 3, 80, 80)


@pytest.mark.parametrize('cls', classes(2))
def test_batchnorm_half_overflow(cls):
    def helper(mod, size, param_dtype, fwd_format, bwd_format):
        channels = size[1]
        input = torch.randn(size, dtype=torch.half, device='cpu')
        input = input.contiguous(memory_format=fwd_format).requires_grad_(True)
        bn = mod(channels).cpu().to(param_dtype)
        out = bn(input)

        ref_input = input.detach().clone().requires_grad_(True)
        ref_bn = mod(channels).cpu().to(torch.float)
        ref_bn.load_state_dict(bn.to(torch.float).state_dict())
        ref_out = ref_bn(ref_input)

        assert not out.isinf().any()
        assert not out.isnan().any()
        assert_equal(out, ref_out)

        if param_dtype != torch.half:
            grad_input = torch.empty(size=ref_out.shape).uniform_(0, 1).to(dtype=torch.half)
            grad_input = grad_input.contiguous(memory_format=bwd_format)
            ref_grad_input = grad_input.clone()
            out.backward(grad_input)
            ref_out.backward(ref_grad_input)
            assert not input.grad.isinf().any()
            assert not input.grad.isnan().any()
            assert_equal(input.grad, ref_input.grad)

    for format in [torch.contiguous_format, torch.channels_last]:
        helper(cls, HALF_OVERFLOW_SIZE, torch.half, format, format)  # upstream: (4, 80, 500, 500)
    # (upstream: BatchNorm3d (4, 80, 20, 100, 100) on contiguous / channels_last_3d: no 3d in the course)

    formats = {
        2: [torch.contiguous_format, torch.channels_last],
    }
    for (fwd_format, bwd_format) in product(formats[2], formats[2]):
        helper(cls, HALF_OVERFLOW_MIXED_SIZE, torch.float, fwd_format, bwd_format)  # upstream: (16, 3, 224, 224)
    # (upstream: BatchNorm3d (16, 20, 40, 40, 40) over formats[3]: no 3d in the course)


@pytest.mark.parametrize('bn_module', classes(2))  # upstream: BatchNorm2d and SyncBatchNorm (no bn_course SyncBatchNorm)
def test_batchnorm_non_contig_cpu(bn_module):
    def helper(dtype):
        input = torch.arange(6, dtype=torch.float).reshape(1, 3, 2, 1).cpu()
        input = input.permute(0, 2, 1, 3)

        bn = bn_module(2).cpu().float().eval()
        bn.weight.data.uniform_()
        bn.bias.data.uniform_()

        ref_input = input.detach().clone().contiguous()
        ref_bn = nn.BatchNorm2d(2).cpu().float().eval()  # upstream's reference is torch's BatchNorm2d for every bn_module
        ref_bn.load_state_dict(bn.state_dict())

        out = bn(input)
        ref_out = ref_bn(ref_input)

        assert out.is_contiguous(memory_format=torch.channels_last)
        assert ref_out.is_contiguous()
        assert_equal(out, ref_out)

        input_bf = torch.arange(24, dtype=dtype).reshape(1, 3, 2, 4)
        input_bf = input_bf.permute(0, 2, 1, 3)
        input_f = input_bf.float()
        bn_mix = bn_module(2).float().eval()
        ref_bn_f = deepcopy(bn_mix)
        out_bf = bn_mix(input_bf)
        ref_out_bf = ref_bn_f(input_f)
        assert_equal(ref_out_bf, out_bf.float(), atol=0.05, rtol=0.05)

    helper(torch.bfloat16)
    helper(torch.float16)


# ===============================================================================================================
# test/test_nn.py — TestNNDeviceType (CPU instantiation)

@pytest.mark.parametrize('cls', classes(1, 2))
def test_BatchNorm_empty(cls):
    device, dtype = 'cpu', torch.double  # @dtypes(torch.double)
    mod = cls(3).to(device)  # upstream: torch.nn.BatchNorm2d(3), input (0, 3, 2, 2); BatchNorm1d gets (0, 3, 2)
    inp = torch.randn(0, 3, *[2] * _dim(cls), device=device, dtype=dtype)
    _test_module_empty_input(mod, inp)

    assert_equal(mod.running_mean, torch.tensor([0., 0, 0], device=device))
    assert_equal(mod.running_var, torch.tensor([1., 1, 1], device=device))
    assert_equal(mod.weight.grad, torch.tensor([0., 0, 0], device=device))
    assert_equal(mod.bias.grad, torch.tensor([0., 0, 0], device=device))


@pytest.mark.parametrize('training', [pytest.param(False, id='eval'), pytest.param(True, id='train')])
@pytest.mark.parametrize('batch_norm', FUNCS)
def test_batchnorm_grad(batch_norm, training):
    # upstream loops `for training in [False, True]` inside one test; split so each mode reports on its own
    device, dtype = 'cpu', torch.double
    bs, n_feat, size_feat = 4, 5, 6
    input = torch.arange(bs * n_feat * size_feat, device=device,
                         requires_grad=True, dtype=dtype).view(bs, n_feat, size_feat)
    weight = torch.arange(1, n_feat + 1, device=device, requires_grad=True, dtype=dtype)
    bias = torch.arange(n_feat, device=device, requires_grad=True, dtype=dtype)
    running_mean = 1 - torch.arange(n_feat, device=device, dtype=dtype)
    running_var = 2 * torch.arange(n_feat, device=device, dtype=dtype)
    _assertGradAndGradgradChecks(batch_norm, (input, running_mean, running_var, weight, bias, training, 0.1, 0.0001))


def _test_batchnorm_eval(cls, ndim, device, dtype, module_dtype=None):
    module_dtype = module_dtype or dtype
    module = cls(3).to(device, module_dtype)
    module.eval()

    data = torch.rand([3] * ndim, device=device, dtype=dtype, requires_grad=True)
    grad = torch.rand([3] * ndim, device=device, dtype=dtype)

    # 1st pass
    res1 = module(data)
    res1.backward(grad)
    grad1 = data.grad.clone()

    # 2nd pass
    if data.grad is not None:
        data.grad.data.zero_()

    res2 = module(data)
    res2.backward(grad)
    grad2 = data.grad.clone()
    assert_equal(res1, res2)
    assert_equal(grad1, grad2)

    # track_running_stats=False
    module = cls(3, track_running_stats=False).to(device, module_dtype)

    data = torch.rand(4, 3, device=device, dtype=dtype, requires_grad=True)
    grad = torch.rand(4, 3, device=device, dtype=dtype)

    # 1st pass
    res1 = module(data)
    res1.backward(grad)
    grad1 = data.grad.clone()

    # set eval
    module.eval()

    # 2nd pass
    if data.grad is not None:
        data.grad.data.zero_()

    res2 = module(data)
    res2.backward(grad)
    grad2 = data.grad.clone()
    assert_equal(res1, res2)
    assert_equal(grad1, grad2)


@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_eval(cls):
    device, dtype = 'cpu', torch.float  # @dtypes(torch.float)
    _test_batchnorm_eval(cls, 2, device, dtype)
    _test_batchnorm_eval(cls, 3, device, dtype)


def _test_batchnorm_affine(cls, ndim, device, dtype, module_dtype=None):
    # Compare affine against no-op weights and bias
    module_dtype = module_dtype or dtype
    module = cls(3, affine=False).to(device, module_dtype)
    module_affine = cls(3, affine=True).to(device, module_dtype)
    with torch.no_grad():
        module_affine.weight.fill_(1.0)
        module_affine.bias.zero_()

    data = torch.rand([3] * ndim, device=device, dtype=dtype, requires_grad=True)
    grad = torch.ones_like(data, requires_grad=False)

    # With weights all ones and bias all zeros
    res1 = module_affine(data)
    res1.backward(grad)
    grad1 = data.grad.clone()
    data.grad.zero_()

    # Without any weights or bias
    res2 = module(data)
    res2.backward(grad)
    grad2 = data.grad

    assert_equal(res1, res2)
    assert_equal(grad1, grad2)


@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_affine(cls):
    device, dtype = 'cpu', torch.float
    _test_batchnorm_affine(cls, 2, device, dtype)
    _test_batchnorm_affine(cls, 3, device, dtype)


def _test_batchnorm_simple_average(cls, device, dtype, module_dtype=None):
    module_dtype = module_dtype or dtype
    module = cls(3, momentum=None).to(dtype=module_dtype, device=device)
    zeros = torch.zeros(3, dtype=module_dtype, device=device)
    ones = torch.ones(3, dtype=module_dtype, device=device)
    assert_equal(module.running_mean, zeros)
    assert_equal(module.running_var, ones)

    data1 = torch.rand(4, 3, dtype=dtype, device=device)
    data2 = torch.rand(4, 3, dtype=dtype, device=device)

    # 1st pass
    res1 = module(data1)
    running_mean1 = module.running_mean.clone()
    running_var1 = module.running_var.clone()
    assert_not_equal(running_mean1, zeros)
    assert_not_equal(running_var1, ones)

    # reset stats
    module.reset_running_stats()
    assert_equal(module.running_mean, zeros)
    assert_equal(module.running_var, ones)

    # 2nd pass
    res2 = module(data2)
    running_mean2 = module.running_mean.clone()
    running_var2 = module.running_var.clone()
    assert_not_equal(running_mean2, zeros)
    assert_not_equal(running_var2, ones)

    # reset stats
    module.reset_running_stats()
    assert_equal(module.running_mean, zeros)
    assert_equal(module.running_var, ones)

    # 3rd (combined) pass
    res3 = module(data1)
    res4 = module(data2)
    assert_equal(res3, res1)
    assert_equal(res4, res2)
    assert_equal(module.running_mean, (running_mean1 + running_mean2) / 2)
    assert_equal(module.running_var, (running_var1 + running_var2) / 2)


@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_simple_average(cls):
    _test_batchnorm_simple_average(cls, 'cpu', torch.float)


def _test_batchnorm_update_stats(cls, device, dtype=torch.float):
    module = cls(3).to(device, dtype)

    data = torch.rand(4, 3, device=device, dtype=dtype)

    # training pass
    old_running_mean = module.running_mean.clone()
    old_running_var = module.running_var.clone()
    old_num_batches_tracked = module.num_batches_tracked.clone()
    module(data)
    assert_not_equal(old_running_mean, module.running_mean)
    assert_not_equal(old_running_var, module.running_var)
    assert_equal(old_num_batches_tracked + 1, module.num_batches_tracked)

    # eval pass
    module.eval()
    old_running_mean = module.running_mean.clone()
    old_running_var = module.running_var.clone()
    old_num_batches_tracked = module.num_batches_tracked.clone()
    module(data)
    assert_equal(old_running_mean, module.running_mean)
    assert_equal(old_running_var, module.running_var)
    assert_equal(old_num_batches_tracked, module.num_batches_tracked)


@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_update_stats(cls):
    _test_batchnorm_update_stats(cls, 'cpu')


# ===============================================================================================================
# test/test_nn.py — TestFusionEval

FUSION_DRAWS = 10  # upstream draws the tensors with hypothesis (not installed here): seeded draws instead


@pytest.mark.parametrize('cls', classes(2))
def test_fuse_module_eval_numerics(cls):
    # upstream: @set_default_dtype(torch.double); @given(X=hu.tensor(shapes=((5, 3, 5, 5),), dtype=np.double),
    # running_mean=hu.tensor(shapes=(6,)), running_var=hu.tensor(shapes=(6,))); hu.tensor's elements are floats in
    # [-1e6, 1e6]. Here: half the draws standard normal (variance |N(0, 1)|), half uniform on [-1e6, 1e6] (a negative
    # running variance gives NaN on both sides, which assertEqual treats as equal, as upstream).
    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.double)
    try:
        for draw in range(FUSION_DRAWS):
            if draw % 2 == 0:
                X, running_mean, running_var = torch.randn(5, 3, 5, 5), torch.randn(6), torch.randn(6).abs()
            else:
                X, running_mean, running_var = (torch.empty(s).uniform_(-1e6, 1e6) for s in ((5, 3, 5, 5), (6,), (6,)))
            inputs = X

            iC, oC = inputs.shape[1], len(running_mean)
            kernel_size = (3, 3)

            conv_ref = torch.nn.Conv2d(iC, oC, bias=True, kernel_size=kernel_size)
            bn_ref = cls(oC)
            bn_ref.running_mean = running_mean
            bn_ref.running_var = running_var

            conv_ref.eval()
            bn_ref.eval()

            Y_ref = bn_ref(conv_ref(inputs))
            conv_bn_fused = fuse_conv_bn_eval(conv_ref, bn_ref)
            Y_hat = conv_bn_fused(inputs)

            assert_equal(Y_ref, Y_hat, msg="Conv+BN fusion results are off")

            na_bn_ref = cls(oC, affine=False)
            na_bn_ref.running_mean = running_mean
            na_bn_ref.running_var = running_var
            na_bn_ref.eval()

            Y_ref = na_bn_ref(conv_ref(inputs))
            conv_na_bn_fused = fuse_conv_bn_eval(conv_ref, na_bn_ref)
            Y_hat = conv_na_bn_fused(inputs)

            assert_equal(Y_ref, Y_hat, msg="Conv+BN(non-affine) fusion results are off")
    finally:
        torch.set_default_dtype(old_dtype)


# ===============================================================================================================
# test/test_nn.py — TestFusionUtils

@pytest.mark.parametrize('cls', classes(2))
def test_fuse_conv_bn_requires_grad(cls):
    conv = torch.nn.Conv2d(3, 3, 3)
    bn = cls(3)
    cases = product([True, False], [True, False])
    for w_rg, b_rg in cases:
        conv.weight.requires_grad = w_rg
        conv.bias.requires_grad = b_rg
        weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias,
                                            bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
        assert weight.requires_grad == w_rg
        assert bias.requires_grad == b_rg


@pytest.mark.parametrize('cls', CLASSES)
def test_fuse_linear_bn_requires_grad(cls):
    linear = torch.nn.Linear(3, 3)
    bn = cls(3)
    cases = product([True, False], [True, False])
    for w_rg, b_rg in cases:
        linear.weight.requires_grad = w_rg
        linear.bias.requires_grad = b_rg
        weight, bias = fuse_linear_bn_weights(linear.weight, linear.bias,
                                              bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
        assert weight.requires_grad == w_rg
        assert bias.requires_grad == b_rg


# ===============================================================================================================
# test/nn/test_load_state_dict.py — TestLoadStateDict (@swap([True, False]))

SWAP = pytest.mark.parametrize('swap', [pytest.param(True, id='swap'), pytest.param(False, id='noswap')])


@SWAP
@pytest.mark.parametrize('cls', classes(1, 2))
def test_load_state_dict(cls, swap):
    with swap_params(swap):
        l = nn.Linear(5, 5)
        block = nn.Module()
        block.conv1 = nn.Conv2d(3, 3, 3, bias=True)
        block.conv2 = nn.Conv2d(3, 3, 3, bias=False)
        net = nn.Module()
        net.linear1 = l
        net.linear2 = l
        net.bn = cls(2)  # upstream: nn.BatchNorm2d(2) (BatchNorm1d runs it too)
        net.block = block
        net.add_module("empty", None)
        conv1_bias_dtype = block.conv1.bias.dtype

        state_dict = net.state_dict()
        state_dict.update({
            "linear1.weight": torch.ones(5, 5),
            "block.conv1.bias": torch.arange(1, 4, dtype=conv1_bias_dtype),
            "bn.running_mean": torch.randn(2),
        })
        # Also test if a DDP state_dict can be loaded from a local model.
        ddp_state_dict = net.state_dict()
        ddp_state_dict.update({
            "module.linear1.weight": torch.ones(5, 5),
            "module.block.conv1.bias": torch.arange(1, 4, dtype=conv1_bias_dtype),
            "module.bn.running_mean": torch.randn(2),
        })
        torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(ddp_state_dict, "module.")
        for sd in [state_dict, ddp_state_dict]:
            incompatible_keys = net.load_state_dict(sd)
            assert len(incompatible_keys.missing_keys) == 0
            assert len(incompatible_keys.unexpected_keys) == 0
            assert "Incompatible" not in str(incompatible_keys)
            assert_equal(net.linear1.weight, sd["linear1.weight"])
            assert_equal(net.block.conv1.bias, sd["block.conv1.bias"])
            assert_equal(net.bn.running_mean, sd["bn.running_mean"])

        state_dict = net.state_dict()
        state_dict.update({"extra": torch.ones(5)})
        pytest.raises(RuntimeError, lambda: net.load_state_dict(state_dict))
        incompatible_keys = net.load_state_dict(state_dict, strict=False)
        assert len(incompatible_keys.missing_keys) == 0
        assert len(incompatible_keys.unexpected_keys) == 1
        assert "extra" in incompatible_keys.unexpected_keys
        assert "Incompatible" in str(incompatible_keys)

        state_dict = net.state_dict()
        state_dict.update({"extra.param": torch.ones(5)})
        pytest.raises(RuntimeError, lambda: net.load_state_dict(state_dict))
        incompatible_keys = net.load_state_dict(state_dict, strict=False)
        assert len(incompatible_keys.missing_keys) == 0
        assert len(incompatible_keys.unexpected_keys) == 1
        assert "extra.param" in incompatible_keys.unexpected_keys

        state_dict = net.state_dict()
        del state_dict["linear1.weight"]
        pytest.raises(RuntimeError, lambda: net.load_state_dict(state_dict))
        incompatible_keys = net.load_state_dict(state_dict, strict=False)
        assert len(incompatible_keys.missing_keys) == 1
        assert len(incompatible_keys.unexpected_keys) == 0
        assert "linear1.weight" in incompatible_keys.missing_keys
        state_dict.update({"extra.param": torch.ones(5)})
        pytest.raises(RuntimeError, lambda: net.load_state_dict(state_dict))
        incompatible_keys = net.load_state_dict(state_dict, strict=False)
        assert len(incompatible_keys.missing_keys) == 1
        assert len(incompatible_keys.unexpected_keys) == 1
        assert "linear1.weight" in incompatible_keys.missing_keys
        assert "extra.param" in incompatible_keys.unexpected_keys

        state_dict = net.state_dict()
        state_dict.update({"bn.running_mean": torch.rand(14, 4)})  # wrong size
        pytest.raises(RuntimeError, lambda: net.load_state_dict(state_dict))
        pytest.raises(RuntimeError, lambda: net.load_state_dict(state_dict, strict=False))

        state_dict = net.state_dict()
        old_state_dict = deepcopy(state_dict)
        state_dict = {
            "linear1.weight": torch.ones(5, 5),
            "block.conv1.bias": torch.arange(1, 4, dtype=conv1_bias_dtype),
            "bn.running_mean": torch.randn(2),
            "nonexistent_key": torch.rand(3),
        }
        net.load_state_dict(state_dict, strict=False)
        assert_equal(net.linear1.weight, state_dict["linear1.weight"])
        assert_equal(net.block.conv1.bias, state_dict["block.conv1.bias"])
        assert_equal(net.bn.running_mean, state_dict["bn.running_mean"])
        new_state_dict = net.state_dict()
        del old_state_dict["linear1.weight"]
        del old_state_dict["block.conv1.bias"]
        del old_state_dict["bn.running_mean"]
        for k, v in old_state_dict.items():
            assert v.equal(new_state_dict[k])


@SWAP
@pytest.mark.parametrize('cls', classes(1, 2))
def test_load_state_dict_BC(cls, swap):
    with swap_params(swap):
        # BatchNormNd
        # Added num_batches_tracked buffer at version 2. For state dict with
        # earlier versions or no versions, it should provide default value of 0.
        bn = cls(3)  # upstream: nn.BatchNorm2d(3) (BatchNorm1d runs it too)
        state_dict = bn.state_dict()
        del state_dict["num_batches_tracked"]
        state_dict._metadata[""]["version"] = 1  # version 1
        bn.load_state_dict(state_dict)
        assert bn.num_batches_tracked.dtype == torch.long
        assert bn.num_batches_tracked.item() == 0
        del state_dict._metadata[""]["version"]  # no version
        bn.load_state_dict(state_dict)
        assert bn.num_batches_tracked.dtype == torch.long
        assert bn.num_batches_tracked.item() == 0


@SWAP
@pytest.mark.parametrize('keep_vars', [True, False])
@pytest.mark.parametrize('cls', CLASSES)
def test_load_state_dict_assign_meta(cls, keep_vars, swap):
    with swap_params(swap):
        class MyModule(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(3, 5)
                self.bn = cls(5)
                self.x = nn.Parameter(torch.rand(5), requires_grad=False)

            def forward(self, input):
                return self.x + self.bn(self.fc1(input))

        swap = torch.__future__.get_swap_module_params_on_conversion()
        net = MyModule()
        state_dict = net.state_dict(keep_vars=keep_vars)
        for v in state_dict.values():
            v.requires_grad_(False)

        with torch.device("meta"):
            net_meta = MyModule()

        net_meta_state_dict_old = net_meta.state_dict(keep_vars=True)
        net_meta.load_state_dict(state_dict, assign=True)

        # Make sure parameters and persistent buffers were assigned
        net_meta_state_dict = net_meta.state_dict(keep_vars=True)
        for key in state_dict.keys():
            if key in net_meta._parameters:
                if keep_vars and not swap:
                    # state_dict[key] is an nn.Parameter
                    assert state_dict[key] is net_meta_state_dict[key]
                else:
                    if swap:
                        assert net_meta_state_dict[key] is net_meta_state_dict_old[key]
                    else:
                        # state_dict[key] is not an nn.Parameter so it will be detached when wrapping with a Parameter
                        assert net_meta_state_dict[key] is not net_meta_state_dict_old[key]
                        assert net_meta_state_dict_old[key].requires_grad == net_meta_state_dict[key].requires_grad
                assert net_meta_state_dict_old[key].requires_grad == net_meta_state_dict[key].requires_grad
                assert_equal(state_dict[key], net_meta_state_dict[key])
            elif key in net_meta._buffers and key not in net_meta._non_persistent_buffers_set:
                assert state_dict[key] is net_meta_state_dict[key]
                assert_equal(state_dict[key], net_meta_state_dict[key])

        # Make sure that ordering of parameters and buffers is preserved
        for (n1, _), (n2, _) in zip(net.named_parameters(), net_meta.named_parameters()):
            assert n1 == n2
        for (n1, _), (n2, _) in zip(net.named_buffers(), net_meta.named_buffers()):
            assert n1 == n2

        # Make sure outputs are the same
        t = torch.randn(4, 3)
        out_net = net(t)
        out_net_meta = net_meta(t.clone())

        assert_equal(out_net, out_net_meta)


@SWAP
@pytest.mark.parametrize('cls', CLASSES)
def test_load_state_dict_assign_with_optimizer(cls, swap):
    with swap_params(swap):
        class MyModule(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(3, 5)
                self.bn = cls(5)

            def forward(self, input):
                return self.bn(self.fc1(input))

        net = MyModule()
        opt = torch.optim.Adam(net.parameters(), lr=1000)
        x = torch.randn(4, 3)
        num_iters = 3

        for i in range(num_iters):
            opt.zero_grad()
            out = net(x)
            out.sum().backward()
            opt.step()

        opt_state_dict = deepcopy(opt.state_dict())
        net_state_dict = deepcopy(net.state_dict())

        with torch.device("meta"):
            net_meta = MyModule()

        net_meta.load_state_dict(net_state_dict, assign=True)
        # must create optimizer only after loading state_dict when assign=True
        opt2 = torch.optim.Adam(net_meta.parameters(), lr=1000)
        opt2.load_state_dict(opt_state_dict)

        y = x.clone()
        for i in range(num_iters):
            opt.zero_grad()
            out = net(x)
            out.sum().backward()
            opt.step()

            opt2.zero_grad()
            out2 = net_meta(y)
            out2.sum().backward()
            opt2.step()

        assert_equal(opt.state_dict(), opt2.state_dict())
        assert_equal(net.state_dict(), net_meta.state_dict())


@SWAP
@pytest.mark.parametrize('cls', CLASSES)
def test_load_state_dict_assign_shape_stride(cls, swap):
    with swap_params(swap):
        # Assigned tensor is allowed to have different properties than initial
        # tensor except for shape
        class MyModule(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(3, 5)
                self.bn = cls(5)

            def forward(self, input):
                return self.bn(self.fc1(input))

        net = MyModule()
        state_dict = net.state_dict()
        # loading should be ok if stride is different
        state_dict["fc1.weight"] = torch.randn(3, 5).transpose(0, 1)
        net2 = MyModule()
        net2.load_state_dict(state_dict, strict=False, assign=True)

        state_dict["fc1.weight"] = torch.randn(2, 4)
        with pytest.raises(RuntimeError, match="size mismatch for fc1.weight: copying a param with shape"):
            net2.load_state_dict(state_dict, strict=False, assign=True)


# ===============================================================================================================
# test/test_modules.py — TestModule, driven by the BatchNorm1d and BatchNorm2d ModuleInfos (both: train_and_eval_differ=True,
# dtypes=floating_types(), supports_gradgrad=True, gradcheck_fast_mode=None, module_memformat_affects_out=False)

# module_inputs_torch_nn_BatchNorm{1,2}d: dim → desc → (constructor args, constructor kwargs, forward input shape)
MODULE_INPUTS = {
    1: {  # module_inputs_torch_nn_BatchNorm1d
        'affine': ((10,), {}, (4, 10)),
        '3d_input': ((5,), {}, (4, 5, 3)),
        'affine_simple_average': ((10, 1e-3, None), {}, (4, 10)),
        'not_affine': ((10, 1e-3, 0.3, False), {}, (4, 10)),
        'not_tracking_stats': ((10, 1e-3, 0.3, True, False), {}, (4, 10)),
        '3d_input_not_affine': ((5, 1e-3, 0.3, False), {}, (4, 5, 3)),
        'zero_batch': ((5, 1e-3, 0.3, False), {}, (0, 5, 9)),
        'affine_not_bias': ((10,), {'bias': False}, (4, 10)),
    },
    2: {  # module_inputs_torch_nn_BatchNorm2d (its first input has no desc; 'default' here)
        'default': ((3,), {}, (2, 3, 6, 6)),
        '2d_simple_average': ((3, 1e-3, None), {}, (2, 3, 6, 6)),
        'momentum': ((3, 1e-3, 0.8), {}, (2, 3, 6, 6)),
        'not_affine': ((3, 1e-3, 0.8, False), {}, (2, 3, 6, 6)),
        'not_tracking_stats': ((3, 1e-3, 0.8, True, False), {}, (2, 3, 6, 6)),
        'zero_batch': ((5, 1e-3, 0.3, False), {}, (0, 5, 2, 2)),
        'affine_not_bias': ((3,), {'bias': False}, (2, 3, 6, 6)),
    },
}
# module_error_inputs_torch_nn_BatchNorm1d_2d_3d: (constructor kwargs, error on forward, type, regex); the input
# shape depends on the class: (2, 10) for BatchNorm1d, (2, 10, 5, 5) for BatchNorm2d
ERROR_INPUTS = {
    'eps_negative': ({'eps': -1.0}, ValueError, "eps must be positive"),
    'eps_zero': ({'eps': 0.0}, ValueError, "eps must be positive"),
}
ERROR_INPUT_SHAPES = {1: (2, 10), 2: (2, 10, 5, 5)}
DTYPES = (torch.float32, torch.float64)  # ModuleInfo.dtypes = floating_types()
TRAIN_AND_EVAL_DIFFER = True
MODULE_MEMFORMAT_AFFECTS_OUT = False


class ModuleInput:
    "The bits of common_modules.ModuleInput used here; forward inputs are made fresh by make_tensor."
    def __init__(self, module_cls, desc, device, dtype, requires_grad):
        (self.c_args, self.c_kwargs, shape), self.desc = MODULE_INPUTS[_dim(module_cls)][desc], desc
        self.c_kwargs = dict(self.c_kwargs)
        self.args = (make_tensor(shape, device=device, dtype=dtype, requires_grad=requires_grad),)
        self.kwargs = {}


def module_inputs(module_cls, desc, device='cpu', dtype=torch.float32, requires_grad=False):
    return [ModuleInput(module_cls, desc, device, dtype, requires_grad)]


def module_params(test: str, trainings=(True, False)):
    "(cls, desc, training) params for one TestModule test, over both ModuleInfos, ids torch-1d-affine-train, ..."
    params = []
    for dim, (torch_cls, our_cls) in BN.items():
        for desc, training in product(MODULE_INPUTS[dim], trainings):
            mode = 'train' if training else 'eval'
            params.append(pytest.param(torch_cls, desc, training, id=f'torch-{dim}d-{desc}-{mode}'))
            params.append(pytest.param(our_cls, desc, training, id=f'bn_course-{dim}d-{desc}-{mode}'))
    return pytest.mark.parametrize('module_cls, desc, training', params)


def torch_name(module_cls) -> str:
    "The ModuleInfo's name: torch's class name, for either implementation."
    return BN[_dim(module_cls)][0].__name__


def _assert_module_parameters_and_buffer_are(module, device, dtype):
    # Check device placement and dtype for created parameters and buffers.
    # Only verify floating point dtypes since that's what the kwarg or methods
    # such as `float()` applies to.
    if not isinstance(device, torch.device):
        device = torch.device(device)

    def _check_module(items, name, device=device, dtype=dtype):
        for item_name, item in items:
            assert item.device == device, f'{name} {item_name} is on device {item.device} instead of the expected device {device}'
            if item.dtype.is_floating_point:
                assert item.dtype == dtype, f'{name} {item_name} is of dtype {item.dtype} instead of the expected dtype {dtype}'
    _check_module(module.named_parameters(), "Parameter")
    _check_module(module.named_buffers(), "Buffer")


@module_params('forward')
def test_module_forward(module_cls, desc, training):
    device = 'cpu'
    dtype_to_method_caller = {torch.float32: methodcaller("float"), torch.float64: methodcaller("double")}
    for dtype in DTYPES:
        for module_input in module_inputs(module_cls, desc, device, dtype, requires_grad=False):
            # === Instantiate the module. ===
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to(device).to(dtype)
            m.train(training)

            # === Do forward pass. ===
            args, kwargs = module_input.args, module_input.kwargs
            outputs = m(*args, **kwargs)
            # (no reference_fn in the BatchNorm1d / BatchNorm2d ModuleInfos)

            # === Use the method call and verify the parameters and buffers ===
            if dtype in dtype_to_method_caller:
                dtype_to_method_caller[dtype](m)
                m(*args, **kwargs)
                _assert_module_parameters_and_buffer_are(m, device, dtype)


@module_params('factory_kwargs')
def test_module_factory_kwargs(module_cls, desc, training):
    check_module_factory_kwargs(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training)


def check_module_factory_kwargs(module_cls, inputs, training):
    "test_module_factory_kwargs' body for any module; `inputs(dtype, requires_grad)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    device = 'cpu'
    for dtype in DTYPES:
        for module_input in inputs(dtype, requires_grad=False):
            args, kwargs = module_input.c_args, dict(module_input.c_kwargs)   # a copy: the factory kwargs go into it below

            # Check if this module creates parameters or registers buffers.
            # The mock magic here passes through to the real Parameter / register_buffer
            # logic and is only used to check call inputs.
            module_creates_params_or_buffers = False
            parameter_new = mock_wrapper(torch.nn.Parameter.__new__)
            with patch.object(torch.nn.Parameter, '__new__', parameter_new):
                register_buffer = mock_wrapper(torch.nn.Module.register_buffer)
                with patch.object(torch.nn.Module, 'register_buffer', register_buffer):
                    m = module_cls(*args, **kwargs)
                    m.train(training)

                    # Check if a parameter or buffer was created with a tensor not passed to the constructor.
                    constructor_tensors = get_tensors_from(args, kwargs)
                    for mock in [parameter_new.mock, register_buffer.mock]:
                        for call_args, call_kwargs in mock.call_args_list:
                            call_tensors = get_tensors_from(call_args, call_kwargs)
                            if len(call_tensors) > 0 and not constructor_tensors.intersection(call_tensors):
                                module_creates_params_or_buffers = True
                                break

            if not module_creates_params_or_buffers:
                continue

            # Instantiate module with the factory kwargs.
            kwargs.update({'device': device, 'dtype': dtype})
            # Check device placement and dtype for created parameters and buffers.
            # Only verify floating point dtypes since that's what the kwarg applies to.
            m = module_cls(*args, **kwargs)
            m.train(training)
            _assert_module_parameters_and_buffer_are(m, device, dtype)


@module_params('repr')
def test_module_repr(module_cls, desc, training):
    check_module_repr(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training)


def check_module_repr(module_cls, inputs, training):
    "test_module_repr's body for any module; `inputs(dtype)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    # Test module can be represented with repr and str without errors.
    for dtype in DTYPES:
        for module_input in inputs(dtype):
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to('cpu').to(dtype)
            m.train(training)

            # Check that these methods do not raise errors
            m.__repr__()
            str(m)

@module_params('save_load')
def test_module_save_load(module_cls, desc, training):
    check_module_save_load(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training)


def check_module_save_load(module_cls, inputs, training):
    "test_module_save_load's body for any module; `inputs(dtype)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    # Test that module can be pickled and unpickled.
    for dtype in DTYPES:
        for module_input in inputs(dtype):
            # === Instantiate the module. ===
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to('cpu').to(dtype)
            m.train(training)
            sd = m.state_dict()

            # === Do forward pass. ===
            args, kwargs = module_input.args, module_input.kwargs
            output = m(*args, **kwargs)

            # === Check saved/loaded module gives the same output. ===
            with tempfile.TemporaryFile() as f:
                torch.save(m, f)
                f.seek(0)
                # weights_only=False as this is legacy code that saves the model
                m_copy = torch.load(f, weights_only=False)
                output_from_copy = m_copy(*args, **kwargs)
                assert_equal(output, output_from_copy)

            # === Check saved/loaded state_dict are the same (including weights_only load). ===
            with tempfile.TemporaryFile() as f:
                torch.save(sd, f)
                f.seek(0)
                sd_copy = torch.load(f)
                assert_equal(sd_copy, sd)
                del sd_copy
                f.seek(0)
                sd_copy_wo = torch.load(f, weights_only=True)
                assert_equal(sd_copy_wo, sd)


def _traverse_obj(obj, func):
    if isinstance(obj, (tuple, list)):
        return type(obj)(_traverse_obj(o, func) for o in obj)
    elif isgenerator(obj):
        return tuple(_traverse_obj(o, func) for o in obj)
    elif isinstance(obj, dict):
        return {name: _traverse_obj(o, func) for name, o in obj.items()}
    elif isinstance(obj, (torch.Tensor, torch.nn.Parameter)):
        return func(obj)
    else:
        return obj


def _retain_grad(obj):
    def inner_retain_grad(obj):
        if obj.requires_grad:
            obj.retain_grad()
    _traverse_obj(obj, inner_retain_grad)


def _get_grads(obj):
    def inner_get_grad(obj):
        if obj.requires_grad:
            return obj.grad
    return _traverse_obj(obj, inner_get_grad)


def _zero_grad(obj):
    def inner_zero_grad(obj):
        if obj.grad is not None:
            obj.grad = None
    _traverse_obj(obj, inner_zero_grad)


@module_params('non_contiguous_tensors')
def test_module_non_contiguous_tensors(module_cls, desc, training):
    check_module_non_contiguous_tensors(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training)


def check_module_non_contiguous_tensors(module_cls, inputs_of, training):
    "test_module_non_contiguous_tensors' body for any module; `inputs_of(dtype, requires_grad)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    # (named inputs_of, not inputs: the body below has a list of its own called inputs)
    # Check modules work with non-contiguous tensors
    def _make_non_contiguous(obj):
        def inner_make_non_contiguous(obj):
            # Scalar tensors can not be made non-contiguous
            if not isinstance(obj, torch.Tensor) or obj.dim() == 0:
                return obj

            out = torch.repeat_interleave(obj, 2, dim=-1)
            out = out[..., ::2].detach()
            out.requires_grad = obj.requires_grad
            return out
        return _traverse_obj(obj, inner_make_non_contiguous)

    def _can_be_noncontiguous(obj):
        if isinstance(obj, (tuple, list)):
            return any(_can_be_noncontiguous(o) for o in obj)
        elif isinstance(obj, dict):
            return any(_can_be_noncontiguous(o) for o in obj.values())
        # scalar tensors can not be non-contiguous
        return isinstance(obj, torch.Tensor) and obj.dim() != 0

    for dtype in DTYPES:
        for module_input in inputs_of(dtype, requires_grad=True):
            input_args, input_kwargs = module_input.args, module_input.kwargs
            if not (_can_be_noncontiguous(input_args) or _can_be_noncontiguous(input_kwargs)):
                continue

            # === Instantiate the module. ===
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to('cpu').to(dtype)
            m.train(training)

            _retain_grad((input_args, input_kwargs))

            # === Forward with default input
            default_output = m(*input_args, **input_kwargs)
            grad_output = default_output.clone().detach_().normal_()
            default_output.backward(grad_output, retain_graph=True)

            default_input_args_grad, default_input_kwargs_grad = deepcopy(_get_grads((input_args, input_kwargs)))
            default_param_grad = deepcopy([p.grad for p in m.parameters()])

            # === Construct non-contiguous tensors ===
            nc_input_args, nc_input_kwargs = _make_non_contiguous((input_args, input_kwargs))
            nc_grad_output = _make_non_contiguous(grad_output)

            # === Compare results with non-contiguous and contiguous tensors ===
            inputs = [(input_args, input_kwargs), (nc_input_args, nc_input_kwargs)]
            grads = [grad_output, nc_grad_output]

            for (in_args, in_kwargs), g_out in product(inputs, grads):
                g_out_copy = deepcopy(g_out)
                _zero_grad((in_args, in_kwargs))
                _zero_grad(m.parameters())

                out = m(*in_args, **in_kwargs)
                out.backward(g_out_copy, retain_graph=True)

                input_args_grad, input_kwargs_grad = _get_grads((in_args, in_kwargs))
                assert_equal(out, default_output)
                assert_equal(input_args_grad, default_input_args_grad, atol=1e-4, rtol=0)
                assert_equal(input_kwargs_grad, default_input_kwargs_grad, atol=1e-4, rtol=0)

                param_grad = [p.grad for p in m.parameters()]
                assert_equal(param_grad, default_param_grad)


def check_module_gradients(module_cls, inputs, training, check):
    "_test_gradients_helper's body for any module; `inputs(dtype, requires_grad)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    # Check gradients (dtype: allowed_dtypes=[torch.double])
    device, dtype = 'cpu', torch.double
    gradcheck_nondet_tol = 0.0
    for module_input in inputs(dtype, requires_grad=True):
        # === Instantiate the module. ===
        m = module_cls(*module_input.c_args, **module_input.c_kwargs)
        m.to(device).to(dtype)
        m.train(training)

        params = tuple(m.parameters())

        # === Perform gradient check on the input_args ===
        input_args, input_kwargs = module_input.args, module_input.kwargs
        other_kwargs = {}
        kwarg_tensors = []
        for name, obj in input_kwargs.items():
            if isinstance(obj, torch.Tensor):
                kwarg_tensors.append((name, obj))
            else:
                other_kwargs[name] = obj

        def fn_to_gradcheck(*flat_input_and_params):
            input_and_params = torch.utils._pytree.tree_unflatten(flat_input_and_params, flat_spec)
            new_input_args = input_and_params[:len(input_args)]
            kwarg_args = input_and_params[-len(kwarg_tensors):]
            new_kwargs = {name: obj for (name, _), obj in zip(kwarg_tensors, kwarg_args)}

            output = m(*new_input_args, **new_kwargs, **other_kwargs)
            return torch.utils._pytree.tree_leaves(output)

        def do_check(flat_input):
            assert check(fn_to_gradcheck, flat_input, nondet_tol=gradcheck_nondet_tol, fast_mode=None)

        # check total derivative
        grad_input = input_args + params + tuple(obj for (_, obj) in kwarg_tensors)
        flat_input, flat_spec = torch.utils._pytree.tree_flatten(grad_input)
        do_check(flat_input)

        # check partial derivatives
        old_params_requires_grad = [p.requires_grad for p in params]
        for p in params:
            p.requires_grad = False

        old_kwargs_requires_grad = [obj.requires_grad for (_, obj) in kwarg_tensors]
        for (_, obj) in kwarg_tensors:
            obj.requires_grad = False

        for p, old in zip(params, old_params_requires_grad):
            p.requires_grad = old
            grad_input = input_args + params + tuple(obj for (_, obj) in kwarg_tensors)
            flat_input, flat_spec = torch.utils._pytree.tree_flatten(grad_input)
            do_check(flat_input)
            p.requires_grad = False

        for (_, obj), old in zip(kwarg_tensors, old_kwargs_requires_grad):
            obj.requires_grad = old
            grad_input = input_args + params + tuple(obj for (_, obj) in kwarg_tensors)
            flat_input, flat_spec = torch.utils._pytree.tree_flatten(grad_input)
            do_check(flat_input)
            obj.requires_grad = False


@module_params('grad')
def test_module_grad(module_cls, desc, training):
    check_module_gradients(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training, gradcheck)


@module_params('gradgrad')
def test_module_gradgrad(module_cls, desc, training):
    check_module_gradients(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training, gradgradcheck)


@module_params('memory_format')
def test_module_memory_format(module_cls, desc, training):
    # BatchNorm1d inputs are 2D/3D: only the contiguous branch is taken. BatchNorm2d inputs are 4D: channels_last too.
    # (channels_last_3d would need 5D input: BatchNorm3d, not in the course.) atol = rtol = None on CPU.
    module_memformat_affects_out = MODULE_MEMFORMAT_AFFECTS_OUT

    def _get_mem_formats(channels_last=False, channels_last_3d=False):
        if channels_last:
            return ([torch.contiguous_format, torch.channels_last],
                    [torch.preserve_format, torch.contiguous_format, torch.channels_last])
        elif channels_last_3d:
            return ([torch.contiguous_format, torch.channels_last_3d],
                    [torch.preserve_format, torch.contiguous_format, torch.channels_last_3d])
        else:
            return ([torch.contiguous_format],
                    [torch.preserve_format, torch.contiguous_format])

    # Check that at least one Tensor input has dim == n
    def _check_dims(obj, n):
        if isinstance(obj, torch.Tensor):
            return obj.dim() == n
        elif isinstance(obj, (tuple, list)):
            return any(_check_dims(o, n) for o in obj)
        else:
            return False

    # Called after _check_dims, when we know that >= 1 tensor can be converted to mem_format
    def _to_mem_format(mem_format, obj):
        def inner_to_mem_format(obj):
            d = obj.dim()
            if ((mem_format == torch.channels_last and d != 4)
               or (mem_format == torch.channels_last_3d and d != 5)):
                return obj.clone().detach().requires_grad_(obj.requires_grad)
            return obj.clone().to(memory_format=mem_format).detach().requires_grad_(obj.requires_grad)
        return _traverse_obj(obj, inner_to_mem_format)

    def _check_out_mem_format(output, input_mem_format, module_mem_format):
        def inner_check_out_mem_format(output):
            d = output.dim()
            if (d == 4 and ((input_mem_format == torch.channels_last)
                            or (module_mem_format == torch.channels_last and module_memformat_affects_out))):
                assert output.is_contiguous(memory_format=torch.channels_last)
            elif (d == 5 and ((input_mem_format == torch.channels_last_3d)
                              or (module_mem_format == torch.channels_last_3d and module_memformat_affects_out))):
                assert output.is_contiguous(memory_format=torch.channels_last_3d)
            else:
                assert output.is_contiguous()
        return _traverse_obj(output, inner_check_out_mem_format)

    def _req_grad(t):
        return isinstance(t, torch.Tensor) and t.requires_grad

    for dtype in DTYPES:
        for module_input in module_inputs(module_cls, desc, 'cpu', dtype, requires_grad=True):
            # === Instantiate the module. ===
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to('cpu').to(dtype)
            m.train(training)

            supports_channels_last = _check_dims(module_input.args, 4)
            supports_channels_last_3d = _check_dims(module_input.args, 5)
            input_mem_formats, module_mem_formats = _get_mem_formats(supports_channels_last, supports_channels_last_3d)

            # === Get output in (contiguous, contiguous) configuration. ===
            args, kwargs = module_input.args, module_input.kwargs
            desired_outputs = m(*args, **kwargs)
            # === Do backward pass. ===
            ref_diff_outputs = tuple(t for t in torch.utils._pytree.tree_leaves(desired_outputs) if _req_grad(t))
            if training and len(ref_diff_outputs) > 0:
                params = tuple(p for p in m.parameters())
                ref_diff_inputs = tuple(t for t in torch.utils._pytree.tree_leaves((args, kwargs, params)) if _req_grad(t))
                ref_grad_outputs = tuple(torch.rand_like(t) for t in ref_diff_outputs)
                ref_grad_inputs = torch.autograd.grad(ref_diff_outputs, ref_diff_inputs, grad_outputs=ref_grad_outputs)

            for input_mem_format in input_mem_formats:
                # === Change memformat of input. ===
                module_input.args = _to_mem_format(input_mem_format, module_input.args)
                module_input.kwargs = _to_mem_format(input_mem_format, module_input.kwargs)

                for module_mem_format in module_mem_formats:
                    # === Change memformat of module ===
                    m.to(memory_format=module_mem_format)

                    # === Do forward pass. ===
                    args, kwargs = module_input.args, module_input.kwargs
                    outputs = m(*args, **kwargs)

                    # === Compare outputs to (contiguous, contiguous) output. ===
                    if input_mem_format != torch.contiguous_format or module_mem_format != torch.contiguous_format:
                        assert_equal(outputs, desired_outputs)

                    # === Check mem format of output. ===
                    _check_out_mem_format(outputs, input_mem_format, module_mem_format)

                    # === Do backward pass. ===
                    diff_outputs = tuple(t for t in torch.utils._pytree.tree_leaves(outputs) if _req_grad(t))
                    if training and len(diff_outputs) > 0:
                        params = tuple(p for p in m.parameters())
                        diff_inputs = tuple(t for t in torch.utils._pytree.tree_leaves((args, kwargs, params)) if _req_grad(t))
                        grad_outputs = tuple(torch.empty_like(t1).copy_(t2) for (t1, t2) in zip(diff_outputs, ref_grad_outputs))
                        grad_inputs = torch.autograd.grad(diff_outputs, diff_inputs, grad_outputs=grad_outputs)

                        if input_mem_format != torch.contiguous_format or module_mem_format != torch.contiguous_format:
                            assert_equal(grad_inputs, ref_grad_inputs)

                        # === Check mem format of grad_inputs. ===
                        _check_out_mem_format(grad_inputs, input_mem_format, module_mem_format)


@module_params('if_train_and_eval_modes_differ', trainings=(True,))  # TrainEvalMode.train_only
def test_module_if_train_and_eval_modes_differ(module_cls, desc, training):
    check_module_if_train_and_eval_modes_differ(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training,
                                                TRAIN_AND_EVAL_DIFFER)


def check_module_if_train_and_eval_modes_differ(module_cls, inputs, training, train_and_eval_differ):
    "The test's body for any module and its ModuleInfo's train_and_eval_differ; `inputs(dtype)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    for dtype in DTYPES:
        # Run forward inputs through to see if the training flag is accessed during forward.
        for module_input in inputs(dtype):
            # === Instantiate the module. ===
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to('cpu').to(dtype)
            m.train(training)

            # Remove training attribute and see if forward still works.
            delattr(m, 'training')

            # === Do forward pass. ===
            try:
                m(*module_input.args, **module_input.kwargs)
            except AttributeError as e:
                if "'training'" in str(e):
                    assert train_and_eval_differ, (
                        f"The ModuleInfo entry for {torch_name(module_cls)} has train_and_eval_differ=False, but the "
                        "training mode was found to affect the forward pass.")
                else:
                    raise e


@module_params('device_ctx_init')
def test_module_device_ctx_init(module_cls, desc, training):
    check_module_device_ctx_init(module_cls, partial(module_inputs, module_cls, desc, 'cpu'), training)


def check_module_device_ctx_init(module_cls, inputs, training):
    "test_module_device_ctx_init's body for any module; `inputs(dtype)` gives its ModuleInputs (the RMSNorm suite reuses it)."
    from torch._subclasses.meta_utils import assert_metadata_eq

    def assert_eq(a, b):
        assert a == b, (a, b)

    for dtype in DTYPES:
        module_input = inputs(dtype)[0]
        c_args, c_kwargs = module_input.c_args, module_input.c_kwargs
        m_cpu = module_cls(*c_args, **c_kwargs)
        with torch.device('meta'):
            m = module_cls(*c_args, **c_kwargs)

        for (p_meta, p_cpu) in chain(zip(m.parameters(), m_cpu.parameters()), zip(m.buffers(), m_cpu.buffers())):
            if torch.nn.parameter.is_lazy(p_meta):
                continue
            assert p_meta.is_meta
            assert_metadata_eq(assert_eq, p_meta, p_cpu)

@pytest.mark.parametrize('error', ERROR_INPUTS)
@pytest.mark.parametrize('module_cls', classes(1, 2))
def test_module_errors(module_cls, error):
    # Upstream constructs the module and calls it without m.train(training): it is in train mode in both of its
    # train/eval instantiations, so the `training` parameter is dropped here.
    c_kwargs, error_type, error_regex = ERROR_INPUTS[error]
    shape = ERROR_INPUT_SHAPES[_dim(module_cls)]
    for dtype in DTYPES:
        m = module_cls(10, **c_kwargs)
        fw_args = (make_tensor(shape, device='cpu', dtype=dtype),)
        with pytest.raises(error_type, match=error_regex):  # ModuleErrorEnum.FORWARD_ERROR
            m(*fw_args)


@pytest.mark.parametrize('set_grad', [pytest.param(True, id='set_grad'), pytest.param(False, id='no_grad')])
@SWAP
@module_params('to')
def test_module_to(module_cls, desc, training, swap, set_grad):
    check_module_to(module_cls, module_inputs(module_cls, desc, 'cpu', torch.float32), swap, set_grad)


def check_module_to(module_cls, inputs, swap, set_grad):
    "test_module_to's body for any module and its ModuleInputs (the RMSNorm suite reuses it)."
    # allowed_dtypes=[torch.float32]; the test loops over devices x ModuleInfo.dtypes itself
    device, dtype = 'cpu', torch.float32
    devices = ['cpu']
    if torch.cuda.is_available():
        devices += ['cuda']
    dtypes = DTYPES
    with swap_params(swap):
        for module_input in inputs:
            c_args, c_kwargs = module_input.c_args, module_input.c_kwargs
            args, kwargs = module_input.args, module_input.kwargs

            m = module_cls(*c_args, **c_kwargs)

            # Avoid using `module.to()` when constructing module since that is the method we are testing
            def _to(m, set_grad=False):
                for c in m.children():
                    _to(c, set_grad=set_grad)
                for n, p in m.named_parameters(recurse=False):
                    new_p = torch.nn.Parameter(p.detach().clone().to(device, dtype))
                    setattr(m, n, new_p)
                    if set_grad:
                        new_p.grad = torch.randn_like(new_p)
                for n, b in m.named_buffers(recurse=False):
                    new_b = b.detach().clone().to(device, dtype)
                    setattr(m, n, new_b)
            _to(m, set_grad=set_grad)

            # Check .to() can be run after forward and backward with swap
            has_params = len(list(m.parameters())) > 0
            if swap and not set_grad and has_params:
                out = m(*args, **kwargs)
                if isinstance(out, tuple):
                    out = out[0]
                out.sum().backward()
                m.to(dtype=torch.half)
                # reset
                m.to(dtype=torch.float32)

            prev_device, prev_dtype = device, dtype
            for device_, dtype_ in product(devices, dtypes):
                # if device/dtype do not change, grad.to(device, dtype) is a no-op so
                # swapping will not change ._cdata
                # parameters will be wrapped in an nn.Parameter before swapping
                # which will cause the ._cdata to change
                g_no_swap = device_ == prev_device and dtype_ == prev_dtype
                prev_device, prev_dtype = device_, dtype_

                p_ids_before = [id(p) for p in m.parameters()]
                p_cdatas_before = [p._cdata for p in m.parameters()]
                if set_grad:
                    g_ids_before = [id(p.grad) for p in m.parameters()]
                    g_cdatas_before = [p.grad._cdata for p in m.parameters()]

                m.to(device=device_, dtype=dtype_)

                assert all(isinstance(p, torch.nn.Parameter) for p in m.parameters())
                assert all(p.device.type == device_ for p in m.parameters())
                assert all(p.dtype == dtype_ for p in m.parameters())
                p_ids_after = [id(p) for p in m.parameters()]
                p_cdatas_after = [p._cdata for p in m.parameters()]

                if set_grad:
                    assert all(p.grad.device.type == device_ for p in m.parameters())
                    assert all(p.grad.dtype == dtype_ for p in m.parameters())
                    g_ids_after = [id(p.grad) for p in m.parameters()]
                    g_cdatas_after = [p.grad._cdata for p in m.parameters()]

                if swap:
                    # id same, ._cdata differs --> swapped cdata of THPVariable
                    assert all(a == b for a, b in zip(p_ids_before, p_ids_after))
                    assert all(a != b for a, b in zip(p_cdatas_before, p_cdatas_after))
                    if set_grad:
                        assert all(a == b if g_no_swap else a != b for a, b in zip(g_cdatas_before, g_cdatas_after))
                else:
                    # id and _cdata remain the same --> .data setting
                    assert all(a == b for a, b in zip(p_cdatas_before, p_cdatas_after))
                    assert all(a == b for a, b in zip(p_ids_before, p_ids_after))
                    if set_grad:
                        assert all(a == b for a, b in zip(g_cdatas_before, g_cdatas_after))
                        assert all(a == b for a, b in zip(g_ids_before, g_ids_after))


@SWAP
@module_params('to_empty')
def test_module_to_empty(module_cls, desc, training, swap):
    check_module_to_empty(module_cls, module_inputs(module_cls, desc, 'cpu', torch.float32), swap)


def check_module_to_empty(module_cls, inputs, swap):
    "test_module_to_empty's body for any module and its ModuleInputs (the RMSNorm suite reuses it)."
    # allowed_dtypes=[torch.float32]
    dtype, device_ = torch.float32, torch.device('cpu')
    with swap_params(swap):
        for module_input in inputs:
            c_args, c_kwargs = module_input.c_args, module_input.c_kwargs

            with torch.device("meta"):
                m = module_cls(*c_args, **c_kwargs)

            p_ids_before = [id(p) for p in m.parameters()]
            p_cdatas_before = [p._cdata for p in m.parameters()]
            m.to_empty(device=device_)

            assert all(isinstance(p, torch.nn.Parameter) for p in m.parameters())
            assert all(p.device == device_ for p in m.parameters())
            assert all(p.dtype == dtype for p in m.parameters())
            p_ids_after = [id(p) for p in m.parameters()]
            p_cdatas_after = [p._cdata for p in m.parameters()]

            if swap:
                # id same, ._cdata differs --> swapped cdata of THPVariable
                assert all(a == b for a, b in zip(p_ids_before, p_ids_after))
                assert all(a != b for a, b in zip(p_cdatas_before, p_cdatas_after))
            else:
                # id and ._cdata differ
                # meta and device have different shallow copy types, so this will create a new
                # parameter and assign it to the module
                assert all(a != b for a, b in zip(p_ids_before, p_ids_after))
                assert all(a != b for a, b in zip(p_cdatas_before, p_cdatas_after))


# ===============================================================================================================
# Differences no upstream assert covers (see the module docstring): each compared with torch directly.

@pytest.mark.parametrize('cls', CLASSES)
def test_batchnorm_dropin_details(cls):
    assert repr(cls(3, bias=False)) == ('BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=False, '
                                        'track_running_stats=True)')
    with pytest.raises(RuntimeError, match='running_mean should contain 3 elements not 5'):
        cls(5)(torch.randn(4, 3))
    with pytest.raises(RuntimeError, match='weight should contain 3 elements not 5'):
        cls(5, track_running_stats=False)(torch.randn(4, 3))
    for training in (True, False):
        with pytest.raises(RuntimeError, match='mixed dtype'):
            cls(3).train(training)(torch.randn(4, 3, dtype=torch.float64))
    # half-precision input with a float32 module is allowed on CPU: float32 statistics, output in the input's dtype
    m, x = cls(3), torch.randn(8, 3, dtype=torch.bfloat16)
    y = m(x)
    assert y.dtype == torch.bfloat16
    assert_close(y, nn.BatchNorm1d(3)(x), atol=1e-2, rtol=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # an empty batch is silent
        cls(3)(torch.randn(0, 3, requires_grad=True)).sum().backward()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_batchnorm1d_half_module_computes_in_float32(dtype):
    # a half module on half input: torch's CPU kernel computes in float32 and rounds once; 16-bit arithmetic would
    # overflow in float16: squares of values near 300 pass 65,504 (found by the BatchNorm2d half-overflow test; no
    # upstream 1d test checks it; computed in float16 the outputs were off by up to 3.9)
    torch.manual_seed(0)
    x = (torch.randn(300, 4) * 300 + 20).to(dtype)
    ours, ref = bnc.BatchNorm1d(4).to(dtype), nn.BatchNorm1d(4).to(dtype)
    y, y_ref = ours(x), ref(x)
    assert y.dtype == dtype and ours.running_var.dtype == dtype
    ulp = torch.finfo(dtype).eps
    assert_close(y.float(), y_ref.float(), atol=4 * ulp, rtol=ulp)
    assert_close(ours.running_mean.float(), ref.running_mean.float(), atol=0, rtol=ulp)
    assert_close(ours.running_var.float(), ref.running_var.float(), atol=0, rtol=ulp)
