"""Helpers shared by the MESS preparer tests
(tests/datasets/mess/prepare/test_*.py), so that each test file only holds
what is particular to its dataset."""
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


def make_deepcrack(root, counts=(('train', 10), ('test', 5)), h=24, w=32):
    """A small raw dataset in DeepCrack's layout (random JPEG images, 0/255
    PNG masks); returns ``{stem: crack mask}``. The generic fixture of the
    tests of ``prepare`` itself."""
    rng = np.random.default_rng(0)
    cracks = {}
    for split, count in counts:
        for folder in (f'{split}_img', f'{split}_lab'):
            os.makedirs(osp.join(root, folder), exist_ok=True)
        for i in range(count):
            stem = f'{split[:2]}{i:03d}'
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(img).save(
                osp.join(root, f'{split}_img', stem + '.jpg'), quality=90)
            crack = rng.random((h, w)) < 0.2
            Image.fromarray(np.where(crack, 255, 0).astype(np.uint8)).save(
                osp.join(root, f'{split}_lab', stem + '.png'))
            cracks[stem] = crack
    return cracks


def listing(out):
    """``{relative path: bytes}`` of every file below ``out``, hidden ones
    included: what a run left behind, for exact comparisons."""
    found = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                found[osp.relpath(path, out)] = f.read()
    return found


def colour_pixels(paths, colours):
    """``{str(colour): pixels}`` of ``colours`` ((R, G, B) tuples) in the
    colour labels ``paths``, read with PIL: what meta.json must count."""
    found = {}
    for path in paths:
        rgb = np.asarray(Image.open(path).convert('RGB'))
        for colour in colours:
            pixels = int((rgb == colour).all(-1).sum())
            if pixels:
                found[str(colour)] = found.get(str(colour), 0) + pixels
    return found


def make_cwfid(root: str) -> None:
    """A small CWFID in its authors' layout (key = raw folder name)."""
    rng = np.random.default_rng(0)
    colours = np.array([(0, 0, 0), (0, 255, 0), (255, 0, 0)], np.uint8)
    for folder in ('images', 'annotations'):
        os.makedirs(osp.join(root, folder))
    for i in range(1, 5):
        Image.fromarray(rng.integers(0, 255, (6, 8, 3), np.uint8)).save(
            osp.join(root, 'images', f'{i:03d}_image.png'))
        Image.fromarray(colours[rng.integers(0, 3, (6, 8))]).save(
            osp.join(root, 'annotations', f'{i:03d}_annotation.png'))
    with open(osp.join(root, 'train_test_split.yaml'), 'w') as f:
        f.write('train: [1, 2, 3]\ntest: [4]\n')
