"""ZeroWaste-f preparation on a fixture in the authors' layout (upper-case
.PNG files, official train / val / test)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

ROOT = 'splits_final_deblurred'
SIZE = (10, 14)
COUNTS = dict(train=5, val=2, test=3)


def make_raw(root):
    """<split>/data/<n>.PNG and <split>/sem_seg/<n>.PNG with ids 0..4,
    grey or repeated in 3 channels; one pair uses .png; the
    val split has an extra mask without frame."""
    rng = np.random.default_rng(0)
    labels = {}
    for split, count in COUNTS.items():
        for kind in ('data', 'sem_seg'):
            os.makedirs(osp.join(root, ROOT, split, kind))
        for i in range(count + (split == 'val')):
            stem = f'{split}_frame_{i:06d}'
            suffix = '.png' if (split, i) == ('train', 4) else '.PNG'
            if (split, i) != ('val', 2):
                img = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
                Image.fromarray(img).save(
                    osp.join(root, ROOT, split, 'data', stem + suffix),
                    format='PNG')
            ids = rng.integers(0, 5, SIZE, dtype=np.uint8)
            mask = ids if i % 2 else np.repeat(ids[..., None], 3, axis=-1)
            Image.fromarray(mask).save(
                osp.join(root, ROOT, split, 'sem_seg', stem + suffix),
                format='PNG')
            labels[stem] = ids
    return labels


def test_prepare_zerowaste(tmp_path):
    raw, out = str(tmp_path / 'zerowaste-f'), str(tmp_path / 'out')
    labels = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='zerowaste')), raw, out)
    assert meta['counts'] == COUNTS
    assert meta['unpaired'] == dict(
        images_without_label=[],
        labels_without_image=['val/val_frame_000002'])

    for split, count in COUNTS.items():
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        # official splits are kept as they are
        assert [n[:-4] for n in names] == [
            f'{split}_frame_{i:06d}' for i in range(count)]
        for name in names:
            ids = labels[name[:-4]]
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(label, np.where(ids <= 4, ids, 255))
            assert osp.isfile(osp.join(out, 'img_dir', split, name))

    dataset = load_split('ZeroWasteDataset', out)
    assert len(dataset) == 3
    sample = dataset[1]
    ids = labels['test_frame_000001']
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data.numpy()[0],
        np.where(ids <= 4, ids, 255))
    assert dataset.metainfo['classes'][0] == 'background or trash'


def test_missing_split_is_explained(tmp_path):
    raw, out = str(tmp_path / 'zerowaste-f'), str(tmp_path / 'out')
    make_raw(raw)
    os.rename(osp.join(raw, ROOT, 'val'), osp.join(raw, ROOT, 'other'))
    with pytest.raises(RawDataError, match='ai.bu.edu') as err:
        prepare(PREPARERS.build(dict(type='zerowaste')), raw, out)
    assert f'{ROOT}/val/data' in str(err.value)
