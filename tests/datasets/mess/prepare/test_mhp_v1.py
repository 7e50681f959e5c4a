"""MHP v1 preparation on a fixture in the authors' layout: per-person part
masks merged by pixel-wise maximum, split by the official lists."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

H, W = 14, 22


def make_raw(root):
    """Images 0001..0010 (0009 without masks, 0010 in no list), masks of an
    image 0012 that does not exist, a listed name without image (0011).
    Image 0003 carries an EXIF rotation its masks do not follow; image 0004
    is a truncated JPEG."""
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'annotations'))
    merged = {}
    for i in range(1, 13):
        name = f'{i:04d}'
        if i <= 10:
            img = Image.fromarray(
                rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
            exif = img.getexif()
            if i == 3:
                exif[0x0112] = 6  # "rotate 90": must not be applied
            path = osp.join(root, 'images', name + '.jpg')
            img.save(path, exif=exif.tobytes())
            if i == 4:  # truncated file
                with open(path, 'rb') as f:
                    data = f.read()
                with open(path, 'wb') as f:
                    f.write(data[:len(data) * 3 // 4])
        if i in (9, 11):
            continue
        persons = 1 + i % 3
        masks = []
        for k in range(1, persons + 1):
            mask = np.zeros((H, W), np.uint8)
            y, x = rng.integers(0, H - 6), rng.integers(0, W - 8)
            mask[y:y + 6, x:x + 8] = rng.integers(1, 19, (6, 8))
            masks.append(mask)
            img = Image.fromarray(mask, mode='L')
            if k == 2:  # a palette-stored mask reads as its indices
                img = Image.fromarray(mask, mode='P')
                img.putpalette([255 - v % 256 for v in range(768)])
            img.save(osp.join(root, 'annotations',
                              f'{name}_{persons:02d}_{k:02d}.png'))
        top = np.max(masks, axis=0)
        merged[name] = top
    with open(osp.join(root, 'train_list.txt'), 'w') as f:
        f.write('\n'.join(f'{i:04d}.jpg' for i in (1, 2, 3, 4, 5, 6, 11)))
    with open(osp.join(root, 'test_list.txt'), 'w') as f:
        f.write('0007.jpg\n0008.jpg\n0009.jpg\n')
    return merged


def test_prepare_mhp_v1(tmp_path):
    raw, out = str(tmp_path / 'LV-MHP-v1'), str(tmp_path / 'out')
    merged = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='mhp_v1', train_count=4)),
                   raw, out)
    assert meta['counts'] == dict(train=4, val=2, test=2)
    assert meta['unpaired'] == dict(
        images_without_label=['0009'], labels_without_image=['0012'],
        listed_without_image=['0011'], pairs_not_listed=['0010'])
    stems = {
        split: sorted(n[:-4] for n in os.listdir(osp.join(out, 'ann_dir',
                                                          split)))
        for split in ('train', 'val', 'test')
    }
    assert stems == dict(train=['0001', '0002', '0003', '0004'],
                         val=['0005', '0006'], test=['0007', '0008'])
    for split, names in stems.items():
        for stem in names:
            label = mmcv.imread(osp.join(out, 'ann_dir', split, stem + '.png'),
                                flag='unchanged')
            np.testing.assert_array_equal(label, merged[stem])
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.jpg'),
                              channel_order='rgb')
            assert img.shape == (H, W, 3)  # stored grid, not EXIF-rotated
            if stem != '0004':
                source = np.array(Image.open(
                    osp.join(raw, 'images', stem + '.jpg')))
                assert np.abs(img.astype(int) - source).mean() < 8

    ds = load_split('MHPv1Dataset', out)
    assert len(ds) == 2
    np.testing.assert_array_equal(
        ds[0]['data_samples'].gt_sem_seg.data[0].numpy(), merged['0007'])


def test_default_is_the_paper_split():
    assert PREPARERS.build(dict(type='mhp_v1')).train_count == 3000


def test_incomplete_raw_is_explained(tmp_path):
    raw = tmp_path / 'LV-MHP-v1'
    raw.mkdir()
    with pytest.raises(RawDataError, match='Multi-Human-Parsing') as err:
        prepare(PREPARERS.build(dict(type='mhp_v1')), str(raw),
                str(tmp_path / 'out'))
    assert 'train_list.txt' in str(err.value)


@pytest.mark.parametrize('lists', [
    ('0001.jpg\n0002.jpg\n0007.jpg\n', '0007.jpg\n0008.jpg\n'),  # both
    ('0001.jpg\n0002.jpg\n0001.jpg\n', '0007.jpg\n0008.jpg\n'),  # twice
])
def test_a_name_listed_twice_is_an_error(tmp_path, lists):
    raw, out = str(tmp_path / 'LV-MHP-v1'), str(tmp_path / 'out')
    make_raw(raw)
    for name, text in zip(('train_list.txt', 'test_list.txt'), lists):
        with open(osp.join(raw, name), 'w') as f:
            f.write(text)
    with pytest.raises(ValueError) as err:
        prepare(PREPARERS.build(dict(type='mhp_v1', train_count=1)), raw,
                out)
    message = str(err.value)
    twice = '0007' if '0007' in lists[0] else '0001'
    assert f"'{twice}'" in message
    assert osp.join(raw, 'train_list.txt') in message
    if twice == '0007':
        assert osp.join(raw, 'test_list.txt') in message
    assert not osp.exists(out)
