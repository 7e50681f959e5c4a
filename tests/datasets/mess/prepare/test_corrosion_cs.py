"""Corrosion CS preparation on a fixture in the authors' layout."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

ROOT = 'original'
SIZE = (14, 18)
# display colours of a palette mask: index i is shown as PALETTE[i]
PALETTE = [0, 0, 0, 255, 255, 0, 255, 128, 0, 255, 0, 0]


def save_mask(ids, path, form):
    if form == 'palette':
        mask = Image.frombytes('P', ids.shape[::-1], ids.tobytes())
        mask.putpalette(PALETTE + [0] * (768 - len(PALETTE)))  # 8-bit
    elif form == 'grey':
        mask = Image.fromarray(ids)
    else:  # class ids repeated in 3 channels
        mask = Image.fromarray(np.repeat(ids[..., None], 3, axis=-1))
    mask.save(path)
    with Image.open(path) as saved:
        assert saved.mode == dict(palette='P', grey='L', rgb='RGB')[form]


def make_raw(root):
    """original/{Train,Test}/images/<n>.jpeg + masks/<n>.png holding ids
    0..3 as palette, grey or 3-channel PNGs; a resized
    512x512/ copy that must be ignored."""
    rng = np.random.default_rng(0)
    labels = {}
    forms = ('palette', 'grey', 'rgb')
    for folder, count in (('Train', 10), ('Test', 4)):
        for sub in ('images', 'masks'):
            os.makedirs(osp.join(root, ROOT, folder, sub))
            os.makedirs(osp.join(root, '512x512', folder, sub))
        for i in range(count):
            stem = f'{folder[:2]}{i}'
            img = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
            Image.fromarray(img).save(
                osp.join(root, ROOT, folder, 'images', stem + '.jpeg'))
            Image.fromarray(img).save(
                osp.join(root, '512x512', folder, 'images', stem + '.jpeg'))
            if stem == 'Te3':
                continue  # a test image without mask
            ids = rng.integers(0, 4, SIZE, dtype=np.uint8)
            save_mask(ids, osp.join(root, ROOT, folder, 'masks',
                                    stem + '.png'), forms[i % 3])
            labels[stem] = ids
    return labels


def test_prepare_corrosion_cs(tmp_path):
    raw = str(tmp_path / 'Corrosion Condition State Classification')
    out = str(tmp_path / 'out')
    labels = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='corrosion_cs')), raw, out)
    assert meta['counts'] == dict(train=9, val=1, test=3)
    assert meta['unpaired']['images_without_label'] == ['Test/Te3']
    assert meta['unpaired']['labels_without_image'] == []

    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {n[:-4] for n in names}
        for name in names:
            ids = labels[name[:-4]]
            expected = np.where(ids <= 3, ids, 255)
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(label, expected)
            assert osp.isfile(osp.join(out, 'img_dir', split, name))
    assert stems['test'] == {'Te0', 'Te1', 'Te2'}
    assert stems['train'] | stems['val'] == {f'Tr{i}' for i in range(10)}
    assert not stems['train'] & stems['val']

    dataset = load_split('CorrosionCSDataset', out)
    assert len(dataset) == 3
    sample = dataset[0]  # Te0, a palette mask
    assert osp.basename(sample['data_samples'].img_path) == 'Te0.png'
    gt = sample['data_samples'].gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(
        gt, np.where(labels['Te0'] <= 3, labels['Te0'], 255))


def test_colour_masks_and_missing_raw_fail_clearly(tmp_path):
    raw = str(tmp_path / 'Corrosion Condition State Classification')
    out = str(tmp_path / 'out')
    make_raw(raw)
    colour = np.zeros((*SIZE, 3), np.uint8)
    colour[..., 0] = 255  # a colour-coded mask is not what we expect
    Image.fromarray(colour).save(
        osp.join(raw, ROOT, 'Train', 'masks', 'Tr0.png'))
    with pytest.raises(ValueError, match='colour'):
        prepare(PREPARERS.build(dict(type='corrosion_cs')), raw, out)

    with pytest.raises(RawDataError, match='figshare') as err:
        prepare(PREPARERS.build(dict(type='corrosion_cs')),
                str(tmp_path / 'nothing'), out)
    assert 'original/Train/images' in str(err.value)
