"""DeepCrack (yhlleo/DeepCrack, ``dataset/DeepCrack.zip``).

Labels: crack wherever the label is non-zero. The masks are 0/255, but some
of the test masks are 1-bit PNGs that PIL reads as booleans; MESS's
``value / 255`` would turn their cracks into background, so we test for
non-zero instead (the same result on the 8-bit 0/255 masks). Labels are read
with PIL; palette masks are first resolved to their colours, because a
palette index is not an intensity.

Splits: the official train_img/train_lab (300) minus a seeded 10% (carve
seed 0) that is our val; test = test_img/test_lab (237), MESS's test set.
The test split alone can be prepared with ``--test-only``.

Images: the JPEGs are copied as distributed.
"""
import os.path as osp

import numpy as np
from PIL import Image

from .base import PREPARERS, MESSPreparer, carve, files_by_stem, pair_by_stem


@PREPARERS.register_module(name='deepcrack')
class DeepCrack(MESSPreparer):
    key = 'deepcrack'
    raw_name = 'DeepCrack'
    download = ('https://github.com/yhlleo/DeepCrack (unzip '
                'dataset/DeepCrack.zip from the repository)')
    required = ('train_img', 'train_lab', 'test_img', 'test_lab')
    test_required = ('test_img', 'test_lab')
    split_policy = (
        'train = official train_img/train_lab (300) minus a seeded 10% '
        '(carve seed 0) that is our val; test = official test_img/test_lab '
        '(237), the MESS test set.')

    def collect(self, raw):
        splits = dict(
            unpaired=dict(images_without_label=[], labels_without_image=[]))
        for split in ('train', 'test'):
            images = files_by_stem(osp.join(raw, f'{split}_img'), '.jpg')
            labels = files_by_stem(osp.join(raw, f'{split}_lab'), '.png')
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}',
                                            splits['unpaired'], f'{split}/')
        splits['train'], splits['val'] = carve(splits['train'], 0.1, seed=0)
        return splits

    def read_label(self, path):
        with Image.open(path) as mask:
            if mask.mode in ('P', 'PA', 'LA', 'RGBA'):
                mask = mask.convert('RGB')  # colours, no alpha
            values = np.asarray(mask)
        if values.ndim == 3:
            values = values.any(axis=-1)
        return (values != 0).astype(np.uint8)
