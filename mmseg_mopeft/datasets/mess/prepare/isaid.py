"""iSAID: DOTA-v1.0 aerial images with iSAID's semantic colour masks.

Raw layout (the DOTA image zips and iSAID's ``Semantic_masks`` zips unpacked
below the split they belong to)::

    isaid/train/**/P<NNNN>.png                        DOTA train images
    isaid/train/**/P<NNNN>_instance_color_RGB.png     iSAID semantic masks
    isaid/val/**/...                                  the same for val

Files are found at any depth below ``<split>/`` and below MESS's
``raw_<split>/`` mask folder, so the devkit layout (masks next to the
images), the zips' own ``images/`` folders and MESS's layout all work;
``*_instance_id_RGB.png`` (instance masks) are not used.

Splits: MESS evaluates on the official val split (458 images, 4055 tiles),
so it is our ``test``; our ``val`` is ``carve(train, 0.1, seed=0)`` of the
1411 official train images (iSAID's test labels are not public).

Labels: one RGB colour per class (table below, iSAID's official names in
comments; the class names are MESS's). A colour outside the table becomes
255 (ignore), counted per colour in ``meta.json`` and warned about; MESS
would keep its red value, which is 0 (= "others") for
every colour with red 0, so the two agree on masks holding table colours
only. The lookup works on row blocks: DOTA images reach ~20000 px a side.

Tiling: 1024 px, after splitting, so the tiles of one image share a split.
"""
import os
import os.path as osp
import re

import mmcv

from .base import (PREPARERS, MESSPreparer, RawDataError, carve,
                   colours_to_ids, pair_by_stem)

# (R, G, B) -> class id
COLOURS = {
    (0, 0, 0): 0,  # unlabelled / others
    (0, 0, 63): 1,  # ship
    (0, 63, 63): 2,  # storage tank
    (0, 63, 0): 3,  # baseball diamond
    (0, 63, 127): 4,  # tennis court
    (0, 63, 191): 5,  # basketball court
    (0, 63, 255): 6,  # ground track field
    (0, 127, 63): 7,  # bridge
    (0, 127, 127): 8,  # large vehicle
    (0, 0, 127): 9,  # small vehicle
    (0, 0, 191): 10,  # helicopter
    (0, 0, 255): 11,  # swimming pool
    (0, 191, 127): 12,  # roundabout
    (0, 127, 191): 13,  # soccer ball field
    (0, 127, 255): 14,  # plane
    (0, 100, 155): 15,  # harbor
}
_IMAGE = re.compile(r'(P\d+)\.png')
_MASK = re.compile(r'(P\d+)_instance_color_RGB\.png')


@PREPARERS.register_module(name='isaid')
class ISAID(MESSPreparer):
    key = 'isaid'
    raw_name = 'isaid'
    download = 'https://captain-whu.github.io/iSAID/dataset.html'
    required = ('train', 'val')
    tile_size = 1024
    split_policy = (
        'Official split: official val (MESS\'s evaluation set) is test; a '
        'seeded 10% of the official train images (carve, seed 0) is val, '
        'the rest train; split by source image, then tiled 1024.')

    def _scan(self, raw, split):
        found = ({}, {})  # images, masks by DOTA id
        for top in (split, f'raw_{split}'):
            for root, _, names in sorted(os.walk(osp.join(raw, top))):
                for name in sorted(names):
                    for kind, pattern in enumerate((_IMAGE, _MASK)):
                        match = pattern.fullmatch(name)
                        if match:
                            found[kind].setdefault(match.group(1),
                                                   osp.join(root, name))
        lacking = [what for what, files in zip(
            ('DOTA images P*.png', 'semantic masks P*_instance_color_RGB.png'),
            found) if not files]
        if lacking:
            raise RawDataError(
                f'{self.key}: no {" and no ".join(lacking)} below '
                f'{osp.join(raw, split)} (or {osp.join(raw, "raw_" + split)})'
                f'; get the {split} images (DOTA-v1.0) and iSAID\'s '
                f'Semantic_masks from {self.download}')
        return found

    def collect(self, raw):
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in ('train', 'val'):
            splits[split], _ = pair_by_stem(*self._scan(raw, split),
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        train, val = carve(splits['train'], 0.1, seed=0)
        return dict(train=train, val=val, test=splits['val'],
                    unpaired=unpaired)

    def read_label(self, path):
        return colours_to_ids(mmcv.imread(path, flag='color'), COLOURS, path)
