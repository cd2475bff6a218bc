"""The run folder at its edges (bn_course.runs): a user's files are never deleted, the lock comes first, killed runs
leave nothing for long, the final swap is never split by a signal, never loses the finished training, and a run leaves
nothing behind (no lock file, no empty parent folder). In-process where possible; the CLI only where it matters."""
import errno, os, signal, subprocess, sys, textwrap
from pathlib import Path

import pytest

from bn_course import runs
from bn_course.runs import RunFolder, RunFolderError, RunLocked, check_out_dir, read_manifest
from conftest import ROOT, bn_course_cmd

posix_only = pytest.mark.skipif(os.name == 'nt', reason='POSIX signals and file descriptors')


def _run(out, **files):
    "One finished run into `out` with `files` (name → text)."
    with RunFolder(out) as run:
        for name, text in files.items(): run.path(name).write_text(text)
        return run.run_id


def _names(folder: Path) -> list: return sorted(p.name for p in folder.iterdir())


# --- a user's own files are never deleted ------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['resnet50.pt', 'metrics.json', 'sweep_notes.txt', 'curves.png'])
def test_cli_refuses_a_folder_of_the_users_files(tmp_path, name, cli):
    "`mkdir out; echo x > out/NAME; bn-course compare --out out`: refused before any work, file kept, fix named."
    out = tmp_path/'out'; out.mkdir(); (out/name).write_text('x')
    r = cli('compare', '--dataset', 'digits', '--epochs', '1', '--out', out, '--quiet')   # in-process: no exit code path to test
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f'is not a bn_course run (no valid run.json): it holds {name}' in r.stderr
    assert 'choose another --out' in r.stderr
    assert _names(out) == [name] and (out/name).read_text() == 'x' and _names(tmp_path) == ['out']


def test_an_earlier_run_is_replaced_only_as_it_was_written(tmp_path):
    out = tmp_path/'run'
    _run(out, **{'metrics.json': '{}', 'bn.pt': 'w'})
    check_out_dir(out)                                                  # an earlier run: may be replaced
    (out/'bn.pt').unlink(); check_out_dir(out)                          # a file the user deleted loses nothing
    (out/'metrics.json').write_text('{"edited": 1}')
    with pytest.raises(RunFolderError, match=r'changed since run .* \(metrics.json\)'): check_out_dir(out)
    (out/'metrics.json').write_text('{}'); (out/'.DS_Store').write_text('')   # a file browser's, not the user's
    check_out_dir(out)
    (out/'sub').mkdir()
    with pytest.raises(RunFolderError, match=r'does not list \(sub\)'): check_out_dir(out)


@pytest.mark.parametrize('manifest', ['not json', '[]', '{"run_id": 1, "files": {}}', '{"run_id": "x", "files": []}',
                                      '{"run_id": "x", "files": {"../victim": "0"}}',
                                      '{"run_id": "x", "files": {"a/b": "0"}}'])
def test_a_run_json_that_is_not_ours_proves_nothing(tmp_path, manifest):
    out = tmp_path/'out'; out.mkdir(); (out/'run.json').write_text(manifest)
    with pytest.raises(RunFolderError, match='not a bn_course run'): check_out_dir(out)
    with pytest.raises(RunFolderError, match='no valid run.json'): read_manifest(out)


def test_folders_that_cannot_be_replaced(tmp_path, monkeypatch):
    "The current folder, a file system's root and a mount point are refused before any work."
    run_dir = tmp_path/'here'; run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    for out in ('.', '..', run_dir):
        with pytest.raises(RunFolderError, match='holds the current folder'): check_out_dir(out)
    with pytest.raises(RunFolderError, match='root of a file system'): check_out_dir(Path(run_dir.anchor))
    mount = tmp_path/'mnt'; mount.mkdir()
    monkeypatch.setattr(os.path, 'ismount', lambda p: Path(p) == mount)
    with pytest.raises(RunFolderError, match=r'is a mount point.*a folder inside it, e.g. --out .*mnt.run'):
        check_out_dir(mount)
    assert _names(tmp_path) == ['here', 'mnt']


def test_a_symlink_to_a_run_replaces_the_run_it_points_to(tmp_path):
    real, link = tmp_path/'real', tmp_path/'link'
    _run(real, **{'metrics.json': '1'})
    try: link.symlink_to(real, target_is_directory=True)
    except OSError as e: pytest.skip(f"cannot make a symbolic link here: {e}")   # Windows without the privilege
    rid = _run(link, **{'metrics.json': '2'})
    assert link.is_symlink() and read_manifest(link)['run_id'] == rid and (real/'metrics.json').read_text() == '2'
    assert _names(tmp_path) == ['link', 'real']


