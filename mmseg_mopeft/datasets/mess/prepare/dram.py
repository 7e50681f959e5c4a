"""DRAM (art paintings, PASCAL VOC classes).

Labels: ``labels/<folder>/<name>.png`` holds PASCAL VOC class ids (255 =
void), read through PIL so a palette PNG gives its indices (cv2 would give
colours). As in MESS, the 11 VOC classes DRAM annotates become 0..10 (bird,
boat, bottle, cat, chair, cow, dog, horse, person, potted plant, sheep), VOC
background and the VOC classes DRAM does not annotate become 11
(background), 255 stays 255 (counted in ``meta.json``); an id in 21..254
is no VOC id: an error naming the file.

Outputs are named ``<folder>_<name>`` (MESS's naming: names repeat across
artists). Pairing uses paths relative to ``test``/``labels``, not MESS's
string replacement of 'test' in the full path.

Splits: only the test paintings are labelled (train holds unlabelled
paintings for VOC transfer). The labelled ones are split by a seeded carve:
20% test (seed 0), then 25% of the rest val (seed 1), i.e. 60/20/20.
Images are read as stored (EXIF orientation not applied).
"""
import glob
import os.path as osp

import numpy as np
from PIL import Image

from .base import PREPARERS, MESSPreparer, carve, lookup, pair_by_stem

# VOC id -> DRAM class; every other VOC id (0..20) is background (11)
_VOC_TO_DRAM = {3: 0, 4: 1, 5: 2, 8: 3, 9: 4, 10: 5, 12: 6, 13: 7, 15: 8,
                16: 9, 17: 10}
_BACKGROUND = 11
_LUT = np.full(256, 255, np.uint8)
_LUT[:21] = _BACKGROUND
_LUT[list(_VOC_TO_DRAM)] = list(_VOC_TO_DRAM.values())


def _by_stem(folder, suffix):
    return {
        f'{osp.basename(osp.dirname(p))}_{osp.basename(p)[:-len(suffix)]}': p
        for p in glob.glob(osp.join(folder, '*', '*' + suffix))
    }


@PREPARERS.register_module(name='dram')
class DRAM(MESSPreparer):
    key = 'dram'
    raw_name = 'DRAM_processed'
    download = ('https://faculty.runi.ac.il/arik/site/artseg/Dram-Dataset.html'
                ' (DRAM_processed.zip holds DRAM_processed.rar; extract it '
                'with unrar)')
    required = ('test', 'labels')
    split_policy = (
        'No labelled training data exists (MESS tests on all 718 labelled '
        'paintings): a seeded split of the labelled paintings into 60% train '
        '/ 20% val / 20% test, so test numbers are not comparable with '
        'MESS\'s full test set.')

    def collect(self, raw):
        images = _by_stem(osp.join(raw, 'test'), '.jpg')
        labels = _by_stem(osp.join(raw, 'labels'), '.png')
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        rest, test = carve(pairs, 0.2, seed=0)
        train, val = carve(rest, 0.25, seed=1)
        return dict(train=train, val=val, test=test, unpaired=unpaired)

    def read_label(self, path):
        with Image.open(path) as img:
            voc = np.array(img)
        if voc.ndim != 2:
            raise ValueError(f'{self.key}: {path} is not a single-channel or '
                             f'palette PNG (shape {voc.shape})')
        return lookup(voc, _LUT, path, void=(255, ))
