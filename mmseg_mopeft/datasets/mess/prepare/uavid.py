"""UAVid v1.5: oblique 4K UAV video frames with RGB colour labels.

Raw layout (``uavid_v1.5_official_release_image.zip`` unpacked, its inner
folder lifted one level as MESS does)::

    uavid_v1.5/uavid_{train,val}/seq<N>/Images/<frame>.png
    uavid_v1.5/uavid_{train,val}/seq<N>/Labels/<frame>.png   (RGB colours)

``uavid_test`` has no labels and is not used. Output stems are
``seq<N>_<frame>`` (frame names repeat across sequences).

Splits: MESS evaluates on the official val split (7 sequences x 10 frames,
840 tiles), so it is our ``test``. Our ``val`` is ``carve(.., 0.1, seed=0)``
applied to the 20 train *sequences* (2 sequences, 20 frames): the 10 frames
of a sequence are views of one scene seconds apart, so carving single
frames would leak near-duplicates of train into val.

Labels: exact RGB colour -> class id (table below; class names are
MESS's). MESS matches PIL's grey-level ("L") value of each colour instead,
which is the same on these eight colours but would also accept any other
colour of equal grey value and fails on unknown ones; here any colour
outside the table becomes 255 (ignore), counted per colour in
``meta.json`` and warned about.

Tiling: 1024 px after splitting (3840x2160 / 4096x2160 -> 4x3 tiles).
"""
import glob
import os.path as osp

import mmcv

from .base import (PREPARERS, MESSPreparer, Pair, carve, colours_to_ids,
                   pair_by_stem)

# (R, G, B) -> class id
COLOURS = {
    (0, 0, 0): 0,  # background clutter
    (128, 0, 0): 1,  # building
    (128, 64, 128): 2,  # road
    (0, 128, 0): 3,  # tree
    (128, 128, 0): 4,  # low vegetation
    (64, 0, 128): 5,  # moving car
    (192, 0, 192): 6,  # static car
    (64, 64, 0): 7,  # human
}


@PREPARERS.register_module(name='uavid')
class UAVid(MESSPreparer):
    key = 'uavid'
    raw_name = 'uavid_v1.5'
    download = 'https://uavid.nl (Semantic Labelling with Images Only)'
    required = ('uavid_train', 'uavid_val')
    test_required = ('uavid_val', )
    tile_size = 1024
    split_policy = (
        'Official split: uavid_val (MESS\'s evaluation set) is test; 2 of '
        'the 20 uavid_train sequences (carve 0.1 of the sequences, seed 0) '
        'are val, the rest train; split by sequence, then tiled 1024.')

    def collect(self, raw):
        splits, sequence = {}, {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in ('train', 'val'):
            files = dict(Images={}, Labels={})
            for kind, found in files.items():
                for path in glob.glob(osp.join(raw, f'uavid_{split}', '*',
                                               kind, '*.png')):
                    seq = osp.basename(osp.dirname(osp.dirname(path)))
                    stem = f'{seq}_{osp.splitext(osp.basename(path))[0]}'
                    found[stem], sequence[stem] = path, seq
            splits[split], _ = pair_by_stem(files['Images'], files['Labels'],
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        seqs = sorted({sequence[p.stem] for p in splits['train']})
        _, held_out = carve([Pair(s, '', '') for s in seqs], 0.1, seed=0)
        held_out = {p.stem for p in held_out}
        return dict(
            train=[p for p in splits['train']
                   if sequence[p.stem] not in held_out],
            val=[p for p in splits['train'] if sequence[p.stem] in held_out],
            test=splits['val'],
            unpaired=unpaired)

    def read_label(self, path):
        return colours_to_ids(mmcv.imread(path, flag='color'), COLOURS, path)
