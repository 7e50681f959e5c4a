"""Object detection with SAM's mask decoder: masks first, boxes from masks.

The mask decoder's N query tokens act as object queries (the segmentation
head's decoder, ``SAMMaskDecoderHead``, reused as is); an MLP on each token
predicts one of K classes or "no object". Training matches queries to the
ground-truth objects (Hungarian: class + mask costs) and supervises masks
with the rasterised object polygons; there is no box loss, because the boxes
come from thresholded masks and carry no gradient. At inference, the top
(query, class) scores are selected and Masks2Boxes (``masks2boxes.py``)
turns each selected query's mask, upsampled to the input resolution, into
the box enclosing it (components grouped on the decoder's 4 px grid); the
score is the class probability, optionally times the mask quality (mean
probability inside the binary mask, as in Mask2Former).
"""
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import get_box_tensor
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from segment_anything.modeling.mask_decoder import MLP
from torch import Tensor

from ..decode_heads.sam_mask_decoder_head import SAMMaskDecoderHead
from .masks2boxes import masks_to_boxes


@MODELS.register_module()
class Masks2BoxesHead(BaseModule):
    """SAM mask decoder with object queries, a class MLP and Masks2Boxes.

    Args:
        num_classes: Object classes K.
        num_queries: Mask tokens N, the most objects found per image.
        cls_num_layers: Layers of the class MLP on each token (1: linear).
        mask_threshold: Mask probability above which a pixel belongs to the
            object (Masks2Boxes input).
        min_component_ratio: Masks2Boxes ignores connected components smaller
            than this share of the largest one.
        score_with_mask_quality: Multiply class probability by mask quality.
        max_per_img: Detections kept per image (top (query, class) scores);
            defaults to ``num_queries``.
        score_thr: Detections scoring below are dropped.
        num_points: Points per mask for matching and mask losses; 0 (default)
            uses every cell of the mask grid, as small objects (a few cells)
            are easily missed by random points.
        init_cfg: ``dict(type='Pretrained', checkpoint=SAM_FILE)`` loads the
            mask and prompt decoder of an official SAM checkpoint.
        **decoder_kwargs: Passed on to ``SAMMaskDecoderHead`` (losses,
            assigner, ``freeze_mask_decoder``, ``no_object_weight``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 num_queries: int = 300,
                 cls_num_layers: int = 2,
                 mask_threshold: float = 0.5,
                 min_component_ratio: float = 0.1,
                 score_with_mask_quality: bool = False,
                 max_per_img: Optional[int] = None,
                 score_thr: float = 0.0,
                 num_points: int = 0,
                 init_cfg: Optional[dict] = None,
                 **decoder_kwargs):
        super().__init__()
        self.num_classes = num_classes
        self.mask_threshold = mask_threshold
        self.min_component_ratio = min_component_ratio
        self.score_with_mask_quality = score_with_mask_quality
        self.max_per_img = max_per_img or num_queries
        self.score_thr = score_thr
        self.decoder = SAMMaskDecoderHead(
            num_classes=num_classes,
            num_queries=num_queries,
            num_points=num_points,
            init_cfg=init_cfg,
            **decoder_kwargs)
        if cls_num_layers > 1:  # new weights either way (not in SAM)
            dim = self.decoder.cls_embed.in_features
            self.decoder.cls_embed = MLP(dim, dim, num_classes + 1,
                                         cls_num_layers)

    def forward(self, feats: Tuple[Tensor]) -> Tuple[Tensor, Tensor]:
        """Class logits (B, N, K+1) and mask logits (B, N, H/4, W/4)."""
        return self.decoder(feats)

    # ------------------------------------------------------------ training
    def loss(self, feats: Tuple[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        cls_scores, mask_preds = self(feats)
        targets = [
            self.mask_targets(sample, mask_preds.shape[-2:])
            for sample in batch_data_samples
        ]
        return self.decoder.instance_losses(cls_scores, mask_preds, targets)

    @staticmethod
    def mask_targets(sample, grid: Tuple[int, int]) -> InstanceData:
        """Labels and object masks rasterised on the (H/4, W/4) grid of the
        predicted masks, which covers the padded input. An object too small
        to cover any cell centre gets the cell holding its box centre, so
        every matched query has something to learn."""
        gt = sample.gt_instances
        device = gt.labels.device
        input_h, input_w = sample.batch_input_shape
        masks = gt.masks.pad((input_h, input_w)).resize(grid).to_tensor(
            torch.float32, device)
        empty = torch.nonzero(masks.flatten(1).sum(1) == 0).squeeze(1)
        if len(empty):
            boxes = get_box_tensor(gt.bboxes)[empty]
            cols = (boxes[:, 0] + boxes[:, 2]) / 2 * grid[1] / input_w
            rows = (boxes[:, 1] + boxes[:, 3]) / 2 * grid[0] / input_h
            masks[empty, rows.long().clamp(0, grid[0] - 1),
                  cols.long().clamp(0, grid[1] - 1)] = 1
        return InstanceData(labels=gt.labels, masks=masks)

    # ----------------------------------------------------------- inference
    def predict(self,
                feats: Tuple[Tensor],
                batch_data_samples: SampleList,
                rescale: bool = True) -> List[InstanceData]:
        cls_scores, mask_preds = self(feats)
        return self.predict_by_feat(cls_scores, mask_preds,
                                    batch_data_samples, rescale)

    def predict_by_feat(self,
                        cls_scores: Tensor,
                        mask_preds: Tensor,
                        batch_data_samples: SampleList,
                        rescale: bool = True) -> List[InstanceData]:
        return [
            self._predict_one(cls_scores[i], mask_preds[i], sample.metainfo,
                              rescale)
            for i, sample in enumerate(batch_data_samples)
        ]

    def _predict_one(self, cls_score: Tensor, mask_pred: Tensor, meta: dict,
                     rescale: bool) -> InstanceData:
        probs = F.softmax(cls_score, dim=-1)[:, :-1]  # (N, K)
        scores, index = probs.flatten().topk(
            min(self.max_per_img, probs.numel()))
        query, labels = index // self.num_classes, index % self.num_classes
        keep = scores > self.score_thr
        scores, query, labels = scores[keep], query[keep], labels[keep]

        queries, inverse = torch.unique(query, return_inverse=True)
        boxes, valid, quality = self._boxes_from_masks(mask_pred[queries],
                                                       meta)
        if self.score_with_mask_quality:
            scores = scores * quality[inverse]
        keep = valid[inverse]
        boxes = boxes[inverse][keep]
        if rescale:
            scale = boxes.new_tensor(meta['scale_factor']).repeat(2)
            boxes = boxes / scale
        return InstanceData(
            bboxes=boxes, scores=scores[keep], labels=labels[keep])

    def _boxes_from_masks(self, mask_logits: Tensor, meta: dict,
                          chunk: int = 32) -> Tuple[Tensor, Tensor, Tensor]:
        """Masks2Boxes on (Q, H/4, W/4) mask logits upsampled to the input
        resolution (image part, no padding), components grouped on the
        decoder's 4 px grid: boxes in input pixels, valid flags and mask
        quality, ``chunk`` masks at a time."""
        if len(mask_logits) == 0:
            empty = mask_logits.new_zeros(0)
            return empty.reshape(0, 4), empty.bool(), empty
        input_h, input_w = meta['batch_input_shape']
        img_h, img_w = meta['img_shape'][:2]
        grid_h, grid_w = mask_logits.shape[-2:]
        stride_h, stride_w = input_h // grid_h, input_w // grid_w
        logits = mask_logits[:, :math.ceil(img_h / stride_h),
                             :math.ceil(img_w / stride_w)]
        outputs = []
        for part in logits.split(chunk):
            probs = F.interpolate(
                part[None],
                scale_factor=(stride_h, stride_w),
                mode='bilinear',
                align_corners=False)[0, :, :img_h, :img_w].sigmoid()
            binary = probs > self.mask_threshold
            boxes, valid = masks_to_boxes(
                binary, self.min_component_ratio, cell=stride_h)
            quality = (probs * binary).flatten(1).sum(1) / binary.flatten(
                1).sum(1).clamp(min=1)
            outputs.append((boxes, valid, quality))
        return tuple(torch.cat(x) for x in zip(*outputs))
