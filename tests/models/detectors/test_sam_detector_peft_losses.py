"""FAIR-1M detection adds the backbone's PEFT losses too."""
import os.path as osp

import numpy as np
import torch
from helpers import REPO
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import PolygonMasks
from mmengine.config import Config
from mmengine.structures import InstanceData


def test_conv_lora_balance_loss_joins_detection_losses():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/fair1m/conv_lora_vitb_fair1m.py'))
    cfg.model.backbone.update(arch='tiny', img_size=64, window_size=4,
                              init_cfg=None)
    cfg.model.decode_head.update(num_queries=8, init_cfg=None)
    model = MODELS.build(cfg.model)
    gt = InstanceData(
        labels=torch.tensor([3]),
        bboxes=HorizontalBoxes(torch.tensor([[8., 8., 40., 24.]])),
        masks=PolygonMasks([[np.array([8., 8, 40, 8, 40, 24, 8, 24])]], 64,
                           64))
    sample = DetDataSample(
        metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                      ori_shape=(64, 64), scale_factor=(1., 1.),
                      batch_input_shape=(64, 64)),
        gt_instances=gt)
    losses = model.loss(torch.randn(1, 3, 64, 64), [sample])
    assert {'loss_cls', 'loss_mask', 'loss_dice',
            'peft.loss_conv_lora_balance'} <= set(losses)
    assert losses['peft.loss_conv_lora_balance'].requires_grad
    assert cfg.find_unused_parameters  # unpicked experts: no gradient
