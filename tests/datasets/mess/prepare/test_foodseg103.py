"""FoodSeg103 preparation on a fixture in the authors' layout."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

H, W = 16, 12


def make_raw(root):
    """11 train images (train/00000 without label), 4 test images and a test
    label without image; one label stored as a palette PNG."""
    rng = np.random.default_rng(0)
    labels = {}
    for split, count in (('train', 11), ('test', 4)):
        os.makedirs(osp.join(root, 'Images', 'img_dir', split))
        os.makedirs(osp.join(root, 'Images', 'ann_dir', split))
        for i in range(count + (split == 'test')):
            stem = f'{i:05d}' if split == 'train' else f'{i + 100:05d}'
            if i < count:
                img = Image.fromarray(
                    rng.integers(0, 255, (H, W, 3), np.uint8))
                exif = img.getexif()
                exif[0x0112] = 5 if i == 2 else 1  # rotation must not apply
                img.save(osp.join(root, 'Images', 'img_dir', split,
                                  stem + '.jpg'), exif=exif.tobytes())
            if split == 'train' and i == 0:
                continue
            ids = rng.integers(0, 104, (H, W)).astype(np.uint8)
            ids[0, :3] = (103, 0, 1)
            img = Image.fromarray(ids, mode='L')
            if i == 1:
                img = Image.fromarray(ids, mode='P')
                img.putpalette(list(range(256)) * 3)
            img.save(osp.join(root, 'Images', 'ann_dir', split, stem + '.png'))
            labels[stem] = ids
    return labels


def test_prepare_foodseg103(tmp_path):
    raw, out = str(tmp_path / 'FoodSeg103'), str(tmp_path / 'out')
    labels = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='foodseg103')), raw, out)
    assert meta['counts'] == dict(train=9, val=1, test=4)
    assert meta['unpaired'] == dict(
        images_without_label=['train/00000'],
        labels_without_image=['test/00104'])
    stems = {}
    for split in ('train', 'val', 'test'):
        written = read_split(out, split)
        stems[split] = set(written)
        for stem, label in written.items():
            ids = labels[stem]
            np.testing.assert_array_equal(
                label, np.where(ids <= 103, ids, 255))
            assert label[0, :3].tolist() == [103, 0, 1]
            img = mmcv.imread(osp.join(out, 'img_dir', split,
                                       stem + '.jpg'))
            assert img.shape == (H, W, 3)
    assert stems['test'] == {'00100', '00101', '00102', '00103'}
    assert stems['train'] | stems['val'] == {f'{i:05d}' for i in range(1, 11)}
    assert not stems['train'] & stems['val']

    ds = load_split('FoodSeg103Dataset', out)
    assert len(ds) == 4
    ids = labels['00100']
    np.testing.assert_array_equal(
        ds[0]['data_samples'].gt_sem_seg.data[0].numpy(),
        np.where(ids <= 103, ids, 255))


def test_incomplete_raw_is_explained(tmp_path):
    raw = tmp_path / 'FoodSeg103'
    raw.mkdir()
    with pytest.raises(RawDataError, match='foodseg103.html') as err:
        prepare(PREPARERS.build(dict(type='foodseg103')), str(raw),
                str(tmp_path / 'out'))
    assert 'Images/ann_dir/train' in str(err.value)
