"""PEFT checkpoints: what is left out, and how loading rebuilds it."""
import hashlib
import logging

import pytest
import torch
from helpers import tiny_config
from mmseg.registry import MODELS

from mmseg_mopeft.models.utils.peft_checkpoint import (ALLOW_MISMATCH_ENV,
                                                       RECORD_KEY,
                                                       BaseSnapshot,
                                                       decode_record,
                                                       encode_record)
from mmseg_mopeft.testing import logged_messages

LORA = 'configs/lora/lora_vitb_cryonuseg.py'
RECORDS = {'backbone.' + RECORD_KEY, 'decode_head.' + RECORD_KEY}


def _md5(path):
    return hashlib.md5(open(path, 'rb').read()).hexdigest()


def _build(tmp_path, base, init=True, config=LORA):
    cfg = tiny_config(config, str(tmp_path), str(tmp_path), base)
    model = MODELS.build(cfg.model)
    if init:  # the parts' own init (the model's also logs every tensor)
        model.backbone.init_weights()
        model.decode_head.init_weights()
    return model


@pytest.fixture(scope='module')
def tuned(tmp_path_factory, tiny_sam_ckpt):
    """A tiny LoRA model with changed trainable tensors, and what a PEFT
    checkpoint keeps of it."""
    model = _build(tmp_path_factory.mktemp('tuned'), tiny_sam_ckpt[0])
    _perturb_trainable(model)
    return model, BaseSnapshot(model).prune(model, model.state_dict())


def _perturb_trainable(model):
    """Stand-in for training: change every trainable tensor."""
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.1)


def test_record_round_trip():
    record = dict(path='checkpoints/sam_vit_b_01ec64.pth',
                  md5='01ec64d29a2fca3f0661936605ae66f8')
    tensor = encode_record(record)
    assert tensor.dtype == torch.uint8
    assert decode_record(tensor) == record


def test_prune_keeps_trainable_and_records(tuned, tiny_sam_ckpt):
    base = tiny_sam_ckpt[0]
    model, kept = tuned
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(kept) - RECORDS == trainable
    assert any('.lora_A' in k for k in trainable)
    assert 'decode_head.cls_embed.weight' in trainable
    record = dict(path=base, md5=_md5(base))
    for key in RECORDS:
        assert decode_record(kept[key]) == record


def test_prune_keeps_frozen_tensors_that_differ_from_base(
        tmp_path, tiny_sam_ckpt):
    model = _build(tmp_path, tiny_sam_ckpt[0])
    with torch.no_grad():  # e.g. load_from a fully fine-tuned model
        model.backbone.blocks[0].mlp.lin1.weight.add_(1.0)
    # a frozen bias made trainable (what BitFit does)
    model.backbone.blocks[1].attn.proj.bias.requires_grad_(True)
    snapshot = BaseSnapshot(model)
    buffer = 'decode_head.prompt_encoder.pe_layer.' \
        'positional_encoding_gaussian_matrix'
    state = model.state_dict()
    assert buffer not in snapshot.prune(model, state)
    state[buffer] = state[buffer] + 1  # a buffer changed while training
    kept = snapshot.prune(model, state)
    assert 'backbone.blocks.0.mlp.lin1.weight' in kept
    assert 'backbone.blocks.1.attn.proj.bias' in kept
    assert buffer in kept
    assert 'backbone.blocks.0.mlp.lin2.weight' not in kept


def test_small_state_dict_loads_strictly_into_a_fresh_model(
        tuned, tmp_path, tiny_sam_ckpt):
    model, small = tuned
    # init_model drops the backbone's init_cfg: the record's path is used
    fresh = _build(tmp_path, tiny_sam_ckpt[0], init=False)
    fresh.backbone.init_cfg = None
    fresh.load_state_dict(small, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[key]), key


def _other_base(tmp_path, base):
    """A copy of the base file with one frozen encoder weight changed."""
    state = torch.load(base, weights_only=True)
    state['image_encoder.blocks.0.mlp.lin1.weight'] += 1.0
    path = str(tmp_path / 'other_sam.pth')
    torch.save(state, path)
    return path, state


def test_base_with_other_md5_is_an_error(tuned, tmp_path, tiny_sam_ckpt,
                                         monkeypatch):
    base = tiny_sam_ckpt[0]
    small = tuned[1]
    other, _ = _other_base(tmp_path, base)
    fresh = _build(tmp_path, other, init=False)
    monkeypatch.delenv(ALLOW_MISMATCH_ENV, raising=False)
    with pytest.raises(ValueError) as error:
        fresh.load_state_dict(small)
    message = str(error.value)
    assert _md5(base) in message and _md5(other) in message
    assert other in message and ALLOW_MISMATCH_ENV in message


def test_base_mismatch_accepted_with_a_warning(tuned, tmp_path,
                                               tiny_sam_ckpt, monkeypatch):
    base = tiny_sam_ckpt[0]
    small = tuned[1]
    other, other_state = _other_base(tmp_path, base)
    fresh = _build(tmp_path, other, init=False)
    monkeypatch.setenv(ALLOW_MISMATCH_ENV, '1')
    with logged_messages(logging.WARNING) as messages:
        fresh.load_state_dict(small, strict=True)
    assert any(_md5(other) in m and ALLOW_MISMATCH_ENV in m
               for m in messages), messages
    # frozen weights come from the file used now
    assert torch.equal(fresh.backbone.blocks[0].mlp.lin1.weight,
                       other_state['image_encoder.blocks.0.mlp.lin1.weight'])


def test_missing_base_file_names_it(tuned, tmp_path, tiny_sam_ckpt):
    small = tuned[1]
    missing = str(tmp_path / 'nowhere' / 'sam.pth')
    fresh = _build(tmp_path, missing, init=False)
    with pytest.raises(FileNotFoundError, match='nowhere/sam.pth'):
        fresh.load_state_dict(small)


def test_keys_neither_in_checkpoint_nor_base_are_an_error(
        tuned, tmp_path, tiny_sam_ckpt):
    small = dict(tuned[1])
    del small['backbone.blocks.0.tuner.methods.lora.lora_A']
    fresh = _build(tmp_path, tiny_sam_ckpt[0], init=False)
    with pytest.raises(KeyError, match='blocks.0.tuner.methods.lora.lora_A'):
        fresh.load_state_dict(small)


@pytest.mark.parametrize('key', [
    'decode_head.iou_token.weight', 'decode_head.transformer.layers.0.'
    'self_attn.q_proj.weight'
])
def test_a_trained_tensor_the_checkpoint_lacks_is_not_taken_from_base(
        tuned, tmp_path, tiny_sam_ckpt, key):
    """A trained decoder tensor that SAM's file also holds (e.g. the IoU
    token, absent from checkpoints of the head before it joined the
    decoder's tokens) stays missing instead of silently taking SAM's
    value."""
    small = dict(tuned[1])
    del small[key]
    fresh = _build(tmp_path, tiny_sam_ckpt[0], init=False)
    assert dict(fresh.named_parameters())[key].requires_grad
    with pytest.raises(RuntimeError, match='Missing key') as error:
        fresh.load_state_dict(small)
    assert key in str(error.value)
    assert fresh.load_state_dict(small, strict=False).missing_keys == [key]
