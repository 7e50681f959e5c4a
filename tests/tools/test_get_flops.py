"""tools/analysis_tools/get_flops.py counts attention; SAM encoder FLOPs
against a closed form and against torch's own flop counter."""
import sys

import pytest
import torch
import torch.nn.functional as F
from helpers import load_tool, run_tool, tiny_config
from mmengine.analysis import FlopAnalyzer
from torch.utils.flop_counter import FlopCounterMode

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.models.backbones.sam_vit import SAMViT

get_flops = load_tool('tools/analysis_tools/get_flops.py')
sam_flops = load_tool('tools/analysis_tools/sam_flops.py')


class _Attention(torch.nn.Module):

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_attention_op_counted_as_two_products():
    # batch 2, 3 heads, 10 queries, 12 keys, q/k width 8, value width 16
    q, k, v = torch.rand(2, 3, 10, 8), torch.rand(2, 3, 12, 8), torch.rand(
        2, 3, 12, 16)
    counted = get_flops.count_flops(_Attention(), (q, k, v)).total()
    assert counted == 2 * 3 * 10 * 12 * 8 + 2 * 3 * 10 * 12 * 16
    # mmengine alone counts attention as nothing: the handle is what counts
    assert FlopAnalyzer(_Attention(), (q, k, v)).total() == 0
    # torch counts 2 FLOPs per multiply-add
    with FlopCounterMode(display=False) as torch_count:
        _Attention()(q, k, v)
    assert torch_count.get_total_flops() == 2 * counted


@pytest.mark.parametrize('size', [64, 96])  # 96: padded windows
def test_encoder_count_matches_closed_form_and_torch(size):
    model = SAMViT(arch='tiny', img_size=size, window_size=4).eval()
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        analyzer = get_flops.count_flops(model, x)
        counted = analyzer.total()
        with FlopCounterMode(display=False) as torch_count:
            model(x)
    closed = sam_flops.encoder_macs('tiny', size, window=4)
    assert abs(counted / closed['total'] - 1) < 0.05, (counted, closed)
    attention = analyzer.by_operator()['scaled_dot_product_attention']
    assert attention == closed['attention']
    # torch's counter ignores layer norms and counts 2 per multiply-add
    torch_macs = torch_count.get_total_flops() / 2
    assert abs(torch_macs / (closed['total'] - closed['layer_norm']) -
               1) < 0.05


def test_closed_forms_for_vit_b_at_1024():
    """segment_anything's encoder against the GUIDE's measurement (~972
    GFLOP by torch's counter, i.e. ~486 G multiply-adds, no layer norms)."""
    sam = sam_flops.encoder_macs('vit-b', 1024, reference=True)
    ours = sam_flops.encoder_macs('vit-b', 1024)
    training = sam_flops.encoder_macs('vit-b', 1024, widened=True)
    assert abs((sam['total'] - sam['layer_norm']) / 486e9 - 1) < 0.01
    # inference: skipping the window padding saves projections and the
    # padding's queries (SAM: 4900 queries per windowed block at 1024 px,
    # ours: the 4096 image tokens)
    assert ours['attention'] < sam['attention']
    assert ours['linear'] == training['linear'] < sam['linear']
    # with gradients on a GPU, folding the relative-position bias into q/k
    # widens attention (3x in global blocks)
    assert training['attention'] > 2.5 * sam['attention']


def test_reference_closed_form_matches_segment_anything():
    """The closed form of segment_anything's encoder against torch's flop
    counter on that encoder (independent of our model and of mmengine)."""
    from segment_anything.modeling import ImageEncoderViT
    encoder = ImageEncoderViT(
        img_size=96, embed_dim=64, depth=4, num_heads=2,
        global_attn_indexes=(1, 3), window_size=4, use_rel_pos=True,
        qkv_bias=True).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as torch_count:
        encoder(torch.rand(1, 3, 96, 96))
    closed = sam_flops.encoder_macs('tiny', 96, window=4, reference=True)
    torch_macs = torch_count.get_total_flops() / 2
    assert abs(torch_macs / (closed['total'] - closed['layer_norm']) -
               1) < 0.05


@pytest.mark.slow  # a subprocess: imports and a trace
def test_get_flops_tool_reports_the_encoder(tmp_path):
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 1), ('val', 1)), size=64)
    cfg = tiny_config('configs/mopeft/mopeft_vitb_cryonuseg.py', root,
                      str(tmp_path / 'work'))
    cfg.model.backbone.peft = None
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    proc = run_tool([
        sys.executable, 'tools/analysis_tools/get_flops.py', cfg_file,
        '--shape', '64'
    ])
    lines = dict(
        line.split(': ', 1) for line in proc.stdout.splitlines()
        if ': ' in line)
    backbone = int(lines['backbone flops'].split()[0])
    total = int(lines['total flops'])
    assert backbone == sam_flops.encoder_macs('tiny', 64, window=4)['total']
    assert total > backbone  # the mask decoder head adds its share


def test_lora_update_added_in_place_is_counted():
    rank, size, dims, depth = 4, 64, 64, 4
    x = torch.rand(1, 3, size, size)
    counts = []
    for peft in (None, dict(lora=dict(rank=rank))):
        model = SAMViT(arch='tiny', img_size=size, window_size=4,
                       frozen=True, peft=peft).eval()
        with torch.no_grad():
            analyzer = get_flops.count_flops(model, x)
            counts.append(analyzer.total())
        assert 'aten::addmm_' not in analyzer.unsupported_ops()
    tokens = (size // 16)**2
    # per block: down-projection to q's and v's rank (dims -> 2 * rank),
    # then the block up-projection (2 * rank -> the 3 * dims of q/k/v)
    per_block = tokens * dims * 2 * rank + tokens * 2 * rank * 3 * dims
    assert counts[1] - counts[0] == depth * per_block
