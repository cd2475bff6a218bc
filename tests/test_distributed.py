"""Synchronized BN, the data-parallel trainer (bn_course.distributed) and its command (`bn-course ddp`, `torchrun -m
bn_course.distributed`) on real CPU processes over loopback (gloo).

Every multi-process test runs under `spawn_ranks` (bounded time, every process stopped on return or failure; `bn-course
ddp` starts its ranks with it) or `torchrun` in its own session (killed as a group on timeout)."""
import json, math, os, signal, socket, subprocess, sys, time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from bn_course.batchnorm import BatchNorm1d
from bn_course.data import Data, load_digits_data
from bn_course.distributed import (PortInUse, RankFailed, SyncBatchNorm, convert_sync_batchnorm, shard, spawn_ranks,
                                   train_data_parallel, build_lab_model)
from bn_course.norm_layers import BatchRenorm1d, GhostBatchNorm
from bn_course.runs import Result
from bn_course.models import MLP, load_model
from bn_course.runs import read_manifest
from bn_course.training import train_models

C = 5


def _batch(sizes, tail, seed=0):
    "A global batch (float64, off-centre) and fixed random loss weights, the same in every process."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(sizes), C, *tail, generator=g, dtype=torch.float64) * 3 + 2
    return x, torch.randn(x.shape, generator=g, dtype=torch.float64)


def _make_bn(cls, momentum):
    bn = cls(C, momentum=momentum, dtype=torch.float64)
    with torch.no_grad(): bn.weight.copy_(torch.linspace(0.5, 2, C)); bn.bias.copy_(torch.linspace(-1, 1, C))
    return bn


def _sync_bn_rank(rank, world, sizes, tail, momentum):
    "Two train steps (the first with a backward) and an eval step of SyncBatchNorm on this rank's slice."
    x, w = _batch(sizes, tail)
    lo = sum(sizes[:rank]); sl = slice(lo, lo + sizes[rank])
    xl = x[sl].clone().requires_grad_()
    bn = _make_bn(SyncBatchNorm, momentum)
    y = bn(xl)
    (y * w[sl]).sum().backward()      # the global loss is the sum of the ranks' losses
    bn(x[sl] * 0.5 + 1)               # a second train step: running statistics accumulate
    bn.eval()
    return dict(y=y.detach(), dx=xl.grad, dw=bn.weight.grad, db=bn.bias.grad, rm=bn.running_mean, rv=bn.running_var,
                nbt=bn.num_batches_tracked, y_eval=bn(x[sl]).detach())


@pytest.mark.parametrize('world,sizes,tail,momentum', [
    (2, [6, 6], (), 0.1),
    (2, [7, 3], (4,), None),          # unequal shards, (N, C, L) input, cumulative running average
    (4, [5, 1, 8, 2], (), 0.3),       # one rank holds a single sample: local BN could not even run there
])
def test_sync_bn_equals_one_process_bn(world, sizes, tail, momentum):
    "Outputs, input gradients, weight/bias gradients, running buffers and eval outputs equal torch's BN on the concatenated batch."
    res = spawn_ranks(_sync_bn_rank, world, (sizes, tail, momentum), timeout=60)
    x, w = _batch(sizes, tail)
    ref = nn.BatchNorm1d(C, momentum=momentum, dtype=torch.float64)
    with torch.no_grad(): ref.weight.copy_(torch.linspace(0.5, 2, C)); ref.bias.copy_(torch.linspace(-1, 1, C))
    xr = x.clone().requires_grad_()
    y = ref(xr); (y * w).sum().backward()
    ref(torch.cat([x[sum(sizes[:r]):sum(sizes[:r + 1])] * 0.5 + 1 for r in range(world)]))
    ref.eval()
    assert_close(torch.cat([r['y'] for r in res]), y.detach())
    assert_close(torch.cat([r['dx'] for r in res]), xr.grad)
    # parameter gradients stay local (DDP sums/averages them): their sum over ranks is the one-process gradient
    assert_close(sum(r['dw'] for r in res), ref.weight.grad)
    assert_close(sum(r['db'] for r in res), ref.bias.grad)
    for r in res:
        assert_close(r['rm'], ref.running_mean); assert_close(r['rv'], ref.running_var)
        assert int(r['nbt']) == int(ref.num_batches_tracked) == 2
    assert_close(torch.cat([r['y_eval'] for r in res]), ref(x).detach())


