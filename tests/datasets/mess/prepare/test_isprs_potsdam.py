"""ISPRS Potsdam preparation on a fixture in the benchmark's layout: IRRG
and RGB orthophoto TIFFs, colour label TIFFs with graded edges, the
official tile lists, tiled (tile size shrunk to 32 px)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split, reference_tiles
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

TILE, H, W = 32, 40, 70  # 2 x 3 tiles per orthophoto
TRAIN = ['2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11',
         '4_12', '5_10', '5_11', '5_12', '6_7', '6_8', '6_9', '6_10', '6_11',
         '6_12', '7_7', '7_8', '7_9', '7_10', '7_11', '7_12']
TEST = ['2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15', '5_13',
        '5_14', '5_15', '6_13', '6_14', '6_15', '7_13']
# binarised (R, G, B) -> id; black and magenta are no class
TABLE = {(255, 255, 255): 0, (0, 0, 255): 1, (0, 255, 255): 2,
         (0, 255, 0): 3, (255, 255, 0): 4, (255, 0, 0): 5}


def make_raw(root, ids=TRAIN + TEST + ['9_9']):
    rng = np.random.default_rng(0)
    colours = np.array(list(TABLE) + [(0, 0, 0), (255, 0, 255)], np.uint8)
    truth = {}
    for xy in ids:
        stem = f'top_potsdam_{xy}'
        rgb = colours[rng.integers(0, len(colours), (H, W))]
        # graded edges: 255 stored as 129..255, 0 as 0..128
        grades = rng.integers(0, 127, (H, W, 3), dtype=np.uint8)
        label = np.where(rgb == 255, 255 - grades, grades).astype(np.uint8)
        expected = np.full((H, W), 255, np.uint8)
        for colour, idx in TABLE.items():
            expected[(rgb == colour).all(-1)] = idx
        images = {}
        for kind in ('IRRG', 'RGB'):
            images[kind] = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            mmcv.imwrite(images[kind][..., ::-1], osp.join(
                root, f'{"3" if kind == "IRRG" else "2"}_Ortho_{kind}',
                f'{stem}_{kind}.tif'))  # channels in file order
        mmcv.imwrite(label[..., ::-1],
                     osp.join(root, 'Labels', f'{stem}_label.tif'))
        truth[stem] = (images, expected)
    return truth


def no_class_colours(raw, stems):
    """``{str(colour): pixels}`` of binarised black and magenta in the raw
    labels of ``stems``, read with PIL."""
    found = {}
    for stem in sorted(stems):
        with Image.open(osp.join(raw, 'Labels', f'{stem}_label.tif')) as img:
            binary = np.where(np.asarray(img.convert('RGB')) > 128, 255, 0)
        for colour in ((0, 0, 0), (255, 0, 255)):
            pixels = int((binary == colour).all(-1).sum())
            if pixels:
                found[str(colour)] = found.get(str(colour), 0) + pixels
    return found


def build(**kwargs):
    preparer = PREPARERS.build(dict(type='isprs_potsdam', **kwargs))
    preparer.tile_size = TILE
    return preparer


def check_split(out, split, truth, kind):
    names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
    stems = {n.rsplit('_', 1)[0] for n in names}
    assert len(names) == 6 * len(stems)
    for stem in stems:
        images, label = truth[stem]
        for k, (img_t, lab_t) in enumerate(
                zip(reference_tiles(images[kind], TILE, 0),
                    reference_tiles(label, TILE, 255))):
            np.testing.assert_array_equal(
                mmcv.imread(osp.join(out, 'ann_dir', split, f'{stem}_{k}.png'),
                            flag='unchanged'), lab_t)
            written = mmcv.imread(
                osp.join(out, 'img_dir', split, f'{stem}_{k}.png'),
                channel_order='rgb')
            np.testing.assert_array_equal(written, img_t)
    return stems


def test_prepare_isprs_potsdam(tmp_path):
    raw = str(tmp_path / 'ISPRS_Potsdam')
    truth = make_raw(raw)
    out = str(tmp_path / 'irrg')
    meta = prepare(build(), raw, out)
    assert meta['counts'] == dict(train=22 * 6, val=2 * 6, test=14 * 6)
    assert meta['unpaired']['not_in_any_split'] == ['top_potsdam_9_9']
    assert 'irrg' in meta['split_policy']
    stems = {s: check_split(out, s, truth, 'IRRG')
             for s in ('train', 'val', 'test')}
    assert stems['test'] == {f'top_potsdam_{xy}' for xy in TEST}
    assert not stems['train'] & stems['val']
    assert stems['train'] | stems['val'] == {
        f'top_potsdam_{xy}' for xy in TRAIN}
    for split, names in stems.items():  # no class: counted per colour
        ignored = meta['label_values_ignored'][split]
        assert {v: e['pixels'] for v, e in ignored.items()} == \
            no_class_colours(raw, names) != {}
        assert {e['kind'] for e in ignored.values()} == {'no class'}

    # the RGB composite: same tiles and labels, the RGB orthophoto as image
    rgb_out = str(tmp_path / 'rgb')
    rgb_meta = prepare(build(composite='rgb'), raw, rgb_out)
    assert rgb_meta['counts'] == meta['counts']
    for split in ('train', 'val', 'test'):
        assert check_split(rgb_out, split, truth, 'RGB') == stems[split]

    dataset = load_split('ISPRSPotsdamDataset', out)
    assert len(dataset) == 14 * 6
    assert dataset.metainfo['classes'][0] == 'road'
    sample = dataset[0]['data_samples']
    stem, k = osp.basename(sample.seg_map_path)[:-4].rsplit('_', 1)
    np.testing.assert_array_equal(
        sample.gt_sem_seg.data.numpy()[0],
        reference_tiles(truth[stem][1], TILE, 255)[int(k)])


def test_potsdam_incomplete_raw_data(tmp_path):
    raw, out = str(tmp_path / 'ISPRS_Potsdam'), str(tmp_path / 'out')
    with pytest.raises(ValueError, match='composite'):
        build(composite='nirrg')
    make_raw(raw, ids=TRAIN + TEST[1:])  # 2_13 is missing
    os.remove(osp.join(raw, 'Labels', 'top_potsdam_2_14_label.tif'))
    with pytest.raises(RawDataError) as err:
        prepare(build(), raw, out)
    assert "'top_potsdam_2_13', 'top_potsdam_2_14'" in str(err.value)
    with pytest.raises(RawDataError, match='3_Ortho_IRRG') as err:
        prepare(build(), str(tmp_path / 'nothing'), out)
    assert 'isprs.org' in str(err.value) and 'Labels' in str(err.value)
