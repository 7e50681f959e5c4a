"""CUB-200-2011 preparation on a fixture in the authors' layout (soft masks
in the storage forms we handle). No real samples are available."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

FOLDERS = ('001.Black_footed_Albatross', '017.Cardinal',
           '200.Common_Yellowthroat')
# averages of five annotators, plus the values around the threshold
SOFT = np.array([0, 51, 102, 127, 128, 129, 153, 204, 255], np.uint8)
FORMS = ('grey', 'rgb', 'palette', '1bit', '16bit', 'grey_alpha')


def save_mask(soft, path, form):
    """Write the 8-bit soft mask ``soft`` in ``form``; returns the values
    that form actually stores (1-bit keeps only > 128)."""
    if form == '1bit':
        soft = np.where(soft > 128, 255, 0).astype(np.uint8)
        Image.fromarray(soft > 128).save(path)
    elif form == 'grey':
        Image.fromarray(soft).save(path)
    elif form == 'rgb':
        Image.fromarray(np.repeat(soft[..., None], 3, -1)).save(path)
    elif form == 'grey_alpha':
        Image.fromarray(np.stack([soft, np.full_like(soft, 255)],
                                 -1)).save(path)  # LA
    elif form == 'palette':  # grey ramp palette, indices reversed
        mask = Image.frombytes('P', soft.shape[::-1],
                               (255 - soft).tobytes())
        mask.putpalette([255 - i for i in range(256) for _ in range(3)])
        mask.save(path)
    elif form == '16bit':
        Image.fromarray(soft.astype(np.uint16) * 257).save(path)
    else:
        raise ValueError(form)
    return soft


def expected_label(soft, class_id):
    out = np.zeros(soft.shape, np.uint8)
    out[soft > 128] = class_id
    return out


def make_raw(root, count=12, h=18, w=22):
    """Returns {stem: expected label}; image i is a training image when
    i % 12 < 7 (so 7 of 12)."""
    rng = np.random.default_rng(0)
    expected, listing, split = {}, [], []
    for i in range(count):
        folder = FOLDERS[i % len(FOLDERS)]
        stem = f'{folder[4:]}_{i:04d}_{100 + i}'
        rel = f'{folder}/{stem}.jpg'
        for sub in ('images', 'segmentations'):
            os.makedirs(osp.join(root, sub, folder), exist_ok=True)
        mmcv.imwrite(
            rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
            osp.join(root, 'images', rel))
        soft = rng.choice(SOFT, (h, w))
        soft[0, :3] = (128, 129, 255)
        seg = osp.join(root, 'segmentations', folder, stem + '.png')
        soft = save_mask(soft, seg, FORMS[i % len(FORMS)])
        expected[stem] = expected_label(soft, int(folder[:3]))
        listing.append(f'{i + 1} {rel}')
        split.append(f'{i + 1} {int(i % 12 < 7)}')
    with open(osp.join(root, 'images.txt'), 'w') as f:
        f.write('\n'.join(listing) + '\n')
    with open(osp.join(root, 'train_test_split.txt'), 'w') as f:
        f.write('\n'.join(split) + '\n')
    return expected


def test_storage_forms(tmp_path):
    preparer = PREPARERS.build(dict(type='cub_200'))
    soft = np.tile(SOFT, (4, 1))
    for form in FORMS:
        path = str(tmp_path / f'{form}.png')
        stored = save_mask(soft, path, form)
        np.testing.assert_array_equal(
            preparer.read_label((path, 17)),
            expected_label(stored, 17),
            err_msg=form)
    # 128 (a tie of 2.5 annotators) is background, 129 is bird
    assert expected_label(SOFT, 1)[SOFT == 128] == 0
    assert expected_label(SOFT, 1)[SOFT == 129] == 1


def test_prepare_cub_200(tmp_path):
    raw, out = str(tmp_path / 'CUB_200_2011'), str(tmp_path / 'out')
    expected = make_raw(raw)
    # a test image without segmentation, a segmentation without listed image
    # and an unlisted image (not part of the dataset)
    lonely = 'Cardinal_0010_110'
    os.remove(osp.join(raw, 'segmentations', '017.Cardinal', lonely + '.png'))
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(
        osp.join(raw, 'segmentations', '017.Cardinal', 'Cardinal_x.png'))
    mmcv.imwrite(np.zeros((4, 4, 3), np.uint8),
                 osp.join(raw, 'images', '017.Cardinal', 'unlisted.jpg'))
    meta = prepare(PREPARERS.build(dict(type='cub_200')), raw, out)

    assert meta['counts'] == dict(train=6, val=1, test=4)
    assert meta['unpaired'] == dict(
        images_without_label=[lonely], labels_without_image=['Cardinal_x'])
    stems = {}
    for split in ('train', 'val', 'test'):
        labels = read_split(out, split)
        stems[split] = set(labels)
        for stem, label in labels.items():
            np.testing.assert_array_equal(label, expected[stem], err_msg=stem)
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.jpg'))
            assert img.shape == label.shape + (3, )
    train_stems = {s for s in expected if int(s[-3:]) - 100 < 7}
    assert stems['train'] | stems['val'] == train_stems
    assert stems['test'] == set(expected) - train_stems - {lonely}
    assert not stems['train'] & stems['val']
    classes = set(np.unique(np.concatenate(
        [v.ravel() for v in read_split(out, 'test').values()])))
    assert classes == {0, 1, 17, 200}

    dataset = load_split('CUB200Dataset', out)
    assert len(dataset) == 4 and len(dataset.metainfo['classes']) == 201
    sample = dataset[0]
    stem = osp.basename(sample['data_samples'].img_path)[:-4]
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), expected[stem])


def test_incomplete_raw_fails_clearly(tmp_path):
    raw = str(tmp_path / 'CUB_200_2011')
    make_raw(raw, count=3)
    with pytest.raises(RawDataError, match='caltech.edu') as err:
        prepare(PREPARERS.build(dict(type='cub_200')), str(tmp_path / 'x'),
                str(tmp_path / 'out'))
    assert 'images.txt' in str(err.value)

    os.remove(osp.join(raw, 'images', FOLDERS[1], 'Cardinal_0001_101.jpg'))
    with pytest.raises(RawDataError, match='Cardinal_0001_101.jpg'):
        prepare(PREPARERS.build(dict(type='cub_200')), raw,
                str(tmp_path / 'out'))

    raw2 = str(tmp_path / 'again' / 'CUB_200_2011')
    make_raw(raw2, count=3)
    with open(osp.join(raw2, 'train_test_split.txt'), 'w') as f:
        f.write('1 1\n2 0\n')
    with pytest.raises(ValueError, match='image id 3'):
        prepare(PREPARERS.build(dict(type='cub_200')), raw2,
                str(tmp_path / 'out'))