def test_sync_bn_without_process_group_is_local_bn():
    "No process group: SyncBatchNorm is BatchNorm1d on the local batch; conversion keeps parameters and skips other norms."
    x = torch.randn(16, 6, dtype=torch.float64)
    model = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), BatchNorm1d(6), nn.Sequential(nn.BatchNorm2d(6)),
                          GhostBatchNorm(6), nn.LayerNorm(6)).double()
    w = model[1].weight
    conv = convert_sync_batchnorm(model)
    assert [type(m).__name__ for m in conv.modules()].count('SyncBatchNorm') == 3
    assert conv[1].weight is w and isinstance(conv[4], GhostBatchNorm) and isinstance(conv[5], nn.LayerNorm)
    ref = nn.BatchNorm1d(6, dtype=torch.float64)
    sbn = SyncBatchNorm(6, dtype=torch.float64)
    assert_close(sbn(x), ref(x)); assert_close(sbn.running_var, ref.running_var)
    img = torch.randn(4, 6, 3, 3, dtype=torch.float64)   # a converted BatchNorm2d takes images
    assert_close(SyncBatchNorm(6, dtype=torch.float64)(img), nn.BatchNorm2d(6, dtype=torch.float64)(img))


def test_ghost_and_renorm_reduce_to_bn():
    "Ghost BN = BN on each slice; Batch Renorm in its warm-up (r_max = 1, d_max = 0) = BN, and its eval mode = BN's."
    x = torch.randn(24, 4, dtype=torch.float64)
    gbn, bn = GhostBatchNorm(4, virtual_batches=3, dtype=torch.float64), BatchNorm1d(4, dtype=torch.float64)
    assert_close(gbn(x), torch.cat([bn(p) for p in x.chunk(3)]))
    assert_close(gbn.running_mean, bn.running_mean)     # 'all': one running update per ghost batch, in turn
    brn, bn = BatchRenorm1d(4, warmup=2, ramp=2, dtype=torch.float64), BatchNorm1d(4, dtype=torch.float64)
    for _ in range(2): assert_close(brn(x), bn(x))
    assert brn.limits() == (1.0, 0.0)                   # the warm-up's last step: still plain BN
    brn(x); bn(x)
    assert brn.limits() == (2.0, 2.5)                   # half-way through the ramp to (3, 5)
    brn.eval(); bn.eval(); assert_close(brn(x), bn(x))
    with pytest.raises(ValueError, match='virtual_batches'): GhostBatchNorm(4, virtual_batches=0)


def _digits(n=512):
    d = load_digits_data()
    return Data('digits', d.x_train[:n].double(), d.y_train[:n], d.x_test.double(), d.y_test, d.image_shape)


def _ddp_rank(rank, world, data, sync_bn):
    net = build_lab_model(data.n_features, data.n_classes, seed=3).double()
    net, res = train_data_parallel(net, data, epochs=2, bs=64, lr=0.1, seed=3, optimizer='sgd', sync_bn=sync_bn)
    return net.state_dict(), res


