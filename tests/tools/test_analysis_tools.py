"""tools/analysis_tools: gate recording and plotting, the benchmarks."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from helpers import REPO, gate_record, load_tool, tiny_config
from mmengine.runner import Runner

from mmseg_mopeft.datasets import generate_shapes


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
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/benchmark_peft.py', '--arch',
        'tiny', '--size', '64', '--iters', '1', '--methods', 'backprop_floor',
        'lora', 'mopeft_last_half', '--dtypes', 'fp32', 'bf16'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines()
             if line.startswith('|')]
    header = [c.strip() for c in lines[0].split('|')[1:-1]]
    # 'x full' repeats, so ratios are read by position from `cells`
    cells = {
        row[0]: row
        for row in ([c.strip() for c in line.split('|')[1:-1]]
                    for line in lines[2:])
    }
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
    verdicts = [line for line in proc.stdout.splitlines()
                if line.startswith('- mopeft_last_half / full_ft, train_s')]
    assert len(verdicts) == 1 and 'target <= 0.55x' in verdicts[0]
    printed = float(verdicts[0].split(': ')[1].split('x')[0])
    assert printed == float(cells['mopeft_last_half'][train_ratio])
    step = float(rows['mopeft_last_half']['train step (s)'])
    full_step = float(rows['full_ft']['train step (s)'])
    assert ((step - 5e-4) / (full_step + 5e-4) - 5e-3 <= printed <=
            (step + 5e-4) / (full_step - 5e-4) + 5e-3)
    assert '|\n\nTargets (set for 1024 px; this run is at 64 px' \
        in proc.stdout
    assert 'mopeft_cp' not in proc.stdout  # its rows did not run


def test_benchmark_attention_times_both_training_paths():
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/benchmark_attention.py',
        '--arch', 'tiny', '--size', '64', '--iters', '1', '--warmup', '0'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [[cell.strip() for cell in line.split('|')[1:-1]]
            for line in proc.stdout.splitlines() if line.startswith('| ')]
    assert [r[:2] for r in rows[1:]] == [['fused, widened', 'fp32'],
                                         ['blockwise', 'fp32'],
                                         ['fused, widened', 'bf16'],
                                         ['blockwise', 'bf16']]
    assert all(float(r[2]) > 0 for r in rows[1:])
    assert rows[1][3] == rows[3][3] == '1.00'
    assert float(proc.stdout.split('in fp32: ')[1].split()[0]) < 1e-4


def test_benchmark_attention_refuses_paths_that_disagree(monkeypatch):
    pass

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
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/benchmark_encoder.py', '--arch',
        'tiny', '--size', '96', '--iters', '1'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split('|')[1:-1] for line in proc.stdout.splitlines()
            if line.startswith('| ')]
    assert [r[0].strip() for r in rows[1:]] == ['segment_anything',
                                                'mmseg_mopeft']
    assert float(rows[2][2]) > 0
    diff = float(proc.stdout.split('outputs: ')[1])
    assert diff < 1e-4
