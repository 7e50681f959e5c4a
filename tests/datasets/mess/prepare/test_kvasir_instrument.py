"""Kvasir-Instrument preparation on a fixture in the authors' layout."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare


def make_raw(root, size=(20, 24)):
    """images/<id>.jpg, masks/<id>.png (white = instrument, some grey and
    some RGB, with near-white / near-black noise), train.txt, test.txt."""
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'masks'))
    ids = [f'ckcu{i:04d}' for i in range(14)]
    masks = {}
    for i, id_ in enumerate(ids):
        if id_ != 'ckcu0013':  # mask without image
            img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
            Image.fromarray(img).save(osp.join(root, 'images', id_ + '.jpg'))
        if id_ == 'ckcu0003':  # image without mask (listed in train.txt)
            continue
        grey = np.where(rng.random(size) < 0.4, 255, 0).astype(np.uint8)
        grey[0, :6] = (254, 250, 128, 127, 3, 1)  # JPEG-like noise
        mask = Image.fromarray(grey)
        if i % 2:
            mask = mask.convert('RGB')  # stored as 3 channels, like Kvasir
        mask.save(osp.join(root, 'masks', id_ + '.png'))
        masks[id_] = grey
    # ckcu0012 is a pair listed in neither file
    with open(osp.join(root, 'train.txt'), 'w') as f:
        f.write('\n'.join(ids[:9]) + '\n\n')
    with open(osp.join(root, 'test.txt'), 'w') as f:
        f.write('\n'.join(ids[9:12]) + '\n')
    return masks


def read(path):
    return mmcv.imread(path, flag='unchanged')


def test_prepare_kvasir_instrument(tmp_path):
    raw, out = str(tmp_path / 'kvasir-instrument'), str(tmp_path / 'out')
    masks = make_raw(raw)
    preparer = PREPARERS.build(dict(type='kvasir_instrument'))
    meta = prepare(preparer, raw, out)
    # train.txt: 9 ids, one without mask -> 8 pairs -> 7 train + 1 val
    assert meta['counts'] == dict(train=7, val=1, test=3)
    assert meta['unpaired']['images_without_label'] == ['ckcu0003']
    assert meta['unpaired']['labels_without_image'] == ['ckcu0013']
    assert meta['unpaired']['listed_without_pair'] == ['ckcu0003']
    assert meta['unpaired']['pair_in_no_split'] == ['ckcu0012']

    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {n[:-4] for n in names}
        for name in names:
            expected = (masks[name[:-4]] >= 128).astype(np.uint8)
            np.testing.assert_array_equal(
                read(osp.join(out, 'ann_dir', split, name)), expected)
            image = read(osp.join(out, 'img_dir', split, name))
            assert image.shape == (20, 24, 3)
    assert stems['test'] == {'ckcu0009', 'ckcu0010', 'ckcu0011'}
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    assert stems['train'] | stems['val'] == {
        f'ckcu{i:04d}' for i in range(9)} - {'ckcu0003'}

    # re-running changes nothing
    assert prepare(preparer, raw, out) == meta

    dataset = load_split('KvasirInstrumentDataset', out)
    assert len(dataset) == 3
    sample = dataset[0]
    stem = osp.basename(sample['data_samples'].img_path)[:-4]
    gt = sample['data_samples'].gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(gt, masks[stem] >= 128)
    assert dataset.metainfo['classes'] == ('others', 'tool')


def test_missing_or_packed_raw_is_explained(tmp_path):
    raw = tmp_path / 'kvasir-instrument'
    out = str(tmp_path / 'out')
    preparer = PREPARERS.build(dict(type='kvasir_instrument'))
    with pytest.raises(RawDataError, match='simula.no') as err:
        prepare(preparer, str(raw), out)
    assert 'train.txt' in str(err.value)

    raw.mkdir()  # as unzipped: images and masks still in tarballs
    for name in ('images.tar.gz', 'masks.tar.gz', 'train.txt', 'test.txt'):
        (raw / name).write_bytes(b'')
    with pytest.raises(RawDataError, match='tar -xzf'):
        prepare(preparer, str(raw), out)
