"""FloodNet preparation on a fixture in the authors' layout: JPEG images,
class-id label PNGs (grey and palette), the official train/val/test
folders, tiled (tile size shrunk to 32 px)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split, reference_tiles
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

TILE = 32
SIZES = [(40, 70), (32, 33), (20, 100)]


def make_raw(root):
    rng = np.random.default_rng(0)
    truth, n = {}, 0
    for split, count in (('train', 3), ('val', 2), ('test', 2)):
        for i in range(count):
            stem = str(6000 + n)
            h, w = SIZES[n % len(SIZES)]
            yy, xx = np.mgrid[:h, :w]  # smooth, so JPEG stays close
            img = np.stack([3 * xx, 4 * yy, 2 * (xx + yy)], -1).astype(
                np.uint8) + 40
            ids = rng.integers(0, 10, (h, w)).astype(np.uint8)
            img_path = osp.join(root, split, f'{split}-org-img', stem + '.jpg')
            lab_path = osp.join(root, split, f'{split}-label-img',
                                stem + '_lab.png')
            os.makedirs(osp.dirname(lab_path), exist_ok=True)
            mmcv.imwrite(img, img_path)
            mask = Image.fromarray(ids)
            if n == 1:  # a palette PNG: the indices are the classes
                mask = mask.convert('P')
                mask.putpalette([255 - v for v in range(256)] * 3)
            mask.save(lab_path)
            truth[stem] = (mmcv.imread(img_path), np.where(ids < 10, ids, 255))
            n += 1
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8),
                 osp.join(root, 'train', 'train-org-img', '9999.jpg'))
    return truth


def build():
    preparer = PREPARERS.build(dict(type='floodnet'))
    preparer.tile_size = TILE
    return preparer


def test_prepare_floodnet(tmp_path):
    raw, out = str(tmp_path / 'FloodNet-Supervised_v1.0'), str(tmp_path / 'o')
    truth = make_raw(raw)
    assert Image.open(osp.join(raw, 'train', 'train-label-img',
                               '6001_lab.png')).mode == 'P'
    meta = prepare(build(), raw, out)
    assert meta['unpaired'] == dict(images_without_label=['train/9999'],
                                    labels_without_image=[])
    # official splits; 40x70 -> 6, 32x33 -> 2, 20x100 -> 4 tiles
    assert meta['counts'] == dict(train=6 + 2 + 4, val=6 + 2, test=4 + 6)
    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {n.rsplit('_', 1)[0] for n in names}
        expected = []
        for stem in stems[split]:
            img, label = truth[stem]
            for k, (img_t, lab_t) in enumerate(
                    zip(reference_tiles(img, TILE, 0),
                        reference_tiles(label, TILE, 255))):
                expected.append(f'{stem}_{k}.png')
                np.testing.assert_array_equal(
                    mmcv.imread(osp.join(out, 'ann_dir', split,
                                         f'{stem}_{k}.png'),
                                flag='unchanged'), lab_t)
                # JPEG tiles: close to the raw pixels, padding black
                written = mmcv.imread(
                    osp.join(out, 'img_dir', split, f'{stem}_{k}.jpg'))
                diff = np.abs(written.astype(int) - img_t)
                assert diff.mean() < 3, (stem, k, diff.mean())
        assert names == sorted(expected)
    assert stems == dict(train={'6000', '6001', '6002'},
                         val={'6003', '6004'}, test={'6005', '6006'})
    # padding of a 40x70 image's last tile (cols 6..31 of tile 2) is black
    pad = mmcv.imread(osp.join(out, 'img_dir', 'train', '6000_2.jpg'))
    assert pad[:, 12:].mean() < 2

    dataset = load_split('FloodNetDataset', out)
    assert len(dataset) == 10
    sample = dataset[0]['data_samples']
    assert sample.img_path.endswith('.jpg')
    stem, k = osp.basename(sample.seg_map_path)[:-4].rsplit('_', 1)
    np.testing.assert_array_equal(
        sample.gt_sem_seg.data.numpy()[0],
        reference_tiles(truth[stem][1], TILE, 255)[int(k)])


def test_floodnet_missing_raw_data(tmp_path):
    raw = str(tmp_path / 'FloodNet-Supervised_v1.0')
    os.makedirs(osp.join(raw, 'test', 'test-org-img'))
    os.makedirs(osp.join(raw, 'test', 'test-label-img'))
    with pytest.raises(RawDataError, match='BinaLab') as err:
        prepare(build(), raw, str(tmp_path / 'out'))
    assert 'train/train-org-img' in str(err.value)
    assert 'test-org-img' not in str(err.value)
