"""BitFit trains the encoder's bias terms and nothing else."""
import pytest
import torch
from helpers import probe_loss

from mmseg_mopeft.models import SAMViT


def test_trains_every_encoder_bias_and_only_biases():
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(bitfit=dict()))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    plain = SAMViT(arch='tiny', img_size=64, window_size=4)
    biases = {n for n, _ in plain.named_parameters() if n.endswith('.bias')}
    assert trainable == biases
    assert sum(p.numel() for n, p in model.named_parameters()
               if n in trainable) == 4 * (64 * 4 + 3 * 64 + 256) + \
        64 + 2 * 256  # blocks, patch embedding, neck norms


def test_later_blocks_only_leave_the_patch_embedding_frozen():
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(bitfit=dict()), peft_blocks='last_half')
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {n.split('.')[1] for n in trainable if n.startswith('blocks')} \
        == {'2', '3'}
    assert 'patch_embed.proj.bias' not in trainable
    assert 'neck.1.bias' in trainable
    x = torch.randn(1, 3, 64, 64)
    probe_loss(model(x)[0]).backward()
    assert model.patch_embed.proj.bias.grad is None
    assert model.blocks[2].attn.qkv.bias.grad is not None


@pytest.mark.parametrize('blocks', [1, [0, 3]], ids=['from_1', '0_and_3'])
def test_patch_embedding_bias_trains_with_the_first_block_only(blocks):
    """The patch embedding feeds block 0, so its bias trains with that
    block's biases, whichever other blocks are tuned."""
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(bitfit=dict()), peft_blocks=blocks)
    tuned = [i for i, b in enumerate(model.blocks) if b.tuner is not None]
    assert tuned == ([1, 2, 3] if blocks == 1 else blocks)
    assert model.patch_embed.proj.bias.requires_grad == (0 in tuned)
    assert not model.patch_embed.proj.weight.requires_grad


def test_encoders_without_a_neck_or_qkv_bias_train_the_biases_they_have():
    for options in (dict(with_neck=False, out_indices=(3, )),
                    dict(qkv_bias=False)):
        model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                       peft=dict(bitfit=dict()), **options)
        plain = SAMViT(arch='tiny', img_size=64, window_size=4, **options)
        biases = {n for n, _ in plain.named_parameters()
                  if n.endswith('.bias')}
        trainable = {n for n, p in model.named_parameters()
                     if p.requires_grad}
        assert trainable == biases, options
