import json
import os.path as osp

import numpy as np

from .base import PREPARERS, MESSPreparer, pair_by_stem


class PAXRay(MESSPreparer):
    """PAXRay-4: four binary tasks read from one label stack per X-ray.

    ``paxray.json`` lists train / val / test entries ``{"image":
    "images/<name>.png", "target": "labels/<name>.npy"}``; each .npy holds
    166 overlapping binary masks, first axis = label id. A subclass picks one
    channel (lungs 0, mediastinum 10, bones 24, diaphragm 163, as MESS) and
    writes it as 0 others / 1 structure. Any non-zero value is the structure,
    so bool, 0/1 and 0/255 stacks all give 0/1 (MESS's plain uint8 cast
    would turn a 0/255 stack into ignore). The channel is read through a
    memory map, so the other 165 masks are not loaded.
    The grey X-rays are written as 3 identical channels, as MESS does.
    MESS's own prepare script deletes labels/ afterwards: use an unmodified
    copy of the archive.
    """
    raw_name = 'paxray_dataset'
    download = 'https://constantinseibold.github.io/paxray/'
    required = ('paxray.json', 'images', 'labels')
    channel: int = -1
    split_policy = (
        'Official split from paxray.json: train, val (its own 74-image val '
        'split, not MESS\'s test set) and test (MESS\'s test set).')

    def collect(self, raw):
        with open(osp.join(raw, 'paxray.json')) as f:
            listing = json.load(f)
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in ('train', 'val', 'test'):
            images, labels = {}, {}
            for entry in listing.get(split, []):
                name = entry['image']
                if name.startswith('images/'):
                    name = name[len('images/'):]
                stem = osp.splitext(name)[0].replace('/', '_')
                image = osp.join(raw, entry['image'])
                target = osp.join(raw, entry['target'])
                if osp.isfile(image):
                    images[stem] = image
                if osp.isfile(target):
                    labels[stem] = target
                if not (osp.isfile(image) or osp.isfile(target)):
                    unpaired.setdefault('listed_but_missing', []).append(
                        f'{split}/{stem}')
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        return dict(**splits, unpaired=unpaired)

    def read_label(self, path):
        stack = np.load(path, mmap_mode='r')
        return (np.asarray(stack[self.channel]) != 0).astype(np.uint8)


@PREPARERS.register_module(name='paxray_lungs')
class PAXRayLungs(PAXRay):
    key = 'paxray_lungs'
    channel = 0  # lung_overall


@PREPARERS.register_module(name='paxray_mediastinum')
class PAXRayMediastinum(PAXRay):
    key = 'paxray_mediastinum'
    channel = 10  # mediastinum_overall


@PREPARERS.register_module(name='paxray_bones')
class PAXRayBones(PAXRay):
    key = 'paxray_bones'
    channel = 24  # bones


@PREPARERS.register_module(name='paxray_diaphragm')
class PAXRayDiaphragm(PAXRay):
    key = 'paxray_diaphragm'
    channel = 163  # diaphragm
