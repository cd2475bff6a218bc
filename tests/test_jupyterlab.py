"The README's `jupyter lab nbs/` really serves the course: start JupyterLab headless and list the notebooks over its API."
import json, os, socket, subprocess, sys, time, urllib.request
from pathlib import Path

from conftest import ROOT


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_jupyter_lab_serves_the_notebooks(tmp_path):
    port = free_port()
    cmd = [str(Path(sys.executable).parent/'jupyter'), 'lab', 'nbs/', '--no-browser', f'--port={port}', '--ip=127.0.0.1',
           '--IdentityProvider.token=', '--ServerApp.password=', f'--ServerApp.runtime_dir={tmp_path}']
    if os.geteuid() == 0: cmd.append('--allow-root')  # as the README says for root
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'JUPYTER_RUNTIME_DIR': str(tmp_path)})
    try:
        contents, lab = None, None
        for _ in range(120):
            try:
                contents = json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/api/contents', timeout=2))
                lab = urllib.request.urlopen(f'http://127.0.0.1:{port}/lab', timeout=5).read().decode()
                break
            except OSError:
                if proc.poll() is not None: break
                time.sleep(0.5)
        assert contents is not None, proc.stdout.read() if proc.poll() is not None else 'JupyterLab did not answer'
        names = {c['name'] for c in contents['content']}
        assert {'index.ipynb', '05_lab_bn_vs_plain.ipynb'} <= names
        assert 'JupyterLab' in lab
        kernels = json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/api/kernelspecs', timeout=5))
        assert 'python3' in kernels['kernelspecs']
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()
