"""PyTorch's own RMSNorm tests, run against `torch.nn.RMSNorm` / `F.rms_norm` (the control) and `bn_course`'s
from-scratch copies (`bn_course.norm_layers.RMSNorm` / `rms_norm`, written in nbs/22_beyond_bn.ipynb).

Every test is parametrized over the implementation under test: `torch` (must pass) and `bn_course` (the claim "drop-in
for torch.nn.RMSNorm" is what is being tested). Only the class or function under test is swapped; upstream's inputs and
asserts are kept. No test is marked xfail.

Sources (torch 2.14.1 as installed here; torch/testing/_internal is part of the wheel):
  * test/test_modules.py (TestModule), driven by the `torch.nn.RMSNorm` ModuleInfo of
    torch/testing/_internal/common_modules.py: `module_inputs_torch_nn_RMSNorm` (copied below as MODULE_INPUTS, with its
    `rms_norm_reference_fn`) and the ModuleInfo's defaults (dtypes floating_types(), train_and_eval_differ=False,
    supports_gradgrad=True, module_memformat_affects_out=False, no error inputs).
  * test/test_ops.py (TestCommon.test_numpy_ref, TestCommon.test_errors) and test/test_ops_gradients.py
    (TestBwdGradients.test_fn_grad / test_fn_gradgrad), driven by the `nn.functional.rms_norm` OpInfo of
    torch/testing/_internal/common_methods_invocations.py: `sample_inputs_rms_norm` (SAMPLES below),
    `reference_rms_norm` (the NumPy reference, copied below) and `error_inputs_rms_norm` (ERRORS below).
`torch.testing._internal` is not imported (its common_utils needs `expecttest` and changes global flags at import); the
few helpers used are re-used from tests/test_batchnorm_upstream.py, which re-states them unchanged in behaviour.

Adapted (upstream → here):
  TestModule (class attributes precision = rel_tol = 1e-5, kept where a comparison would otherwise be stricter than
    upstream's: the reference_fn of test_forward computes in float32): test_forward (with the ModuleInfo's reference_fn), test_factory_kwargs, test_repr, test_save_load,
    test_non_contiguous_tensors, test_grad, test_gradgrad, test_memory_format (the 4-D inputs take the channels_last
    branch), test_if_train_and_eval_modes_differ, test_device_ctx_init, test_to, test_to_empty → test_module_<same name>,
    one test per (implementation, input desc, train/eval) instead of a loop over the inputs.
  TestCommon.test_numpy_ref (allowed dtypes float64 and complex128) → test_rms_norm_numpy_ref
  TestCommon.test_errors → test_rms_norm_errors
  TestBwdGradients.test_fn_grad / test_fn_gradgrad (float64, complex128; gradcheck over input and weight) →
    test_rms_norm_fn_grad / test_rms_norm_fn_gradgrad
Not adapted: CUDA/MPS-only variants and device-parity tests (no GPU here); the cutedsl override's samples (SM90+ CUDA
only); TestModule.test_errors (the RMSNorm ModuleInfo has no error inputs); jit/compile/decomposition, forward-AD and
conjugate/meta/out= variants of TestCommon (they test torch's dispatch machinery, not the layer's math).

Beyond upstream (torch compared directly): every dtype torch accepts, half and bfloat16 computed in float32 and rounded
once, mixed input/weight dtypes, and the exact error messages.
"""
from __future__ import annotations

from functools import partial
from itertools import product

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close, make_tensor

import test_batchnorm_upstream as up
from bn_course import norm_layers as norms

IMPLS = {'torch': (nn.RMSNorm, F.rms_norm), 'bn_course': (norms.RMSNorm, norms.rms_norm)}
DTYPES = (torch.float32, torch.float64)  # ModuleInfo.dtypes = floating_types()
# TestModule's class attributes: its assertEqual allows max(dtype default, these); they matter for test_forward, whose
# reference_fn computes in float32 (`i.float()`) also for float64 input
PRECISION, REL_TOL = 1e-5, 1e-5