def test_ddp_two_processes_equals_one_process():
    """DDP on 2 processes: synchronized BN gives single-process training's model (train_models, batch 64); per-rank BN gives Ghost BN's.

    SGD, not Adam: the bias of a Linear layer right before BN has a gradient that is 0 up to rounding, and Adam divides
    that rounding noise by its own size, so Adam's copies of those biases differ at the level of the learning rate
    (while the model's outputs do not); SGD keeps every parameter equal to rounding."""
    data = _digits()
    (sd, hist), (sd1, _) = spawn_ranks(_ddp_rank, 2, (data, True), timeout=60)
    for k in sd: assert_close(sd[k], sd1[k], msg=k)           # the ranks hold one model
    torch.manual_seed(0)
    ref = build_lab_model(data.n_features, data.n_classes, seed=3).double()
    comp = train_models({'bn': ref}, data, epochs=2, bs=64, lr=0.1, seed=3, optimizer='sgd', device='cpu', progress=False)
    for k, v in ref.state_dict().items(): assert_close(sd[k], v, rtol=1e-9, atol=1e-10, msg=k)
    assert abs(hist.histories['model'].test_acc[-1] - comp.histories['bn'].test_acc[-1]) < 1e-9
    assert hist.histories['model'].train_loss == pytest.approx(comp.histories['bn'].train_loss, rel=1e-9)
    (sd_local, _), _ = spawn_ranks(_ddp_rank, 2, (data, False), timeout=60)
    ghost = build_lab_model(data.n_features, data.n_classes, seed=3).double()
    for i, m in enumerate(ghost):
        if isinstance(m, nn.BatchNorm1d): ghost[i] = GhostBatchNorm(m.num_features, 2, 'first', dtype=torch.float64)
    train_models({'g': ghost}, data, epochs=2, bs=64, lr=0.1, seed=3, optimizer='sgd', device='cpu', progress=False)
    for k, v in ghost.state_dict().items(): assert_close(sd_local[k], v, rtol=1e-9, atol=1e-10, msg=k)
    assert not torch.allclose(sd_local['0.weight'], sd['0.weight'])   # and per-rank BN is a different model


def test_shard_covers_the_batch():
    t = torch.arange(10)
    assert torch.equal(torch.cat([shard(t, r, 4) for r in range(4)]), t)
    assert [len(shard(t, r, 4)) for r in range(4)] == [3, 3, 2, 2]


def _dies(rank, world):
    if rank == 1: os._exit(3)
    torch.distributed.all_reduce(torch.ones(1))      # rank 0 waits for a peer that is gone
    time.sleep(60)


def _raises(rank, world, culprit):
    if rank == culprit: raise ValueError('bad shard on purpose')
    torch.distributed.barrier()                      # the others fail here once the culprit has left


def _hangs(rank, world): time.sleep(60)


def _pid(rank, world): return os.getpid()


def _all_gone(pids):
    def alive(p):
        try: os.kill(p, 0)
        except ProcessLookupError: return False
        return Path(f'/proc/{p}').exists() and 'Z' not in Path(f'/proc/{p}/stat').read_text().split()[2]
    return not any(alive(p) for p in pids)


def test_rank_death_error_and_timeout_are_clear_and_clean(monkeypatch):
    "A dying rank, a raising rank and a hang each give a clear error within the bound, and no process is left."
    pids = spawn_ranks(_pid, 2, timeout=30)
    assert len(set(pids)) == 2 and _all_gone(pids)
    t0 = time.monotonic()
    with pytest.raises(RankFailed, match=r'rank 1 of 2 died \(exit code 3\)'): spawn_ranks(_dies, 2, timeout=30)
    # the rank that raised is named, not the lowest one that failed after it (rank 0 fails in its barrier)
    with pytest.raises(RankFailed, match=r'(?s)^rank 1 of 2 raised an error.*bad shard on purpose'):
        spawn_ranks(_raises, 2, (1,), timeout=30)
    with pytest.raises(RankFailed, match=r'(?s)^rank 0 of 2 raised an error.*bad shard on purpose'):
        spawn_ranks(_raises, 2, (0,), timeout=30)
    assert time.monotonic() - t0 < 20
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match='did not finish within 2 s'): spawn_ranks(_hangs, 2, timeout=2)
    assert time.monotonic() - t0 < 8
    import multiprocessing
    assert not multiprocessing.active_children()


@pytest.mark.parametrize('world', [0, -1, 1.5, True, '2'])
def test_spawn_ranks_needs_a_process(world):
    with pytest.raises(ValueError, match='world_size must be a whole number of processes, at least 1'):
        spawn_ranks(_pid, world)


def test_port_taken_is_named():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=f'port {port} on 127.0.0.1 is taken'): spawn_ranks(_pid, 2, port=port)