# --- the lock: first, and gone at the end -----------------------------------------------------------------------

def test_lock_comes_before_tidying_up(tmp_path):
    "A second run must not undo what the run holding the lock is doing (here: moved its old folder aside to commit)."
    out = tmp_path/'run'
    _run(out, **{'metrics.json': 'old'})
    first = RunFolder(out).__enter__()
    try:
        aside = out.parent/f'.run.old-{first.run_id}'
        os.rename(out, aside)                                           # the first run is between its two renames
        with pytest.raises(RunLocked, match='is writing into'): RunFolder(out).__enter__()
        assert aside.is_dir() and not out.exists()                      # the second run left the first's work alone
        os.rename(aside, out)
    finally: first.__exit__(KeyboardInterrupt, None, None)
    assert _names(tmp_path) == ['run']


@posix_only   # Windows cannot remove a file another handle holds open, so this race cannot happen there
def test_lock_file_removed_by_the_run_before_is_not_trusted(tmp_path, monkeypatch):
    "A file opened just before its holder removed it is locked by nobody else: the run locks the file now at the path."
    out = tmp_path/'run'
    first = RunFolder(out).__enter__()
    lock = first._lock_path
    stale = os.open(lock, os.O_RDWR)                                    # opened while the first run held it ...
    first.__exit__(None, None, None)                                    # ... which then removes it and lets go
    assert not lock.exists()
    real_open = os.open
    calls = []
    def open_stale_first(path, *a, **k):
        if str(path) != str(lock): return real_open(path, *a, **k)
        calls.append(path)
        return os.dup(stale) if len(calls) == 1 else real_open(path, *a, **k)
    monkeypatch.setattr(runs.os, 'open', open_stale_first)
    second = RunFolder(out).__enter__()
    assert len(calls) == 2 and os.path.samestat(os.fstat(second._lock_fd), os.stat(lock))
    monkeypatch.setattr(runs.os, 'open', real_open)
    with pytest.raises(RunLocked): RunFolder(out).__enter__()           # and it really holds the lock at the path
    second.__exit__(KeyboardInterrupt, None, None); os.close(stale)


def test_nothing_left_behind(tmp_path):
    "No lock file, staging folder or empty parent folder stays, whether the run finishes, fails or is refused."
    out = tmp_path/'a'/'b'/'run'
    check_out_dir(out)
    assert _names(tmp_path) == []                                       # the check made a/b to try, then removed them
    with pytest.raises(ZeroDivisionError):
        with RunFolder(out) as run: run.path('metrics.json').write_text('{}'); 1 / 0
    assert _names(tmp_path) == []
    with RunFolder(out) as run:
        with pytest.raises(RunLocked): RunFolder(out).__enter__()
        run.path('metrics.json').write_text('{}')
    assert _names(out.parent) == ['run'] and _names(tmp_path) == ['a']


# --- killed runs and signals ------------------------------------------------------------------------------------

@posix_only
@pytest.mark.parametrize('sig', ['SIGTERM', 'SIGHUP', 'SIGKILL'])
def test_a_killed_runs_staging_folder_is_cleaned_by_the_next_run(tmp_path, sig):
    out = tmp_path/'run'
    child = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f"""
        import time
        from bn_course.runs import RunFolder
        with RunFolder({str(out)!r}) as run:
            run.path('bn.pt').write_bytes(b'x' * 1000); print('ready', flush=True); time.sleep(60)""")],
        stdout=subprocess.PIPE, text=True)
    try: assert child.stdout.readline().strip() == 'ready'
    finally: child.send_signal(getattr(signal, sig)); child.wait(30)
    assert child.returncode == -getattr(signal, sig)
    assert any(p.name.startswith('.run.new-') for p in tmp_path.iterdir())   # a killed run cleans up nothing
    with RunFolder(out) as run: run.path('metrics.json').write_text('{}')
    assert _names(tmp_path) == ['run'] and _names(out) == ['metrics.json', 'run.json']


def _rename_then(action):
    "os.rename that does `action()` after a commit's first rename (out → aside), as if a signal arrived right there."
    real, done = os.rename, []
    def rename(src, dst):
        real(src, dst)
        if '.old-' in str(dst) and not done: done.append(dst); action()
    return rename


