"""PAXRay-4 preparation (four binary tasks) on a fixture in the authors'
layout: paxray.json, images/<name>.png, labels/<name>.npy stacks."""
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from helpers import load_tool
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess import DATASET_CLASSES
from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

CHANNELS = dict(lungs=0, mediastinum=10, bones=24, diaphragm=163)
SIZE = (12, 16)


def make_raw(root):
    """8 listed X-rays (train 4, val 2, test 2); stacks stored as bool or
    uint8 0/255; one train entry lacks its .npy, one test entry both."""
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'labels'))
    names = dict(
        train=['RibFrac1_frontal', 'RibFrac1_lateral', 'RibFrac2_frontal',
               'RibFrac3_frontal'],
        val=['RibFrac4_frontal', 'RibFrac4_lateral'],
        test=['RibFrac5_frontal', 'RibFrac6_lateral', 'RibFrac7_frontal'])
    xrays, stacks = {}, {}
    for split, stems in names.items():
        for i, stem in enumerate(stems):
            if stem == 'RibFrac7_frontal':
                continue  # listed, but neither file exists
            xray = rng.integers(0, 255, SIZE, dtype=np.uint8)
            Image.fromarray(xray).save(osp.join(root, 'images', stem + '.png'))
            xrays[stem] = xray
            stack = rng.random((166, *SIZE)) < 0.5  # every channel differs
            stacks[stem] = stack
            if stem == 'RibFrac3_frontal':
                continue  # image without its label stack
            stored = stack if i % 2 else stack.astype(np.uint8) * 255
            np.save(osp.join(root, 'labels', stem + '.npy'), stored)
    listing = {
        split: [dict(image=f'images/{s}.png', target=f'labels/{s}.npy')
                for s in stems]
        for split, stems in names.items()
    }
    with open(osp.join(root, 'paxray.json'), 'w') as f:
        json.dump(listing, f)
    return xrays, stacks


@pytest.mark.parametrize('task', list(CHANNELS))
def test_prepare_paxray_task(tmp_path, task):
    raw, out = str(tmp_path / 'paxray_dataset'), str(tmp_path / task)
    xrays, stacks = make_raw(raw)
    key = f'paxray_{task}'
    meta = prepare(PREPARERS.build(dict(type=key)), raw, out)
    assert meta['counts'] == dict(train=3, val=2, test=2)
    assert meta['unpaired']['images_without_label'] == [
        'train/RibFrac3_frontal']
    assert meta['unpaired']['listed_but_missing'] == ['test/RibFrac7_frontal']

    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {n[:-4] for n in names}
        for name in names:
            stem = name[:-4]
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            expected = stacks[stem][CHANNELS[task]].astype(np.uint8)
            np.testing.assert_array_equal(label, expected)
            image = mmcv.imread(osp.join(out, 'img_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(
                image, np.repeat(xrays[stem][..., None], 3, axis=-1))
    assert stems['val'] == {'RibFrac4_frontal', 'RibFrac4_lateral'}
    assert stems['test'] == {'RibFrac5_frontal', 'RibFrac6_lateral'}
    assert not stems['train'] & (stems['val'] | stems['test'])

    dataset = load_split(DATASET_CLASSES[key], out)
    assert len(dataset) == 2
    sample = dataset[1]
    assert osp.basename(sample['data_samples'].img_path) == \
        'RibFrac6_lateral.png'
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data.numpy()[0],
        stacks['RibFrac6_lateral'][CHANNELS[task]])
    assert dataset.metainfo['classes'][0] == 'others'


def test_cli_prepares_the_four_tasks_and_missing_labels_are_explained(
        tmp_path):
    cli = load_tool('tools/dataset_converters/prepare_mess.py')
    assert cli.expand('paxray') == [f'paxray_{t}' for t in sorted(CHANNELS)]

    raw = str(tmp_path / 'paxray_dataset')
    make_raw(raw)
    os.rename(osp.join(raw, 'labels'), osp.join(raw, 'labels_gone'))
    with pytest.raises(RawDataError, match='constantinseibold') as err:
        prepare(PREPARERS.build(dict(type='paxray_bones')), raw,
                str(tmp_path / 'out'))
    assert 'labels' in str(err.value)
