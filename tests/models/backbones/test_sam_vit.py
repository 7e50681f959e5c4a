"""SAMViT: equivalence with segment_anything, checkpoints, sizes, hooks."""
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_mopeft.models.backbones.sam_vit import SAMViT
from mmseg_mopeft.models.peft import BlockContext, PEFTMethod, PEFTTuner
from mmseg_mopeft.testing import build_reference_sam, logged_messages


def _encoder_state(sam):
    return {
        k[len('image_encoder.'):]: v
        for k, v in sam.state_dict().items() if k.startswith('image_encoder.')
    }


@pytest.mark.parametrize('arch,img_size,window', [('tiny', 64, 4),
                                                  ('tiny', 96, 14),
                                                  ('vit-b', 64, 14)])
def test_equals_segment_anything(arch, img_size, window):
    ref = build_reference_sam(arch, img_size=img_size, window_size=window)
    ours = SAMViT(arch=arch, img_size=img_size, window_size=window).eval()
    missing, unexpected = ours.load_state_dict(_encoder_state(ref))
    assert not missing and not unexpected  # same parameter names
    x = torch.randn(2, 3, img_size, img_size)
    with torch.no_grad():
        expected = ref.image_encoder(x)
        (out, ) = ours(x)
    assert out.shape == (2, 256, img_size // 16, img_size // 16)
    assert expected.abs().max() > 0.1  # a non-trivial comparison
    assert (out - expected).abs().max() < 1e-4


@pytest.mark.parametrize('backend', ['onednn', 'aten'])
def test_projections_take_the_chosen_cpu_backend(backend, monkeypatch):
    """The blocks' q/k/v, output and MLP projections take oneDNN's fp32
    path (``OneDNNLinear``) where it is chosen: no aten ``addmm`` is left
    (the weights' gradients stay on aten's ``mm``); else ``F.linear``."""
    from torch.utils.flop_counter import FlopCounterMode

    from mmseg_mopeft.models.utils import onednn_linear
    if backend == 'onednn' and onednn_linear._LINEAR is None:
        pytest.skip('this torch build has no oneDNN linear op')
    monkeypatch.setattr(onednn_linear, 'BACKEND', backend)
    model = SAMViT(arch='tiny', img_size=64, window_size=4)
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 64, 64))[0].sum().backward()
    ops = {str(op) for op in counter.get_flop_counts()['Global']}
    assert ('mkldnn._linear_pointwise' in ops) == (backend == 'onednn'), ops
    assert ('aten.addmm' in ops) == (backend == 'aten'), ops


def test_blocks_get_contiguous_tokens():
    """The patch embedding's permuted view is copied once, not by every
    LayerNorm of every block (forward and backward)."""
    model = SAMViT(arch='tiny', img_size=64, window_size=4)
    layouts = []
    for block in model.blocks:
        block.register_forward_pre_hook(
            lambda _, args: layouts.append(args[0].is_contiguous()))
    model(torch.randn(1, 3, 64, 64))
    assert layouts == [True] * len(model.blocks)


def test_out_indices_and_neck():
    model = SAMViT(arch='tiny', img_size=64, out_indices=(0, -1),
                   with_neck=True)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape for o in outs] == [(1, 64, 4, 4), (1, 64, 4, 4),
                                       (1, 256, 4, 4)]
    no_neck = SAMViT(arch='tiny', img_size=64, out_indices=(1, 3),
                     with_neck=False)
    assert no_neck.neck is None and len(no_neck(torch.randn(1, 3, 64,
                                                            64))) == 2
    with pytest.raises(ValueError, match='out_indices or with_neck'):
        SAMViT(arch='tiny', with_neck=False)
    with pytest.raises(ValueError, match='Unknown SAM arch'):
        SAMViT(arch='vit-x')
    with pytest.raises(ValueError, match='multiple of patch_size'):
        SAMViT(arch='tiny', img_size=100)


def test_loads_official_format_checkpoint(tiny_sam_ckpt):
    path, ref = tiny_sam_ckpt
    model = MODELS.build(
        dict(
            type='SAMViT',
            arch='tiny',
            img_size=64,
            window_size=4,
            init_cfg=dict(type='Pretrained', checkpoint=path)))
    model.init_weights()
    expected = _encoder_state(ref)
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_checkpoint_for_other_size_matches_runtime_resize(tiny_sam_ckpt):
    """Loading a 64-px checkpoint into a 96-px model resizes the position
    embedding and relative-position tables exactly as the 64-px model resizes
    them on the fly for a 96-px input."""
    path, _ = tiny_sam_ckpt
    native = SAMViT(arch='tiny', img_size=64, window_size=4).eval()
    with logged_messages() as unresized:
        native.load_sam_checkpoint(path)
    assert not any('resizing' in m for m in unresized)
    resized = SAMViT(arch='tiny', img_size=96, window_size=4).eval()
    with logged_messages() as messages:
        resized.load_sam_checkpoint(path)
    assert any('pos_embed: resizing position embeddings made for a 4x4 '
               "grid to this model's 6x6 (img_size=96)" in m
               for m in messages), messages
    assert resized.pos_embed.shape == (1, 6, 6, 64)
    assert resized.blocks[1].attn.rel_pos_h.shape == (11, 32)  # global
    assert resized.blocks[0].attn.rel_pos_h.shape == (7, 32)  # window 4
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(native(x)[0], resized(x)[0], atol=1e-5)


