"""load_model on crafted files: refused with the one CheckpointError before anything large is allocated."""
import os, subprocess, sys, textwrap

import pytest
import torch

from bn_course.models import MLP, CheckpointError, load_model, save_model


@pytest.mark.skipif(os.name == 'nt', reason='peak memory read with the resource module (POSIX)')
@pytest.mark.parametrize('shape', ['150_000_000', '2**40', '32, 784'])
def test_a_small_file_cannot_make_load_model_allocate(tmp_path, shape):
    "A 2 KB state_dict holding `zeros(1).expand(...)`: CheckpointError, and the process's peak memory stays small."
    m = MLP((784, 32, 10))
    torch.save({'format': 'bn_course.MLP/1', 'config': m.config, 'sha256': '',
                'state_dict': {**m.state_dict(), '0.weight': torch.zeros(1).expand(eval(shape))}}, tmp_path/'x.pt')
    assert (tmp_path/'x.pt').stat().st_size < 200_000
    code = textwrap.dedent(f"""
        import resource, sys
        from bn_course.models import CheckpointError, load_model
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try: load_model({str(tmp_path/'x.pt')!r})
        except CheckpointError as e: print(type(e).__name__, e)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)   # MB (Linux: KB units)""")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    out = r.stdout.splitlines()
    assert r.returncode == 0, r.stderr
    assert out[0].startswith('CheckpointError not a bn_course checkpoint or corrupt'), r.stdout
    assert int(out[-1]) < 100, f"load_model grew the process by {out[-1]} MB"


def test_a_good_file_loads_and_a_missing_device_is_named(tmp_path):
    m = MLP((784, 32, 10), norm='batch')
    save_model(m, tmp_path/'m.pt')
    back = load_model(tmp_path/'m.pt').state_dict()
    assert all(torch.equal(back[k], v) for k, v in m.state_dict().items())
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="map_location='cuda' is not a device this machine has") as e:
            load_model(tmp_path/'m.pt', map_location='cuda')
        assert not isinstance(e.value, CheckpointError) and 'corrupt' not in str(e.value)
