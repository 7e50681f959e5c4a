"""BDD100K preparation on a fixture in the authors' layout: grey train-id
masks for train, palette colormaps (the fallback) for val."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

H, W = 12, 20


def _label(rng):
    ids = rng.integers(0, 19, (H, W)).astype(np.uint8)
    ids[0, :4] = (255, 0, 255, 18)  # unlabelled, first class, last class
    return ids


def make_raw(root):
    """6 train images (one without label), 3 val images and a val label
    without image; train labels as grey PNGs (masks), val labels as palette
    PNGs (colormaps only)."""
    rng = np.random.default_rng(0)
    raw_ids = {}
    palette = rng.integers(0, 256, 768).astype(np.uint8).tolist()
    for split, count in (('train', 6), ('val', 3)):
        os.makedirs(osp.join(root, 'images', '10k', split))
        kind = 'masks' if split == 'train' else 'colormaps'
        os.makedirs(osp.join(root, 'labels', 'sem_seg', kind, split))
        for i in range(count + 1):
            stem = f'{split[0]}{i:03d}a-{i:04d}b'
            if i < count:
                img = Image.fromarray(
                    rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
                exif = img.getexif()
                exif[0x0112] = 6 if i == 1 else 1  # rotation must not apply
                img.save(osp.join(root, 'images', '10k', split, stem + '.jpg'),
                         exif=exif.tobytes())
            if split == 'train' and i == 0:
                continue  # image without label
            if split == 'train' and i == count:
                continue
            ids = _label(rng)
            label = Image.fromarray(ids, mode='L')
            if kind == 'colormaps':
                label = Image.fromarray(ids, mode='P')
                label.putpalette(palette)
            label.save(osp.join(root, 'labels', 'sem_seg', kind, split,
                                stem + '.png'))
            raw_ids[stem] = ids
    return raw_ids


def expected(ids):
    return np.where(ids <= 18, ids, 255).astype(np.uint8)


def test_prepare_bdd100k(tmp_path):
    raw, out = str(tmp_path / 'bdd100k'), str(tmp_path / 'out')
    raw_ids = make_raw(raw)
    assert Image.open(osp.join(
        raw, 'labels/sem_seg/colormaps/val/v000a-0000b.png')).mode == 'P'
    meta = prepare(PREPARERS.build(dict(type='bdd100k')), raw, out)
    assert meta['counts'] == dict(train=4, val=1, test=3)
    assert meta['unpaired'] == dict(
        images_without_label=['train/t000a-0000b'],
        labels_without_image=['val/v003a-0003b'])

    stems = {}
    for split in ('train', 'val', 'test'):
        written = read_split(out, split)
        stems[split] = set(written)
        for stem, label in written.items():
            np.testing.assert_array_equal(label, expected(raw_ids[stem]))
            img = mmcv.imread(
                osp.join(out, 'img_dir', split, stem + '.jpg'))
            assert img.shape == (H, W, 3)
    assert stems['test'] == {'v000a-0000b', 'v001a-0001b', 'v002a-0002b'}
    assert stems['train'] | stems['val'] == {
        f't{i:03d}a-{i:04d}b' for i in range(1, 6)}
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    # palette colours were not taken for ids
    label = mmcv.imread(osp.join(out, 'ann_dir/test/v000a-0000b.png'),
                        flag='unchanged')
    assert label[0, :4].tolist() == [255, 0, 255, 18]
    # unlabelled (255) is counted per split
    for split, names in stems.items():
        entry, = meta['label_values_ignored'][split].values()
        assert (entry['kind'], entry['pixels'], entry['files']) == (
            'void', sum(int((raw_ids[s] == 255).sum()) for s in names),
            len(names))
        assert list(meta['label_values_ignored'][split]) == ['255']

    # a re-run is idempotent
    assert prepare(PREPARERS.build(dict(type='bdd100k')), raw, out) == meta

    ds = load_split('MESSBDD100KDataset', out)
    assert len(ds) == 3
    sample = ds[0]
    stem = osp.basename(sample['data_samples'].img_path)[:-4]
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(),
        expected(raw_ids[stem]))


def test_missing_labels_are_explained(tmp_path):
    raw, out = str(tmp_path / 'bdd100k'), str(tmp_path / 'out')
    make_raw(raw)
    os.rename(osp.join(raw, 'labels/sem_seg/colormaps'),
              osp.join(raw, 'labels/sem_seg/other'))
    with pytest.raises(RawDataError, match='colormaps/val'):
        prepare(PREPARERS.build(dict(type='bdd100k')), raw, out)
    with pytest.raises(RawDataError, match='bdd-data.berkeley.edu') as err:
        prepare(PREPARERS.build(dict(type='bdd100k')),
                str(tmp_path / 'none'), out)
    assert 'images/10k/train' in str(err.value)