@posix_only
def test_ctrl_c_between_the_two_renames_does_not_split_them(tmp_path, monkeypatch, capsys):
    out = tmp_path/'run'
    _run(out, **{'metrics.json': 'old'})
    with RunFolder(out) as run:
        run.path('metrics.json').write_text('new')
        monkeypatch.setattr(runs.os, 'rename', _rename_then(lambda: signal.raise_signal(signal.SIGINT)))
    assert read_manifest(out)['run_id'] == run.run_id and (out/'metrics.json').read_text() == 'new'
    assert 'interrupted as the run finished' in capsys.readouterr().err and _names(tmp_path) == ['run']


@posix_only
def test_sigterm_during_the_swap_is_delivered_after_it(tmp_path, monkeypatch):
    class Term(Exception): pass
    def handler(*_): raise Term
    old = signal.signal(signal.SIGTERM, handler)
    try:
        out = tmp_path/'run'
        _run(out, **{'metrics.json': 'old'})
        with pytest.raises(Term):
            with RunFolder(out) as run:
                run.path('metrics.json').write_text('new')
                monkeypatch.setattr(runs.os, 'rename', _rename_then(lambda: signal.raise_signal(signal.SIGTERM)))
        assert (out/'metrics.json').read_text() == 'new' and _names(tmp_path) == ['run']
    finally: signal.signal(signal.SIGTERM, old)


def test_a_folder_that_cannot_be_renamed_is_refused_before_training(tmp_path, monkeypatch):
    "A bind mount or a folder held by another program (EBUSY) cannot be swapped: found at the start, not at the end."
    out = tmp_path/'run'
    _run(out, **{'metrics.json': 'old'})
    real = os.rename
    def busy(src, dst):
        if Path(src) == out: raise OSError(errno.EBUSY, 'Device or resource busy')
        real(src, dst)
    monkeypatch.setattr(runs.os, 'rename', busy)
    with pytest.raises(RunFolderError, match='cannot be replaced: the folder is busy'): RunFolder(out).__enter__()
    assert _names(tmp_path) == ['run'] and (out/'metrics.json').read_text() == 'old'


def test_a_failed_swap_keeps_the_finished_run(tmp_path, monkeypatch):
    "If the swap fails at the end anyway, the earlier run is back in place and the new one is kept, visibly."
    out = tmp_path/'run'
    _run(out, **{'metrics.json': 'old'})
    real = os.rename
    with pytest.raises(RunFolderError, match=r'could not be replaced \(the folder is busy.*files are in') as e:
        with RunFolder(out) as run:
            run.path('metrics.json').write_text('new')
            def busy(src, dst):
                if Path(dst) == out and '.new-' in str(src): raise OSError(errno.EBUSY, 'busy')
                real(src, dst)
            monkeypatch.setattr(runs.os, 'rename', busy)
    kept = tmp_path/f'run-{run.run_id}'
    assert str(kept) in str(e.value) and _names(tmp_path) == ['run', kept.name]
    assert (out/'metrics.json').read_text() == 'old' and (kept/'metrics.json').read_text() == 'new'


# --- closed standard streams ------------------------------------------------------------------------------------

@posix_only
def test_cli_with_stderr_closed_still_writes_its_run(tmp_path):
    "`bn-course compare ... 2>&-` trains and writes its folder (the messages have nowhere to go)."
    out = tmp_path/'run'
    r = subprocess.run([bn_course_cmd(), 'compare', '--dataset', 'digits', '--epochs', '1', '--out', str(out)],
                       stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(2), timeout=300)
    assert r.returncode == 0 and 'wrote' in r.stdout
    assert sorted(read_manifest(out)['files']) == ['bn.pt', 'curves.png', 'metrics.json', 'plain.pt']
    assert _names(tmp_path) == ['run']


def test_default_output_folders_are_ignored_by_git(tmp_path):
    "The README's commands (their default --out folders) leave `git status` clean in a checkout."
    import shutil
    if not (ROOT/'.git').exists() or not shutil.which('git'): pytest.skip('not a git checkout')
    names = ['bn_compare', 'bn_ddp', 'bn_sweep_lr', 'bn_sweep_batch_size', 'bn_sweep_placement', 'bn_fig1']
    r = subprocess.run(['git', 'check-ignore', '--no-index', *[f'{n}/metrics.json' for n in names]], cwd=ROOT,
                       capture_output=True, text=True)
    assert sorted(r.stdout.split()) == sorted(f'{n}/metrics.json' for n in names), r.stdout + r.stderr
