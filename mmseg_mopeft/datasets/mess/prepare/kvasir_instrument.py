import os.path as osp

import numpy as np
from PIL import Image

from .base import (PREPARERS, MESSPreparer, RawDataError, carve, files_by_stem,
                   pair_by_stem)


@PREPARERS.register_module(name='kvasir_instrument')
class KvasirInstrument(MESSPreparer):
    """GI endoscopy frames (images/<id>.jpg) with instrument masks
    (masks/<id>.png, instrument = white); train.txt / test.txt list the ids.

    Labels: instrument = grey value >= 128 -> 1, else 0 (RGB masks are taken
    as grey). MESS instead keeps only value 255 (value / 255, truncated).
    Both agree on clean 0/255 masks; where a mask holds in-between values
    (compression noise or anti-aliased edges, as other Kvasir masks do),
    MESS would call near-white instrument pixels (254, 250, ...) background,
    which is not what the mask shows, so we threshold at mid-grey.
    Images are written as PNG, as MESS does.
    """
    key = 'kvasir_instrument'
    raw_name = 'kvasir-instrument'
    download = 'https://datasets.simula.no/kvasir-instrument/'
    required = ('images', 'masks', 'train.txt', 'test.txt')
    split_policy = (
        'Official split: test.txt (118 ids, MESS\'s test set) is test; a '
        'seeded 10% of train.txt (carve, seed 0) is val, the rest train.')

    def check(self, raw, test_only=False):
        # the archive ships images/ and masks/ as tarballs inside the zip
        packed = [f'{d}.tar.gz' for d in ('images', 'masks')
                  if not osp.isdir(osp.join(raw, d))
                  and osp.isfile(osp.join(raw, f'{d}.tar.gz'))]
        if packed:
            raise RawDataError(
                f'{self.key}: unpack {packed} in {raw!r} first (tar -xzf '
                f'<file> -C {raw!r}), as the dataset page describes.')
        super().check(raw, test_only)

    def collect(self, raw):
        images = files_by_stem(osp.join(raw, 'images'), '.jpg')
        labels = files_by_stem(osp.join(raw, 'masks'), '.png')
        pairs, unpaired = pair_by_stem(images, labels, self.key)
        by_stem = {p.stem: p for p in pairs}
        ids = {split: self._ids(osp.join(raw, f'{split}.txt'))
               for split in ('train', 'test')}
        listed = ids['train'] + ids['test']
        # ids listed without a usable pair, and pairs in no list
        unpaired['listed_without_pair'] = sorted(
            set(listed) - set(by_stem))
        unpaired['pair_in_no_split'] = sorted(set(by_stem) - set(listed))
        train = [by_stem[i] for i in ids['train'] if i in by_stem]
        test = [by_stem[i] for i in ids['test'] if i in by_stem]
        train, val = carve(train, 0.1, seed=0)
        return dict(train=train, val=val, test=test, unpaired=unpaired)

    @staticmethod
    def _ids(path):
        with open(path) as f:  # one id per line
            ids = [line.strip() for line in f if line.strip()]
        return [i[:-4] if i.endswith(('.jpg', '.png')) else i for i in ids]

    def read_label(self, path):
        with Image.open(path) as mask:
            grey = np.array(mask.convert('L'))
        return (grey >= 128).astype(np.uint8)