def test_checkpoint_errors(tmp_path, tiny_sam_ckpt):
    path, _ = tiny_sam_ckpt
    missing = str(tmp_path / 'nowhere' / 'sam_vit_b_01ec64.pth')
    model = SAMViT(arch='tiny', img_size=64)
    with pytest.raises(FileNotFoundError) as err:
        model.load_sam_checkpoint(missing)
    assert missing in str(err.value)
    assert 'download_sam_checkpoints.sh' in str(err.value)

    wrong = SAMViT(arch=dict(embed_dims=96, depth=4, num_heads=2,
                             global_attn_indexes=(1, 3)), img_size=64)
    with pytest.raises(ValueError,
                       match=r"'image_encoder.pos_embed' has shape "
                       r'\(1, 4, 4, 64\) in the checkpoint but '
                       r'\(1, 4, 4, 96\) in SAMViT'):
        wrong.load_sam_checkpoint(path)

    other = tmp_path / 'other.pth'
    torch.save({'backbone.x': torch.zeros(1)}, other)
    with pytest.raises(KeyError, match="no 'image_encoder.' keys"):
        model.load_sam_checkpoint(str(other))


def _tuner(method):
    return PEFTTuner(dict(toy=method), gated=set(), dims=64)


def _ctx():
    return BlockContext(index=0, depth=4, dims=64, num_heads=2, mlp_dims=256,
                        window_size=4, grid=(4, 4))


def test_frozen_is_decided_at_build_time():
    model = SAMViT(arch='tiny', img_size=64, frozen=True)
    assert not any(p.requires_grad for p in model.parameters())
    model.blocks[0].tuner = _tuner(_ShiftFFN())  # attached after freezing
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ['blocks.0.tuner.methods.toy.shift']


class _ShiftFFN(PEFTMethod):
    """Toy method: adds a learned vector to the feed-forward output."""

    def __init__(self):
        super().__init__(_ctx())
        self.shift = torch.nn.Parameter(torch.zeros(64))

    def ffn(self, out, gate):
        return out + self.shift


class _BiasedPrefix(PEFTMethod):
    """Toy method: random prefix keys/values with a fixed logit bias."""

    def __init__(self, length, logit_bias):
        super().__init__(_ctx())
        self.kv = torch.nn.Parameter(torch.randn(2, length, 64))
        self.logit_bias = logit_bias

    def prefix(self, batch, gate):
        keys, values = self.kv.unsqueeze(1).expand(-1, batch, -1, -1)
        return keys, values, torch.full((batch, 1, 1, 1), self.logit_bias)


def test_hook_points_take_tuners_without_backbone_changes():
    torch.manual_seed(0)
    model = SAMViT(arch='tiny', img_size=64, window_size=4).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        plain = model(x)[0]
        # A prefix whose logits are -inf gets no attention: same output,
        # in windowed (block 0) and global (block 1) attention alike.
        for block in model.blocks[:2]:
            block.tuner = _tuner(_BiasedPrefix(3, float('-inf')))
        assert torch.allclose(model(x)[0], plain, atol=1e-5)
        for block in model.blocks[:2]:
            block.tuner = _tuner(_BiasedPrefix(3, 0.0))
        assert not torch.allclose(model(x)[0], plain, atol=1e-3)
        model.blocks[0].tuner = _tuner(_ShiftFFN())
        model.blocks[1].tuner = None
        assert torch.allclose(model(x)[0], plain, atol=1e-5)  # zero shift
        model.blocks[0].tuner.methods.toy.shift.fill_(1.0)
        assert not torch.allclose(model(x)[0], plain, atol=1e-3)


def test_out_indices_outside_the_blocks_are_an_error():
    with pytest.raises(ValueError, match=r'out_indices=\[4\]: \[4\] are not'):
        SAMViT(arch='tiny', img_size=64, out_indices=[4])
    with pytest.raises(ValueError, match=r'\[1.0\] are not'):
        SAMViT(arch='tiny', img_size=64, out_indices=[1.0])
    assert SAMViT(arch='tiny', img_size=64, out_indices=[-1, 0],
                  with_neck=False).out_indices == (0, 3)


def test_input_not_a_multiple_of_the_patch_size_is_an_error():
    model = SAMViT(arch='tiny', img_size=64, window_size=4)
    with pytest.raises(ValueError, match='70x64 is not a multiple of the '
                       'patch size 16.*size_divisor=16'):
        model(torch.randn(1, 3, 70, 64))


@pytest.mark.parametrize('arch', ['vit-b', 'vit-l', 'vit-h'])
def test_arch_presets_match_segment_anything_builds(arch):
    """Same parameter names and shapes as build_sam_vit_{b,l,h}'s encoder
    (built on the meta device: no memory, no time)."""
    from segment_anything import sam_model_registry
    with torch.device('meta'):
        ref = sam_model_registry[arch.replace('-', '_')]().image_encoder
        ours = SAMViT(arch=arch, img_size=1024)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}
    globals_ = [i for i, b in enumerate(ours.blocks) if b.window_size == 0]
    assert globals_ == [i for i, b in enumerate(ref.blocks)
                        if b.window_size == 0]


@pytest.mark.parametrize('name', ['vit-b', 'vit-l', 'vit-h'])
def test_model_base_configs(name):
    from helpers import REPO
    from mmengine.config import Config
    cfg = Config.fromfile(f'{REPO}/configs/_base_/models/sam_{name}.py')
    backbone, head = cfg.model.backbone, cfg.model.decode_head
    assert backbone.arch == name
    file = backbone.init_cfg.checkpoint
    assert file == head.init_cfg.checkpoint
    assert file.startswith(f"checkpoints/sam_{name.replace('-', '_')}_")
