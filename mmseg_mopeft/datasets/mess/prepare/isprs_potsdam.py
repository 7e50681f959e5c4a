"""ISPRS Potsdam: 38 true orthophoto tiles (6000x6000, 5 cm) with colour
labels.

Raw layout (Potsdam.zip from the ISPRS benchmark, inner zips unpacked; the
labels of ``5_Labels_all.zip`` into ``Labels/``, as MESS does)::

    ISPRS_Potsdam/3_Ortho_IRRG/top_potsdam_<X>_<Y>_IRRG.tif
    ISPRS_Potsdam/2_Ortho_RGB/top_potsdam_<X>_<Y>_RGB.tif
    ISPRS_Potsdam/Labels/top_potsdam_<X>_<Y>_label.tif

Input: ``composite='irrg'`` (default) writes the near-infrared/red/green
product, the input MESS evaluates; ``composite='rgb'`` writes the RGB
orthophoto instead (only that composite's folder is required). Write the
two into different output folders to keep both: a run with the other
composite into the same folder replaces the first one's output.

Splits: the 24 tiles the benchmark released for training are train minus
``carve(.., 0.1, seed=0)`` (2 tiles) as val; MESS's 14 test tiles (the
rest) are test. Every one of the 38 must be present with its label.

Labels: each channel is binarised at > 128 first (some label tiles have
graded edges, MESS does the same), then white 0 impervious surfaces
("road"), blue 1 building, cyan 2 low vegetation ("grass"), green 3 tree,
yellow 4 car, red 5 clutter ("others"). The two remaining binarised colours
become 255: magenta (MESS too) and black, which MESS turns into 0 "road"
by keeping the red channel; black is no class in Potsdam (it marks the
ignored boundaries in the eroded "noBoundary" labels). Their pixels are
counted per colour in ``meta.json`` and warned about.

Tiling: 1024 px after splitting (6x6 tiles, the last row/column padded).
"""
import os.path as osp

import mmcv
import numpy as np

from .base import (PREPARERS, MESSPreparer, RawDataError, carve, files_by_stem,
                   note_ignored, pair_by_stem)

TRAIN = tuple(f'top_potsdam_{xy}' for xy in (
    '2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11', '4_12',
    '5_10', '5_11', '5_12', '6_7', '6_8', '6_9', '6_10', '6_11', '6_12',
    '7_7', '7_8', '7_9', '7_10', '7_11', '7_12'))
TEST = tuple(f'top_potsdam_{xy}' for xy in (
    '2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15', '5_13', '5_14',
    '5_15', '6_13', '6_14', '6_15', '7_13'))
# (R, G, B) after binarisation -> class id
COLOURS = {
    (255, 255, 255): 0,  # impervious surfaces
    (0, 0, 255): 1,  # building
    (0, 255, 255): 2,  # low vegetation
    (0, 255, 0): 3,  # tree
    (255, 255, 0): 4,  # car
    (255, 0, 0): 5,  # clutter / background
}
_LUT = np.full(8, 255, np.uint8)  # indexed by the bits 4 * R + 2 * G + B
_LUT[[4 * (r > 0) + 2 * (g > 0) + (b > 0) for r, g, b in COLOURS]] = list(
    COLOURS.values())
COMPOSITES = dict(irrg=('3_Ortho_IRRG', '_IRRG'), rgb=('2_Ortho_RGB', '_RGB'))


@PREPARERS.register_module(name='isprs_potsdam')
class ISPRSPotsdam(MESSPreparer):
    key = 'isprs_potsdam'
    raw_name = 'ISPRS_Potsdam'
    download = ('https://www.isprs.org/education/benchmarks/UrbanSemLab/'
                'default.aspx (Potsdam, on request)')
    tile_size = 1024

    def __init__(self, composite: str = 'irrg'):
        if composite not in COMPOSITES:
            raise ValueError(f'composite must be one of {list(COMPOSITES)}, '
                             f'not {composite!r}')
        self.composite = composite
        self.folder, self.suffix = COMPOSITES[composite]
        self.required = (self.folder, 'Labels')
        self.split_policy = (
            f'Official split ({composite} images): the 24 released train '
            'tiles less 2 (carve 0.1, seed 0) for val are train; MESS\'s 14 '
            'test tiles are test; split by source tile, then tiled 1024.')

    def collect(self, raw):
        images, labels = (
            files_by_stem(osp.join(raw, folder), end)
            for folder, end in ((self.folder, self.suffix + '.tif'),
                                ('Labels', '_label.tif')))
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        by_id = {p.stem: p for p in pairs}
        absent = [i for i in TRAIN + TEST if i not in by_id]
        if absent:
            raise RawDataError(
                f'{self.key}: no {self.folder} image and label pair for '
                f'{absent} under {raw!r}; get Potsdam from {self.download}')
        unpaired['not_in_any_split'] = sorted(set(by_id) - set(TRAIN + TEST))
        train, val = carve([by_id[i] for i in TRAIN], 0.1, seed=0)
        return dict(train=train, val=val, test=[by_id[i] for i in TEST],
                    unpaired=unpaired)

    def read_label(self, path):
        bits = (mmcv.imread(path, flag='color') > 128).view(np.uint8)
        code = bits[..., 2] << 2 | bits[..., 1] << 1 | bits[..., 0]
        counts = np.bincount(code.ravel(), minlength=8)
        for c in np.flatnonzero((_LUT == 255) & (counts > 0)):
            colour = tuple(255 * (c >> k & 1) for k in (2, 1, 0))
            note_ignored(path, colour, counts[c])
        return _LUT[code]