# the BN harness's autouse fixtures, used here too: one intra-op thread per module, and TestCase.setUp's seed (1234)
_one_thread, _seed = up._one_thread, up._seed


# ===============================================================================================================
# test/test_modules.py — TestModule, driven by the RMSNorm ModuleInfo

def rms_norm_reference_fn(m, p, i):
    "common_modules.module_inputs_torch_nn_RMSNorm.rms_norm_reference_fn, unchanged (it adds m.eps, as upstream)."
    eps = m.eps
    if eps is None:
        eps = torch.finfo(i.dtype).eps
    ndim = i.ndim
    normalized_shape = m.normalized_shape
    weight = m.weight
    dims = [ndim - i - 1 for i in range(len(normalized_shape))]
    upcasted_i = i.float()
    result = upcasted_i * torch.rsqrt(upcasted_i.pow(2).mean(dim=dims, keepdim=True) + m.eps)
    if weight is not None:
        result *= weight
    return result.type_as(i)


# module_inputs_torch_nn_RMSNorm: desc → (constructor args, forward input shape); every entry has the reference_fn
MODULE_INPUTS = {
    '1d_elementwise_affine': (([5], 1e-3), (4, 5, 5)),
    '1d_elementwise_affine_large_batch': (([5], 1e-3), (128, 5, 5)),
    '1d_no_elementwise_affine': (([5], 1e-3, False), (4, 5, 5)),
    '3d_elementwise_affine': (([2, 2, 5], 1e-3), (4, 2, 2, 5)),
    '3d_no_elementwise_affine': (([2, 2, 5], 1e-3, False), (4, 2, 2, 5)),
    '1d_empty_elementwise_affine': (([5], 1e-3), (0, 5)),
}


class ModuleInput:
    "The bits of common_modules.ModuleInput used here; the forward input is made fresh by make_tensor."
    def __init__(self, desc, device, dtype, requires_grad):
        (self.c_args, shape), self.desc = MODULE_INPUTS[desc], desc
        self.c_kwargs = {}
        self.args = (make_tensor(shape, device=device, dtype=dtype, requires_grad=requires_grad),)
        self.kwargs = {}
        self.reference_fn = rms_norm_reference_fn


def module_inputs(desc, device='cpu', dtype=torch.float32, requires_grad=False):
    return [ModuleInput(desc, device, dtype, requires_grad)]


def module_params(trainings=(True, False)):
    "(module_cls, desc, training) params, ids torch-1d_elementwise_affine-train, bn_course-..."
    params = [pytest.param(IMPLS[impl][0], desc, training, id=f"{impl}-{desc}-{'train' if training else 'eval'}")
              for desc, training in product(MODULE_INPUTS, trainings) for impl in IMPLS]
    return pytest.mark.parametrize('module_cls, desc, training', params)


@module_params()
def test_module_forward(module_cls, desc, training):
    device = 'cpu'
    dtype_to_method_caller = {torch.float32: lambda m: m.float(), torch.float64: lambda m: m.double()}
    for dtype in DTYPES:
        for module_input in module_inputs(desc, device, dtype, requires_grad=False):
            # === Instantiate the module. ===
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to(device).to(dtype)
            m.train(training)

            # === Do forward pass. ===
            args, kwargs = module_input.args, module_input.kwargs
            outputs = m(*args, **kwargs)

            # === Compare outputs to a reference if one is specified. ===
            if module_input.reference_fn is not None:
                ref_outputs = module_input.reference_fn(m, list(m.parameters()), *args, **kwargs)
                up.assert_equal(outputs, ref_outputs, atol=PRECISION, rtol=REL_TOL)

            # === Use the method call and verify the parameters and buffers ===
            if dtype in dtype_to_method_caller:
                dtype_to_method_caller[dtype](m)
                m(*args, **kwargs)
                up._assert_module_parameters_and_buffer_are(m, device, dtype)


@module_params()
def test_module_factory_kwargs(module_cls, desc, training):
    up.check_module_factory_kwargs(module_cls, partial(module_inputs, desc, 'cpu'), training)


