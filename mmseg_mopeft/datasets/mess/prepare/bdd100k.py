"""BDD100K, 10K-image semantic segmentation subset.

Labels: ``labels/sem_seg/masks`` holds the 19 train ids (0..18, 255 =
unlabelled) as grey PNGs; ``labels/sem_seg/colormaps`` holds the same ids as
the index array of palette PNGs (what MESS reads). We read ``masks`` where it
exists and ``colormaps`` otherwise, always through PIL, because cv2/mmcv
would expand a palette PNG into its colours. 255 stays 255 (counted in
``meta.json``); any other value outside 0..18 is an error naming the file.

Splits: MESS evaluates on the official val split (1000 images), which is our
test; the official train split (7000) loses a seeded 10% to our val. The
official test images have no public labels and are not read. Images are read
as stored (EXIF orientation not applied), the grid the labels are drawn on.
"""
import os.path as osp

from .base import (PREPARERS, MESSPreparer, RawDataError, carve, files_by_stem,
                   keep_ids, pair_by_stem, read_ids)

_LABEL_DIRS = ('masks', 'colormaps')  # in order of preference
_NUM_CLASSES = 19


@PREPARERS.register_module(name='bdd100k')
class BDD100K(MESSPreparer):
    key = 'bdd100k'
    raw_name = 'bdd100k'
    download = ('https://bdd-data.berkeley.edu/ (account needed): "10K '
                'Images" (bdd100k_images_10k.zip) and "Segmentation" labels '
                '(bdd100k_sem_seg_labels_trainval.zip), unzipped together')
    required = ('images/10k/train', 'images/10k/val', 'labels/sem_seg')
    split_policy = (
        'train = official train split minus a seeded 10% (carve seed 0) that '
        'is our val; test = the official val split (1000), which MESS '
        'evaluates on.')

    def label_dir(self, raw, split):
        for name in _LABEL_DIRS:
            folder = osp.join(raw, 'labels', 'sem_seg', name, split)
            if osp.isdir(folder):
                return folder
        raise RawDataError(
            f'{self.key}: no labels for the {split!r} split under {raw!r}; '
            f'expected labels/sem_seg/masks/{split} or '
            f'labels/sem_seg/colormaps/{split}. Get them from '
            f'{self.download}.')

    def collect(self, raw):
        splits = dict(
            unpaired=dict(images_without_label=[], labels_without_image=[]))
        for ours, official in (('train', 'train'), ('test', 'val')):
            images = files_by_stem(
                osp.join(raw, 'images', '10k', official), '.jpg')
            labels = files_by_stem(self.label_dir(raw, official), '.png')
            splits[ours], _ = pair_by_stem(images, labels,
                                           f'{self.key} {official}',
                                           splits['unpaired'], f'{official}/')
        splits['train'], splits['val'] = carve(splits['train'], 0.1, seed=0)
        return splits

    def read_label(self, path):
        return keep_ids(read_ids(path), _NUM_CLASSES, path, void=(255, ))
