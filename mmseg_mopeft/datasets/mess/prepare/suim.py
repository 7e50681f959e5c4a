"""SUIM underwater imagery (TEST.zip and train_val.zip from the SUIM page).

Labels: RGB colour-coded BMP masks. Each channel is thresholded at 128
(value >= 128 is "on", as SUIM's own loader does with ``> 0.5`` after
dividing by 255), then the colour table applies: black 0 background, blue 1
diver, green 2 plants, cyan 3 wrecks, red 4 robots, magenta 5 reefs, yellow
6 fish, white 7 sea-floor. The table covers all eight on/off combinations,
so the class is 4 R + 2 G + B and no pixel is left out. MESS matches colours
exactly and fails on anything else; the TEST masks are exact, so both agree
there, while train_val masks have off-palette colours at region borders.
Masks go through PIL's RGB conversion, so palette or 32-bit BMPs work too.
The per-class binary masks in ``masks/<FV|HD|...>/`` subfolders are unused.

Splits: train_val (1525, no official division) minus a seeded 10% (carve
seed 0) that is our val; test = TEST (110), MESS's test set. With TEST.zip
alone, prepare test-only (``--test-only``).

Images: the JPEGs are copied as distributed.
"""
import os.path as osp

import numpy as np
from PIL import Image

from .base import PREPARERS, MESSPreparer, carve, files_by_stem, pair_by_stem


@PREPARERS.register_module(name='suim')
class SUIM(MESSPreparer):
    key = 'suim'
    raw_name = 'SUIM'
    download = ('https://irvlab.cs.umn.edu/resources/suim-dataset (TEST.zip '
                'and train_val.zip, both unzipped into one SUIM folder)')
    required = ('TEST/images', 'TEST/masks', 'train_val/images',
                'train_val/masks')
    test_required = ('TEST/images', 'TEST/masks')  # TEST.zip alone
    split_policy = (
        'train = official train_val (1525) minus a seeded 10% (carve seed 0) '
        'that is our val; test = official TEST (110), the MESS test set.')

    def collect(self, raw):
        splits = dict(
            unpaired=dict(images_without_label=[], labels_without_image=[]))
        for split, folder in (('train', 'train_val'), ('test', 'TEST')):
            images = files_by_stem(osp.join(raw, folder, 'images'), '.jpg')
            labels = files_by_stem(osp.join(raw, folder, 'masks'), '.bmp')
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {folder}',
                                            splits['unpaired'], f'{folder}/')
        splits['train'], splits['val'] = carve(splits['train'], 0.1, seed=0)
        return splits

    def read_label(self, path):
        with Image.open(path) as mask:
            on = np.asarray(mask.convert('RGB')) >= 128
        return (4 * on[..., 0] + 2 * on[..., 1] + on[..., 2]).astype(np.uint8)
