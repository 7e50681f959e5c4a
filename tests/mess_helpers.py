"""Helpers shared by the MESS preparer tests (tests/test_mess_*.py), so that
each test file only holds what is particular to its dataset."""
import os
import os.path as osp

import numpy as np
from mmseg.registry import DATASETS
from PIL import Image


def load_split(dataset_type, out, split='test'):
    """The ``split`` a preparer wrote to ``out``, loaded through the mmseg
    pipeline as training and evaluation load it: the check that the dataset
    class and the prepared layout fit together."""
    return DATASETS.build(
        dict(
            type=dataset_type,
            data_root=out,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')
            ]))


def reference_tiles(array, tile, pad):
    """Row-major ``tile`` x ``tile`` tiles of ``array``, bottom/right padded
    with ``pad``; written independently of the preparers' tiling, so that
    the tests check it against something other than itself."""
    h, w = array.shape[:2]
    rows, cols = -(-h // tile), -(-w // tile)
    canvas = np.full((rows * tile, cols * tile) + array.shape[2:], pad,
                     array.dtype)
    canvas[:h, :w] = array
    return [
        canvas[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
        for r in range(rows) for c in range(cols)
    ]


def read_png(path):
    """The values as stored (palette indices, not colours; all channels),
    whatever the image mode: what the preparer wrote, not a conversion."""
    with Image.open(path) as img:
        return np.asarray(img)


def read_split(out, split):
    """{stem: label array} of every label the preparer wrote to
    ``out/ann_dir/<split>``, read as stored."""
    folder = osp.join(out, 'ann_dir', split)
    return {
        name[:-4]: read_png(osp.join(folder, name))
        for name in sorted(os.listdir(folder))
    }
