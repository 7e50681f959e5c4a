import os.path as osp

import mmcv
import numpy as np

from .base import PREPARERS, MESSPreparer, carve, files_by_stem, pair_by_stem

_MASKS = ('Annotator 1 (biologist second round of manual marks up)/'
          'Annotator 1 (biologist second round of manual marks up)/'
          'mask binary')


@PREPARERS.register_module(name='cryonuseg')
class CryoNuSeg(MESSPreparer):
    """30 H&E crops (tissue images/*.tif) with annotator 1's second-round
    binary masks (nuclei = 255), as MESS uses them."""
    key = 'cryonuseg'
    raw_name = 'CryoNuSeg'
    download = ('https://www.kaggle.com/datasets/ipateam/'
                'segmentation-of-nuclei-in-cryosectioned-he-images')
    required = ('tissue images', _MASKS)
    split_policy = (
        'No labelled training data exists (MESS tests on all 30 images): a '
        'seeded split of the 30 into 18 train / 6 val / 6 test, so test '
        'numbers are not comparable with MESS\'s full 30-image test set.')

    def collect(self, raw):
        images = files_by_stem(osp.join(raw, 'tissue images'), '.tif')
        labels = files_by_stem(osp.join(raw, _MASKS), '.png')
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        rest, test = carve(pairs, 0.2, seed=0)
        train, val = carve(rest, 0.25, seed=1)
        return dict(train=train, val=val, test=test, unpaired=unpaired)

    def read_label(self, path):
        mask = mmcv.imread(path, flag='unchanged')
        if mask.ndim == 3:
            mask = mask[..., 0]
        # MESS: value / 255 truncated, i.e. only 255 is nuclei
        return (mask == 255).astype(np.uint8)
