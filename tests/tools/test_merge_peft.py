"""tools/model_converters/merge_peft.py: merged files give the PEFT model's
outputs; unfoldable methods are named."""
import copy
import os.path as osp
import sys

import pytest
import torch
from helpers import REPO, load_tool, run_tool, tiny_config
from mmengine.config import Config
from mmseg.apis import init_model
from mmseg.registry import MODELS

from mmseg_mopeft.models.utils.peft_checkpoint import save_peft_checkpoint
from mmseg_mopeft.testing import build_reference_sam

LORA = 'configs/lora/lora_vitb_cryonuseg.py'
LORA_LAST_HALF = 'configs/lora/lora_last_half_vitb_cryonuseg.py'
MOPEFT = 'configs/mopeft/mopeft_vitb_cryonuseg.py'
UPERHEAD = 'configs/mmseg_heads/uperhead_vitb_cryonuseg.py'
TOOL = osp.join(REPO, 'tools', 'model_converters', 'merge_peft.py')


def _peft_checkpoint(config, tmp_path, base, edit=None):
    """A tuned tiny model saved the way PEFTCheckpointHook saves it;
    ``edit`` changes the model config first."""
    cfg = tiny_config(config, str(tmp_path), str(tmp_path), base)
    if edit is not None:
        edit(cfg.model)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(1)
    with torch.no_grad():  # stand-in for training (LoRA B starts at 0)
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.05)
    model.eval()
    path = str(tmp_path / 'peft.pth')
    save_peft_checkpoint(model, path)
    config_path = str(tmp_path / osp.basename(config))
    cfg.dump(config_path)
    return model, config_path, path


def _merge(args, monkeypatch, capsys):
    """Run the tool in this process: (exit code, stdout)."""
    tool = load_tool(TOOL)
    monkeypatch.setattr(sys, 'argv', [TOOL] + args)
    code = tool.main()
    return code, capsys.readouterr().out


def _lora_qkv(base_qkv, lora):
    """q/k/v weight with LoRA (targets q, v) added, computed by hand."""
    rank, dims = lora.rank, base_qkv.shape[1]
    a, b = lora.lora_A.detach(), lora.lora_B.detach()
    merged = base_qkv.clone()
    merged[:dims] += b[0] @ a[:rank] * lora.scaling
    merged[2 * dims:] += b[1] @ a[rank:] * lora.scaling
    return merged


def _scores(model, inputs):
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64),
                  ori_shape=(64, 64))] * len(inputs)
    with torch.no_grad():
        return model.encode_decode(inputs, metas)


def test_merged_lora_equals_the_peft_model(tmp_path, tiny_sam_ckpt,
                                           monkeypatch, capsys):
    base = tiny_sam_ckpt[0]
    model, config, ckpt = _peft_checkpoint(LORA, tmp_path, base)
    out = tmp_path / 'merged'
    code, stdout = _merge([config, ckpt, str(out)], monkeypatch, capsys)
    assert code == 0 and 'Wrote (b)' in stdout
    name = osp.splitext(osp.basename(config))[0]
    inputs = torch.randn(2, 3, 64, 64)
    expected = _scores(model, inputs)

    # (a): mmseg checkpoint for the config without PEFT, no base file needed
    merged_cfg = Config.fromfile(str(out / f'{name}_merged.py'))
    assert merged_cfg.model.backbone.peft is None
    merged = init_model(merged_cfg, str(out / f'{name}_merged.pth'),
                        device='cpu')
    assert not any('tuner' in k for k in merged.state_dict())
    state = torch.load(out / f'{name}_merged.pth')['state_dict']
    assert state.keys() == merged.state_dict().keys()
    torch.testing.assert_close(_scores(merged, inputs), expected,
                               atol=1e-5, rtol=1e-4)

    # (b): official SAM file; segment_anything's encoder gives our features
    sam = build_reference_sam('tiny', img_size=64, window_size=4,
                              randomize=False)
    sam.load_state_dict(torch.load(out / f'{name}_sam_encoder.pth'),
                        strict=True)
    with torch.no_grad():
        ours = model.backbone(inputs)[-1]
        torch.testing.assert_close(sam.image_encoder(inputs), ours,
                                   atol=1e-4, rtol=1e-4)
    original = torch.load(base)
    for key, value in sam.state_dict().items():
        if key.startswith(('prompt_encoder.', 'mask_decoder.')):
            assert torch.equal(value, original[key]), key
    # LoRA was folded into q/k/v: base + B A * scale, rows of q and v
    for i, block in enumerate(sam.image_encoder.blocks):
        lora = model.backbone.blocks[i].tuner.methods['lora']
        expected_qkv = _lora_qkv(
            original[f'image_encoder.blocks.{i}.attn.qkv.weight'], lora)
        torch.testing.assert_close(block.attn.qkv.weight, expected_qkv)


