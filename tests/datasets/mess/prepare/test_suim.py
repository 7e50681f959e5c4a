"""SUIM preparation: a fixture in the authors' layout (colour-coded BMP
masks with off-palette border colours, palette and 32-bit BMPs) and the real
TEST samples in shared/data when present."""
import filecmp
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from helpers import REPO
from mess_helpers import load_split, read_png, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

REAL = osp.join(REPO, '..', 'shared', 'data', 'suim')
# the SUIM colour table (RGB) in MESS's class order
TABLE = {
    (0, 0, 0): 0,  # background (waterbody)
    (0, 0, 255): 1,  # human diver
    (0, 255, 0): 2,  # plants and sea-grass
    (0, 255, 255): 3,  # wrecks and ruins
    (255, 0, 0): 4,  # robots
    (255, 0, 255): 5,  # reefs and invertebrates
    (255, 255, 0): 6,  # fish and vertebrates
    (255, 255, 255): 7,  # sea-floor and rocks
}
COLOUR_OF = {v: k for k, v in TABLE.items()}
# per-class binary masks shipped in TEST/masks/<code>/
BINARY = dict(HD=1, WR=3, RO=4, RI=5, FV=6)


def save_mask(classes, path, form, rng):
    rgb = np.array([COLOUR_OF[c] for c in range(8)], np.uint8)[classes]
    if form == 'noisy':  # off-palette colours, each channel on its side
        high = rng.integers(128, 256, rgb.shape)
        low = rng.integers(0, 128, rgb.shape)
        rgb = np.where(rgb == 255, high, low).astype(np.uint8)
        rgb[0, :2] = ((128, 127, 128), (127, 128, 127))  # the thresholds
        assert classes[0, 0] == 5 and classes[0, 1] == 2
    if form == 'palette':  # 8-bit BMP
        mask = Image.frombytes('P', classes.shape[::-1],
                               classes.astype(np.uint8).tobytes())
        mask.putpalette(rgb_palette())
    elif form == 'rgba':  # 32-bit BMP
        mask = Image.fromarray(
            np.concatenate([rgb, np.full_like(rgb[..., :1], 255)], -1))
    else:  # 24-bit BMP
        mask = Image.fromarray(rgb)
    mask.save(path)


def rgb_palette():
    return [v for c in range(8) for v in COLOUR_OF[c]]


FORMS = ('exact', 'noisy', 'palette', 'rgba')


def make_raw(root, counts=dict(train_val=10, TEST=4), h=20, w=28):
    rng = np.random.default_rng(0)
    classes = {}
    for folder, count in counts.items():
        os.makedirs(osp.join(root, folder, 'images'))
        os.makedirs(osp.join(root, folder, 'masks', 'HD'))
        for i in range(count):
            stem = f'{"dfnw"[i % 4]}_r_{i}{folder[0]}_'
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            cls = rng.integers(0, 8, (h, w))
            cls[0, :2] = (5, 2)
            mmcv.imwrite(img, osp.join(root, folder, 'images', stem + '.jpg'))
            save_mask(cls, osp.join(root, folder, 'masks', stem + '.bmp'),
                      FORMS[i % len(FORMS)], rng)
            # the per-class binary masks must not be taken as samples
            Image.fromarray(np.where(cls == 1, 255, 0).astype(
                np.uint8)).save(osp.join(root, folder, 'masks', 'HD',
                                         stem + '.bmp'))
            classes[stem] = cls
    return classes


def test_storage_forms(tmp_path):
    preparer = PREPARERS.build(dict(type='suim'))
    rng = np.random.default_rng(1)
    cls = np.arange(8 * 6).reshape(6, 8) % 8
    cls[0, :2] = (5, 2)
    for form in FORMS:
        path = str(tmp_path / f'{form}.bmp')
        save_mask(cls, path, form, rng)
        np.testing.assert_array_equal(
            preparer.read_label(path), cls, err_msg=form)


def test_prepare_suim(tmp_path):
    raw, out = str(tmp_path / 'SUIM'), str(tmp_path / 'out')
    classes = make_raw(raw)
    os.remove(osp.join(raw, 'TEST', 'masks', 'n_r_2T_.bmp'))
    meta = prepare(PREPARERS.build(dict(type='suim')), raw, out)

    assert meta['counts'] == dict(train=9, val=1, test=3)
    assert meta['unpaired'] == dict(
        images_without_label=['TEST/n_r_2T_'], labels_without_image=[])
    stems = {}
    for split in ('train', 'val', 'test'):
        labels = read_split(out, split)
        stems[split] = set(labels)
        for stem, label in labels.items():
            np.testing.assert_array_equal(label, classes[stem], err_msg=stem)
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.jpg'))
            assert img.shape == label.shape + (3, )
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    assert all(s.endswith('T_') for s in stems['test'])
    assert prepare(PREPARERS.build(dict(type='suim')), raw, out) == meta

    dataset = load_split('SUIMDataset', out)
    assert len(dataset) == 3 and len(dataset.metainfo['classes']) == 8
    sample = dataset[1]
    stem = osp.basename(sample['data_samples'].img_path)[:-4]
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), classes[stem])


