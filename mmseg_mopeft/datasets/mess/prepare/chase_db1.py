import glob
import os.path as osp
import re

import numpy as np
from PIL import Image

from .base import PREPARERS, MESSPreparer, pair_by_stem

_NAME = re.compile(r'^Image_(\d+)[LR]$')


@PREPARERS.register_module(name='chase_db1')
class ChaseDB1(MESSPreparer):
    """28 retinal fundus photos (Image_<child><L|R>.jpg, 14 children) with
    the first observer's vessel masks (<stem>_1stHO.png); 2ndHO is unused.

    Labels: vessel = any non-zero value -> 1. MESS casts the mask without
    rescaling, which is right only when the PNG decodes as 1-bit (0/1); an
    8-bit 0/255 copy would put every vessel pixel on the ignore value 255.
    Reading "non-zero" gives 0/1 for 1-bit, 8-bit and palette masks.

    No official split exists. MESS tests on children 05-14 and never uses
    children 01-04; we keep that test set (so test numbers compare with
    MESS) and split the 8 left-out images by child, so a child's two eyes
    never land in different splits.
    """
    key = 'chase_db1'
    raw_name = 'CHASEDB1'
    download = 'https://blogs.kingston.ac.uk/retinal/chasedb1/'
    # all 28 photos and their first-observer masks
    required = tuple(f'Image_{child:02d}{eye}{end}' for child in range(1, 15)
                     for eye in 'LR' for end in ('.jpg', '_1stHO.png'))
    dev_children = 4  # children 01..04 are the ones MESS leaves out
    val_children = (4, )
    split_policy = (
        'No official split: test = MESS\'s test set (children 05-14, '
        'Image_05L..Image_14R, 20 images), so test numbers compare with '
        'MESS; the 8 images MESS leaves out are split by child: train = '
        'children 01-03 (6 images), val = child 04 (2 images). Not the '
        'literature split (first 20 train / last 8 test).')

    def collect(self, raw):
        images, labels = {}, {}
        for path in glob.glob(osp.join(raw, 'Image_*.jpg')):
            stem = osp.splitext(osp.basename(path))[0]
            if _NAME.match(stem):
                images[stem] = path
        for path in glob.glob(osp.join(raw, 'Image_*_1stHO.png')):
            stem = osp.basename(path)[:-len('_1stHO.png')]
            if _NAME.match(stem):
                labels[stem] = path
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        splits = dict(train=[], val=[], test=[])
        for pair in pairs:
            child = int(_NAME.match(pair.stem).group(1))
            split = 'test' if child > self.dev_children else (
                'val' if child in self.val_children else 'train')
            splits[split].append(pair)
        return dict(**splits, unpaired=unpaired)

    def read_label(self, path):
        with Image.open(path) as mask:
            if mask.mode not in ('1', 'L', 'I', 'I;16'):
                mask = mask.convert('L')  # palette/RGB: the colour shown
            values = np.array(mask)
        return (values > 0).astype(np.uint8)