def test_torchrun_two_processes_writes_one_run(tmp_path):
    "The launcher: torchrun --nproc_per_node 2 -m bn_course.distributed trains and rank 0 writes one run folder."
    out = tmp_path / 'ddp'
    rc, text = _torchrun(tmp_path, '--dataset', 'digits', '--epochs', '1', '--batch-size', '32', '--hidden', '16',
                         '--out', out, '--timeout', '60')
    assert rc == 0, text
    assert text.count(f'wrote {out}') == 1 and text.count('epoch 1:') == 1, text   # rank 0 alone prints and writes
    m = read_manifest(out)
    assert m['world_size'] == 2 and set(m['files']) == {'metrics.json', 'model.pt'}
    res = Result.load(out / 'metrics.json')
    c = res.config
    assert (res.kind, c['world_size'], c['per_rank_batch'], c['backend']) == ('ddp', 2, 16, 'gloo')
    assert res.histories['bn'].test_acc[-1] > 0.5 and res.histories['bn'].diverged is False
    model = load_model(out / 'model.pt')
    assert isinstance(model, MLP) and model.config['norm'] == 'batch'


def _torchrun(tmp_path, *args, timeout=90):
    "`torchrun --standalone --nproc_per_node 2 -m bn_course.distributed ARGS` in its own session: (exit code, output)."
    cmd = [str(Path(sys.executable).parent / 'torchrun'), '--standalone', '--nproc_per_node', '2',
           '-m', 'bn_course.distributed', *map(str, args)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                         start_new_session=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    try: text, _ = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL); p.wait()
    return p.returncode, text


def test_torchrun_usage_error_is_said_once(tmp_path):
    "Under torchrun every rank runs the same checks; rank 0 alone prints the usage error (then torchrun reports)."
    rc, text = _torchrun(tmp_path, '--lr', 'inf', '--out', tmp_path / 'out')
    assert rc != 0 and text.count('usage: bn-course ddp') == 1, text
    assert text.count('argument --lr: must be a positive finite number, got inf') == 1, text
    assert 'cli.py' not in text and not (tmp_path / 'out').exists()          # no rank's traceback


# --- `bn-course ddp`: the same options and checks as every bn-course command ---------------------------------------

@pytest.mark.parametrize('bad, says', [
    (['--lr', 'inf'], 'argument --lr: must be a positive finite number, got inf'),
    (['--lr', '1e300'], 'argument --lr: must fit in float32'),
    (['--n-train', '10'], 'argument --n-train: 10 images make no global batch of 64'),
    (['--seed', str(2**64)], 'argument --seed: must be from 0 to 2**63-1'),
    (['--timeout', '0'], 'argument --timeout: must be a positive finite number, got 0'),
    (['--timeout', '1e12'], 'argument --timeout: must be at most 604800 seconds'),
    (['--hidden', '100000', '100000'], 'argument --hidden: 100000 100000 makes an MLP of 10,008,000,010 parameters'),
    (['--hidden', '0'], 'argument --hidden: must be at least 1'),
    (['--batch-size', '63'], 'argument --batch-size: the global batch 63 must be a multiple of the 2 processes'),
    (['--nproc', '4', '--batch-size', '4'], 'the global batch 4 must be a multiple of the 4 processes with at least 2'),
    (['--nproc', '0'], 'argument --nproc: must be at least 1'),
    (['--nproc', '1000'], 'argument --nproc: must be at most 64'),
    (['--epochs', '0'], 'argument --epochs: must be at least 1'),
    (['--optimizer', 'rmsprop'], "argument --optimizer: invalid choice: 'rmsprop'"),
    (['--device', 'tpu'], "argument --device: invalid choice: 'tpu'"),
])
def test_ddp_bad_arguments(tmp_path, cli, bad, says):
    "Each mistake: one usage error (exit 2) that names it, before any process starts or anything is written."
    r = cli('ddp', '--dataset', 'digits', '--out', tmp_path / 'out', *bad)
    assert r.returncode == 2 and 'usage: bn-course ddp' in r.stderr and says in r.stderr, r.stderr
    assert r.stderr.count('error:') == 1 and 'Traceback' not in r.stderr and not (tmp_path / 'out').exists()


def test_ddp_runtime_errors_are_one_line(tmp_path, cli):
    "Found before training (a bad --out, no GPU, more images than the dataset has): exit 1 and one line."
    (tmp_path / 'f').write_text('keep me')
    cases = [(['--out', tmp_path / 'f'], 'is a file'), (['--n-train', '100000'], '--n-train 100000 is more than the')]
    if not torch.cuda.is_available(): cases.append((['--device', 'cuda'], 'no CUDA GPU'))
    for extra, says in cases:
        r = cli('ddp', '--dataset', 'digits', '--out', tmp_path / 'out', *extra)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
        assert r.stderr.startswith('bn-course: error: ') and not (tmp_path / 'out').exists()
    assert (tmp_path / 'f').read_text() == 'keep me'


