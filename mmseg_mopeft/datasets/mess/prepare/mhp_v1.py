"""LV-MHP v1 (multi-human parsing).

Labels: one part mask per person, ``annotations/<id>_<NN>_<KK>.png`` (image
id, number of persons, person index), each holding part ids 0..18 (0 =
others). An image's masks are merged with a pixel-wise maximum, as MESS does:
background never hides a part, and where two persons' parts overlap the
larger part id wins. Masks are matched to their image by the exact id before
the last two ``_`` fields (not by prefix). A value above 18 is an error
naming the mask.

Splits: the paper's split, as MESS materialises it: test = test_list.txt
(MESS's test set, 980), train = the first 3000 names of train_list.txt, val =
the rest of train_list.txt (1000). Images in neither list are listed, not
used. A name listed twice (in both lists, or twice in one) is an error
naming the file(s) and the name: the paper's 3000 / 1000 / 980 images are
disjoint, so an overlap is a damaged list, not a split to guess at.
Images are read with PIL's truncated-image tolerance, as MESS reads them
(cv2 rejects a truncated JPEG); PIL does not apply EXIF orientation.
"""
import glob
import os.path as osp
from collections import defaultdict

import numpy as np
from PIL import Image, ImageFile

from .base import (PREPARERS, MESSPreparer, files_by_stem, keep_ids,
                   pair_by_stem)

_NUM_CLASSES = 19


def _names(path):
    with open(path) as f:
        return [osp.splitext(line.strip())[0] for line in f if line.strip()]


def _check_disjoint(key, lists):
    """``lists``: ``{path: names}``; stop at the first name listed twice."""
    seen = {}
    for path, names in lists.items():
        for name in names:
            if name in seen:
                where = (f'twice in {path}' if seen[name] == path else
                         f'in both {seen[name]} and {path}')
                raise ValueError(
                    f'{key}: {name!r} is listed {where}; the official lists '
                    'are disjoint, so the copy of the lists is damaged')
            seen[name] = path


@PREPARERS.register_module(name='mhp_v1')
class MHPv1(MESSPreparer):
    key = 'mhp_v1'
    raw_name = 'LV-MHP-v1'
    download = ('https://github.com/ZhaoJ9014/Multi-Human-Parsing '
                '(LV-MHP-v1.zip, Google Drive id '
                '1hTS8QJBuGdcppFAr_bvW2tsD9hW_ptr5)')
    required = ('images', 'annotations', 'train_list.txt', 'test_list.txt')
    split_policy = (
        'Official split: test = test_list.txt (MESS\'s test set); train = '
        'the first 3000 names of train_list.txt, val = the remaining ones.')

    def __init__(self, train_count=3000):
        self.train_count = train_count

    def collect(self, raw):
        images = files_by_stem(osp.join(raw, 'images'), '.jpg')
        masks = defaultdict(list)
        for path in sorted(glob.glob(osp.join(raw, 'annotations', '*.png'))):
            masks[osp.basename(path)[:-4].rsplit('_', 2)[0]].append(path)
        pairs, unpaired = pair_by_stem(images, dict(masks), self.key)
        by_stem = {p.stem: p for p in pairs}
        lists = {
            path: _names(path)
            for path in (osp.join(raw, f'{s}_list.txt')
                         for s in ('test', 'train'))
        }
        _check_disjoint(self.key, lists)
        test, trainval = lists.values()
        names = dict(
            test=test,
            train=trainval[:self.train_count],
            val=trainval[self.train_count:])
        splits = {
            split: [by_stem.pop(s) for s in listed if s in by_stem]
            for split, listed in names.items()
        }
        listed = set().union(*names.values())
        unpaired['listed_without_image'] = sorted(listed - set(images))
        unpaired['pairs_not_listed'] = sorted(by_stem)
        return dict(splits, unpaired=unpaired)

    def read_image(self, path):
        # PIL decodes what a truncated JPEG holds when told to
        tolerant = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            with Image.open(path) as img:
                rgb = np.array(img.convert('RGB'))
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = tolerant
        return np.ascontiguousarray(rgb[..., ::-1])

    def read_label(self, paths):
        merged = None
        for path in paths:
            with Image.open(path) as img:
                parts = np.array(img)
            if parts.ndim != 2 or (merged is not None
                                   and parts.shape != merged.shape):
                raise ValueError(f'{self.key}: {path} has shape '
                                 f'{parts.shape}; expected a single-channel '
                                 'mask the size of the other persons\' masks')
            parts = keep_ids(parts, _NUM_CLASSES, path)  # ids: a check
            merged = parts if merged is None else np.maximum(merged, parts)
        return merged
