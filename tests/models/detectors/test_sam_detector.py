"""SAMDetector on FAIR-1M configs: what trains, SAM weight loading and
box predictions, with the tiny SAM arch."""
import os.path as osp

import numpy as np
import torch
from helpers import REPO
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import PolygonMasks
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmseg.registry import MODELS

# a 120 x 128 image resized by 0.5 and padded to the 64 px input
META = dict(img_shape=(60, 64), batch_input_shape=(64, 64),
            scale_factor=(0.5, 0.5), ori_shape=(120, 128))


def _tiny_detector(config, checkpoint=None):
    cfg = Config.fromfile(osp.join(REPO, config))
    init = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint \
        else None
    cfg.model.backbone.update(
        arch='tiny', img_size=64, window_size=4, init_cfg=init)
    cfg.model.decode_head.update(num_queries=8, init_cfg=init)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _train_sample():
    gt = InstanceData(
        labels=torch.tensor([3]),
        bboxes=HorizontalBoxes(torch.tensor([[8., 8., 40., 24.]])),
        masks=PolygonMasks([[np.array([8., 8, 40, 8, 40, 24, 8, 24])]], 64,
                           64))
    return DetDataSample(metainfo=META, gt_instances=gt)


def test_lora_detector_trains_only_lora_and_head(tiny_sam_ckpt):
    """The LoRA config's PEFT settings work unchanged: gradients reach the
    LoRA weights and the head, never the frozen encoder weights."""
    model = _tiny_detector('configs/fair1m/lora_vitb_fair1m.py',
                           tiny_sam_ckpt[0])
    losses = model.loss(torch.randn(1, 3, 64, 64), [_train_sample()])
    assert set(losses) == {'loss_cls', 'loss_mask', 'loss_dice'}
    sum(losses.values()).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    lora = [n for n in grads if '.tuner.' in n]
    assert lora and all(grads[n] is not None for n in lora)
    assert grads['backbone.patch_embed.proj.weight'] is None
    assert not model.backbone.patch_embed.proj.weight.requires_grad
    assert grads['decode_head.decoder.cls_embed.layers.0.weight'] is not None
    assert grads['decode_head.decoder.transformer.layers.0.mlp.lin1.weight'] \
        is not None


def test_detector_loads_sam_weights_into_encoder_and_decoder(tiny_sam_ckpt):
    path, sam = tiny_sam_ckpt
    model = _tiny_detector('configs/fair1m/frozen_vitb_fair1m.py', path)
    assert torch.equal(model.backbone.patch_embed.proj.weight,
                       sam.image_encoder.patch_embed.proj.weight)
    decoder = model.decode_head.decoder
    first_token = sam.mask_decoder.mask_tokens.weight[0]
    assert all(torch.equal(t, first_token) for t in decoder.mask_tokens.weight)
    assert torch.equal(decoder.transformer.final_attn_token_to_image.
                       q_proj.weight, sam.mask_decoder.transformer.
                       final_attn_token_to_image.q_proj.weight)
    # frozen baseline: only the queries and the class MLP train
    trainable = {n.split('.')[2] for n, p in model.named_parameters()
                 if p.requires_grad}
    assert trainable == {'mask_tokens', 'cls_embed'}


def test_detector_predicts_boxes_for_a_batch(tiny_sam_ckpt):
    model = _tiny_detector('configs/fair1m/mopeft_vitb_fair1m.py',
                           tiny_sam_ckpt[0]).eval()
    samples = [DetDataSample(metainfo=META) for _ in range(2)]
    with torch.no_grad():
        out = model.predict(torch.randn(2, 3, 64, 64), samples)
    for sample in out:
        pred = sample.pred_instances
        assert len(pred.bboxes) == len(pred.scores) == len(pred.labels) <= 8
        assert (pred.bboxes[:, 2:] > pred.bboxes[:, :2]).all()
        assert (pred.bboxes[:, 2] <= 128).all()  # original width
        assert (pred.bboxes[:, 3] <= 120).all()