def _merged_model(out, config):
    name = osp.splitext(osp.basename(config))[0]
    return init_model(Config.fromfile(str(out / f'{name}_merged.py')),
                      str(out / f'{name}_merged.pth'), device='cpu')


def test_last_half_run_merges_into_a_config_that_builds(
        tmp_path, tiny_sam_ckpt, monkeypatch, capsys):
    model, config, ckpt = _peft_checkpoint(LORA_LAST_HALF, tmp_path,
                                           tiny_sam_ckpt[0])
    assert Config.fromfile(config).model.backbone.peft_blocks == 'last_half'
    out = tmp_path / 'merged'
    code, _ = _merge([config, ckpt, str(out)], monkeypatch, capsys)
    assert code == 0
    merged = _merged_model(out, config)
    assert 'peft_blocks' not in merged.cfg.model.backbone
    inputs = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(_scores(merged, inputs), _scores(model, inputs),
                               atol=1e-5, rtol=1e-4)


def _under_uperhead(model):
    """The UPerHead config at the tiny arch, LoRA on the frozen encoder."""
    model.backbone.update(out_indices=(0, 1, 2, 3), peft=dict(lora=dict()))
    model.neck.update(in_channels=[64] * 4, out_channels=64)
    model.decode_head.update(in_channels=[64] * 4, channels=32,
                             norm_cfg=dict(type='BN', requires_grad=True))


def test_backbone_without_neck_gets_sams_neck_in_the_sam_file(
        tmp_path, tiny_sam_ckpt, monkeypatch, capsys):
    base = tiny_sam_ckpt[0]
    model, config, ckpt = _peft_checkpoint(UPERHEAD, tmp_path, base,
                                           edit=_under_uperhead)
    assert model.backbone.neck is None
    out = tmp_path / 'merged'
    code, _ = _merge([config, ckpt, str(out)], monkeypatch, capsys)
    assert code == 0
    inputs = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(
        _scores(_merged_model(out, config), inputs), _scores(model, inputs),
        atol=1e-5, rtol=1e-4)
    sam = build_reference_sam('tiny', img_size=64, window_size=4,
                              randomize=False)
    name = osp.splitext(osp.basename(config))[0]
    sam.load_state_dict(torch.load(out / f'{name}_sam_encoder.pth'),
                        strict=True)
    original = torch.load(base)
    for key, value in sam.state_dict().items():
        if key.startswith('image_encoder.neck.'):
            assert torch.equal(value, original[key]), key
    lora = model.backbone.blocks[0].tuner.methods['lora']
    torch.testing.assert_close(
        sam.image_encoder.blocks[0].attn.qkv.weight,
        _lora_qkv(original['image_encoder.blocks.0.attn.qkv.weight'], lora))


@pytest.mark.parametrize('trained, match', [
    (lambda model: model.backbone.peft.lora.update(rank=4),
     'size mismatch for backbone.blocks.0.tuner.methods.lora.lora_A'),
    (lambda model: model.backbone.update(
        peft=dict(lora=dict(), adapter=dict(), gated=True)),
     'unexpected key in source state_dict: backbone.blocks.0.tuner.gates'),
],
                         ids=['other_rank', 'other_methods'])
