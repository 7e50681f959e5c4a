import logging
from typing import Dict, Optional

import mmcv
import numpy as np
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

LABEL_INFO_KEY = 'label_info'  # set per sample by label_info.py
_SHOWN = 10  # values quoted in a message


class LabelError(ValueError):
    """A label file that does not hold class ids of its dataset."""


@TRANSFORMS.register_module()
class LoadCheckedAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations``, refusing labels that are not class ids.

    mmseg casts every label to uint8 and squeezes it: a 16-bit value 257
    becomes class 1, 7 in a 2-class dataset passes unnoticed, an RGB mask is
    kept as three channels. Here a label must be single-channel, have its
    image's size, and hold only the dataset's class ids ``0..K-1`` or its
    ignore index (after ``reduce_zero_label`` and the dataset's
    ``label_map``, exactly as mmseg maps them); anything else raises a
    ``LabelError`` naming the file and the values.

    Args:
        num_classes: K; default: the sample's dataset (``label_info``).
        ignore_index: default: the dataset's (255 in mmseg).
        invalid_to_ignore: map values that are not class ids to the ignore
            index instead of failing; each such file is logged with counts.
        Others: as ``LoadAnnotations``.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 ignore_index: Optional[int] = None,
                 invalid_to_ignore: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.invalid_to_ignore = invalid_to_ignore

    def _label_info(self, results: dict) -> Dict:
        info = dict(results.get(LABEL_INFO_KEY) or {})
        if self.num_classes is not None:
            info['num_classes'] = self.num_classes
        if self.ignore_index is not None:
            info['ignore_index'] = self.ignore_index
        if info.get('num_classes') is None:
            raise LabelError(
                f'{results.get("seg_map_path")}: {type(self).__name__} does '
                f'not know the number of classes: the sample does not come '
                f'from an mmseg BaseSegDataset; set num_classes= in the '
                f'pipeline.')
        info.setdefault('ignore_index', 255)
        info.setdefault('dataset', 'the dataset')
        return info

    def _read(self, path: str) -> np.ndarray:
        raw = mmcv.imfrombytes(
            fileio.get(path, backend_args=self.backend_args),
            flag='unchanged',
            backend=self.imdecode_backend)
        if raw.dtype == bool:  # 1-bit PNG
            raw = raw.astype(np.uint8)
        if raw.ndim == 3 and raw.shape[2] == 1:
            raw = raw[..., 0]
        if raw.ndim != 2:
            raise LabelError(
                f'{path}: label has shape {raw.shape}; expected one channel '
                f'of class ids (H, W). A colour-coded (RGB) mask must be '
                f'converted to class ids first (see the dataset\'s '
                f'converter).')
        if not np.issubdtype(raw.dtype, np.integer):
            raise LabelError(f'{path}: label holds {raw.dtype} values; '
                             f'expected integer class ids.')
        return raw

    def _mapped(self, values: np.ndarray, results: dict) -> np.ndarray:
        """What mmseg turns each raw value into (reduce_zero_label, then the
        dataset's label_map), for values that fit uint8."""
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label != results['reduce_zero_label']:
            raise ValueError(
                f'{type(self).__name__}: reduce_zero_label='
                f'{self.reduce_zero_label} but the dataset uses '
                f'{results["reduce_zero_label"]}')
        mapped = values.astype(np.int64)
        if self.reduce_zero_label:
            mapped = np.where(mapped == 0, 255, mapped - 1)
            mapped[mapped == 254] = 255
        label_map = results.get('label_map') or {}
        if label_map:
            mapped = np.array([label_map.get(int(v), int(v)) for v in mapped],
                              dtype=np.int64)
        return mapped

    def transform(self, results: dict) -> dict:
        # mmseg's inference APIs (MMSegInferencer, inference_model) drop
        # 'LoadAnnotations' from the test pipeline by name; a sample without
        # a label path (an image to predict) passes here the same way
        if 'seg_map_path' not in results:
            return results
        return super().transform(results)

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        info = self._label_info(results)
        raw = self._read(path)
        ori_shape = results.get('ori_shape')
        if ori_shape is not None and tuple(raw.shape) != tuple(ori_shape[:2]):
            raise LabelError(
                f'{path}: label is {raw.shape[0]}x{raw.shape[1]} (HxW) but '
                f'its image {results.get("img_path")} is {ori_shape[0]}x'
                f'{ori_shape[1]}; a label must have its image\'s size.')
        if raw.dtype == np.uint8:
            counts = np.bincount(raw.ravel(), minlength=256)
            values = np.flatnonzero(counts)
            counts = counts[values]
            inverse = None
        else:
            values, inverse, counts = np.unique(
                raw, return_inverse=True, return_counts=True)
        fits = (values >= 0) & (values <= 255)
        mapped = np.full(values.shape, -1, np.int64)
        mapped[fits] = self._mapped(values[fits], results)
        num_classes, ignore = info['num_classes'], info['ignore_index']
        valid = ((mapped >= 0) & (mapped < num_classes)) | (mapped == ignore)
        if not valid.all():
            mapped = self._invalid(path, raw.dtype, info, values[~valid],
                                   counts[~valid], mapped, valid)
        if inverse is None:
            lut = np.zeros(256, np.uint8)
            lut[values] = mapped
            label = lut[raw]
        else:
            label = mapped.astype(np.uint8)[inverse.reshape(raw.shape)]
        results['gt_seg_map'] = label
        results['seg_fields'].append('gt_seg_map')

    def _invalid(self, path, dtype, info, values, counts, mapped, valid):
        num_classes, ignore = info['num_classes'], info['ignore_index']
        found = ', '.join(f'{v} ({c} px)'
                          for v, c in zip(values[:_SHOWN], counts[:_SHOWN]))
        if len(values) > _SHOWN:
            found += f', ... ({len(values) - _SHOWN} more values)'
        what = (f'{path}: label values {found} are neither class ids '
                f'0..{num_classes - 1} of {info["dataset"]} ({num_classes} '
                f'classes) nor its ignore index {ignore}')
        if self.invalid_to_ignore:
            print_log(
                f'{what}; {int(counts.sum())} pixels set to ignore '
                f'(invalid_to_ignore=True).',
                logger='current',
                level=logging.WARNING)
            return np.where(valid, mapped, ignore)
        hint = ''
        if (values > 255).any():
            hint = (f' The file holds {dtype} values; mmseg\'s '
                    f'LoadAnnotations would have cut them to 8 bits (257 '
                    f'becomes 1).')
        raise LabelError(
            what + '.' + hint + ' Fix the label file or the dataset\'s '
            'classes, or set invalid_to_ignore=True on '
            'LoadCheckedAnnotations to treat such values as ignore.')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, invalid_to_ignore='
                f'{self.invalid_to_ignore}, reduce_zero_label='
                f'{self.reduce_zero_label}, imdecode_backend='
                f"'{self.imdecode_backend}')")
