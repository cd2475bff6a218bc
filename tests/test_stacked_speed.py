"""The two speed measures of the stacked step change no number: subnormal moments flushed every `flush_every` steps,
and `fit` handing the step 16 steps at a time (one gather of their rows)."""
import math

import torch
from fastcore import test as fc   # fc.test_eq: a bare test_eq would be collected by pytest

from bn_course.data import load_data
from bn_course.models import lab_models
from bn_course.stacked import StackedMLP, StackedOptimizer, StackedStep
from bn_course.training import fit

TINY = torch.finfo(torch.float32).tiny


def optimizer(kind='adam', flush_every=3):
    torch.manual_seed(0)
    sm = StackedMLP(list(lab_models(16, hidden=(8,)).values()))
    return StackedOptimizer(sm.parameters(), 0.01, kind, flush_every=flush_every)


def test_flush_sets_only_subnormals_to_zero():
    opt = optimizer()
    values = torch.tensor([TINY / 10, -TINY / 1e4, TINY, 1e-30, 0., float('nan'), float('inf'), -2.])
    opt.m[0].view(-1)[:8] = values; opt.v[0].view(-1)[:8] = values.abs()
    opt.flush_subnormals()
    want = torch.tensor([0., 0., TINY, 1e-30, 0., float('nan'), float('inf'), -2.])
    fc.test_eq(opt.m[0].view(-1)[:8].nan_to_num(7.).tolist(), want.nan_to_num(7.).tolist())
    fc.test_eq(opt.v[0].view(-1)[:8].nan_to_num(7.).tolist(), want.abs().nan_to_num(7.).tolist())


def test_flush_runs_when_the_count_passes_a_multiple_of_flush_every():
    opt = optimizer(flush_every=3)
    def plant(): opt.m[0].view(-1)[0] = TINY / 10
    def flushed(): return opt.m[0].view(-1)[0].item() == 0
    plant(); opt.count(); opt.count(); fc.test_eq(flushed(), False)        # steps 1, 2
    opt.count(); fc.test_eq(flushed(), True)                               # step 3
    plant(); opt.count(2); fc.test_eq(flushed(), False)                    # steps 4-5
    opt.count(5); fc.test_eq(flushed(), True)                              # steps 6-10 pass 6 and 9
    fc.test_eq(opt.n_steps, 10)
    never = optimizer(flush_every=None); never.m[0].view(-1)[0] = TINY / 10
    never.count(1000); fc.test_eq(0 < never.m[0].view(-1)[0].item() < TINY, True)   # still subnormal
    sgd = optimizer('sgd'); sgd.count(6); fc.test_eq(hasattr(sgd, 'm'), False)   # SGD keeps no moments: nothing to flush


def test_step_counts_itself():
    opt = optimizer(flush_every=2)
    grads = {p: torch.zeros_like(p) for p in opt.params}
    opt.m[0].view(-1)[0] = TINY / 10
    opt.step(grads); fc.test_eq(opt.n_steps, 1)
    opt.step(grads); fc.test_eq((opt.n_steps, opt.m[0].view(-1)[0].item()), (2, 0.))


def values(r): return {n: h.metrics for n, h in r.histories.items()}


class OneAtATime(StackedStep):
    "The stacked step handed one step per call: a gather per step, as before chunking."
    def __init__(self): super().__init__(); self.chunk = 1


def chunked_and_one_at_a_time(data, **kw):
    "The lab's pair trained from the same weights by `StackedStep` (16 steps a call) and `OneAtATime`: [(Result, models)] × 2."
    runs = []
    for step in (StackedStep(), OneAtATime()):
        torch.manual_seed(1); models = lab_models(data.n_features)
        runs.append((fit(models, data, step, epochs=1, bs=32, lr=0.01, progress=False, device='cpu', check_every=7, **kw), models))
    return runs


def test_chunked_gather_trains_bit_identically():
    data = load_data('digits')                    # small and fast: the equality does not depend on the data
    (r16, m16), (r1, m1) = chunked_and_one_at_a_time(data)
    fc.test_eq(values(r16), values(r1))
    for n in m16: fc.test_eq([torch.equal(a, b) for a, b in zip(m16[n].state_dict().values(), m1[n].state_dict().values())],
                          [True] * len(m16[n].state_dict()))
    # several batch orders in one stack: (n, K, B) chunks
    (ra, _), (rb, _) = chunked_and_one_at_a_time(data, shuffle_seeds={'bn': 1, 'plain': 2})
    fc.test_eq(values(ra), values(rb))
    assert all(math.isfinite(h['test_acc'][-1]) and h['test_acc'][-1] > 0.5 for h in values(ra).values())


def test_flush_every_must_be_a_positive_whole_number_or_none():
    fc.test_fail(lambda: optimizer(flush_every=0), contains='flush_every')
    fc.test_fail(lambda: optimizer(flush_every=2.5), contains='flush_every')
