"""SAM with its prompts, as an mmseg segmentor, beside an optional trained
semantic head on the same encoder (one checkpoint, both modes)."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import add_prefix
from torch import Tensor

from ..peft import peft_disabled
from ..prompts import PROMPT_TYPES
from .peft_encoder_decoder import pop_peft_losses
from .sam_prompt_decoder import MaskAssembler, upsample_masks

# official checkpoint prefix -> our module
OFFICIAL_KEYS = {
    'image_encoder.': 'backbone.',
    'prompt_encoder.': 'prompt_decoder.prompt_encoder.',
    'mask_decoder.': 'prompt_decoder.mask_decoder.',
}


def parse_mode(mode: str) -> Tuple[Optional[bool], Optional[str]]:
    """'semantic' -> (True, None); '<prompt type>' -> (None, type) (the
    encoder as configured); 'peft_on/<type>' / 'peft_off/<type>' ->
    (True / False, type)."""
    if mode == 'semantic':
        return True, None
    peft, _, prompt_type = mode.rpartition('/')
    if peft not in ('', 'peft_on', 'peft_off') or \
            prompt_type not in PROMPT_TYPES:
        raise ValueError(
            f"test mode {mode!r}: expected 'semantic', '<prompt type>', "
            f"'peft_on/<prompt type>' or 'peft_off/<prompt type>' with a "
            f'prompt type from {PROMPT_TYPES}')
    return {'': None, 'peft_on': True, 'peft_off': False}[peft], prompt_type


def pred_field(mode: str) -> str:
    """Data-sample field holding the prediction of a test mode."""
    return 'pred_' + mode.replace('/', '_')


@MODELS.register_module()
class PromptedSAM(BaseSegmentor):
    """SAM's promptable path (encoder, prompt encoder, original mask
    decoder) evaluated with prompts drawn from the ground truth.

    For each target object of an image, ``prompt_sampler`` draws one prompt
    (oracle/random point, oracle/noisy box); SAM predicts its masks with
    ``multimask_output=True`` and the first one is taken; the object's mask
    takes its class, and ``MaskAssembler`` resolves overlaps and unclaimed
    pixels into one label map.

    Args:
        backbone: A ``SAMViT`` (any ``peft``).
        prompt_decoder: ``SAMPromptDecoder`` settings; its ``checkpoint`` is
            the official SAM file (loaded at build time, frozen).
        prompt_sampler: ``GTPromptSampler`` settings (target objects, seed).
        decode_head: Optional trained semantic head (e.g.
            ``SAMMaskDecoderHead``) for the 'semantic' mode and training.
        test_modes: Outputs of one test step, each stored in the data sample
            as ``pred_<mode with / as _>``; the first is also
            ``pred_sem_seg``. Modes: 'semantic' (the head, PEFT on),
            '<prompt type>' (encoder as configured), 'peft_on/<prompt
            type>', 'peft_off/<prompt type>' (encoder with its tuning on or
            off). The encoder runs once per PEFT state.
        unclaimed_label: Label of pixels no mask claims.
        chunk_size: Objects decoded at once (bounds memory on big images).
    """

    def __init__(self,
                 backbone: dict,
                 prompt_decoder: dict,
                 prompt_sampler: Optional[dict] = None,
                 decode_head: Optional[dict] = None,
                 test_modes: Sequence[str] = ('oracle_point', ),
                 unclaimed_label: int = 255,
                 chunk_size: int = 16,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        if pretrained is not None:  # mmseg's init_model sets it to None
            raise ValueError(
                f'PromptedSAM: pretrained={pretrained!r} is not used; the '
                'SAM files are backbone.init_cfg and prompt_decoder.'
                'checkpoint')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not test_modes:
            raise ValueError('PromptedSAM: test_modes is empty')
        self.modes = {mode: parse_mode(mode) for mode in test_modes}
        if len(self.modes) != len(test_modes):
            raise ValueError(f'PromptedSAM: repeated test mode in '
                             f'{list(test_modes)}')
        if 'semantic' in self.modes and decode_head is None:
            raise ValueError("PromptedSAM: test mode 'semantic' needs a "
                             'decode_head')
        self.backbone = MODELS.build(backbone)
        # encoder weights a run trains in place (BitFit's biases, or all
        # with frozen=False): switching the tuning off cannot undo them
        self.trained_in_place = [
            name for name, param in self.backbone.named_parameters()
            if param.requires_grad and '.tuner.' not in name
        ]
        if any(peft is False for peft, _ in self.modes.values()):
            self._check_peft_can_be_off()
        self.prompt_decoder = MODELS.build(
            dict(dict(type='SAMPromptDecoder'), **prompt_decoder))
        self.prompt_sampler = TASK_UTILS.build(
            dict(dict(type='GTPromptSampler'), **(prompt_sampler or {})))
        self.decode_head = None
        self.align_corners = False
        if decode_head is not None:
            self.decode_head = MODELS.build(decode_head)
            self.align_corners = self.decode_head.align_corners
            self.num_classes = self.decode_head.num_classes
            self.out_channels = self.decode_head.out_channels
        self.test_modes = list(test_modes)
        self.unclaimed_label = unclaimed_label
        self.chunk_size = chunk_size
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    # ------------------------------------------------------------ weights
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Accept the official SAM file as it is (``tools/test.py CONFIG
        sam_vit_b_01ec64.pth``): its keys are renamed to our modules. A
        checkpoint without SAM's prompt decoder (one trained with a method
        config) keeps the official weights loaded at build time."""
        for key in [k for k in state_dict if k.startswith(prefix)]:
            for old, new in OFFICIAL_KEYS.items():
                if key.startswith(prefix + old):
                    state_dict[prefix + new + key[len(prefix + old):]] = \
                        state_dict.pop(key)
        own = prefix + 'prompt_decoder.'
        if not any(k.startswith(own) for k in state_dict):
            for key, value in self.prompt_decoder.state_dict().items():
                state_dict[own + key] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------ encoder
    def extract_feat(self, inputs: Tensor, peft: Optional[bool] = None
                     ) -> Tuple[Tensor, ...]:
        """Backbone outputs; ``peft=False`` runs every block untuned."""
        if peft is False:
            self._check_peft_can_be_off()
            with peft_disabled(self.backbone):
                return self.backbone(inputs)
        return self.backbone(inputs)

    def _check_peft_can_be_off(self) -> None:
        if self.trained_in_place:
            names = self.trained_in_place
            raise ValueError(
                f"PromptedSAM: 'peft_off' answers with SAM's own encoder, "
                f'but this one trains {len(names)} of its own weights in '
                f'place ({", ".join(names[:3])}, ...: e.g. BitFit\'s biases, '
                f'or frozen=False), which switching the tuning off cannot '
                f'undo; drop the peft_off modes')

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        if self.decode_head is None:
            raise RuntimeError('PromptedSAM has no decode_head: semantic '
                               'logits need prompts (see predict)')
        return self.decode_head.predict(
            self.extract_feat(inputs), batch_img_metas, self.test_cfg)

    def _forward(self, inputs: Tensor, data_samples=None):
        x = self.extract_feat(inputs)
        return x if self.decode_head is None else self.decode_head.forward(x)

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Trains the semantic head (and the encoder's tuning); SAM's own
        prompt decoder stays frozen."""
        if self.decode_head is None:
            raise RuntimeError('PromptedSAM without decode_head has nothing '
                               'to train; add a decode_head (see configs/'
                               'prompted_sam/hybrid) or train with the '
                               'method config')
        losses = self.decode_head.loss(
            self.extract_feat(inputs), data_samples, self.train_cfg)
        losses = add_prefix(losses, 'decode')
        losses.update(pop_peft_losses(self.backbone))  # e.g. Conv-LoRA's
        return losses

    # --------------------------------------------------------- prompting
    @torch.no_grad()
    def prompt_masks(self,
                     embedding: Tensor,
                     input_hw: Sequence[int],
                     img_hw: Sequence[int],
                     ori_hw: Sequence[int],
                     points: Optional[Tensor] = None,
                     point_labels: Optional[Tensor] = None,
                     boxes: Optional[Tensor] = None
                     ) -> Tuple[Tensor, Tensor]:
        """Mask logits (N, *ori_hw) and SAM's IoU estimates (N,) for N
        prompts on one image, coordinates in the original image's pixels.

        ``embedding`` (1, C, h, w) belongs to the image resized to
        ``img_hw`` and padded to ``input_hw``; prompts are scaled like
        ``SamPredictor`` scales them."""
        scale = embedding.new_tensor(
            [img_hw[1] / ori_hw[1], img_hw[0] / ori_hw[0]])
        if points is not None:
            points = points.to(embedding) * scale
            if point_labels is None:
                point_labels = torch.ones(
                    points.shape[:2], device=points.device)
            point_labels = point_labels.to(embedding)
        if boxes is not None:
            boxes = boxes.to(embedding) * scale.repeat(2)
        low_res, iou = self.prompt_decoder(embedding, input_hw, points,
                                           point_labels, boxes)
        return upsample_masks(low_res, input_hw, img_hw, ori_hw), iou

    def predict_with_gt_prompts(self, embedding: Tensor, input_hw,
                                data_sample, prompt_type: str) -> Tensor:
        """(H, W) label map of one image from prompts drawn from its gt."""
        meta = data_sample.metainfo
        if 'gt_sem_seg' not in data_sample:
            raise ValueError(
                f"{meta.get('img_path')}: prompted evaluation draws prompts "
                f'from the ground truth, but the data sample has no '
                f'gt_sem_seg; add LoadAnnotations to the test pipeline '
                f'(for images without labels: mmseg_mopeft.apis.'
                f'PromptPredictor with your own points and boxes)')
        if meta.get('flip'):
            raise ValueError(
                f"{meta.get('img_path')}: this view is flipped "
                f"({meta.get('flip_direction')}) but prompts are drawn "
                f'from the unflipped ground truth, so they would miss '
                f'their objects; prompt test modes take no flip '
                f'augmentation (run tools/test.py without --tta)')
        gt = data_sample.gt_sem_seg.data[0].cpu().numpy()
        ori_hw = tuple(meta['ori_shape'][:2])
        if gt.shape != ori_hw:
            raise ValueError(
                f"{meta.get('img_path')}: gt_sem_seg is {gt.shape} but the "
                f'image was {ori_hw}; load annotations after Resize in the '
                f'test pipeline (as configs/_base_/datasets/sam_1024.py '
                f'does), so prompts and scores use the original labels')
        prompts = self.prompt_sampler(gt, meta.get('img_path'), prompt_type)
        assembler = MaskAssembler(ori_hw, self.unclaimed_label,
                                  embedding.device)
        for start in range(0, len(prompts), self.chunk_size):
            chunk = prompts[start:start + self.chunk_size]
            if 'point' in chunk[0]:
                kwargs = dict(points=embedding.new_tensor(
                    np.stack([p['point'] for p in chunk])))
            else:
                kwargs = dict(boxes=embedding.new_tensor(
                    np.stack([p['box'] for p in chunk])))
            logits, _ = self.prompt_masks(embedding, input_hw,
                                          meta['img_shape'][:2], ori_hw,
                                          **kwargs)
            assembler.add(logits,
                          torch.tensor([p['label'] for p in chunk]))
        return assembler.labels

    def predict(self, inputs: Tensor, data_samples=None):
        if data_samples is None:
            raise ValueError(
                'PromptedSAM.predict needs data samples with gt_sem_seg '
                '(prompts come from the ground truth); for your own points '
                'and boxes use mmseg_mopeft.apis.PromptPredictor')
        metas = [sample.metainfo for sample in data_samples]
        features = {}

        def encoder(peft):
            tuned = peft is not False  # None: as configured, i.e. tuned
            if tuned not in features:
                features[tuned] = self.extract_feat(inputs, tuned)
            return features[tuned]

        input_hw = inputs.shape[-2:]
        for mode, (peft, prompt_type) in self.modes.items():
            if prompt_type is None:  # the trained semantic head
                logits = self.decode_head.predict(
                    encoder(None), metas, self.test_cfg)
                self.postprocess_result(logits, data_samples)
                for sample in data_samples:
                    sample.set_field(sample.pred_sem_seg, pred_field(mode))
                continue
            embeddings = encoder(peft)[-1]
            for i, sample in enumerate(data_samples):
                labels = self.predict_with_gt_prompts(
                    embeddings[i:i + 1], input_hw, sample, prompt_type)
                sample.set_field(
                    PixelData(data=labels[None]), pred_field(mode))
        first = pred_field(self.test_modes[0])
        for sample in data_samples:
            sample.set_field(sample.get(first), 'pred_sem_seg')
        return data_samples
