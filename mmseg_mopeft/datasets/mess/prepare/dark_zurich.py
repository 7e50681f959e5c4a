"""Dark Zurich: the 50 labelled night frames of the val release.

Labels: ``<frame>_gt_labelIds.png`` holds Cityscapes label ids. Pixels whose
``<frame>_gt_invGray.png`` value is 255 (regions too dark to recognise) are
ignored; then label id 0 becomes MESS's class 0 'unlabeled' and the ids of the
19 Cityscapes train classes become 1..19 (= trainId + 1). MESS's converter
fails on any other id; we map the other Cityscapes label ids (0..33: void
ids such as ego vehicle, and classes Cityscapes does not train on) to 255,
as Cityscapes' own trainIds do, counted in ``meta.json`` and warned about;
255 stays 255 (MESS too), invalid pixels are counted with it. A value
outside 0..33 and 255 is no Cityscapes label id: an error naming the file.
Both masks are read through PIL.

Splits: the only labelled frames are MESS's 50-frame test set (train is
unlabelled). All come from one recording (GOPR0356), where nearby frames look
alike, so a random split would put near-identical views into train and test;
instead the frames, sorted by frame number, are cut into blocks: first 60%
train, next 20% val, last 20% test (30 / 10 / 10).
"""
import glob
import os.path as osp

import numpy as np
from mmengine.logging import print_log
from PIL import Image

from .base import PREPARERS, MESSPreparer, lookup, pair_by_stem

_IMAGE, _IDS, _INVALID = '_rgb_anon.png', '_gt_labelIds.png', '_gt_invGray.png'
# Cityscapes label ids of MESS's classes 0..19
_LABEL_IDS = (0, 7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27,
              28, 31, 32, 33)
_LUT = np.full(256, 255, np.uint8)
_LUT[list(_LABEL_IDS)] = np.arange(len(_LABEL_IDS))
# the other Cityscapes label ids: valid, but no MESS class
_NO_CLASS = tuple(sorted(set(range(34)) - set(_LABEL_IDS)))


def _by_stem(pattern, suffix):
    return {
        osp.basename(p)[:-len(suffix)]: p
        for p in glob.glob(pattern + suffix, recursive=True)
    }


def _read(path):
    with Image.open(path) as img:
        array = np.array(img)
    if array.ndim != 2:
        raise ValueError(f'dark_zurich: {path} is not a single-channel PNG '
                         f'(shape {array.shape})')
    return array


@PREPARERS.register_module(name='dark_zurich')
class DarkZurich(MESSPreparer):
    key = 'dark_zurich'
    raw_name = 'Dark_Zurich'
    download = ('https://www.trace.ethz.ch/publications/2019/GCMA_UIoU/ '
                '(Dark_Zurich_val_anon.zip)')
    required = ('rgb_anon/val/night', 'gt/val/night')
    split_policy = (
        'No labelled training data exists (MESS tests on the 50 labelled val '
        'frames): the frames sorted by frame number are cut into contiguous '
        'blocks, first 60% train / next 20% val / last 20% test (30/10/10), '
        'so test numbers are not comparable with MESS\'s full 50-frame set.')

    def collect(self, raw):
        images = _by_stem(osp.join(raw, 'rgb_anon', 'val', '**', '*'), _IMAGE)
        ids = _by_stem(osp.join(raw, 'gt', 'val', '**', '*'), _IDS)
        invalid = _by_stem(osp.join(raw, 'gt', 'val', '**', '*'), _INVALID)
        labels = {s: (p, invalid[s]) for s, p in ids.items() if s in invalid}
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        unpaired['label_ids_without_invalid_mask'] = sorted(
            set(ids) - set(invalid))
        if unpaired['label_ids_without_invalid_mask']:
            print_log(f'{self.key}: no {_INVALID} for '
                      f'{unpaired["label_ids_without_invalid_mask"]}',
                      logger='current', level=30)
        pairs.sort(key=lambda p: p.stem)  # frame order
        n_test = n_val = round(len(pairs) * 0.2)
        n_train = len(pairs) - n_val - n_test
        return dict(train=pairs[:n_train],
                    val=pairs[n_train:n_train + n_val],
                    test=pairs[n_train + n_val:],
                    unpaired=unpaired)

    def read_label(self, label):
        ids_path, invalid_path = label
        ids, invalid = _read(ids_path), _read(invalid_path)
        if invalid.shape != ids.shape:
            raise ValueError(f'{self.key}: {invalid_path} is '
                             f'{invalid.shape}, {ids_path} {ids.shape}')
        return lookup(np.where(invalid == 255, 255, ids), _LUT, ids_path,
                      void=(255, ), no_class=_NO_CLASS)
