"""Dark Zurich preparation on a fixture in the authors' layout (label ids
plus the invalid-region mask)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

SEQ = 'night/GOPR0356'
H, W = 10, 18
# MESS class -> Cityscapes label id, written out independently of the module
CLASS_OF_ID = {0: 0, 7: 1, 8: 2, 11: 3, 12: 4, 13: 5, 17: 6, 19: 7, 20: 8,
               21: 9, 22: 10, 23: 11, 24: 12, 25: 13, 26: 14, 27: 15, 28: 16,
               31: 17, 32: 18, 33: 19}


def make_raw(root, count=12):
    """``count`` frames; frame 5 has no invGray mask, frame 11 no labels."""
    rng = np.random.default_rng(0)
    img_dir = osp.join(root, 'rgb_anon', 'val', SEQ)
    gt_dir = osp.join(root, 'gt', 'val', SEQ)
    os.makedirs(img_dir)
    os.makedirs(gt_dir)
    values = list(CLASS_OF_ID) + [1, 4, 15, 18, 255]  # + void ids, 255
    frames = {}
    for i in range(count):
        frame = f'GOPR0356_frame_{i * 7:06d}'
        img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        Image.fromarray(img).save(osp.join(img_dir, frame + '_rgb_anon.png'))
        if i == count - 1:
            continue
        ids = rng.choice(values, (H, W)).astype(np.uint8)
        ids[0, :3] = (7, 7, 4)
        invalid = np.where(rng.random((H, W)) < 0.2, 255, 0).astype(np.uint8)
        invalid[0, :3] = (255, 128, 0)  # only 255 is invalid
        Image.fromarray(ids).save(osp.join(gt_dir, frame + '_gt_labelIds.png'))
        # a variant that must not be read
        Image.fromarray(ids).save(
            osp.join(gt_dir, frame + '_gt_labelTrainIds.png'))
        if i != 5:
            Image.fromarray(invalid).save(
                osp.join(gt_dir, frame + '_gt_invGray.png'))
        frames[frame] = (img, ids, invalid)
    return frames


def expected(ids, invalid):
    out = np.full(ids.shape, 255, np.uint8)
    for label_id, cls in CLASS_OF_ID.items():
        out[ids == label_id] = cls
    out[invalid == 255] = 255
    return out


def test_prepare_dark_zurich(tmp_path):
    raw, out = str(tmp_path / 'Dark_Zurich'), str(tmp_path / 'out')
    frames = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='dark_zurich')), raw, out)
    order = sorted(f for i, f in enumerate(sorted(frames)) if i != 5)
    assert len(order) == 10
    assert meta['counts'] == dict(train=6, val=2, test=2)
    assert meta['unpaired']['images_without_label'] == [
        'GOPR0356_frame_000035', 'GOPR0356_frame_000077']
    assert meta['unpaired']['label_ids_without_invalid_mask'] == [
        'GOPR0356_frame_000035']
    assert 'not comparable' in meta['split_policy']

    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = [n[:-4] for n in names]
        for name in names:
            img, ids, invalid = frames[name[:-4]]
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(label, expected(ids, invalid))
            assert label[0, :3].tolist() == [255, 1, 255]
            written = mmcv.imread(osp.join(out, 'img_dir', split, name),
                                  channel_order='rgb')
            np.testing.assert_array_equal(written, img)  # lossless png
    # contiguous blocks in frame order
    assert stems == dict(train=order[:6], val=order[6:8], test=order[8:])
    # Cityscapes ids of no MESS class: counted, outside invalid regions;
    # 255 (and the invalid regions) as void
    for split, names in stems.items():
        found = {}
        for stem in names:
            _, ids, invalid = frames[stem]
            raw_ids = np.where(invalid == 255, 255, ids)
            for value in (1, 4, 15, 18, 255):
                if (raw_ids == value).any():
                    found[str(value)] = found.get(str(value), 0) + int(
                        (raw_ids == value).sum())
        ignored = meta['label_values_ignored'][split]
        assert {v: e['pixels'] for v, e in ignored.items()} == found
        assert {v: e['kind'] for v, e in ignored.items()} == {
            v: 'void' if v == '255' else 'no class' for v in found}

    ds = load_split('MESSDarkZurichDataset', out)
    assert len(ds) == 2
    sample = ds[0]['data_samples']
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(),
                                  expected(*frames[order[8]][1:]))


def test_incomplete_raw_is_explained(tmp_path):
    raw = tmp_path / 'Dark_Zurich'
    raw.mkdir()
    with pytest.raises(RawDataError, match='trace.ethz.ch') as err:
        prepare(PREPARERS.build(dict(type='dark_zurich')), str(raw),
                str(tmp_path / 'out'))
    assert 'gt/val/night' in str(err.value)