@module_params()
def test_module_repr(module_cls, desc, training):
    up.check_module_repr(module_cls, partial(module_inputs, desc, 'cpu'), training)

@module_params()
def test_module_save_load(module_cls, desc, training):
    up.check_module_save_load(module_cls, partial(module_inputs, desc, 'cpu'), training)

@module_params()
def test_module_non_contiguous_tensors(module_cls, desc, training):
    up.check_module_non_contiguous_tensors(module_cls, partial(module_inputs, desc, 'cpu'), training)


@module_params()
def test_module_grad(module_cls, desc, training):
    up.check_module_gradients(module_cls, partial(module_inputs, desc, 'cpu'), training, up.gradcheck)


@module_params()
def test_module_gradgrad(module_cls, desc, training):
    up.check_module_gradients(module_cls, partial(module_inputs, desc, 'cpu'), training, up.gradgradcheck)


@module_params()
def test_module_memory_format(module_cls, desc, training):
    # RMSNorm inputs are 2-D to 4-D: the 4-D ones also run channels_last. module_memformat_affects_out = False.
    for dtype in DTYPES:
        for module_input in module_inputs(desc, 'cpu', dtype, requires_grad=True):
            m = module_cls(*module_input.c_args, **module_input.c_kwargs)
            m.to('cpu').to(dtype)
            m.train(training)

            channels_last = module_input.args[0].dim() == 4
            input_mem_formats = [torch.contiguous_format] + ([torch.channels_last] if channels_last else [])
            module_mem_formats = [torch.preserve_format, torch.contiguous_format] + ([torch.channels_last] if channels_last else [])

            args = module_input.args
            desired_outputs = m(*args)
            params = tuple(m.parameters())
            if training:
                ref_diff_inputs = tuple(t for t in (*args, *params) if t.requires_grad)
                ref_grad_outputs = (torch.rand_like(desired_outputs),)
                ref_grad_inputs = torch.autograd.grad((desired_outputs,), ref_diff_inputs, grad_outputs=ref_grad_outputs)

            for input_mem_format in input_mem_formats:
                # === Change memformat of input. ===
                args = tuple(a.clone().to(memory_format=input_mem_format).detach().requires_grad_(a.requires_grad)
                             for a in module_input.args)
                for module_mem_format in module_mem_formats:
                    m.to(memory_format=module_mem_format)
                    outputs = m(*args)
                    if input_mem_format != torch.contiguous_format or module_mem_format != torch.contiguous_format:
                        up.assert_equal(outputs, desired_outputs)
                    # === Check mem format of output (4-D output keeps a channels_last input's layout). ===
                    if outputs.dim() == 4 and input_mem_format == torch.channels_last:
                        assert outputs.is_contiguous(memory_format=torch.channels_last)
                    else:
                        assert outputs.is_contiguous()
                    if training:
                        diff_inputs = tuple(t for t in (*args, *tuple(m.parameters())) if t.requires_grad)
                        grad_outputs = (torch.empty_like(outputs).copy_(ref_grad_outputs[0]),)
                        grad_inputs = torch.autograd.grad((outputs,), diff_inputs, grad_outputs=grad_outputs)
                        if input_mem_format != torch.contiguous_format or module_mem_format != torch.contiguous_format:
                            up.assert_equal(grad_inputs, ref_grad_inputs)
                        for g in grad_inputs:
                            if g.dim() == 4 and input_mem_format == torch.channels_last:
                                assert g.is_contiguous(memory_format=torch.channels_last)
                            else:
                                assert g.is_contiguous()


@module_params(trainings=(True,))  # TrainEvalMode.train_only
def test_module_if_train_and_eval_modes_differ(module_cls, desc, training):
    # train_and_eval_differ=False in RMSNorm's ModuleInfo
    up.check_module_if_train_and_eval_modes_differ(module_cls, partial(module_inputs, desc, 'cpu'), training, False)


@module_params()
def test_module_device_ctx_init(module_cls, desc, training):
    up.check_module_device_ctx_init(module_cls, partial(module_inputs, desc, 'cpu'), training)


