import os.path as osp

from .base import (PREPARERS, MESSPreparer, carve, files_by_stem, keep_ids,
                   pair_by_stem, read_ids)


@PREPARERS.register_module(name='pst900')
class PST900(MESSPreparer):
    """Thermal images of subterranean scenes ({train,test}/thermal/<n>.png,
    8-bit single channel) with class-id labels ({train,test}/labels/<n>.png).

    The input is the 8-bit thermal image, as MESS evaluates it (written as
    3 identical channels); rgb/, thermal_raw/ and depth/ are not used.
    Labels are class ids already (0 background, 1 fire extinguisher,
    2 backpack, 3 drill, 4 human = the "rescue randy" manikin); a value
    above 4 is an error naming the file. The README's tree comments swap
    train and test; test/ (288 pairs) is the test split, as in MESS.
    """
    key = 'pst900'
    raw_name = 'PST900_RGBT_Dataset'
    download = 'https://github.com/ShreyasSkandanS/pst900_thermal_rgb'
    required = tuple(f'{split}/{kind}' for split in ('train', 'test')
                     for kind in ('thermal', 'labels'))
    test_required = ('test/thermal', 'test/labels')
    num_classes = 5
    split_policy = (
        'Official split: test/ (288 pairs, MESS\'s test set) is test; a '
        'seeded 10% of train/ (carve, seed 0) is val, the rest train.')

    def collect(self, raw):
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in ('train', 'test'):
            images, labels = (
                files_by_stem(osp.join(raw, split, kind), '.png')
                for kind in ('thermal', 'labels'))
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        train, val = carve(splits['train'], 0.1, seed=0)
        return dict(train=train, val=val, test=splits['test'],
                    unpaired=unpaired)

    def read_label(self, path):
        return keep_ids(read_ids(path), self.num_classes, path)
