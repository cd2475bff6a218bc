"The speed benchmark runs end to end (on a small synthetic MNIST here; the full size is for measuring)."
from conftest import run_script


def test_benchmark_prints_ratios(tmp_path):
    r = run_script('benchmark.py', '--data-dir', tmp_path, '--n-train', 960, '--n-test', 200, '--threads', 1, '--seeds', 1)
    assert r.returncode == 0, r.stderr
    rows = {l.split('  ')[0].strip(): l for l in r.stdout.splitlines()}
    failed = 'torch.compile failed' in r.stderr  # no C++ compiler here: the compiled rows must say so, not fake a number
    for loop in ('seed lab (DataLoader)', 'bn_course.train_models', 'bn_course.train_stacked', 'train_stacked(compile=True)',
                 'train_stacked, 5 seeds at once', '5 seeds at once, compiled'):
        assert loop in rows, r.stdout
        if failed and 'compile' in loop: assert 'n/a: torch.compile failed' in rows[loop]
        else: assert rows[loop].rstrip().endswith('%') and 'x' in rows[loop]
    assert '960 train / 200 test' in r.stdout and 'speed-up' in r.stdout
    assert ("torch.compile's one-time cost" in r.stdout) != failed