def test_missing_train_val_is_explained(tmp_path):
    raw = str(tmp_path / 'SUIM')
    make_raw(raw, counts=dict(TEST=2))
    with pytest.raises(RawDataError, match='irvlab.cs.umn.edu') as err:
        prepare(PREPARERS.build(dict(type='suim')), raw, str(tmp_path / 'o'))
    assert 'train_val/images' in str(err.value)


@pytest.mark.skipif(
    not osp.isdir(osp.join(REAL, 'TEST')),
    reason=f'real SUIM samples not found at {REAL}/TEST')
def test_real_suim_samples(tmp_path):
    # the real TEST folder, read in place, next to a tiny generated train_val
    raw, out = str(tmp_path / 'SUIM'), str(tmp_path / 'out')
    make_raw(raw, counts=dict(train_val=2))
    os.symlink(osp.abspath(osp.join(REAL, 'TEST')), osp.join(raw, 'TEST'))
    meta = prepare(PREPARERS.build(dict(type='suim')), raw, out)
    masks = sorted(f[:-4] for f in os.listdir(osp.join(REAL, 'TEST', 'masks'))
                   if f.endswith('.bmp'))
    assert meta['counts']['test'] == len(masks) > 0
    if len(masks) == 8:  # the sample in shared/data
        assert meta['unpaired']['images_without_label'] == []

    for stem, label in read_split(out, 'test').items():
        rgb = read_png(osp.join(REAL, 'TEST', 'masks', stem + '.bmp'))
        # the TEST masks hold table colours only: MESS's exact match
        expected = np.full(label.shape, 255, np.uint8)
        for colour, class_id in TABLE.items():
            expected[np.all(rgb == colour, axis=-1)] = class_id
        assert (expected != 255).all(), f'{stem}: off-table colour'
        np.testing.assert_array_equal(label, expected, err_msg=stem)
        # the image is MESS's: copied, not re-encoded
        assert filecmp.cmp(
            osp.join(out, 'img_dir', 'test', stem + '.jpg'),
            osp.join(REAL, 'TEST', 'images', stem + '.jpg'),
            shallow=False), stem
        # the authors' per-class masks agree with the colour semantics
        for code, class_id in BINARY.items():
            path = osp.join(REAL, 'TEST', 'masks', code, stem + '.bmp')
            if osp.isfile(path):
                binary = read_png(path) > 127
                np.testing.assert_array_equal(
                    label == class_id, binary, err_msg=f'{stem} {code}')


@pytest.mark.skipif(
    not osp.isdir(osp.join(REAL, 'TEST')),
    reason=f'real SUIM samples not found at {REAL}/TEST')
def test_real_test_folder_alone(tmp_path):
    """TEST.zip without train_val: prepared test-only, and said so."""
    raw, out = str(tmp_path / 'SUIM'), str(tmp_path / 'out')
    os.makedirs(raw)
    os.symlink(osp.abspath(osp.join(REAL, 'TEST')), osp.join(raw, 'TEST'))
    with pytest.raises(RawDataError, match='train_val/images'):
        prepare(PREPARERS.build(dict(type='suim')), raw, out)
    meta = prepare(
        PREPARERS.build(dict(type='suim')), raw, out, test_only=True)
    images = sorted(
        f for f in os.listdir(osp.join(REAL, 'TEST', 'images'))
        if f.endswith('.jpg'))
    assert meta['test_only'] is True and meta['splits'] == ['test']
    assert meta['counts'] == dict(train=0, val=0, test=len(images))
    assert sorted(os.listdir(osp.join(out, 'img_dir'))) == ['test']
    assert sorted(os.listdir(osp.join(out, 'img_dir', 'test'))) == images
    for name in images:
        assert filecmp.cmp(
            osp.join(out, 'img_dir', 'test', name),
            osp.join(REAL, 'TEST', 'images', name),
            shallow=False), name
    assert len(load_split('SUIMDataset', out)) == len(images)
