"""benchmark_peers.py: SAMed-style LoRA, and a smoke run at a tiny size."""
import json
import os.path as osp
import re
import sys

import pytest
import torch
from helpers import REPO, run_tool

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import benchmark_peers  # noqa: E402

from mmseg_mopeft.models.utils import onednn_linear  # noqa: E402
from mmseg_mopeft.testing import build_reference_sam  # noqa: E402

SCRIPT = 'tools/analysis_tools/benchmark_peers.py'
TINY = ['--arch', 'tiny', '--size', '64', '--iters', '1', '--warmup', '0']


def test_samed_lora_adds_to_q_and_v_only():
    encoder = build_reference_sam('tiny', img_size=64).image_encoder
    plain = encoder.blocks[0].attn.qkv
    weight, bias = plain.weight.detach().clone(), plain.bias.detach().clone()
    benchmark_peers.add_samed_lora(encoder, rank=4)
    trainable = [n for n, p in encoder.named_parameters() if p.requires_grad]
    assert len(trainable) == 4 * len(encoder.blocks)
    assert all(re.search(r'\.attn\.qkv\.[ab]_[qv]\.weight$', n)
               for n in trainable)
    lora = encoder.blocks[0].attn.qkv
    x = torch.randn(2, 3, 5, 64)
    with torch.no_grad():
        torch.testing.assert_close(lora(x), x @ weight.t() + bias)  # B = 0
        lora.b_q.weight.normal_()
        lora.b_v.weight.normal_()
        out = lora(x)
    delta_q = x @ lora.a_q.weight.t() @ lora.b_q.weight.t()
    delta_v = x @ lora.a_v.weight.t() @ lora.b_v.weight.t()
    zero = torch.zeros_like(delta_q)
    expected = x @ weight.t() + bias + torch.cat([delta_q, zero, delta_v], -1)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def _rows(stdout):
    """{(encoder, trains, precision): cells} of the printed table."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and len(cells) > 3 and cells[2] in (
                'fp32', 'bf16'):
            rows[tuple(cells[:3])] = cells[3:]
    return rows


def test_smoke_tiny_ours_and_segment_anything(tmp_path):
    figures = tmp_path / 'figures.json'
    # the path to profile: oneDNN's where this torch build has it
    onednn = onednn_linear._LINEAR is not None
    proc = run_tool([
        sys.executable, SCRIPT, *TINY, '--rows', 'ours_lora', 'sam_lora',
        '--dtype', 'fp32', 'bf16', '--mfu', '--peak-tflops', '1e-6',
        '--no-memory', '--json',
        str(figures), '--profile', 'ours_lora'
    ], extra_env={onednn_linear.ENV_VAR: 'onednn' if onednn else 'aten'})
    rows = _rows(proc.stdout)
    figures = json.loads(figures.read_text())
    results = figures['results']
    # what it ran on: in the JSON and under the table's title
    assert figures['machine'].startswith('Machine: ')
    assert figures['machine'].endswith(
        'our fp32 CPU linear layers on ' +
        ('oneDNN.' if onednn else 'F.linear.'))
    assert '\n' + figures['machine'] + '\n' in proc.stdout
    assert len(rows) == 6  # 3 rows (the reference added) x 2 precisions
    ref, samed = results['sam_full_ft/fp32'], results['sam_lora/fp32']
    ours, ours_bf16 = results['ours_lora/fp32'], results['ours_lora/bf16']
    # our LoRA has SAMed's parameter count: 4 blocks, q and v, rank 8, dim 64
    assert ours['trainable'] == samed['trainable'] == 4 * 2 * 2 * 8 * 64
    assert ref['trainable'] > 100 * ours['trainable']
    # columns: params, train s, img/s, x SA, x SAMed, x fp32, infer s,
    # img/s, x SA inference, x fp32, memory, x SA, process memory, GFLOP,
    # MFU train, infer
    cells = rows[('mmseg_mopeft', 'LoRA r=8 (q, v)', 'fp32')]
    assert cells[0] == f"{ours['trainable']:,}"
    assert cells[1] == f"{ours['train_s']:.3f}"
    assert cells[2] == f"{1 / ours['train_s']:.2f}"
    assert cells[3] == f"{ours['train_s'] / ref['train_s']:.2f}"
    assert cells[4] == f"{ours['train_s'] / samed['train_s']:.2f}"
    assert cells[8] == f"{ours['infer_s'] / ref['infer_s']:.2f}"
    assert cells[10] == '-'  # --no-memory
    # forward, and a backward through every block: more than twice it
    assert ours['train_flops'] > 2 * ours['infer_flops'] > 0
    assert cells[12] == '-'
    assert cells[13] == f"{ours['train_flops'] / 1e9:.1f}"
    # --peak-tflops 1e-6 (1 MFLOP/s): MFU % = FLOPs / s / 1e6 * 100
    assert cells[14] == f"{ours['train_flops'] / ours['train_s'] / 1e4:.1f}"
    bf16 = rows[('mmseg_mopeft', 'LoRA r=8 (q, v)', 'bf16')]
    assert bf16[5] == f"{ours_bf16['train_s'] / ours['train_s']:.2f}"
    assert 'our LoRA step / SAMed-style LoRA step (bf16)' in proc.stdout
    # --profile: an operator table per precision, before the figures
    profiles = proc.stdout.split('SAM tiny encoder')[0].split(
        'Training step profile of ours_lora (cpu, ')[1:]
    assert [p[:5] for p in profiles] == ['fp32)', 'bf16)']
    assert all('Self CPU time total' in p for p in profiles)
    # our projections: oneDNN's in fp32 (as set), aten's under bf16 autocast
    assert ('mkldnn::_linear_pointwise' in profiles[0]) == onednn
    assert ('aten::addmm' in profiles[0]) != onednn
    assert 'aten::addmm' in profiles[1]


def test_rows_needing_missing_options_say_so(monkeypatch, capsys):
    monkeypatch.setitem(benchmark_peers.OURS, 'ours_mopeft_cp',
                        ('mopeft', dict(no_such_option=True)))
    benchmark_peers.main(
        [*TINY, '--rows', 'ours_mopeft_cp', '--no-memory'])
    row = _rows(capsys.readouterr().out)[('mmseg_mopeft', 'MoPEFT, with_cp',
                                          'fp32')]
    assert row == [f"{benchmark_peers.NOT_AVAILABLE}: SAMViT has no "
                   f"['no_such_option']"]


def test_an_existing_json_stops_before_measuring(tmp_path, monkeypatch):
    earlier = tmp_path / 'figures.json'
    earlier.write_text('{"earlier": 1}')
    monkeypatch.setattr(benchmark_peers, 'measure', pytest.fail)
    with pytest.raises(SystemExit, match=f'{earlier} already exists'):
        benchmark_peers.main([*TINY, '--json', str(earlier), '--no-memory'])
    assert earlier.read_text() == '{"earlier": 1}'


def test_memory_worker_reports_a_peak():
    args = benchmark_peers.parse_args(TINY)
    peak = benchmark_peers.run_memory_worker('sam_lora', 'bf16', args)
    model, _ = benchmark_peers.build('sam_lora', args)
    weights = sum(t.numel() * t.element_size()
                  for t in [*model.parameters(), *model.buffers()])
    # the weights and the step's activations, less than the whole process
    assert weights < peak['tensors'] < peak['process'] < 8 * 2**30


@pytest.mark.slow
def test_smoke_tiny_with_transformers_rows():
    # creates .venv-peers/ (transformers, peft) with pip on first use
    proc = run_tool([
        sys.executable, SCRIPT, *TINY, '--rows', 'hf_full_ft', 'hf_lora',
        '--dtype', 'fp32', 'bf16'
    ], timeout=1800)
    rows = _rows(proc.stdout)
    full = rows[('transformers', 'full fine-tuning', 'fp32')]
    lora = rows[('transformers', 'LoRA r=8 (qkv), peft', 'bf16')]
    assert float(full[1]) > 0 and float(lora[1]) > 0
    # peft LoRA on the fused qkv: A (8 x 64) and B (192 x 8) per block
    assert lora[0] == f'{4 * (8 * 64 + 3 * 64 * 8):,}'
    assert re.search(r'transformers [\d.]+, peft [\d.]+, attention: \w+',
                     proc.stdout)
