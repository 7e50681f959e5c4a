"""DRAM preparation on a fixture in the authors' layout (VOC-id palette
PNGs under labels/<artist>/)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

H, W = 10, 14
VOC_NAMES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle',
             'bus', 'car', 'cat', 'chair', 'cow', 'diningtable', 'dog',
             'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
             'train', 'tvmonitor')
DRAM_NAMES = ('bird', 'boat', 'bottle', 'cat', 'chair', 'cow', 'dog', 'horse',
              'person', 'pottedplant', 'sheep', 'background')


def voc_palette():
    palette = []
    for i in range(256):
        c, rgb = i, [0, 0, 0]
        for j in range(8):
            for k in range(3):
                rgb[k] |= ((c >> k) & 1) << (7 - j)
            c >>= 3
        palette += rgb
    return palette


def make_raw(root):
    """6 paintings each by two artists (same file names), plus a painting
    without label and a label without painting."""
    rng = np.random.default_rng(0)
    labels = {}
    values = list(range(21)) + [255]
    for artist in ('Monet', 'van Gogh'):
        for kind in ('test', 'labels', 'train'):
            os.makedirs(osp.join(root, kind, artist))
        for i in range(7):
            name = f'{i:03d}'
            if not (artist == 'Monet' and i == 6):
                img = Image.fromarray(
                    rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
                exif = img.getexif()
                exif[0x0112] = 6 if i < 3 else 1  # rotation must not apply
                img.save(osp.join(root, 'test', artist, name + '.jpg'),
                         exif=exif.tobytes())
            if artist == 'van Gogh' and i == 6:
                continue
            voc = rng.choice(values, (H, W)).astype(np.uint8)
            voc[0, :5] = (0, 3, 20, 255, 255)
            img = Image.fromarray(voc, mode='P')
            img.putpalette(voc_palette())
            if i == 0:
                img = Image.fromarray(voc, mode='L')
            img.save(osp.join(root, 'labels', artist, name + '.png'))
            labels[f'{artist}_{name}'] = voc
        # unlabelled paintings, never used
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(
            osp.join(root, 'train', artist, 'x.jpg'))
    return labels


def expected(voc):
    out = np.full(voc.shape, 255, np.uint8)
    for voc_id, name in enumerate(VOC_NAMES):
        out[voc == voc_id] = DRAM_NAMES.index(name) \
            if name in DRAM_NAMES else DRAM_NAMES.index('background')
    return out


def test_prepare_dram(tmp_path):
    raw, out = str(tmp_path / 'test' / 'DRAM_processed'), str(tmp_path / 'o')
    labels = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='dram')), raw, out)
    assert meta['counts'] == dict(train=8, val=2, test=2)
    assert meta['unpaired'] == dict(
        images_without_label=['van Gogh_006'],
        labels_without_image=['Monet_006'])
    assert 'not comparable' in meta['split_policy']
    stems = {}
    for split in ('train', 'val', 'test'):
        written = read_split(out, split)
        stems[split] = set(written)
        for stem, label in written.items():
            np.testing.assert_array_equal(label, expected(labels[stem]))
            assert label[0, :5].tolist() == [11, 0, 11, 255, 255]
            img = mmcv.imread(osp.join(out, 'img_dir', split,
                                       stem + '.jpg'))
            assert img.shape == (H, W, 3)
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    for split, names in stems.items():  # void (255), counted
        entry = meta['label_values_ignored'][split]['255']
        assert (entry['kind'], entry['pixels'], entry['files']) == (
            'void', sum(int((labels[s] == 255).sum()) for s in names),
            len(names))
    assert set().union(*stems.values()) == {
        f'{a}_{i:03d}' for a in ('Monet', 'van Gogh') for i in range(6)}

    # deterministic: a second preparation elsewhere gives the same split
    meta2 = prepare(PREPARERS.build(dict(type='dram')), raw,
                    str(tmp_path / 'o2'))
    assert meta2['counts'] == meta['counts']
    for split in ('train', 'val', 'test'):
        assert sorted(os.listdir(osp.join(tmp_path, 'o2', 'ann_dir', split))
                      ) == sorted(s + '.png' for s in stems[split])

    ds = load_split('DRAMDataset', out)
    assert len(ds) == 2
    first = sorted(stems['test'])[0]
    np.testing.assert_array_equal(
        ds[0]['data_samples'].gt_sem_seg.data[0].numpy(),
        expected(labels[first]))


def test_incomplete_raw_is_explained(tmp_path):
    raw = tmp_path / 'DRAM_processed'
    raw.mkdir()
    with pytest.raises(RawDataError, match='Dram-Dataset.html') as err:
        prepare(PREPARERS.build(dict(type='dram')), str(raw),
                str(tmp_path / 'out'))
    assert 'labels' in str(err.value)