def test_ddp_other_ranks_stay_quiet(tmp_path, cli, monkeypatch):
    "Under torchrun (RANK, WORLD_SIZE set) every rank checks the arguments, rank 0 alone says what is wrong."
    monkeypatch.setenv('WORLD_SIZE', '2')
    for rank, said in (('1', 0), ('0', 1)):
        monkeypatch.setenv('RANK', rank)
        r = cli('ddp', '--lr', 'inf', '--out', tmp_path / 'out')
        assert r.returncode == 2 and r.stderr.count('argument --lr') == said and r.stdout == '', r.stderr
        h = cli('ddp', '--help')
        assert h.returncode == 0 and h.stdout.count('usage: bn-course ddp') == said
    r = cli('ddp', '--nproc', '2', '--out', tmp_path / 'out')
    assert r.returncode == 2 and 'under torchrun the processes are torchrun' in r.stderr


def test_ddp_command_writes_one_run(tmp_path, cli):
    "`bn-course ddp` starts its 2 ranks itself and writes rank 0's model and metrics; the model reloads as an MLP."
    out = tmp_path / 'ddp'
    r = cli('ddp', '--dataset', 'digits', '--epochs', '2', '--batch-size', '32', '--hidden', '16', '--n-train', '1000',
            '--out', out)
    assert r.returncode == 0, r.stderr
    assert 'with 2 process(es), sync BN, global batch 32 = 2 × 16' in r.stdout and r.stdout.count('epoch ') == 2
    m = read_manifest(out)
    assert m['world_size'] == 2 and m['bn'] == 'sync' and set(m['files']) == {'metrics.json', 'model.pt'}
    assert json.loads((out / 'metrics.json').read_text())['schema'] == 2
    res = Result.load(out / 'metrics.json')
    assert (res.kind, res.axis, res.points, list(res.histories)) == ('ddp', 'epoch', [1, 2], ['bn'])
    assert res.config['world_size'] == 2 and res.config['per_rank_batch'] == 16 and res.config['n_train'] == 1000
    h = res.histories['bn']
    assert res.run_id == m['run_id'] and h.diverged is False and h.test_acc[-1] > 0.5 and len(h.train_loss) == 2
    model = load_model(out / 'model.pt')
    assert isinstance(model, MLP) and model.config['sizes'] == [64, 16, 10]


def test_ddp_divergence_is_reported_not_saved(tmp_path, cli):
    """--lr 1e6 blows the loss up to ~1e12 at chance: the course's rule (training.is_diverged) calls it diverged,
    exit 1, and the old run in --out stays."""
    out = tmp_path / 'ddp'
    assert cli('ddp', '--dataset', 'digits', '--hidden', '8', '--out', out, '--quiet').returncode == 0
    old = read_manifest(out)['run_id']
    r = cli('ddp', '--dataset', 'digits', '--hidden', '8', '--lr', '1e6', '--epochs', '3', '--out', out)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'training diverged in epoch 1' in r.stderr and 'lower --lr' in r.stderr
    assert r.stdout.count('epoch 1: diverged') == 1
    assert read_manifest(out)['run_id'] == old


def test_train_data_parallel_marks_divergence():
    "One process, no group: the driver's divergence rule marks the model at the epoch it fires; NaN from then on."
    data = _digits()
    net = lambda: build_lab_model(data.n_features, data.n_classes, seed=3).double()
    _, res = train_data_parallel(net(), data, epochs=3, lr=1e6)
    h = res.histories['model']
    assert h.diverged and 0 < h.diverged_at <= res.config['steps_per_epoch'] and res.points == [1, 2, 3]
    assert all(math.isnan(v) for v in h.test_acc) and res.values('test_acc')[0] == pytest.approx(0.1)   # at chance
    _, ok = train_data_parallel(net(), data, epochs=2, lr=0.01)
    assert not ok.histories['model'].diverged and ok.histories['model'].test_acc[-1] > 0.5 and ok.kind == 'ddp'
