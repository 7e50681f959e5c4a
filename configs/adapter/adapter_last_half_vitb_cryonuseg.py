# adapter in the later half of the encoder blocks only: back-propagation stops
# at the first tuned block, and the frozen early blocks keep no activations.
# Any dataset: --cfg-options model.backbone.peft_blocks=last_half
_base_ = './adapter_vitb_cryonuseg.py'
model = dict(backbone=dict(peft_blocks='last_half'))
