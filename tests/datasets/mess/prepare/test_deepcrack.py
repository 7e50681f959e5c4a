"""DeepCrack preparation: a fixture in the authors' layout with every mask
storage form we handle, and the real samples in shared/data when present."""
import filecmp
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
from helpers import REPO
from mess_helpers import load_split, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

REAL = osp.join(REPO, '..', 'shared', 'data', 'deepcrack')


def save_mask(crack, path, form):
    """Write the boolean ``crack`` as DeepCrack-like label in ``form``."""
    if form == 'grey':  # 8-bit 0/255, most masks
        Image.fromarray(np.where(crack, 255, 0).astype(np.uint8)).save(path)
    elif form == '1bit':  # some real test masks
        Image.fromarray(crack).convert('1').save(path)
    elif form == 'palette':  # index 0 is white (crack), 1 black
        mask = Image.frombytes('P', crack.shape[::-1],
                               (~crack).astype(np.uint8).tobytes())
        mask.putpalette([255, 255, 255, 0, 0, 0])
        mask.save(path)
    elif form == 'rgba':  # opaque everywhere
        grey = np.where(crack, 255, 0).astype(np.uint8)
        Image.fromarray(np.stack([grey] * 3 + [np.full_like(grey, 255)],
                                 -1)).save(path)
    elif form == 'rgb':
        Image.fromarray(
            np.repeat(np.where(crack, 255, 0).astype(np.uint8)[..., None], 3,
                      -1)).save(path)
    elif form == '16bit':
        Image.fromarray(np.where(crack, 65535, 0).astype(np.uint16)).save(path)
    else:
        raise ValueError(form)


FORMS = ('grey', '1bit', 'palette', 'rgb', 'rgba', '16bit')


def make_raw(root, counts=dict(train=10, test=5), h=24, w=32):
    rng = np.random.default_rng(0)
    cracks = {}
    for split, count in counts.items():
        os.makedirs(osp.join(root, f'{split}_img'))
        os.makedirs(osp.join(root, f'{split}_lab'))
        for i in range(count):
            stem = f'{split[:2]}{i:03d}-{i % 3}'
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            crack = rng.random((h, w)) < 0.2
            crack[0, 0], crack[0, 1] = True, False
            mmcv.imwrite(img, osp.join(root, f'{split}_img', stem + '.jpg'))
            save_mask(crack, osp.join(root, f'{split}_lab', stem + '.png'),
                      FORMS[i % len(FORMS)])
            cracks[stem] = crack
    return cracks


def test_storage_forms_are_read_as_written(tmp_path):
    preparer = PREPARERS.build(dict(type='deepcrack'))
    for form in FORMS:
        crack = np.zeros((5, 7), bool)
        crack[1:3, 2:6] = True
        path = str(tmp_path / f'{form}.png')
        save_mask(crack, path, form)
        np.testing.assert_array_equal(preparer.read_label(path),
                                      crack.astype(np.uint8), err_msg=form)
    # MESS's value / 255 would lose the cracks of a 1-bit mask read by PIL
    assert (np.asarray(Image.open(str(tmp_path / '1bit.png'))).astype(
        np.uint8) // 255).sum() == 0


def test_prepare_deepcrack(tmp_path):
    raw, out = str(tmp_path / 'DeepCrack'), str(tmp_path / 'out')
    cracks = make_raw(raw)
    os.remove(osp.join(raw, 'test_lab', 'te004-1.png'))  # image, no label
    os.remove(osp.join(raw, 'train_img', 'tr003-0.jpg'))  # label, no image
    meta = prepare(PREPARERS.build(dict(type='deepcrack')), raw, out)

    assert meta['counts'] == dict(train=8, val=1, test=4)
    assert meta['unpaired'] == dict(images_without_label=['test/te004-1'],
                                    labels_without_image=['train/tr003-0'])
    stems = {}
    for split in ('train', 'val', 'test'):
        labels = read_split(out, split)
        stems[split] = set(labels)
        for stem, label in labels.items():
            assert label.dtype == np.uint8 and label.ndim == 2
            np.testing.assert_array_equal(label,
                                          cracks[stem].astype(np.uint8))
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.jpg'))
            assert img.shape == label.shape + (3, )
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    assert {s[:2] for s in stems['test']} == {'te'}

    # idempotent re-run
    name = sorted(os.listdir(osp.join(out, 'ann_dir', 'test')))[0]
    before = os.stat(osp.join(out, 'ann_dir', 'test', name)).st_mtime_ns
    assert prepare(PREPARERS.build(dict(type='deepcrack')), raw, out) == meta
    assert os.stat(osp.join(out, 'ann_dir', 'test',
                            name)).st_mtime_ns == before

    dataset = load_split('DeepCrackDataset', out)
    assert len(dataset) == 4
    assert dataset.metainfo['classes'] == ('concrete or asphalt', 'crack')
    sample = dataset[0]
    stem = osp.basename(sample['data_samples'].img_path)[:-4]
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), cracks[stem])


