"""gpu_benchmarks.sh: stops clearly without a GPU; a CPU dry run of the
same commands writes both tables."""
import os
import subprocess
import sys

import pytest
from helpers import REPO

SCRIPT = 'tools/analysis_tools/gpu_benchmarks.sh'


def _run(*args, cwd=REPO, out_env=None):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHON=sys.executable)
    env.pop('OUT', None)
    if out_env:  # the device machine's folder that comes back
        env['OUT'] = out_env
    return subprocess.run(['bash', os.path.join(REPO, SCRIPT), *args],
                          cwd=cwd, env=env, capture_output=True, text=True)


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


def test_wheels_folder_without_wheels_is_named(tmp_path):
    """--wheels is relative to the calling directory, and a folder with no
    wheels stops the run before anything is installed or written."""
    (tmp_path / 'wheels').mkdir()
    proc = _run('--wheels', 'wheels', '--out', 'tables', cwd=tmp_path)
    assert proc.returncode == 1
    assert f'no wheels in {tmp_path}/wheels' in proc.stderr
    assert not (tmp_path / 'tables').exists()


def test_a_failing_benchmark_does_not_stop_the_other(tmp_path):
    """One GPU call must bring back what it can: both benchmarks run (here
    both fail on a bad --peak-tflops), the exit status says which failed,
    and the tables go to $OUT (the device's folder) without --out."""
    out = tmp_path / 'tables'
    proc = _run('--device', 'cpu', '--arch', 'tiny', '--peak-tflops', 'x',
                out_env=str(out))
    assert proc.returncode == 1
    assert 'failed: benchmark_peers.py benchmark_peft.py' in proc.stderr
    assert f'tables in {out}' in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        'peers_1024px_batch4.md', 'peft_1024px_batch4.md']


def test_tables_of_an_earlier_run_are_never_overwritten(tmp_path):
    out = tmp_path / 'tables'
    out.mkdir()
    earlier = out / 'peft_1024px_batch4.md'
    earlier.write_text('| an earlier H200 table |\n')
    proc = _run('--device', 'cpu', '--arch', 'tiny', out_env=str(out))
    assert proc.returncode == 2
    assert f'{earlier} already exists' in proc.stderr
    assert earlier.read_text() == '| an earlier H200 table |\n'
    assert sorted(p.name for p in out.iterdir()) == [earlier.name]


def _table(text, title):
    """Header and rows (lists of cells) of the markdown table in ``text``
    whose first column is ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(f'| {title} |'))
    rows = []
    for line in lines[start:]:
        if not line.startswith('|'):
            break
        rows.append([c.strip() for c in line.split('|')[1:-1]])
    return rows[0], rows[2:]


@pytest.mark.slow
def test_cpu_dry_run_writes_both_tables_with_flop_utilisation(tmp_path):
    """The same commands as on a GPU, on the tiny arch: both tables are
    written, the PEFT one in bf16 only, with images/s and MFU that agree
    with the table's own FLOPs and seconds."""
    out = tmp_path / 'tables'
    proc = _run('--device', 'cpu', '--arch', 'tiny', '--size', '64',
                '--batch-size', '2', '--iters', '1', '--no-hf',
                '--no-memory', '--peak-tflops', '0.001', '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    peers = (out / 'peers_64px_batch2.md').read_text()
    peft = (out / 'peft_64px_batch2.md').read_text()
    assert peers in proc.stdout and peft in proc.stdout

    header, rows = _table(peft, 'method')
    rows = {cells[0]: cells for cells in rows}
    assert all(name.endswith('@bf16') for name in rows), sorted(rows)
    assert {'full_ft@bf16', 'mopeft@bf16', 'mopeft_cp@bf16'} <= set(rows)
    assert 'x full: to full_ft@bf16' in peft
    col = {name: header.index(name) for name in (
        'train step (s)', 'img/s', 'train GFLOP', 'train MFU %')}
    assert rows['full_ft@bf16'][col['train step (s)'] + 2] == '1.00'
    for name, cells in rows.items():
        # cells are rounded: seconds to 3 decimals, GFLOP to 1, the rest to 2
        # (img/s) and 1 (MFU %); the figures must lie within that rounding
        seconds = float(cells[col['train step (s)']])
        low, high = seconds - 5e-4, seconds + 5e-4
        assert 2 / high - 0.01 <= float(cells[col['img/s']]) <= \
            2 / low + 0.01, name
        gflop = float(cells[col['train GFLOP']])
        assert gflop > 0, name
        # peak 0.001 TFLOP/s: MFU % = 100 * GFLOP / s
        assert 100 * (gflop - 0.05) / high - 0.1 <= float(
            cells[col['train MFU %']]) <= 100 * (gflop + 0.05) / low + 0.1, \
            name

    header, rows = _table(peers, 'encoder')
    mfu = header.index('train MFU %')
    assert {(r[0], r[2]) for r in rows} == {
        (encoder, precision)
        for encoder in ('mmseg_mopeft', 'segment_anything')
        for precision in ('fp32', 'bf16')
    }
    assert all(float(r[mfu]) > 0 for r in rows)


@pytest.mark.slow
def test_wheels_from_wheelhouse_are_what_runs(tmp_path):
    """requirements/wheelhouse.sh builds the wheels for a machine without
    PyPI; --wheels installs them in a temporary folder, the dry run imports
    mmcv from there, not from this environment, and the folder goes after."""
    wheels = tmp_path / 'wheels'
    proc = subprocess.run(
        ['bash', 'requirements/wheelhouse.sh', sys.executable, str(wheels)],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = {w.name.split('-')[0] for w in wheels.glob('*.whl')}
    assert {'mmcv', 'mmengine', 'mmsegmentation', 'mmdet',
            'segment_anything'} <= names

    out = tmp_path / 'tables'
    proc = _run('--wheels', str(wheels), '--device', 'cpu', '--arch', 'tiny',
                '--size', '64', '--batch-size', '1', '--iters', '1',
                '--no-hf', '--no-memory', '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    source = next(line for line in proc.stdout.splitlines()
                  if line.startswith('mmcv '))
    mmcv_dir = source.split(' from ')[1]
    assert not mmcv_dir.startswith(sys.prefix)
    assert not os.path.exists(mmcv_dir)  # the temporary install is removed
    assert (out / 'peft_64px_batch1.md').is_file()
