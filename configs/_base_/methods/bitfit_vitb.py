# BitFit: the encoder's bias terms train, nothing is added; mask decoder
# fine-tuned.
_base_ = './decoder_ft_vitb.py'
model = dict(backbone=dict(peft=dict(bitfit=dict())))
