"""Masks for your own points and boxes on one image, with a PromptedSAM."""
from typing import Dict, Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from .strict_loading import load_fitting_checkpoint


class PromptPredictor:
    """Like ``segment_anything``'s ``SamPredictor``, on a config's model.

    The image goes through the config's test pipeline (resize) and data
    preprocessor (normalise, pad) as in ``tools/test.py``; the embedding is
    computed once per image and PEFT state.

    >>> predictor = PromptPredictor.from_config(
    ...     'configs/prompted_sam/sam_vitb_oracle_point_cwfid.py',
    ...     'checkpoints/sam_vit_b_01ec64.pth')
    >>> predictor.set_image('photo.jpg')
    >>> out = predictor.predict(points=[[120, 80]], boxes=None)
    >>> out['masks'].shape  # (1, H, W) booleans at the image's size
    """

    def __init__(self, model, pipeline: list):
        self.model = model.eval()
        # no labels here: drop the annotation loaders (LoadAnnotations,
        # LoadCheckedAnnotations)
        self.pipeline = Compose([
            dict(t, type='LoadImageFromNDArray')
            if t['type'] == 'LoadImageFromFile' else t for t in pipeline
            if not t['type'].endswith('Annotations')
        ])
        self.inputs = None
        self.meta = None
        self.embeddings = {}

    @classmethod
    def from_config(cls,
                    config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu',
                    cfg_options: Optional[dict] = None) -> 'PromptPredictor':
        """Build the config's model (a ``PromptedSAM``) and load
        ``checkpoint`` (the official SAM file or one of ours), which must
        fit it; without one, the config's own SAM files (``init_cfg``)."""
        cfg = Config.fromfile(config) if isinstance(config, str) else config
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        if cfg.model.type != 'PromptedSAM':
            raise TypeError(f'{config}: model type is {cfg.model.type!r}; '
                            f'prompts need a PromptedSAM config (configs/'
                            f'prompted_sam/)')
        model = MODELS.build(cfg.model)
        if checkpoint is None:
            model.init_weights()
        else:
            load_fitting_checkpoint(model, checkpoint, cfg.filename)
        return cls(model.to(device), cfg.test_dataloader.dataset.pipeline)

    @torch.no_grad()
    def set_image(self, image: Union[str, np.ndarray]):
        """An image file or an (H, W, 3) BGR array (OpenCV/mmcv order)."""
        if isinstance(image, str):
            import mmcv
            image = mmcv.imread(image)
        data = self.pipeline(dict(img=image))
        data = self.model.data_preprocessor(
            dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
            training=False)
        self.inputs = data['inputs']
        self.meta = data['data_samples'][0].metainfo
        self.embeddings = {}

    @torch.no_grad()
    def predict(self,
                points=None,
                point_labels=None,
                boxes=None,
                peft: bool = True) -> Dict[str, np.ndarray]:
        """Masks of N objects, each given by points and/or a box.

        Args:
            points: (N, 2) one point per object, or (N, P, 2) P points per
                object; ``(x, y)`` pixels of the original image.
            point_labels: (N, P) 1 (foreground, default) or 0 (background).
            boxes: (N, 4) ``(x1, y1, x2, y2)`` pixels of the original image.
            peft: False runs the encoder untuned (plain SAM).

        Returns:
            ``masks`` (N, H, W) bool, ``logits`` (N, H, W) and ``scores``
            (N,): SAM's first multimask output and its IoU estimate.
        """
        if self.inputs is None:
            raise RuntimeError('call set_image() before predict()')
        if points is None and boxes is None:
            raise ValueError('predict() needs points, boxes or both')
        if points is not None:
            points = torch.as_tensor(np.asarray(points, dtype=np.float32))
            if points.dim() == 2:
                points = points[:, None]
            if points.dim() != 3 or points.shape[-1] != 2:
                raise ValueError(f'points: expected (N, 2) or (N, P, 2), got '
                                 f'{tuple(points.shape)}')
            if point_labels is not None:
                point_labels = torch.as_tensor(
                    np.asarray(point_labels,
                               dtype=np.float32)).reshape(points.shape[:2])
        if boxes is not None:
            boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32))
            if boxes.dim() != 2 or boxes.shape[-1] != 4:
                raise ValueError(f'boxes: expected (N, 4), got '
                                 f'{tuple(boxes.shape)}')
        if points is not None and boxes is not None and \
                len(points) != len(boxes):
            raise ValueError(f'{len(points)} point sets but {len(boxes)} '
                             f'boxes: give one of each per object')
        if peft not in self.embeddings:
            self.embeddings[peft] = self.model.extract_feat(
                self.inputs, peft)[-1]
        logits, scores = self.model.prompt_masks(
            self.embeddings[peft], self.inputs.shape[-2:],
            self.meta['img_shape'][:2], self.meta['ori_shape'][:2], points,
            point_labels, boxes)
        logits = logits.cpu().numpy()
        return dict(
            masks=logits > 0, logits=logits, scores=scores.cpu().numpy())
