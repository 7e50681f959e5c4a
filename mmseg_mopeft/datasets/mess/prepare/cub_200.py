"""CUB-200-2011 birds (CUB_200_2011.tgz with segmentations.tgz unpacked
into the same CUB_200_2011 folder).

Labels: the segmentations are soft masks, the average of five annotators.
As in MESS, a pixel is the bird where its grey value is > 128 (a majority
of the annotators) and gets the class number NNN of the image's
``NNN.Class_Name`` folder (1..200); everything else is 0. Grey is PIL's "L"
conversion, which also resolves palette, RGB and 1-bit masks; 16-bit masks
are compared at the same level (> 128 * 257).

Splits: ``train_test_split.txt`` is_training_image = 1 (5994) minus a seeded
10% (carve seed 0) that is our val; is_training_image = 0 (5794) is test,
MESS's test set. Only images listed in ``images.txt`` belong to the dataset;
a listed image missing on disk is an incomplete download and fails.
"""
import os.path as osp

import numpy as np
from PIL import Image

from .base import (PREPARERS, MESSPreparer, RawDataError, carve, files_by_stem,
                   pair_by_stem)

_FOREGROUND = 128  # strictly above: at least 3 of the 5 annotators


def _table(path):
    """``<id> <value>`` lines as a dict."""
    with open(path) as f:
        rows = (line.split(maxsplit=1) for line in f if line.strip())
        return {key: value.strip() for key, value in rows}


@PREPARERS.register_module(name='cub_200')
class CUB200(MESSPreparer):
    key = 'cub_200'
    raw_name = 'CUB_200_2011'
    download = ('https://www.vision.caltech.edu/datasets/cub_200_2011/ '
                '(CUB_200_2011.tgz, and segmentations.tgz untarred into the '
                'CUB_200_2011 folder)')
    required = ('images.txt', 'train_test_split.txt', 'images',
                'segmentations')
    split_policy = (
        'train = train_test_split.txt is_training_image=1 (5994) minus a '
        'seeded 10% (carve seed 0) that is our val; test = '
        'is_training_image=0 (5794), the MESS test set.')

    def collect(self, raw):
        listed = _table(osp.join(raw, 'images.txt'))
        is_train = _table(osp.join(raw, 'train_test_split.txt'))
        images, ids = {}, {}
        for image_id, rel in listed.items():
            stem = osp.splitext(osp.basename(rel))[0]
            if stem in images:
                raise ValueError(f'{self.key}: two images named {stem!r}')
            images[stem] = osp.join(raw, 'images', rel)
            ids[stem] = image_id
        missing = sorted(p for p in images.values() if not osp.isfile(p))
        if missing:
            raise RawDataError(
                f'{self.key}: {len(missing)} images listed in images.txt are '
                f'missing, e.g. {missing[:3]}. Get the dataset from '
                f'{self.download}.')
        labels = files_by_stem(
            osp.join(raw, 'segmentations'), '.png', recursive=True)
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        splits = dict(train=[], test=[], unpaired=unpaired)
        for pair in pairs:
            flag = is_train.get(ids[pair.stem])
            if flag not in ('0', '1'):
                raise ValueError(
                    f'{self.key}: image id {ids[pair.stem]} ({pair.stem}) has '
                    f'no 0/1 entry in train_test_split.txt')
            folder = osp.basename(osp.dirname(pair.image))
            number = folder.split('.')[0]
            if not number.isdigit() or not 1 <= int(number) <= 200:
                raise ValueError(f'{self.key}: no class number 1..200 in the '
                                 f'folder name of {pair.image!r}')
            pair.label = (pair.label, int(number))
            splits['train' if flag == '1' else 'test'].append(pair)
        splits['train'], splits['val'] = carve(splits['train'], 0.1, seed=0)
        return splits

    def read_label(self, label):
        path, class_id = label
        with Image.open(path) as mask:
            if mask.mode.startswith('I'):  # 16-bit grey
                bird = np.asarray(mask) > _FOREGROUND * 257
            else:
                bird = np.asarray(mask.convert('L')) > _FOREGROUND
        return np.where(bird, class_id, 0).astype(np.uint8)
