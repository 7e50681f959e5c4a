"""iSAID preparation on a fixture in the authors' layout: DOTA images and
iSAID semantic colour masks, tiled (tile size shrunk to 32 px)."""
import glob
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import colour_pixels, load_split, reference_tiles

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

TILE = 32
# iSAID's colour table (R, G, B) -> id, written out again for the test
TABLE = {
    (0, 0, 0): 0, (0, 0, 63): 1, (0, 63, 63): 2, (0, 63, 0): 3,
    (0, 63, 127): 4, (0, 63, 191): 5, (0, 63, 255): 6, (0, 127, 63): 7,
    (0, 127, 127): 8, (0, 0, 127): 9, (0, 0, 191): 10, (0, 0, 255): 11,
    (0, 191, 127): 12, (0, 127, 191): 13, (0, 127, 255): 14,
    (0, 100, 155): 15,
}
UNKNOWN = [(0, 1, 2), (200, 0, 0), (0, 100, 154)]  # -> 255 (ignore)
SIZES = [(40, 70), (32, 33), (20, 100), (64, 64), (33, 32)]


def make_raw(root):
    """train: DOTA zips unpacked to train/images, iSAID masks to
    train/Semantic_masks/images; val: MESS's layout (masks in raw_val)."""
    rng = np.random.default_rng(0)
    colours = np.array(list(TABLE) + UNKNOWN, np.uint8)
    truth = {}
    for split, count, mask_dir in (('train', 7, 'train/Semantic_masks'),
                                   ('val', 3, 'raw_val')):
        for i in range(count):
            stem = f'P{i + (0 if split == "train" else 100):04d}'
            h, w = SIZES[i % len(SIZES)]
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            rgb = colours[rng.integers(0, len(colours), (h, w))]
            mmcv.imwrite(img, osp.join(root, split, 'images', stem + '.png'))
            mmcv.imwrite(rgb[..., ::-1], osp.join(
                root, mask_dir, 'images', f'{stem}_instance_color_RGB.png'))
            mmcv.imwrite(np.zeros((h, w, 3), np.uint8), osp.join(
                root, mask_dir, 'images', f'{stem}_instance_id_RGB.png'))
            expected = np.full((h, w), 255, np.uint8)
            for colour, idx in TABLE.items():
                expected[(rgb == colour).all(-1)] = idx
            truth[stem] = (img, expected)
    # an image without mask (train) and a mask without image (val)
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8),
                 osp.join(root, 'train', 'images', 'P0900.png'))
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8), osp.join(
        root, 'raw_val', 'images', 'P0901_instance_color_RGB.png'))
    return truth


def unknown_colours(raw, stems):
    """``{str(colour): pixels}`` of the UNKNOWN colours in the raw masks
    of ``stems``, read with PIL: what meta.json must count."""
    paths = [
        glob.glob(osp.join(raw, '**', stem + '_instance_color_RGB.png'),
                  recursive=True)[0] for stem in sorted(stems)
    ]
    return colour_pixels(paths, UNKNOWN)


def build(**kwargs):
    preparer = PREPARERS.build(dict(type='isaid', **kwargs))
    preparer.tile_size = TILE
    return preparer


def test_prepare_isaid(tmp_path):
    raw, out = str(tmp_path / 'isaid'), str(tmp_path / 'out')
    truth = make_raw(raw)
    meta = prepare(build(), raw, out)
    assert meta['unpaired'] == dict(images_without_label=['train/P0900'],
                                    labels_without_image=['val/P0901'])
    assert meta['source_counts'] == dict(train=6, val=1, test=3)

    sources = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems = {n.rsplit('_', 1)[0] for n in names}
        sources[split] = stems
        expected_names = []
        for stem in sorted(stems):
            img, label = truth[stem]
            for k, (img_t, lab_t) in enumerate(
                    zip(reference_tiles(img, TILE, 0),
                        reference_tiles(label, TILE, 255))):
                expected_names.append(f'{stem}_{k}.png')
                np.testing.assert_array_equal(
                    mmcv.imread(osp.join(out, 'ann_dir', split,
                                         f'{stem}_{k}.png'),
                                flag='unchanged'), lab_t)
                np.testing.assert_array_equal(
                    mmcv.imread(osp.join(out, 'img_dir', split,
                                         f'{stem}_{k}.png')), img_t)
        assert names == sorted(expected_names)
        assert meta['counts'][split] == len(names)
    # official val is the test split; val is carved from official train
    assert sources['test'] == {'P0100', 'P0101', 'P0102'}
    assert not sources['train'] & sources['val']
    assert sources['train'] | sources['val'] == {f'P{i:04d}' for i in range(7)}
    # tiles per image follow the image size: 40x70 -> 2x3, 32x33 -> 1x2 ...
    assert meta['counts']['test'] == 6 + 2 + 4
    # colours outside the table: counted per split as no class
    for split, stems in sources.items():
        ignored = meta['label_values_ignored'][split]
        assert {v: e['pixels'] for v, e in ignored.items()} == \
            unknown_colours(raw, stems) != {}
        assert {e['kind'] for e in ignored.values()} == {'no class'}

    # a re-run is idempotent
    assert prepare(build(), raw, out) == meta

    dataset = load_split('ISAIDDataset', out)
    assert len(dataset) == meta['counts']['test']
    assert len(dataset.metainfo['classes']) == 16
    sample = dataset[0]['data_samples']
    stem, k = osp.basename(sample.seg_map_path)[:-4].rsplit('_', 1)
    np.testing.assert_array_equal(
        sample.gt_sem_seg.data.numpy()[0],
        reference_tiles(truth[stem][1], TILE, 255)[int(k)])


def test_isaid_missing_raw_data(tmp_path):
    out = str(tmp_path / 'out')
    with pytest.raises(RawDataError, match='captain-whu') as err:
        prepare(build(), str(tmp_path / 'nothing'), out)
    assert 'train' in str(err.value)

    raw = str(tmp_path / 'isaid')
    for split in ('train', 'val'):
        mmcv.imwrite(np.zeros((8, 8, 3), np.uint8),
                     osp.join(raw, split, 'images', 'P0001.png'))
    with pytest.raises(RawDataError, match='instance_color_RGB'):
        prepare(build(), raw, out)