@pytest.mark.parametrize('set_grad', [pytest.param(True, id='set_grad'), pytest.param(False, id='no_grad')])
@up.SWAP
@module_params()
def test_module_to(module_cls, desc, training, swap, set_grad):
    up.check_module_to(module_cls, module_inputs(desc, 'cpu', torch.float32), swap, set_grad)


@up.SWAP
@module_params()
def test_module_to_empty(module_cls, desc, training, swap):
    up.check_module_to_empty(module_cls, module_inputs(desc, 'cpu', torch.float32), swap)


# ===============================================================================================================
# test/test_ops.py and test/test_ops_gradients.py, driven by the nn.functional.rms_norm OpInfo

def reference_rms_norm(inp, normalized_shape, weight=None, eps=None):
    "common_methods_invocations.reference_rms_norm (NumPy), unchanged but for numpy_to_torch_dtype's lookup."
    if eps is None:
        eps = torch.finfo(torch.from_numpy(np.empty(0, dtype=inp.dtype)).dtype).eps
    feature_size = np.prod(normalized_shape)
    inp_view = inp.reshape(-1, feature_size)
    rms = np.sqrt((inp_view**2).mean(axis=-1, keepdims=True) + eps)
    Y = inp_view / rms
    if weight is not None:
        Y = Y * weight.reshape(-1)
    return Y.reshape(*inp.shape)


def samples(dtype, requires_grad=False):
    "sample_inputs_rms_norm: (input, normalized_shape, weight or None, kwargs), ordered as upstream."
    make_arg = partial(make_tensor, device='cpu', dtype=dtype, requires_grad=requires_grad, high=1000)
    cases = (((1, 2, 3), (1, 2, 3), {'eps': 0.5}),
             ((2, 2, 3), (2, 3), {'eps': -0.5}),
             ((1,), (1,), {}),
             ((1, 2), (2,), {}),
             ((0, 1), (1,), {}))
    for input_shape, normalized_shape, kwargs in cases:
        # Shape of weight and bias should be the same as normalized_shape
        weight = make_arg(normalized_shape)
        yield make_arg(input_shape), normalized_shape, weight, kwargs
    # Without any optional args
    yield make_arg((1, 2)), (2,), None, {}


# error_inputs_rms_norm: (input shape, normalized_shape, weight shape or None, eps, error regex)
ERRORS = [((1, 2, 3), (), None, 1e-5, "Expected normalized_shape to be at least 1-dimensional"),
          ((1, 2, 3), (1, 2, 3), (1, 2), 1e-5, "Expected weight to be of same shape as normalized_shape"),
          ((2, 2, 3), (2, 2), None, 1e-5, "Given normalized_shape=")]

FNS = [pytest.param(IMPLS[k][1], id=k) for k in IMPLS]


@pytest.mark.parametrize('dtype', [torch.float64, torch.complex128], ids=str)
@pytest.mark.parametrize('rms_norm', FNS)
def test_rms_norm_numpy_ref(rms_norm, dtype):
    # TestCommon.test_numpy_ref: the op against its NumPy reference on every sample (exact_dtype=True)
    for x, shape, weight, kwargs in samples(dtype):
        actual = rms_norm(x, shape, weight, **kwargs)
        expected = reference_rms_norm(x.numpy(), shape, None if weight is None else weight.numpy(), **kwargs)
        up.assert_equal(actual, torch.from_numpy(np.asarray(expected)))


@pytest.mark.parametrize('error', range(len(ERRORS)))
@pytest.mark.parametrize('rms_norm', FNS)
def test_rms_norm_errors(rms_norm, error):
    # TestCommon.test_errors: float32 inputs (error_inputs_rms_norm makes them with make_tensor)
    shape, normalized_shape, weight_shape, eps, regex = ERRORS[error]
    x = make_tensor(shape, device='cpu', dtype=torch.float32)
    weight = None if weight_shape is None else make_tensor(weight_shape, device='cpu', dtype=torch.float32)
    with pytest.raises(RuntimeError, match=regex):
        rms_norm(x, normalized_shape, weight, eps)


