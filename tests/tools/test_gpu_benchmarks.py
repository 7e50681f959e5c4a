"""gpu_benchmarks.sh stops clearly where it cannot measure a GPU."""
import os
import subprocess
import sys

from helpers import REPO

SCRIPT = 'tools/analysis_tools/gpu_benchmarks.sh'


def _run(*args):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHON=sys.executable)
    return subprocess.run(['bash', SCRIPT, *args], cwd=REPO, env=env,
                          capture_output=True, text=True)


def test_without_cuda_it_says_so_and_fails(tmp_path):
    out = tmp_path / 'tables'
    proc = _run('--out', str(out))
    assert proc.returncode != 0
    assert 'no CUDA device visible to torch' in proc.stderr
    assert not out.exists()  # stopped before writing anything


def test_unknown_option_is_named():
    proc = _run('--peak', '900')
    assert proc.returncode == 2
    assert 'unknown option --peak' in proc.stderr
