"""mmseg's EncoderDecoder plus the backbone's PEFT losses.

``EncoderDecoder.loss`` gathers the decode and auxiliary heads' losses only;
PEFT methods with a loss of their own (Conv-LoRA's expert balance) report it
through the backbone, and this segmentor adds it under ``peft.<name>``. Any
mmseg decode head works; at inference nothing changes.
"""
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix


def pop_peft_losses(backbone) -> dict:
    """The backbone's auxiliary PEFT losses (none for other backbones)."""
    pop = getattr(backbone, 'pop_aux_losses', None)
    return add_prefix(pop(), 'peft') if pop is not None else {}


@MODELS.register_module()
class PEFTEncoderDecoder(EncoderDecoder):

    def loss(self, inputs, data_samples) -> dict:
        losses = super().loss(inputs, data_samples)
        losses.update(pop_peft_losses(self.backbone))
        return losses
