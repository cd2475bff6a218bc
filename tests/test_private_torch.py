"""One test per private torch feature that bn_course.stacked relies on.

The fast path (bn_course.stacked) calls torch internals where a benchmark row showed they pay: the ATen backward
kernels of the activations and of batch norm (`torch.ops.aten.*_backward`, `native_batch_norm_backward`), the kernel
behind `torch.optim.Adam(fused=True)` (`torch._fused_adam_`), `torch._foreach_add_` for SGD and the dynamo config keys
that make a failed compile loud. None of them is a public API, so a torch upgrade may change them silently: each test
here checks the one behaviour the fast path depends on against the public API that computes the same thing, so an
upgrade that breaks one fails here, by name, instead of as a wrong number deep in a training run.
"""
import pytest
import torch
import torch.nn.functional as F

from bn_course.models import lab_models
from bn_course.stacked import _ACT_BACKWARD, StackedMLP, StackedOptimizer


@pytest.mark.parametrize('name, fn', [('relu', torch.relu), ('sigmoid', torch.sigmoid), ('tanh', torch.tanh)])
def test_activation_backward_kernels(name, fn):
    # aten.threshold_backward / sigmoid_backward / tanh_backward take the activation's OUTPUT: that is what the stacked
    # backward caches, so it never keeps the pre-activation
    torch.manual_seed(0)
    x, g = torch.randn(64, 7, dtype=torch.float64, requires_grad=True), torch.randn(64, 7, dtype=torch.float64)
    out = fn(x)
    want, = torch.autograd.grad(out, x, g)
    torch.testing.assert_close(_ACT_BACKWARD[name](g, out.detach()), want)


def test_native_batch_norm_backward():
    # signature (grad_out, input, weight, running_mean, running_var, save_mean, save_invstd, train, eps, output_mask)
    # → (grad_input, grad_weight, grad_bias), with save_invstd = 1/sqrt(biased var + eps) as native_batch_norm saves it
    torch.manual_seed(0)
    x = torch.randn(32, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    rm, rv, g = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64), torch.randn(32, 6, dtype=torch.float64)
    want = torch.autograd.grad(F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=True), (x, w, b), g)
    mean, invstd = x.detach().mean(0), (x.detach().var(0, unbiased=False) + 1e-5).rsqrt()
    got = torch.ops.aten.native_batch_norm_backward(g, x.detach(), w.detach(), rm, rv, mean, invstd, True, 1e-5,
                                                    [True, True, True])
    for a, e in zip(got, want): torch.testing.assert_close(a, e)


def test_native_batch_norm_saves_what_the_backward_takes():
    # StackedMLP._bn feeds native_batch_norm's saved mean/invstd into the backward above
    torch.manual_seed(1)
    x, w, b = torch.randn(16, 4), torch.rand(4) + 0.5, torch.randn(4)
    out, mean, invstd = torch.native_batch_norm(x, w, b, torch.zeros(4), torch.ones(4), True, 0.1, 1e-5)
    torch.testing.assert_close(mean, x.mean(0))
    torch.testing.assert_close(invstd, (x.var(0, unbiased=False) + 1e-5).rsqrt())
    torch.testing.assert_close(out, F.batch_norm(x, None, None, w, b, training=True))


def _two_optimizers(kind):
    "A StackedOptimizer (private kernel) and torch's public optimizer over equal copies of the same parameters."
    torch.manual_seed(0)
    ps = [torch.randn(5, 3), torch.randn(3)]
    ours, ref = [p.clone().requires_grad_() for p in ps], [p.clone().requires_grad_() for p in ps]
    opt = StackedOptimizer(ours, lr=0.01, kind=kind)
    public = torch.optim.Adam(ref, lr=0.01) if kind == 'adam' else torch.optim.SGD(ref, lr=0.01)
    return ours, ref, opt, public


@pytest.mark.parametrize('kind', ['adam', 'sgd'])
def test_fused_kernels_match_public_optimizers(kind):
    # torch._fused_adam_ (Adam) and torch._foreach_add_ (SGD), called as StackedOptimizer calls them, for 5 steps
    ours, ref, opt, public = _two_optimizers(kind)
    assert opt.fused, "the private fused kernel is the path under test"
    for step in range(5):
        gs = [torch.randn_like(p) for p in ours]
        opt.step(dict(zip(ours, gs)))
        for p, g in zip(ref, gs): p.grad = g.clone()
        public.step()
        for a, e in zip(ours, ref): torch.testing.assert_close(a.detach(), e.detach(), rtol=1e-6, atol=1e-7)


def test_dynamo_config_keys():
    # _try_compiled patches these to make a recompile-limit hit an error instead of a silent fallback to eager
    import torch._dynamo
    cfg = torch._dynamo.config
    assert hasattr(cfg, 'recompile_limit')
    assert any(hasattr(cfg, k) for k in ('fail_on_recompile_limit_hit', 'fail_on_cache_limit_hit'))
    assert issubclass(torch._dynamo.exc.TorchDynamoException, Exception)
    with cfg.patch(**{k: True for k in ('fail_on_recompile_limit_hit', 'fail_on_cache_limit_hit') if hasattr(cfg, k)}):
        pass


def test_stacked_step_matches_autograd():
    # the private kernels together: one stacked step's gradients equal autograd through the lab's own models
    torch.manual_seed(0)
    models = lab_models(20)
    sm = StackedMLP(list(models.values()))
    x, y = torch.randn(32, 20), torch.randint(0, 10, (32,))
    _, grads = sm.loss_and_grads(x, y, torch.eye(10)[y], need_loss=False)
    for k, m in enumerate(models.values()):
        m.train()
        F.cross_entropy(m(x), y).backward()
        lins = [l for l in m if isinstance(l, torch.nn.Linear)]
        n = lins[0].out_features
        torch.testing.assert_close(grads[sm.weights[0]][:, k * n:(k + 1) * n].t(), lins[0].weight.grad, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(grads[sm.weights[-1]][k].t(), lins[-1].weight.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('per_model', [False, True])
def test_fused_adam_gets_gradients_laid_out_like_parameters(per_model):
    # torch._fused_adam_ walks a gradient's memory in its parameter's order: a transposed gradient, as vmap's backward
    # returns for stacked weights (bn_course.grid), would be read in the wrong order, so StackedOptimizer re-lays it first
    torch.manual_seed(0)
    p, gs = torch.randn(4, 3), [torch.randn(3, 4).t() for _ in range(3)]           # non-contiguous (4, 3) gradients
    ref = p.clone().requires_grad_()
    public = torch.optim.Adam([ref], lr=0.01)
    ours = p.clone().requires_grad_()
    opt = StackedOptimizer([ours], {ours: torch.full((4, 1), 0.01)} if per_model else 0.01)
    for g in gs:
        ref.grad = g.clone(); public.step()
        opt.step({ours: g})
    torch.testing.assert_close(ours.detach(), ref.detach(), rtol=1e-6, atol=1e-7)