def _fn_check(rms_norm, dtype, check):
    for x, shape, weight, kwargs in samples(dtype, requires_grad=True):
        inputs = (x,) if weight is None else (x, weight)
        fn = (lambda a: rms_norm(a, shape, None, **kwargs)) if weight is None else \
             (lambda a, w: rms_norm(a, shape, w, **kwargs))
        assert check(fn, inputs, check_batched_grad=False)


@pytest.mark.parametrize('dtype', [torch.float64, torch.complex128], ids=str)
@pytest.mark.parametrize('rms_norm', FNS)
def test_rms_norm_fn_grad(rms_norm, dtype):
    # TestBwdGradients.test_fn_grad (supported_backward_dtypes include float64 and complex128)
    _fn_check(rms_norm, dtype, up.gradcheck)


@pytest.mark.parametrize('dtype', [torch.float64, torch.complex128], ids=str)
@pytest.mark.parametrize('rms_norm', FNS)
def test_rms_norm_fn_gradgrad(rms_norm, dtype):
    # TestBwdGradients.test_fn_gradgrad (supports_gradgrad defaults to True)
    _fn_check(rms_norm, dtype, up.gradgradcheck)


# ===============================================================================================================
# Beyond upstream: the same numbers as torch for every dtype it accepts, and the same errors

@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                                   torch.complex128], ids=str)
@pytest.mark.parametrize('eps', [None, 1e-3])
@pytest.mark.parametrize('affine', [True, False])
def test_rmsnorm_equals_torch(dtype, eps, affine):
    ours, ref = norms.RMSNorm((7, 33), eps, affine, dtype=dtype), nn.RMSNorm((7, 33), eps, affine, dtype=dtype)
    if affine:
        with torch.no_grad():
            ours.weight.copy_(torch.rand(7, 33) + 0.5); ref.weight.copy_(ours.weight)
    x = (torch.randn(16, 7, 33) * 3).to(dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, y_ref = ours(xa), ref(xb)
    assert y.dtype == dtype and torch.equal(y, y_ref)   # half/bfloat16: float32 arithmetic, one rounding, as torch
    g = torch.randn_like(y)
    y.backward(g); y_ref.backward(g)
    assert_close(xa.grad, xb.grad)
    if affine:
        assert_close(ours.weight.grad, ref.weight.grad)


@pytest.mark.parametrize('x_dtype, w_dtype', [(torch.float32, torch.float16), (torch.float16, torch.float32),
                                               (torch.bfloat16, torch.float32), (torch.float64, torch.float32)], ids=str)
def test_rms_norm_mixed_dtypes(x_dtype, w_dtype):
    x, w = torch.randn(8, 6).to(x_dtype), (torch.rand(6) + 0.5).to(w_dtype)
    with pytest.warns(UserWarning, match='Mismatch dtype') if x_dtype == torch.float32 and w_dtype == torch.float16 \
            else _nothing():
        ref = F.rms_norm(x, (6,), w)
    y = norms.rms_norm(x, (6,), w)
    assert y.dtype == ref.dtype == x_dtype and torch.equal(y, ref)


class _nothing:
    def __enter__(self): return self
    def __exit__(self, *exc): return False


def test_rmsnorm_messages_and_layout():
    for call in (lambda f: f(torch.randn(2, 2, 3), (2, 2)), lambda f: f(torch.randn(1, 2, 3), ()),
                 lambda f: f(torch.randn(1, 2, 3), (1, 2, 3), torch.randn(1, 2)), lambda f: f(torch.randn(3), (2, 3))):
        with pytest.raises(Exception) as ours:
            call(norms.rms_norm)
        with pytest.raises(Exception) as ref:
            call(F.rms_norm)
        assert (type(ours.value), str(ours.value)) == (type(ref.value), str(ref.value))
    for kw in ({}, {'eps': 1e-3, 'elementwise_affine': False}):
        for shape in (5, [2, 3]):
            a, b = norms.RMSNorm(shape, **kw), nn.RMSNorm(shape, **kw)
            assert repr(a) == repr(b) and list(a.state_dict()) == list(b.state_dict())
            assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
