"""PST900 preparation on a fixture in the authors' layout (thermal input)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

SIZE = (9, 16)


def make_raw(root):
    """{train,test}/{rgb,thermal,thermal_raw,depth,labels}/<n>.png; labels
    hold ids 0..4. train has a thermal image without
    label, test a label without thermal image."""
    rng = np.random.default_rng(0)
    thermals, labels = {}, {}
    for split, count in (('train', 11), ('test', 5)):
        for kind in ('rgb', 'thermal', 'thermal_raw', 'depth', 'labels'):
            os.makedirs(osp.join(root, split, kind))
        for i in range(count):
            stem = f'32_bag{split[1]}{i}_{1000 + i}'
            rgb = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
            thermal = rng.integers(0, 255, SIZE, dtype=np.uint8)
            raw16 = rng.integers(0, 65535, SIZE, dtype=np.uint16)
            Image.fromarray(rgb).save(osp.join(root, split, 'rgb',
                                               stem + '.png'))
            Image.fromarray(raw16).save(
                osp.join(root, split, 'thermal_raw', stem + '.png'))
            Image.fromarray(raw16).save(
                osp.join(root, split, 'depth', stem + '.png'))
            if (split, i) != ('test', 4):
                Image.fromarray(thermal).save(
                    osp.join(root, split, 'thermal', stem + '.png'))
                thermals[stem] = thermal
            if (split, i) == ('train', 10):
                continue
            ids = rng.integers(0, 5, SIZE, dtype=np.uint8)
            Image.fromarray(ids).save(
                osp.join(root, split, 'labels', stem + '.png'))
            labels[stem] = ids
    return thermals, labels


def test_prepare_pst900(tmp_path):
    raw, out = str(tmp_path / 'PST900_RGBT_Dataset'), str(tmp_path / 'out')
    thermals, labels = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='pst900')), raw, out)
    assert meta['counts'] == dict(train=9, val=1, test=4)
    assert meta['unpaired'] == dict(
        images_without_label=['train/32_bagr10_1010'],
        labels_without_image=['test/32_bage4_1004'])

    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {n[:-4] for n in names}
        for name in names:
            stem = name[:-4]
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(
                label, np.where(labels[stem] <= 4, labels[stem], 255))
            # the input is the thermal image, in 3 identical channels
            image = mmcv.imread(osp.join(out, 'img_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(
                image, np.repeat(thermals[stem][..., None], 3, axis=-1))
    assert stems['test'] == {f'32_bage{i}_{1000 + i}' for i in range(4)}
    assert all(s.startswith('32_bagr') for s in stems['train'] | stems['val'])
    assert not stems['train'] & stems['val']

    dataset = load_split('PST900Dataset', out)
    assert len(dataset) == 4
    sample = dataset[2]
    stem = osp.basename(sample['data_samples'].img_path)[:-4]
    assert stem == '32_bage2_1002'
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data.numpy()[0],
        np.where(labels[stem] <= 4, labels[stem], 255))
    assert dataset.metainfo['classes'][4] == 'human'


def test_missing_thermal_folder_is_explained(tmp_path):
    raw, out = str(tmp_path / 'PST900_RGBT_Dataset'), str(tmp_path / 'out')
    make_raw(raw)
    os.rename(osp.join(raw, 'test', 'thermal'), osp.join(raw, 'test', 'x'))
    with pytest.raises(RawDataError, match='pst900_thermal_rgb') as err:
        prepare(PREPARERS.build(dict(type='pst900')), raw, out)
    assert 'test/thermal' in str(err.value)
