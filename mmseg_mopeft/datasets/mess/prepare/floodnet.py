"""FloodNet (supervised v1.0): UAV images after Hurricane Harvey.

Raw layout (the authors' Google Drive folder)::

    FloodNet-Supervised_v1.0/{train,val,test}/<split>-org-img/<id>.jpg
    FloodNet-Supervised_v1.0/{train,val,test}/<split>-label-img/<id>_lab.png

Splits: the official ones. test (448 images, 5571 tiles) is MESS's
evaluation set; the official val (450) is not, so it is our val as is.

Labels are class ids 0..9 already (single channel; a palette PNG is read
as its indices); any other value is an error naming the file.

Tiling: 1024 px after splitting (4000x3000 -> 4x3 tiles). Image tiles are
re-encoded as JPEG as in MESS, but at OpenCV's default quality 95 rather
than PIL's 75, so they stay closer to the raw pixels than MESS's tiles.
"""
import os.path as osp

from .base import (PREPARERS, MESSPreparer, files_by_stem, keep_ids,
                   pair_by_stem, read_ids)

SPLITS = ('train', 'val', 'test')


@PREPARERS.register_module(name='floodnet')
class FloodNet(MESSPreparer):
    key = 'floodnet'
    raw_name = 'FloodNet-Supervised_v1.0'
    download = 'https://github.com/BinaLab/FloodNet-Supervised_v1.0'
    required = tuple(f'{s}/{s}-{kind}' for s in SPLITS
                     for kind in ('org-img', 'label-img'))
    test_required = ('test/test-org-img', 'test/test-label-img')
    tile_size = 1024
    num_classes = 10
    split_policy = (
        'Official split: train, val and test as released (test = MESS\'s '
        'evaluation set); split by source image, then tiled 1024.')

    def collect(self, raw):
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in SPLITS:
            images = files_by_stem(
                osp.join(raw, split, f'{split}-org-img'), '.jpg')
            labels = files_by_stem(
                osp.join(raw, split, f'{split}-label-img'), '_lab.png')
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        return dict(**splits, unpaired=unpaired)

    def read_label(self, path):
        return keep_ids(read_ids(path), self.num_classes, path)
