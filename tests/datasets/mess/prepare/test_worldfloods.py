"""WorldFloods preparation on a fixture in the v1.0 layout: 13-band uint16
Sentinel-2 GeoTIFFs (band- and pixel-interleaved, strips and tiles,
compressed or not) and single-band gt TIFFs, tiled (tile size 32 px)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import tifffile  # the WorldFloods preparer's reader
from mess_helpers import load_split, reference_tiles
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

TILE = 32
# per-band mean + std the spec gives (B1..B12), rounded to 0.01
SPEC_SCALE = [6421.51, 6552.17, 5787.58, 6230.68, 6227.17, 6663.09, 6821.61,
              6482.44, 6816.04, 3689.20, 1160.75, 3891.69, 3032.31]
LAYOUTS = [  # how the scenes are stored
    dict(planarconfig='separate'),
    dict(planarconfig='separate', tile=(16, 16), compression='zlib',
         predictor=2),
    dict(planarconfig='contig', rowsperstrip=7, compression='zlib'),
]
SIZES = [(40, 70), (32, 33), (20, 100)]


def composites(s2):
    """MESS's 8-bit scaling, then (R, G, B) = (B8, B4, B2) and (B4, B3, B2)
    with the mean + std the module uses (checked against the spec)."""
    from mmseg_mopeft.datasets.mess.prepare.worldfloods import SCALE
    np.testing.assert_allclose(SCALE, SPEC_SCALE, atol=0.006)
    scaled = s2.transpose(1, 2, 0) / SCALE  # float32, as MESS computes
    scaled = (np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    return dict(irrg=scaled[..., [7, 3, 1]], rgb=scaled[..., [3, 2, 1]])


def make_raw(root, counts=(('train', 3), ('val', 2), ('test', 2))):
    rng = np.random.default_rng(0)
    truth, n = {}, 0
    for split, count in counts:
        for i in range(count):
            scene = f'EMSR{100 + n}_{split}'
            h, w = SIZES[n % len(SIZES)]
            s2 = rng.integers(0, 12000, (13, h, w), dtype=np.uint16)
            gt = rng.integers(0, 4, (h, w), dtype=np.uint8)
            gt[0, :2] = (0, 3)  # invalid, cloud
            layout = dict(LAYOUTS[n % len(LAYOUTS)])
            if layout['planarconfig'] == 'contig':
                s2_file = s2.transpose(1, 2, 0)
            else:
                s2_file = s2
            os.makedirs(osp.join(root, split, 'S2'), exist_ok=True)
            os.makedirs(osp.join(root, split, 'gt'), exist_ok=True)
            tifffile.imwrite(osp.join(root, split, 'S2', scene + '.tif'),
                             s2_file, photometric='minisblack', **layout)
            tifffile.imwrite(osp.join(root, split, 'gt', scene + '.tif'), gt,
                             compression='zlib')
            label = np.full((h, w), 255, np.uint8)
            for value, idx in ((1, 0), (2, 1), (3, 2)):
                label[gt == value] = idx
            truth[scene] = (composites(s2), label)
            n += 1
    return truth


def build(**kwargs):
    preparer = PREPARERS.build(dict(type='worldfloods', **kwargs))
    preparer.tile_size = TILE
    return preparer


def check(out, truth, composite):
    stems = {}
    for split in ('train', 'val', 'test'):
        ann_dir = osp.join(out, 'ann_dir', split)
        names = sorted(os.listdir(ann_dir)) if osp.isdir(ann_dir) else []
        stems[split] = {n.rsplit('_', 1)[0] for n in names}
        expected = []
        for stem in stems[split]:
            images, label = truth[stem]
            for k, (img_t, lab_t) in enumerate(
                    zip(reference_tiles(images[composite], TILE, 0),
                        reference_tiles(label, TILE, 255))):
                expected.append(f'{stem}_{k}.png')
                np.testing.assert_array_equal(
                    mmcv.imread(osp.join(out, 'ann_dir', split,
                                         f'{stem}_{k}.png'),
                                flag='unchanged'), lab_t)
                with Image.open(osp.join(out, 'img_dir', split,
                                         f'{stem}_{k}.png')) as img:
                    assert img.mode == 'RGB'
                    np.testing.assert_array_equal(np.array(img), img_t)
        assert names == sorted(expected)
    return stems


def test_prepare_worldfloods(tmp_path):
    raw = str(tmp_path / 'worldfloods_v1_0')
    truth = make_raw(raw)
    out = str(tmp_path / 'irrg')
    meta = prepare(build(), raw, out)
    # 40x70 -> 6, 32x33 -> 2, 20x100 -> 4 tiles
    assert meta['counts'] == dict(train=6 + 2 + 4, val=6 + 2, test=4 + 6)
    stems = check(out, truth, 'irrg')
    assert stems == {s: {k for k in truth if k.endswith(s)}
                     for s in ('train', 'val', 'test')}
    for split, scenes in stems.items():  # invalid (0) pixels, counted
        entry = meta['label_values_ignored'][split]['0']
        assert (entry['kind'], entry['pixels'], entry['files']) == (
            'void', sum(int((truth[s][1] == 255).sum()) for s in scenes),
            len(scenes))

    rgb_out = str(tmp_path / 'rgb')
    assert prepare(build(composite='rgb'), raw, rgb_out)['counts'] == \
        meta['counts']
    check(rgb_out, truth, 'rgb')

    dataset = load_split('WorldFloodsDataset', out)
    assert len(dataset) == 10
    assert dataset.metainfo['classes'] == ('land', 'water and flood', 'cloud')
    sample = dataset[0]['data_samples']
    stem, k = osp.basename(sample.seg_map_path)[:-4].rsplit('_', 1)
    np.testing.assert_array_equal(
        sample.gt_sem_seg.data.numpy()[0],
        reference_tiles(truth[stem][1], TILE, 255)[int(k)])


def test_worldfloods_test_only_copy_and_missing_data(tmp_path):
    raw, out = str(tmp_path / 'WorldFloods'), str(tmp_path / 'out')
    truth = make_raw(raw, counts=(('test', 2), ))
    with pytest.raises(RawDataError, match='train/S2') as err:
        prepare(build(), raw, out)  # the full dataset is the default
    assert 'ml4floods' in str(err.value)
    meta = prepare(build(splits=('test', )), raw, out)
    assert meta['counts'] == dict(train=0, val=0, test=8)
    check(out, truth, 'irrg')
    with pytest.raises(ValueError, match='composite'):
        build(composite='nrg')

    # a scene that is not 13-band Sentinel-2 is refused
    tifffile.imwrite(osp.join(raw, 'test', 'S2', 'EMSR100_test.tif'),
                     np.zeros((4, 8, 8), np.uint16), planarconfig='separate',
                     photometric='minisblack')
    with pytest.raises(ValueError, match='13'):
        prepare(build(splits=('test', )), raw, str(tmp_path / 'out2'))
