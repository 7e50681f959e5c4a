"""tools/analysis_tools: gate recording and plotting, the benchmarks."""
import os.path as osp
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import REPO, gate_record, load_tool, run_tool, tiny_config
from mmengine.runner import Runner

from mmseg_mopeft.datasets import generate_shapes


def run_benchmark(script: str, *args: str, timeout: int = 300):
    """Run ``tools/analysis_tools/<script>`` on CPU; returns its output and
    its table rows (header first) as lists of cells. Every benchmark says
    what it ran on, once."""
    proc = run_tool([sys.executable, f'tools/analysis_tools/{script}', *args],
                    timeout=timeout)
    machine = [line for line in proc.stdout.splitlines()
               if line.startswith('Machine: ')]
    assert len(machine) == 1, proc.stdout[:2000]
    assert 'logical CPUs' in machine[0]
    assert f'torch {torch.__version__}' in machine[0]
    rows = [[cell.strip() for cell in line.split('|')[1:-1]]
            for line in proc.stdout.splitlines() if line.startswith('| ')]
    return proc.stdout, rows


def assert_ratio(printed: str, seconds: float, reference: float) -> None:
    """A printed 2-decimal ratio fits the two printed 3-decimal times."""
    low = (seconds - 5e-4) / (reference + 5e-4)
    high = (seconds + 5e-4) / (reference - 5e-4) if reference > 5e-4 \
        else float('inf')
    assert low - 5e-3 <= float(printed) <= high + 5e-3, (printed, seconds)


def test_gate_hook_writes_file_the_plot_tool_reads(tmp_path, tiny_sam_ckpt):
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 2), ('val', 3)), size=64,
        num_classes=2)
    cfg = tiny_config('configs/mopeft/mopeft_vitb_cryonuseg.py', root,
                      str(tmp_path / 'work'), tiny_sam_ckpt[0])
    # VPT-shallow-like prefix in block 0 only: other blocks have no prefix
    cfg.model.backbone.peft.prefix.blocks = [0]
    cfg.custom_hooks.append(dict(type='GateRecorderHook'))
    Runner.from_cfg(cfg).test()

    record = gate_record(tmp_path / 'work')
    with np.load(record) as data:
        gates = {k: data[k] for k in data.files}
    assert len(gates.pop('img_paths')) == 3
    assert sorted(gates) == ['adapter', 'lora', 'prefix']
    for name, values in gates.items():
        assert values.shape == (3, 4)  # images x blocks (tiny arch)
        present = values[~np.isnan(values)]
        assert ((present > 0) & (present < 1)).all()
    assert not np.isnan(gates['lora']).any()
    assert np.isnan(gates['prefix'][:, 1:]).all()
    assert not np.isnan(gates['prefix'][:, 0]).any()

    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/gate_usage.py',
        record, '--threshold', '0.5'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    for name in ('gate_usage.png', 'gate_heatmap.png'):
        assert osp.getsize(osp.join(osp.dirname(record), name)) > 1000
    for name, values in gates.items():
        share = 100 * np.mean(values[~np.isnan(values)] > 0.5)
        assert f'| {name} | {share:.1f} |' in proc.stdout
    # a second run (another threshold) does not replace the first's figures
    drawn = open(osp.join(osp.dirname(record), 'gate_usage.png'), 'rb').read()
    again = subprocess.run([
        sys.executable, 'tools/analysis_tools/gate_usage.py', record,
        '--threshold', '0.9'
    ], cwd=REPO, capture_output=True, text=True)
    assert again.returncode != 0
    assert 'gate_usage.png' in again.stderr and 'already exist' in again.stderr
    assert open(osp.join(osp.dirname(record), 'gate_usage.png'),
                'rb').read() == drawn


@pytest.mark.slow
def test_benchmark_peft_prints_table():
    """Smoke test of the efficiency benchmark on the tiny arch."""
    stdout, table = run_benchmark(
        'benchmark_peft.py', '--arch', 'tiny', '--size', '64', '--iters', '1',
        '--methods', 'backprop_floor', 'lora', 'mopeft_last_half',
        '--dtypes', 'fp32', 'bf16', timeout=600)
    header = table[0]
    # 'x full' repeats, so ratios are read by position from `cells`
    cells = {row[0]: row for row in table[1:]}
    rows = {name: dict(zip(header, row)) for name, row in cells.items()}
    assert set(rows) == {
        f'{m}{d}'
        for m in ('full_ft', 'backprop_floor', 'lora', 'mopeft_last_half')
        for d in ('', '@bf16')
    }
    # the floor reference: rank-1 LoRA on q and v of block 0 (tiny: 64 dims)
    floor_encoder = rows['backprop_floor']['of which encoder']
    assert int(floor_encoder.replace(',', '')) == 2 * (64 + 64)
    train_ratio = header.index('train step (s)') + 2  # its 'x full' column
    assert cells['full_ft'][train_ratio] == '1.00'
    for name, row in cells.items():
        assert float(row[train_ratio]) > 0, name
    count = int(rows['lora']['trainable params'].replace(',', ''))
    assert 0 < count < int(rows['full_ft']['trainable params'].replace(
        ',', ''))
    # the targets whose rows ran: the verdict quotes the row's own 'x full'
    # ratio, and that ratio fits the table's seconds, which are rounded to
    # 1 ms (at 64 px a step is a few tens of ms, so allow for the rounding)
    verdicts = [line for line in stdout.splitlines()
                if line.startswith('- mopeft_last_half / full_ft, train_s')]
    assert len(verdicts) == 1 and 'target <= 0.55x' in verdicts[0]
    printed = float(verdicts[0].split(': ')[1].split('x')[0])
    assert printed == float(cells['mopeft_last_half'][train_ratio])
    assert_ratio(printed, float(rows['mopeft_last_half']['train step (s)']),
                 float(rows['full_ft']['train step (s)']))
    assert '|\n\nTargets (set for 1024 px; this run is at 64 px' in stdout
    assert 'mopeft_cp' not in stdout  # its rows did not run
    if platform.libc_ver()[0] == 'glibc':  # timed as our configs train
        assert 'glibc malloc keeping freed memory (CPUMallocHook)' in stdout