def test_missing_raw_is_explained(tmp_path):
    raw = str(tmp_path / 'DeepCrack')
    make_raw(raw, counts=dict(train=2))
    with pytest.raises(RawDataError, match='yhlleo/DeepCrack') as err:
        prepare(PREPARERS.build(dict(type='deepcrack')), raw,
                str(tmp_path / 'out'))
    assert 'test_img' in str(err.value) and 'test_lab' in str(err.value)


@pytest.mark.skipif(
    not osp.isdir(REAL), reason=f'real DeepCrack samples not found at {REAL}')
def test_real_deepcrack_samples(tmp_path):
    out = str(tmp_path / 'out')
    meta = prepare(PREPARERS.build(dict(type='deepcrack')), REAL, out)

    def stems(folder, suffix):
        return {
            f[:-len(suffix)]
            for f in os.listdir(osp.join(REAL, folder)) if f.endswith(suffix)
        }

    n_train = len(stems('train_img', '.jpg') & stems('train_lab', '.png'))
    n_test = len(stems('test_img', '.jpg') & stems('test_lab', '.png'))
    assert n_train and n_test
    assert meta['counts'] == dict(
        train=n_train - round(n_train * 0.1),
        val=round(n_train * 0.1),
        test=n_test)
    if n_train == 40 and n_test == 40:  # the sample in shared/data
        assert meta['counts'] == dict(train=36, val=4, test=40)

    one_bit = 0
    for split, folder in (('train', 'train_lab'), ('val', 'train_lab'),
                          ('test', 'test_lab')):
        for stem, label in read_split(out, split).items():
            path = osp.join(REAL, folder, stem + '.png')
            raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)  # 1-bit -> 0/255
            np.testing.assert_array_equal(label, (raw != 0).astype(np.uint8))
            with Image.open(path) as mask:
                one_bit += mask.mode == '1'
            if split == 'test' and raw.any():
                assert label.any(), f'{stem}: cracks lost'
    assert one_bit > 0, 'expected some 1-bit test masks in the sample'

    # the JPEGs are MESS's images: copied, not re-encoded
    assert meta['images']['converted'] == 0
    for split, folder in (('train', 'train_img'), ('val', 'train_img'),
                          ('test', 'test_img')):
        for name in os.listdir(osp.join(out, 'img_dir', split)):
            assert filecmp.cmp(
                osp.join(out, 'img_dir', split, name),
                osp.join(REAL, folder, name),
                shallow=False), f'{split}/{name} differs from the source'


@pytest.mark.skipif(
    not osp.isdir(REAL), reason=f'real DeepCrack samples not found at {REAL}')
def test_real_val_carve_survives_missing_masks(tmp_path):
    """Masks missing elsewhere do not move val images (issue 9 item 3)."""
    preparer = PREPARERS.build(dict(type='deepcrack'))
    val = {p.stem for p in preparer.collect(REAL)['val']}
    raw = str(tmp_path / 'DeepCrack')
    os.makedirs(osp.join(raw, 'train_lab'))
    for folder in ('train_img', 'test_img', 'test_lab'):
        os.symlink(osp.join(REAL, folder), osp.join(raw, folder))
    masks = sorted(os.listdir(osp.join(REAL, 'train_lab')))
    gone = [m for m in masks if m[:-4] not in val][:3]
    for name in masks:
        if name not in gone:
            os.symlink(osp.join(REAL, 'train_lab', name),
                       osp.join(raw, 'train_lab', name))
    splits = preparer.collect(raw)
    assert len(splits['train']) + len(splits['val']) == len(masks) - 3
    assert {p.stem for p in splits['val']} == val
    # a val mask missing: only that image is replaced
    os.remove(osp.join(raw, 'train_lab', sorted(val)[0] + '.png'))
    assert len({p.stem for p in preparer.collect(raw)['val']} & val) == \
        len(val) - 1
