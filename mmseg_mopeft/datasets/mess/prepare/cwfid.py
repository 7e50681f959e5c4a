"""CWFID, the Crop/Weed Field Image Dataset (git clone of cwfid/dataset).

Labels: ``annotations/<NNN>_annotation.png`` is RGB with black soil, green
(0, 255, 0) and red (255, 0, 0) plants. The polygon files next to them
(``<NNN>_annotation.yaml``, type crop or weed) show green = crop and red =
weed: over all 60 images, 99.9% of the green pixels inside a polygon are in
crop polygons and 99.98% of the red ones in weed polygons. MESS maps red to
1 and green to 2 while naming 1 'crop seedling' and 2 'weed', i.e. its names
are swapped relative to the data. We keep MESS's class order and names and
follow the data: black -> 0 ground, green (crop) -> 1 'crop seedling', red
(weed) -> 2 'weed'. Any other colour is an error naming the file. Our
class 1 holds the pixels of MESS's class 2 and vice versa, so MESS's
test numbers are not directly comparable with ours for this dataset.

Splits: ``train_test_split.yaml``. Id 28 is in both lists; it stays in test
(MESS's 21 test images) and is dropped from train, leaving 39 train ids, of
which a seeded 10% (carve seed 0) is our val. Ids in neither list, or
listed without files, are reported in ``unpaired``.
"""
import os.path as osp

import numpy as np
import yaml
from mmengine.logging import print_log
from PIL import Image

from .base import PREPARERS, MESSPreparer, carve, files_by_stem, pair_by_stem

# RGB colour -> class id (MESS names: 0 ground, 1 crop seedling, 2 weed)
COLOURS = {(0, 0, 0): 0, (0, 255, 0): 1, (255, 0, 0): 2}


@PREPARERS.register_module(name='cwfid')
class CWFID(MESSPreparer):
    key = 'cwfid'
    raw_name = 'cwfid'
    download = 'https://github.com/cwfid/dataset (git clone ... cwfid)'
    required = ('images', 'annotations', 'train_test_split.yaml')
    split_policy = (
        'train = the 40 ids of train_test_split.yaml minus id 28 (also in '
        'its test list, kept in test) minus a seeded 10% (carve seed 0) that '
        'is our val; test = its 21 test ids, the MESS test set.')

    def collect(self, raw):
        with open(osp.join(raw, 'train_test_split.yaml')) as f:
            lists = yaml.safe_load(f)
        test_ids = {f'{int(i):03d}' for i in lists['test']}
        train_ids = {f'{int(i):03d}' for i in lists['train']}
        if train_ids & test_ids:
            print_log(f'{self.key}: ids {sorted(train_ids & test_ids)} are in '
                      'both official lists; kept in test only',
                      logger='current')
        train_ids -= test_ids
        pairs, unpaired = pair_by_stem(
            files_by_stem(osp.join(raw, 'images'), '_image.png'),
            files_by_stem(osp.join(raw, 'annotations'), '_annotation.png'),
            self.key)
        paired = {p.stem for p in pairs}
        unpaired['in_no_split'] = sorted(paired - train_ids - test_ids)
        unpaired['listed_without_pair'] = sorted(
            (train_ids | test_ids) - paired)
        train = [p for p in pairs if p.stem in train_ids]
        test = [p for p in pairs if p.stem in test_ids]
        train, val = carve(train, 0.1, seed=0)
        return dict(train=train, val=val, test=test, unpaired=unpaired)

    def read_label(self, path):
        with Image.open(path) as mask:
            rgb = np.asarray(mask.convert('RGB'))
        code = (rgb[..., 0].astype(np.int32) << 16) | (
            rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
        label = np.full(code.shape, 255, np.uint8)
        for (r, g, b), class_id in COLOURS.items():
            label[code == (r << 16 | g << 8 | b)] = class_id
        if (label == 255).any():
            y, x = np.argwhere(label == 255)[0]
            colour = tuple(int(v) for v in rgb[y, x])
            raise ValueError(f'{self.key}: {path} has colour {colour} at '
                             f'(x={x}, y={y}), none of {list(COLOURS)}')
        return label
