"""ATLANTIS (water-related scenes from Flickr).

Labels: ``masks/<split>/<folder>/<id>.png`` holds grey values 0..56 with 0 =
void; like the official ATLANTIS loader and MESS, value v becomes class v-1
and 0 becomes 255 (its pixels are counted in ``meta.json``); a value above
56 is an error naming the file. Read through PIL.

Images sit in per-label folders and are named by Flickr photo id; like MESS
we name outputs by that id. A photo filed under several folders is kept
once (MESS's flat output folder also keeps one copy, which would explain its
1295 test pairs against 1296 published); a photo found in more than one split
is kept only in the first of test, val, train, so test stays complete and no
photo is in two splits. Every copy left out is listed under ``duplicates`` in
``meta.json``. Pairing uses the path relative to the split (MESS's string
replacement on the full path breaks when the root contains 'images'/'jpg').

Splits: the official train / val / test splits (test = MESS's test set).
Images are read as stored (EXIF orientation not applied), as the official
loader and MESS (PIL) read them.
"""
import glob
import os.path as osp

from mmengine.logging import print_log

from .base import (PREPARERS, MESSPreparer, Pair, keep_ids, pair_by_stem,
                   read_ids)

_NUM_CLASSES = 56


def _by_relpath(folder, suffix):
    return {
        osp.relpath(p, folder)[:-len(suffix)]: p
        for p in glob.glob(osp.join(folder, '*', '*' + suffix))
    }


@PREPARERS.register_module(name='atlantis')
class ATLANTIS(MESSPreparer):
    key = 'atlantis'
    raw_name = 'atlantis'
    download = ('https://github.com/smhassanerfani/atlantis (the inner '
                'atlantis/ folder of the repository)')
    required = tuple(f'{kind}/{split}' for kind in ('images', 'masks')
                     for split in ('train', 'val', 'test'))
    test_required = ('images/test', 'masks/test')
    split_policy = (
        'Official train / val / test splits (test = MESS\'s test set); a '
        'photo in several label folders or splits is kept once, in the first '
        'of test, val, train.')

    def collect(self, raw):
        splits = dict(unpaired=dict(
            images_without_label=[], labels_without_image=[], duplicates=[]))
        kept = {}  # photo id -> where its kept copy comes from
        for split in ('test', 'val', 'train'):
            images = _by_relpath(osp.join(raw, 'images', split), '.jpg')
            labels = _by_relpath(osp.join(raw, 'masks', split), '.png')
            pairs, _ = pair_by_stem(images, labels, f'{self.key} {split}',
                                    splits['unpaired'], f'{split}/')
            splits[split] = []
            for pair in pairs:
                where = f'{split}/{pair.stem}'
                photo = osp.basename(pair.stem)
                if photo in kept:
                    splits['unpaired']['duplicates'].append(
                        f'{where} (kept {kept[photo]})')
                    continue
                kept[photo] = where
                splits[split].append(Pair(photo, pair.image, pair.label))
        if splits['unpaired']['duplicates']:
            print_log(f'{self.key}: photos kept once: '
                      f'{splits["unpaired"]["duplicates"][:10]}',
                      logger='current', level=30)
        return splits

    def read_label(self, path):
        return keep_ids(
            read_ids(path), _NUM_CLASSES, path, first=1, void=(0, ))
