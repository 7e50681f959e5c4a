import os.path as osp

from .base import (PREPARERS, MESSPreparer, carve, files_by_stem, keep_ids,
                   pair_by_stem, read_ids)

_ROOT = 'original'  # the 512x512 copy next to it is a resized duplicate


@PREPARERS.register_module(name='corrosion_cs')
class CorrosionCS(MESSPreparer):
    """Bridge-inspection photos (original/{Train,Test}/images/<n>.jpeg) with
    masks holding the condition state (original/.../masks/<n>.png).

    Labels are class ids already (0 background, 1 fair, 2 poor, 3 severe),
    read with PIL so a palette PNG gives its indices, not its display
    colours (an RGB reader would see colours); a grey mask saved as RGB is
    accepted when its channels agree. A value above 3 (no class, and no
    value of the dataset's masks) is an error naming the file.
    Images are written as PNG to avoid a second JPEG encoding.
    """
    key = 'corrosion_cs'
    raw_name = 'Corrosion Condition State Classification'
    download = 'https://figshare.com/articles/dataset/16624663'
    required = tuple(f'{_ROOT}/{split}/{kind}' for split in ('Train', 'Test')
                     for kind in ('images', 'masks'))
    test_required = (f'{_ROOT}/Test/images', f'{_ROOT}/Test/masks')
    num_classes = 4
    split_policy = (
        'Official split: original/Test (44 images, MESS\'s test set) is '
        'test; a seeded 10% of original/Train (carve, seed 0) is val, the '
        'rest train.')

    def collect(self, raw):
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split, folder in (('train', 'Train'), ('test', 'Test')):
            base = osp.join(raw, _ROOT, folder)
            images = files_by_stem(
                osp.join(base, 'images'), ('.jpg', '.jpeg'))
            labels = files_by_stem(osp.join(base, 'masks'), '.png')
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {folder}', unpaired,
                                            f'{folder}/')
        train, val = carve(splits['train'], 0.1, seed=0)
        return dict(train=train, val=val, test=splits['test'],
                    unpaired=unpaired)

    def read_label(self, path):
        return keep_ids(read_ids(path), self.num_classes, path)
