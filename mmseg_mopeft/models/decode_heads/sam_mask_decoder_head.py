"""SAM's mask decoder turned into a semantic segmentation head.

SAM needs prompts; we feed it constant ones (no points or boxes, the learned
"no mask" dense embedding), so the frozen prompt encoder contributes only its
positional encoding and that embedding. SAM's mask tokens become N query
tokens (initialised from SAM's first mask token) that each predict a mask and,
through a new class branch, one of K classes or "no object". SAM's IoU token
stays in front of them, as in Conv-LoRA's reference: the pretrained decoder
was trained with it among the tokens its attention mixes; its output is not
used. Training matches queries to the classes present in an image
(Hungarian matching, as in Mask2Former); inference sums the mask probabilities
weighted by class probabilities. As in mmseg's Mask2Former, ignored pixels
(label 255, padding) are background for every mask target.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import point_sample
from mmdet.models.utils import get_uncertain_point_coords_with_randomness
from mmengine.structures import InstanceData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import SampleList, seg_data_to_instance_data
from segment_anything.modeling import PromptEncoder, TwoWayTransformer
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.mask_decoder import MLP
from torch import Tensor, nn

from ...utils.dist import global_avg_factor
from ..utils import load_sam_state_dict, load_state_dict_checked
from ..utils.peft_checkpoint import fill_missing_from_base

# Hungarian matching costs and losses of Mask2Former (mmseg's configs).
DEFAULT_ASSIGNER = dict(
    type='mmdet.HungarianAssigner',
    match_costs=[
        dict(type='mmdet.ClassificationCost', weight=2.0),
        dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
        dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0),
    ])
DEFAULT_LOSS_CLS = dict(
    type='mmdet.CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0)
DEFAULT_LOSS_MASK = dict(
    type='mmdet.CrossEntropyLoss', use_sigmoid=True, loss_weight=5.0)
DEFAULT_LOSS_DICE = dict(
    type='mmdet.DiceLoss',
    use_sigmoid=True,
    activate=True,
    naive_dice=True,
    eps=1.0,
    loss_weight=5.0)

# mmseg decode-head options this head sets itself or has no use for
_LOSSES = ('its losses are loss_cls (class weights: loss_cls.class_weight, '
           'K + 1 values, or no_object_weight), loss_mask and loss_dice')
UNUSED_DECODE_HEAD_ARGS = {
    'loss_decode': _LOSSES,
    'sampler': 'it matches queries to classes, it samples no pixels',
    'dropout_ratio': 'it has no dropout before a classifier',
    'out_channels': 'it always scores all K classes, also for K = 2',
    'threshold': 'it always scores all K classes, also for K = 2',
}


def semantic_inference(cls_scores: Tensor, mask_preds: Tensor) -> Tensor:
    """(B, N, K+1) class logits and (B, N, H, W) mask logits -> (B, K, H, W)
    per-class scores: mask probabilities weighted by class probabilities."""
    cls_probs = F.softmax(cls_scores, dim=-1)[..., :-1]
    return torch.einsum('bqc,bqhw->bchw', cls_probs, mask_preds.sigmoid())


@MODELS.register_module()
class SAMMaskDecoderHead(BaseDecodeHead):
    """SAM mask decoder with N queries and a class branch.

    Args:
        num_classes: Number of semantic classes K.
        num_queries: Mask tokens N; defaults to K (one per class).
        in_channels: Channels of SAM's image embedding (256).
        num_points: Points per mask for matching and losses (Mask2Former's
            point sampling); 0 uses every pixel of the predicted mask grid.
        oversample_ratio, importance_sample_ratio: Mask2Former's
            uncertainty-based point sampling for the mask losses.
        no_object_weight: Class-loss weight of the "no object" class.
        freeze_mask_decoder: Freeze SAM's two-way transformer, upscaling,
            hypernetwork MLP and IoU token; the query tokens and the class
            branch always train. The prompt encoder is always frozen.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads
            ``mask_decoder.*`` and ``prompt_encoder.*`` from an official SAM
            checkpoint.
    """

    def __init__(self,
                 num_classes: int,
                 num_queries: Optional[int] = None,
                 in_channels: int = 256,
                 channels: int = 256,
                 in_index: int = -1,
                 num_points: int = 12544,
                 oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75,
                 no_object_weight: float = 0.1,
                 freeze_mask_decoder: bool = False,
                 assigner: dict = DEFAULT_ASSIGNER,
                 loss_cls: dict = DEFAULT_LOSS_CLS,
                 loss_mask: dict = DEFAULT_LOSS_MASK,
                 loss_dice: dict = DEFAULT_LOSS_DICE,
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        unused = sorted(set(kwargs) & set(UNUSED_DECODE_HEAD_ARGS))
        if unused:
            raise ValueError(
                f'SAMMaskDecoderHead does not take {unused}: '
                + '; '.join(UNUSED_DECODE_HEAD_ARGS[k] for k in unused))
        super().__init__(
            in_channels,
            channels,
            num_classes=num_classes,
            out_channels=num_classes,  # per-class scores, also for K=2
            in_index=in_index,
            dropout_ratio=0,
            loss_decode=(),
            init_cfg=init_cfg,
            **kwargs)
        # BaseDecodeHead's 1x1 classifier and pixel loss are not used here.
        del self.conv_seg, self.loss_decode
        self.num_queries = num_queries or num_classes
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio

        dim = in_channels
        self.prompt_encoder = PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(64, 64),  # SAM's; only used by prompts
            input_image_size=(1024, 1024),
            mask_in_chans=16)
        self.transformer = TwoWayTransformer(
            depth=2, embedding_dim=dim, mlp_dim=2048, num_heads=8)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.hypernet_mlp = MLP(dim, dim, dim // 8, 3)
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_queries, dim)
        self.cls_embed = nn.Linear(dim, num_classes + 1)

        self.prompt_encoder.requires_grad_(False)
        if freeze_mask_decoder:
            for module in (self.transformer, self.output_upscaling,
                           self.hypernet_mlp, self.iou_token):
                module.requires_grad_(False)

        self.assigner = TASK_UTILS.build(assigner)
        loss_cls = dict(loss_cls)
        loss_cls.setdefault('class_weight',
                            [1.0] * num_classes + [no_object_weight])
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)

    # ------------------------------------------------------------------ model
    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor, Tensor]:
        """Returns class logits (B, N, K+1) and mask logits (B, N, 4h, 4w)."""
        x = self._transform_inputs(inputs)
        b, c, h, w = x.shape
        image_pe = self.prompt_encoder.pe_layer((h, w)).unsqueeze(0)
        no_mask = self.prompt_encoder.no_mask_embed.weight.reshape(1, c, 1, 1)
        # a copy, not a view: under no_grad a view of a parameter claims
        # requires_grad without a grad_fn, which torch's FlopCounterMode
        # (its module tracker) rejects when it is a module's input
        tokens = torch.cat([self.iou_token.weight,
                            self.mask_tokens.weight]).repeat(b, 1, 1)
        outputs, keys = self.transformer(x + no_mask,
                                         image_pe.expand(b, -1, -1, -1),
                                         tokens)
        queries = outputs[:, 1:]
        pixel_embed = self.output_upscaling(keys.transpose(1, 2).reshape(
            b, c, h, w))
        mask_embed = self.hypernet_mlp(queries)
        mask_preds = torch.einsum('bqc,bchw->bqhw', mask_embed, pixel_embed)
        return self.cls_embed(queries), mask_preds

    def predict_by_feat(self, seg_logits: Tuple[Tensor, Tensor],
                        batch_img_metas: List[dict]) -> Tensor:
        cls_scores, mask_preds = seg_logits
        # Upsample mask logits to the input size, then combine.
        mask_preds = super().predict_by_feat(mask_preds, batch_img_metas)
        return semantic_inference(cls_scores, mask_preds)

    # ------------------------------------------------------------------- loss
    def loss_by_feat(self, seg_logits: Tuple[Tensor, Tensor],
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        cls_scores, mask_preds = seg_logits
        gt_instances = seg_data_to_instance_data(self.ignore_index,
                                                 batch_data_samples)
        labels = torch.cat([gt.labels for gt in gt_instances])
        if len(labels) and labels.max() >= self.num_classes:  # one sync
            raise ValueError(
                f'label {int(labels.max())} is no class of the '
                f'{self.num_classes} and not decode_head.ignore_index='
                f'{self.ignore_index}. Datasets and padding '
                f'(data_preprocessor.seg_pad_val) mark ignored pixels '
                f'255; to leave a class out, give the dataset a class '
                f'subset (metainfo=dict(classes=...)), which maps it '
                f'to 255.')
        return self.instance_losses(cls_scores, mask_preds, gt_instances)

    def instance_losses(self, cls_scores: Tensor, mask_preds: Tensor,
                        batch_gt_instances: List[InstanceData]
                        ) -> Dict[str, Tensor]:
        """Matching losses against per-image ground truth (``labels`` (G,),
        ``masks`` (G, H, W) covering the padded input at any resolution);
        shared with detection heads."""
        gt_instances = batch_gt_instances
        labels = cls_scores.new_full(cls_scores.shape[:2], self.num_classes,
                                     dtype=torch.long)
        matched_preds, matched_targets = [], []
        for i, gt in enumerate(gt_instances):
            query_idx, gt_idx = self.match(cls_scores[i], mask_preds[i], gt)
            labels[i, query_idx] = gt.labels[gt_idx]
            matched_preds.append(mask_preds[i, query_idx])
            matched_targets.append(gt.masks[gt_idx])

        # Normalisers count over all ranks' images (global_avg_factor), so N
        # processes with batch b train like one with batch N x b.
        class_weight = cls_scores.new_tensor(self.loss_cls.class_weight)
        loss_cls = self.loss_cls(
            cls_scores.flatten(0, 1),
            labels.flatten(),
            avg_factor=global_avg_factor(class_weight[labels].sum()))

        preds = torch.cat(matched_preds)
        num_masks = global_avg_factor(
            cls_scores.new_tensor(float(len(preds))), min_total=1)
        if len(preds) == 0:  # keep the graph, contribute nothing
            zero = mask_preds.sum() * 0
            return dict(loss_cls=loss_cls, loss_mask=zero, loss_dice=zero)
        targets = torch.cat(matched_targets).unsqueeze(1).float()
        with torch.no_grad():
            points = self.loss_points(preds.unsqueeze(1))
            point_targets = point_sample(targets, points).squeeze(1)
        point_preds = point_sample(preds.unsqueeze(1), points).squeeze(1)
        loss_dice = self.loss_dice(
            point_preds, point_targets, avg_factor=num_masks)
        loss_mask = self.loss_mask(
            point_preds.reshape(-1),
            point_targets.reshape(-1),
            avg_factor=num_masks * point_preds.shape[1])
        return dict(
            loss_cls=loss_cls, loss_mask=loss_mask, loss_dice=loss_dice)

    @torch.no_grad()
    def match(self, cls_score: Tensor, mask_pred: Tensor,
              gt: InstanceData) -> Tuple[Tensor, Tensor]:
        """Hungarian matching of one image's N queries to its G ground-truth
        masks; returns matched (query indices, gt indices)."""
        points = self.grid_points(mask_pred) if self.num_points == 0 else \
            torch.rand(1, self.num_points, 2, device=mask_pred.device)
        pred_points = point_sample(mask_pred.unsqueeze(1),
                                   points.expand(len(mask_pred), -1,
                                                 -1)).squeeze(1)
        gt_points = point_sample(gt.masks.unsqueeze(1).float(),
                                 points.expand(len(gt), -1, -1)).squeeze(1)
        result = self.assigner.assign(
            InstanceData(scores=cls_score, masks=pred_points),
            InstanceData(labels=gt.labels, masks=gt_points))
        query_idx = torch.nonzero(result.gt_inds > 0).squeeze(1)
        return query_idx, result.gt_inds[query_idx] - 1

    def loss_points(self, masks: Tensor) -> Tensor:
        """(M, P, 2) point coordinates in [0, 1] for the mask losses."""
        if self.num_points == 0:
            return self.grid_points(masks[:, 0]).expand(len(masks), -1, -1)
        return get_uncertain_point_coords_with_randomness(
            masks, None, self.num_points, self.oversample_ratio,
            self.importance_sample_ratio)

    @staticmethod
    def grid_points(masks: Tensor) -> Tensor:
        """(1, H*W, 2) centres of every pixel of the (.., H, W) mask grid."""
        h, w = masks.shape[-2:]
        ys = (torch.arange(h, device=masks.device) + 0.5) / h
        xs = (torch.arange(w, device=masks.device) + 0.5) / w
        grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)
        return grid.reshape(1, -1, 2)

    # ---------------------------------------------------------------- weights
    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            self.load_sam_checkpoint(cfg['checkpoint'])
            self._is_init = True
        else:
            super().init_weights()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A PEFT checkpoint holds trained weights only: the rest comes from
        # the base SAM file it records.
        fill_missing_from_base(self, state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def load_sam_checkpoint(self, filename: str):
        """Load SAM's prompt encoder and mask decoder (its IoU token
        included); every query token starts as SAM's first mask token and
        shares its hypernetwork MLP."""
        renames = {
            'mask_decoder.transformer.': 'transformer.',
            'mask_decoder.output_upscaling.': 'output_upscaling.',
            'mask_decoder.output_hypernetworks_mlps.0.': 'hypernet_mlp.',
            'mask_decoder.iou_token.': 'iou_token.',
            'prompt_encoder.': 'prompt_encoder.',
        }
        sam = load_sam_state_dict(filename)
        state_dict = {}
        for key, value in sam.items():
            for old, new in renames.items():
                if key.startswith(old):
                    state_dict[new + key[len(old):]] = value
        first_token = sam.get('mask_decoder.mask_tokens.weight')
        if first_token is None:
            raise KeyError(f'{filename} has no mask_decoder.mask_tokens.weight'
                           f'; expected an official SAM checkpoint.')
        state_dict['mask_tokens.weight'] = first_token[:1].expand(
            self.num_queries, -1).clone()
        load_state_dict_checked(
            self,
            state_dict,
            filename,
            allow_missing=lambda k: k.startswith('cls_embed.'))
