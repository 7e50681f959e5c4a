"""mmseg's SegDataPreProcessor, padding as SAM does.

SAM pads its input (after normalisation, with zeros) to its square size; an
image larger than that, or any size when no fixed size is set, must still
reach the encoder as a multiple of the patch size, or the patch embedding
drops the border. mmseg's preprocessor takes a fixed ``size`` or a
``size_divisor`` but not both; this one pads to ``size`` (if given) and then
to a multiple of ``size_divisor``, recording the padding so that predictions
are cropped back to the image.
"""
from typing import Any, Dict

import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS


@MODELS.register_module()
class SAMDataPreProcessor(SegDataPreProcessor):

    def __init__(self, *args, size_divisor: int = 16, **kwargs):
        if kwargs.get('size') is None:
            # mmseg stacks a training batch by ``size`` or ``size_divisor``
            kwargs['size_divisor'] = size_divisor
        super().__init__(*args, **kwargs)
        self.divisor = size_divisor

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        out = super().forward(data, training)
        inputs, samples = out['inputs'], out['data_samples']
        h, w = inputs.shape[-2:]
        pad_h, pad_w = -h % self.divisor, -w % self.divisor
        if not (pad_h or pad_w):
            return out
        out['inputs'] = F.pad(inputs, (0, pad_w, 0, pad_h), value=self.pad_val)
        # stack_batch records 'padding_size' in training, 'img_padding_size'
        # at test time; mmseg crops predictions by the latter
        key = 'padding_size' if training else 'img_padding_size'
        for sample in samples or ():
            left, right, top, bottom = sample.metainfo.get(key, (0, 0, 0, 0))
            sample.set_metainfo({
                'pad_shape': (h + pad_h, w + pad_w),
                'batch_input_shape': (h + pad_h, w + pad_w),
                key: [left, right + pad_w, top, bottom + pad_h]
            })
            if 'gt_sem_seg' in sample:
                seg = F.pad(sample.gt_sem_seg.data, (0, pad_w, 0, pad_h),
                            value=self.seg_pad_val)
                sample.gt_sem_seg = PixelData(data=seg)
        return out
