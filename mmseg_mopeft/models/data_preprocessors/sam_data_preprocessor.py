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

import torch
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
        inputs = data['inputs']
        if not training and len({tuple(x.shape[-2:]) for x in inputs}) > 1:
            return self._forward_each(data)
        if training and self.size is not None:
            self._check_fits(inputs)
        out = super().forward(data, training)
        h, w = out['inputs'].shape[-2:]
        return self._pad(out, h + -h % self.divisor, w + -w % self.divisor,
                         training)

    def _check_fits(self, inputs) -> None:
        """Training inputs pad to ``size``; inputs larger than it and of
        different sizes cannot form one batch (mmseg's bare "stack expects
        each tensor to be equal size")."""
        size = tuple(self.size)
        padded = {(max(x.shape[-2], size[0]), max(x.shape[-1], size[1]))
                  for x in inputs}
        if len(padded) > 1:
            larger = sorted(p for p in padded if p != size)
            raise ValueError(
                f'training inputs of {larger} (h, w) exceed '
                f'data_preprocessor.size={size} and differ, so they form '
                f'no batch: make the train pipeline (RandomResize scale, '
                f'RandomCrop crop_size) produce at most that size, or raise '
                f'data_preprocessor.size.')

    def _forward_each(self, data: dict) -> Dict[str, Any]:
        """Test images of different sizes (mmseg asserts one size): each is
        prepared alone, then padded to the largest of them."""
        samples = data.get('data_samples')
        if samples is None:
            raise ValueError(
                'test images of different sizes need their data samples '
                '(the padding of each is recorded there to crop its '
                'prediction back)')
        outs = [
            self.forward(dict(inputs=[x], data_samples=[s]))
            for x, s in zip(data['inputs'], samples)
        ]
        h = max(out['inputs'].shape[-2] for out in outs)
        w = max(out['inputs'].shape[-1] for out in outs)
        outs = [self._pad(out, h, w, training=False) for out in outs]
        return dict(
            inputs=torch.cat([out['inputs'] for out in outs]),
            data_samples=[out['data_samples'][0] for out in outs])

    def _pad(self, out: dict, h: int, w: int, training: bool) -> dict:
        """Pad ``out``'s inputs at the bottom/right to (h, w), recording
        the padding; training labels (stacked at the input's size) too.
        Test labels stay at the original image size, as in mmseg."""
        inputs, samples = out['inputs'], out['data_samples']
        in_h, in_w = inputs.shape[-2:]
        pad_h, pad_w = h - in_h, w - in_w
        if not (pad_h or pad_w):
            return out
        out['inputs'] = F.pad(inputs, (0, pad_w, 0, pad_h), value=self.pad_val)
        # stack_batch records 'padding_size' in training, 'img_padding_size'
        # at test time; mmseg crops predictions by the latter
        key = 'padding_size' if training else 'img_padding_size'
        for sample in samples or ():
            left, right, top, bottom = sample.metainfo.get(key, (0, 0, 0, 0))
            sample.set_metainfo({
                'pad_shape': (h, w),
                'batch_input_shape': (h, w),
                key: [left, right + pad_w, top, bottom + pad_h]
            })
            if training and 'gt_sem_seg' in sample:
                seg = F.pad(sample.gt_sem_seg.data, (0, pad_w, 0, pad_h),
                            value=self.seg_pad_val)
                sample.gt_sem_seg = PixelData(data=seg)
        return out