def test_benchmark_attention_times_both_training_paths():
    stdout, rows = run_benchmark('benchmark_attention.py', '--arch', 'tiny',
                                 '--size', '64', '--iters', '1', '--warmup',
                                 '0')
    assert [r[:2] for r in rows[1:]] == [['fused, widened', 'fp32'],
                                         ['blockwise', 'fp32'],
                                         ['fused, widened', 'bf16'],
                                         ['blockwise', 'bf16']]
    assert all(float(r[2]) > 0 for r in rows[1:])
    assert rows[1][3] == rows[3][3] == '1.00'
    assert float(stdout.split('in fp32: ')[1].split()[0]) < 1e-4


def test_benchmark_attention_refuses_paths_that_disagree(monkeypatch):
    from mmseg_mopeft.models.backbones.sam_vit import Attention
    tool = load_tool('tools/analysis_tools/benchmark_attention.py')
    blockwise = Attention._attend_blockwise
    monkeypatch.setattr(Attention, '_attend_blockwise',
                        lambda *args: blockwise(*args) * 1.01)
    monkeypatch.setattr(sys, 'argv',
                        ['benchmark_attention.py', '--arch', 'tiny',
                         '--size', '64'])
    with pytest.raises(SystemExit, match='the paths differ by'):
        tool.main()


def test_benchmark_encoder_compares_with_segment_anything():
    # 96 px in 14-token windows: padded windows, the case most likely to drift
    stdout, rows = run_benchmark('benchmark_encoder.py', '--arch', 'tiny',
                                 '--size', '96', '--iters', '1')
    assert [r[0] for r in rows[1:]] == ['segment_anything', 'mmseg_mopeft']
    assert float(rows[2][2]) > 0
    diff = float(stdout.split('outputs: ')[1])
    assert diff < 1e-4


@pytest.mark.slow  # three dynamo exports, 10 s to a minute each
def test_benchmark_onnx_times_pytorch_and_onnxruntime(tmp_path):
    pytest.importorskip('onnxruntime')
    _, rows = run_benchmark('benchmark_onnx.py', '--arch', 'tiny', '--size',
                            '64', '--iters', '1', '--work-dir', str(tmp_path),
                            timeout=900)
    assert [r[0] for r in rows[1:]] == ['frozen SAM', 'LoRA (merged)',
                                        'MoPEFT (gated)']
    pt = {r[0]: float(r[2]) for r in rows[1:]}
    rt = {r[0]: float(r[3]) for r in rows[1:]}
    for row in rows[1:]:
        name = row[0]
        # each ratio from the printed seconds, within their 1 ms rounding
        assert_ratio(row[4], rt[name], pt[name])
        assert_ratio(row[5], pt[name], pt['frozen SAM'])
        assert_ratio(row[6], rt[name], rt['frozen SAM'])
        assert float(row[7]) < 1e-4  # onnxruntime computes PyTorch's scores
    assert rows[1][5] == rows[1][6] == '1.00'
    # tiny SAM: 4 blocks; LoRA folds into each qkv, MoPEFT's 3 gated methods
    # per block stay
    assert [r[1] for r in rows[1:]] == [
        '0 folded, 0 kept', '4 folded, 0 kept', '0 folded, 12 kept'
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'decoder_ft_tiny_64.onnx', 'lora_tiny_64.onnx', 'mopeft_tiny_64.onnx'
    ]


@pytest.mark.parametrize('user_file', [True, False])
def test_benchmark_onnx_checks_work_dir_before_any_work(tmp_path, user_file):
    """An ONNX name already taken (a user's file) or a missing folder stops
    the run before any model is built or exported."""
    if user_file:
        work_dir = tmp_path
        mine = tmp_path / 'lora_tiny_64.onnx'
        mine.write_bytes(b'not ours')
        expected = f'{mine} already exists'
    else:
        work_dir = tmp_path / 'missing'
        expected = f'--work-dir {work_dir} is not a folder'
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/benchmark_onnx.py', '--arch',
        'tiny', '--size', '64', '--work-dir',
        str(work_dir)
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert expected in proc.stderr
    # nothing written: the user's file as it was, no folder made
    assert [p.name for p in tmp_path.iterdir()] == (
        ['lora_tiny_64.onnx'] if user_file else [])
    if user_file:
        assert mine.read_bytes() == b'not ours'
