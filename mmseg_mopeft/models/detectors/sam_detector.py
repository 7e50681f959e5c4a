"""SAM as an mmdet detector: PEFT-tuned SAM encoder + a mask-based box head.

The backbone is our ``SAMViT`` (``type='mmseg.SAMViT'``, so every PEFT
setting of the segmentation configs applies unchanged); the head is
``Masks2BoxesHead``. Inputs, data samples and outputs follow mmdet 3.x
(``DetDataPreprocessor``, ``DetDataSample``), so mmdet's transforms, metrics
and visualiser work with it.
"""
from typing import Dict, Optional, Tuple, Union

from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor

from ..segmentors.peft_encoder_decoder import pop_peft_losses


@MODELS.register_module()
class SAMDetector(BaseDetector):
    """SAM encoder (any PEFT setting) + a head that detects through masks.

    Args:
        backbone: ``SAMViT`` config; ``type='mmseg.SAMViT'`` finds it under
            any default scope.
        decode_head: Head config, e.g. ``type='mmdet.Masks2BoxesHead'``; the
            name mirrors our segmentation configs, so method configs that set
            ``decode_head.freeze_mask_decoder`` apply here too.
        train_cfg, test_cfg: Accepted for config compatibility; unused.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return self.backbone(inputs)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Union[Dict, list]:
        losses = self.decode_head.loss(self.extract_feat(inputs), data_samples)
        losses.update(pop_peft_losses(self.backbone))
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        results = self.decode_head.predict(
            self.extract_feat(inputs), data_samples, rescale=rescale)
        return self.add_pred_to_datasample(data_samples, results)

    def _forward(self, inputs: Tensor, data_samples: SampleList = None):
        """Raw head outputs: class logits and mask logits."""
        return self.decode_head(self.extract_feat(inputs))
