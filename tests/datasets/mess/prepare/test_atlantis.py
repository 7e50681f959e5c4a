"""ATLANTIS preparation on a fixture in the authors' layout (per-label
folders, grey masks with 0 = void)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

H, W = 12, 18
# (split, folder, photo id); 5001 is filed twice in test, 6002 is in train
# and test, 7001 has no mask, 7009 no image
FILES = [('train', 'bridge', '1001'), ('train', 'bridge', '1002'),
         ('train', 'hot_spring', '1003'), ('train', 'sea', '6002'),
         ('train', 'sea', '1004'), ('train', 'sea', '7001'),
         ('val', 'bridge', '2001'), ('val', 'sea', '2002'),
         ('test', 'bridge', '5001'), ('test', 'hot_spring', '5001'),
         ('test', 'sea', '6002'), ('test', 'sea', '5003'),
         ('test', 'sea', '7009')]


def make_raw(root):
    rng = np.random.default_rng(0)
    masks = {}
    for split, folder, photo in FILES:
        for kind in ('images', 'masks'):
            os.makedirs(osp.join(root, kind, split, folder), exist_ok=True)
        if photo != '7009':
            img = Image.fromarray(
                rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
            exif = img.getexif()
            if photo == '1001':
                exif[0x0112] = 8  # "rotate 270": must not be applied
            img.save(osp.join(root, 'images', split, folder, photo + '.jpg'),
                     exif=exif.tobytes())
        if photo != '7001':
            values = rng.integers(0, 57, (H, W)).astype(np.uint8)
            values[0, :4] = (0, 1, 56, 0)  # void, classes 0 and 55
            Image.fromarray(values).save(
                osp.join(root, 'masks', split, folder, photo + '.png'))
            masks[f'{split}/{folder}/{photo}'] = values
    return masks


def expected(values):
    return np.where((values >= 1) & (values <= 56), values.astype(int) - 1,
                    255).astype(np.uint8)


def test_prepare_atlantis(tmp_path):
    # 'images' and 'jpg' in the root path must not confuse the pairing
    raw, out = str(tmp_path / 'images_jpg' / 'atlantis'), str(tmp_path / 'o')
    masks = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='atlantis')), raw, out)
    assert meta['counts'] == dict(train=4, val=2, test=3)
    assert meta['unpaired'] == dict(
        images_without_label=['train/sea/7001'],
        labels_without_image=['test/sea/7009'],
        duplicates=['test/hot_spring/5001 (kept test/bridge/5001)',
                    'train/sea/6002 (kept test/sea/6002)'])
    sources = dict(train=['bridge/1001', 'bridge/1002', 'hot_spring/1003',
                          'sea/1004'],
                   val=['bridge/2001', 'sea/2002'],
                   test=['bridge/5001', 'sea/5003', 'sea/6002'])
    for split, rels in sources.items():
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        assert names == sorted(osp.basename(r) + '.png' for r in rels)
        for rel in rels:
            stem = osp.basename(rel)
            label = mmcv.imread(osp.join(out, 'ann_dir', split, stem + '.png'),
                                flag='unchanged')
            np.testing.assert_array_equal(label,
                                          expected(masks[f'{split}/{rel}']))
            assert label[0, :4].tolist() == [255, 0, 55, 255]
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.jpg'))
            assert img.shape == (H, W, 3)  # stored grid, not EXIF-rotated

    # void (0) is counted per split, over the masks kept
    for split, rels in sources.items():
        zeros = [int((masks[f'{split}/{rel}'] == 0).sum()) for rel in rels]
        entry = meta['label_values_ignored'][split].pop('0')
        assert entry['kind'] == 'void' and entry['pixels'] == sum(zeros)
        assert entry['files'] == len(rels) and entry['example'].endswith(
            tuple(f'{rel}.png' for rel in rels))
    assert meta['label_values_ignored'] == dict(train={}, val={}, test={})

    ds = load_split('ATLANTISDataset', out)
    assert len(ds) == 3
    np.testing.assert_array_equal(
        ds[0]['data_samples'].gt_sem_seg.data[0].numpy(),
        expected(masks['test/bridge/5001']))


def test_incomplete_raw_is_explained(tmp_path):
    raw = tmp_path / 'atlantis'
    raw.mkdir()
    with pytest.raises(RawDataError, match='smhassanerfani/atlantis') as err:
        prepare(PREPARERS.build(dict(type='atlantis')), str(raw),
                str(tmp_path / 'out'))
    assert 'masks/val' in str(err.value)
