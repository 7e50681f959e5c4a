"""FoodSeg103.

Labels: ``Images/ann_dir/<split>/<id>.png`` already holds the class ids (0 =
background, 1..103 = categories in ``category_id.txt`` order), as MESS uses
them; read through PIL (grey or palette alike); a value above 103 is an
error naming the file.

Splits: the official test split is MESS's test set; the official train split
loses a seeded 10% to our val. MESS expects 2125 test pairs although 2135
test images are published: unpaired files are listed in ``meta.json``.
Images are read as stored (EXIF orientation not applied).
"""
import os.path as osp

from .base import (PREPARERS, MESSPreparer, carve, files_by_stem, keep_ids,
                   pair_by_stem, read_ids)

_NUM_CLASSES = 104


@PREPARERS.register_module(name='foodseg103')
class FoodSeg103(MESSPreparer):
    key = 'foodseg103'
    raw_name = 'FoodSeg103'
    download = ('https://xiongweiwu.github.io/foodseg103.html (FoodSeg103.zip;'
                ' the archive password is published by the authors)')
    required = ('Images/img_dir/train', 'Images/img_dir/test',
                'Images/ann_dir/train', 'Images/ann_dir/test')
    test_required = ('Images/img_dir/test', 'Images/ann_dir/test')
    split_policy = (
        'test = the official test split (MESS\'s test set); train = the '
        'official train split minus a seeded 10% (carve seed 0) that is our '
        'val.')

    def collect(self, raw):
        splits = dict(
            unpaired=dict(images_without_label=[], labels_without_image=[]))
        for split in ('train', 'test'):
            images = files_by_stem(
                osp.join(raw, 'Images', 'img_dir', split), '.jpg')
            labels = files_by_stem(
                osp.join(raw, 'Images', 'ann_dir', split), '.png')
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}',
                                            splits['unpaired'], f'{split}/')
        splits['train'], splits['val'] = carve(splits['train'], 0.1, seed=0)
        return splits

    def read_label(self, path):
        return keep_ids(read_ids(path), _NUM_CLASSES, path)