def test_checkpoint_that_does_not_fit_the_config_is_refused(
        tmp_path, tiny_sam_ckpt, monkeypatch, capsys, trained, match):
    base = tiny_sam_ckpt[0]
    _, _, ckpt = _peft_checkpoint(LORA, tmp_path, base, edit=trained)
    config = str(tmp_path / 'lora_r8.py')
    tiny_config(LORA, str(tmp_path), str(tmp_path), base).dump(config)
    out = tmp_path / 'merged'
    with pytest.raises(RuntimeError, match='does not fit') as error:
        _merge([config, ckpt, str(out)], monkeypatch, capsys)
    assert ckpt in str(error.value) and match in str(error.value)
    assert not out.exists()


def test_gated_methods_are_named_and_a_full_checkpoint_written(
        tmp_path, tiny_sam_ckpt, monkeypatch, capsys):
    base = tiny_sam_ckpt[0]
    model, config, ckpt = _peft_checkpoint(MOPEFT, tmp_path, base)
    out = tmp_path / 'merged'
    code, stdout = _merge([config, ckpt, str(out)], monkeypatch, capsys)
    assert code == 1
    assert 'Cannot merge' in stdout
    for method in ('lora', 'prefix', 'adapter'):
        assert f'backbone.blocks.0.{method}: gated' in stdout
    name = osp.splitext(osp.basename(config))[0]
    assert not osp.exists(out / f'{name}_sam_encoder.pth')
    # (a) is the whole model: it loads with no base file at all
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    cfg.model.decode_head.init_cfg = None
    full = MODELS.build(cfg.model).eval()
    full.load_state_dict(
        torch.load(out / f'{name}_full.pth')['state_dict'], strict=True)
    inputs = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(_scores(full, inputs), _scores(model, inputs),
                               atol=0, rtol=0)


def test_existing_output_is_not_overwritten(tmp_path, tiny_sam_ckpt,
                                            monkeypatch, capsys):
    _, config, ckpt = _peft_checkpoint(LORA, tmp_path, tiny_sam_ckpt[0])
    out = tmp_path / 'merged'
    out.mkdir()
    name = osp.splitext(osp.basename(config))[0]
    (out / f'{name}_merged.pth').write_text('mine')
    with pytest.raises(FileExistsError, match=f'{name}_merged.pth'):
        _merge([config, ckpt, str(out)], monkeypatch, capsys)
    assert (out / f'{name}_merged.pth').read_text() == 'mine'


@pytest.mark.slow
def test_merged_vitb_file_loads_with_sam_model_registry(tmp_path):
    pytest.importorskip('segment_anything')
    from segment_anything import sam_model_registry

    from mmseg_mopeft.testing import save_sam_checkpoint
    base = str(tmp_path / 'sam_vit_b.pth')
    save_sam_checkpoint(base, arch='vit-b', img_size=1024, window_size=14)
    cfg = Config.fromfile(osp.join(REPO, LORA))
    cfg.model.backbone.init_cfg.checkpoint = base
    cfg.model.decode_head.init_cfg.checkpoint = base
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.01)
    config = str(tmp_path / 'lora.py')
    cfg.dump(config)
    ckpt = str(tmp_path / 'peft.pth')
    save_peft_checkpoint(model, ckpt)
    run_tool([sys.executable, TOOL, config, ckpt, str(tmp_path / 'out')])
    sam = sam_model_registry['vit_b'](
        checkpoint=str(tmp_path / 'out' / 'lora_sam_encoder.pth'))
    original = torch.load(base)
    for i in (0, 11):
        lora = model.backbone.blocks[i].tuner.methods['lora']
        torch.testing.assert_close(
            sam.image_encoder.blocks[i].attn.qkv.weight,
            _lora_qkv(original[f'image_encoder.blocks.{i}.attn.qkv.weight'],
                      lora))
