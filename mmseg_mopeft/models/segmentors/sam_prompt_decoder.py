"""SAM's own prompt encoder and mask decoder, frozen, as released.

Unlike ``SAMMaskDecoderHead`` (constant prompts, trained query tokens), this
is SAM's promptable path unchanged: points and boxes in, masks out.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from segment_anything.modeling import (MaskDecoder, PromptEncoder,
                                       TwoWayTransformer)
from torch import Tensor, nn

from ..utils import load_sam_state_dict, load_state_dict_checked


@MODELS.register_module()
class SAMPromptDecoder(nn.Module):
    """SAM's prompt encoder and original mask decoder (frozen).

    Args:
        checkpoint: Official SAM checkpoint; its ``prompt_encoder.*`` and
            ``mask_decoder.*`` are loaded when the module is built (a test
            run never calls ``init_weights``). ``None`` keeps random
            weights, for tests that load a state dict afterwards.
        embed_dim: Channels of SAM's image embedding.
    """

    def __init__(self, checkpoint: Optional[str], embed_dim: int = 256):
        super().__init__()
        # the sizes are SAM's; forward() sets them for the actual input
        self.prompt_encoder = PromptEncoder(
            embed_dim=embed_dim,
            image_embedding_size=(64, 64),
            input_image_size=(1024, 1024),
            mask_in_chans=16)
        self.mask_decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=2, embedding_dim=embed_dim, mlp_dim=2048, num_heads=8),
            transformer_dim=embed_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=256)
        self.requires_grad_(False)
        if checkpoint is not None:
            self.load_sam_checkpoint(checkpoint)

    def load_sam_checkpoint(self, filename: str):
        state_dict = {
            k: v
            for k, v in load_sam_state_dict(filename).items()
            if k.startswith(('prompt_encoder.', 'mask_decoder.'))
        }
        missing, _ = load_state_dict_checked(self, state_dict, filename)
        if missing:
            raise KeyError(f'{filename} lacks SAM prompt encoder / mask '
                           f'decoder weights ({len(missing)} missing, e.g. '
                           f'{missing[:3]}); expected an official SAM '
                           f'checkpoint')

    def forward(self,
                embedding: Tensor,
                input_hw: Sequence[int],
                points: Optional[Tensor] = None,
                point_labels: Optional[Tensor] = None,
                boxes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Masks for N prompts on one image.

        Args:
            embedding: (1, C, h, w) image embedding of the padded input.
            input_hw: Size of the padded input the coordinates refer to.
            points, point_labels: (N, P, 2) ``(x, y)`` input coordinates and
                (N, P) labels (1 foreground, 0 background).
            boxes: (N, 4) ``(x1, y1, x2, y2)`` input coordinates.

        Returns:
            SAM's first multimask output (``multimask_output=True``, mask
            0), low-resolution logits (N, 4h, 4w), and its predicted IoU
            (N,).
        """
        encoder = self.prompt_encoder
        encoder.input_image_size = tuple(int(s) for s in input_hw)
        encoder.image_embedding_size = tuple(embedding.shape[-2:])
        sparse, dense = encoder(
            points=None if points is None else (points, point_labels),
            boxes=boxes,
            masks=None)
        masks, iou = self.mask_decoder(
            image_embeddings=embedding,
            image_pe=encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True)
        return masks[:, 0], iou[:, 0]


def upsample_masks(low_res: Tensor, input_hw: Sequence[int],
                   img_hw: Sequence[int], ori_hw: Sequence[int]) -> Tensor:
    """(N, h, w) low-resolution logits -> (N, H, W) at the original image
    size, as SAM's ``postprocess_masks``: up to the padded input, crop the
    padding, resize to the original size (bilinear throughout)."""
    masks = F.interpolate(
        low_res[:, None],
        tuple(input_hw),
        mode='bilinear',
        align_corners=False)
    masks = masks[..., :img_hw[0], :img_hw[1]]
    masks = F.interpolate(
        masks, tuple(ori_hw), mode='bilinear', align_corners=False)
    return masks[:, 0]


class MaskAssembler:
    """One label map from per-object mask logits, one rule everywhere.

    A pixel takes the class of the object whose mask claims it most
    strongly: the highest logit among the objects whose logit is above SAM's
    mask threshold (0). Pixels no mask claims get ``unclaimed_label`` (255:
    no class, so mIoU counts them as missed for their true class). Exact
    ties go to the object added first. Objects can be added in chunks, so
    that only one chunk of full-size logits is in memory.
    """

    def __init__(self, shape: Sequence[int], unclaimed_label: int = 255,
                 device=None):
        self.best = torch.zeros(tuple(shape), device=device)
        self.labels = torch.full(
            tuple(shape), unclaimed_label, dtype=torch.long, device=device)

    def add(self, logits: Tensor, labels: Tensor):
        """(N, H, W) mask logits of N objects and their (N,) classes."""
        if len(logits) == 0:
            return
        top, index = logits.max(dim=0)
        win = top > self.best
        self.best = torch.where(win, top, self.best)
        self.labels = torch.where(win, labels.to(self.labels)[index],
                                  self.labels)
