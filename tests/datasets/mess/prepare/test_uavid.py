"""UAVid preparation on a fixture in the v1.5 release layout: sequences of
PNG frames with RGB colour labels, tiled (tile size shrunk to 32 px)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import colour_pixels, load_split, reference_tiles

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

TILE, H, W = 32, 40, 70  # 2 x 3 tiles per frame
TABLE = {(0, 0, 0): 0, (128, 0, 0): 1, (128, 64, 128): 2, (0, 128, 0): 3,
         (128, 128, 0): 4, (64, 0, 128): 5, (192, 0, 192): 6, (64, 64, 0): 7}
# (0, 65, 0) has building's grey value (38): MESS would call it building
UNKNOWN = [(0, 65, 0), (1, 2, 3)]
TRAIN_SEQS = [f'seq{i}' for i in range(1, 7)]
VAL_SEQS = ['seq7', 'seq8']


def make_raw(root):
    rng = np.random.default_rng(0)
    colours = np.array(list(TABLE) + UNKNOWN, np.uint8)
    truth = {}
    for split, seqs in (('train', TRAIN_SEQS), ('val', VAL_SEQS),
                        ('test', ['seq9'])):
        for seq in seqs:
            for frame in ('000000', '000100'):
                img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
                folder = osp.join(root, f'uavid_{split}', seq)
                mmcv.imwrite(img, osp.join(folder, 'Images', frame + '.png'))
                if split == 'test':  # labels withheld
                    continue
                rgb = colours[rng.integers(0, len(colours), (H, W))]
                mmcv.imwrite(rgb[..., ::-1],
                             osp.join(folder, 'Labels', frame + '.png'))
                label = np.full((H, W), 255, np.uint8)
                for colour, idx in TABLE.items():
                    label[(rgb == colour).all(-1)] = idx
                truth[f'{seq}_{frame}'] = (img, label)
    os.remove(osp.join(root, 'uavid_train', 'seq1', 'Labels', '000100.png'))
    del truth['seq1_000100']
    return truth


def unknown_colours(raw, stems):
    """``{str(colour): pixels}`` of the UNKNOWN colours in the raw labels
    of ``stems`` (``<seq>_<frame>``), read with PIL."""
    paths = []
    for stem in sorted(stems):
        seq, frame = stem.split('_')
        paths += [p for s in ('train', 'val') if osp.isfile(p := osp.join(
            raw, f'uavid_{s}', seq, 'Labels', frame + '.png'))]
    return colour_pixels(paths, UNKNOWN)


def build():
    preparer = PREPARERS.build(dict(type='uavid'))
    preparer.tile_size = TILE
    return preparer


def test_prepare_uavid(tmp_path):
    raw, out = str(tmp_path / 'uavid_v1.5'), str(tmp_path / 'out')
    truth = make_raw(raw)
    meta = prepare(build(), raw, out)
    assert meta['unpaired'] == dict(images_without_label=['train/seq1_000100'],
                                    labels_without_image=[])
    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {n.rsplit('_', 1)[0] for n in names}
        assert len(names) == 6 * len(stems[split]) == meta['counts'][split]
        for stem in stems[split]:
            img, label = truth[stem]
            for k, (img_t, lab_t) in enumerate(
                    zip(reference_tiles(img, TILE, 0),
                        reference_tiles(label, TILE, 255))):
                np.testing.assert_array_equal(
                    mmcv.imread(osp.join(out, 'ann_dir', split,
                                         f'{stem}_{k}.png'),
                                flag='unchanged'), lab_t)
                np.testing.assert_array_equal(
                    mmcv.imread(osp.join(out, 'img_dir', split,
                                         f'{stem}_{k}.png')), img_t)
    # official val is test; val is one whole train sequence (of 6)
    assert stems['test'] == {f'{s}_{f}' for s in VAL_SEQS
                             for f in ('000000', '000100')}
    seqs = {split: {s.split('_')[0] for s in stems[split]}
            for split in ('train', 'val')}
    assert len(seqs['val']) == 1 and not seqs['train'] & seqs['val']
    assert seqs['train'] | seqs['val'] == set(TRAIN_SEQS)
    assert len(stems['train']) + len(stems['val']) == 11
    for split in ('train', 'val', 'test'):  # no class: counted per colour
        ignored = meta['label_values_ignored'][split]
        assert {v: e['pixels'] for v, e in ignored.items()} == \
            unknown_colours(raw, stems[split]) != {}
        assert {e['kind'] for e in ignored.values()} == {'no class'}

    dataset = load_split('UAVidDataset', out)
    assert len(dataset) == 4 * 6
    assert dataset.metainfo['classes'][6] == 'parked car'
    sample = dataset[0]['data_samples']
    stem, k = osp.basename(sample.seg_map_path)[:-4].rsplit('_', 1)
    np.testing.assert_array_equal(
        sample.gt_sem_seg.data.numpy()[0],
        reference_tiles(truth[stem][1], TILE, 255)[int(k)])


def test_uavid_missing_raw_data(tmp_path):
    raw = str(tmp_path / 'uavid_v1.5')
    os.makedirs(osp.join(raw, 'uavid_train'))
    with pytest.raises(RawDataError, match='uavid.nl') as err:
        prepare(build(), raw, str(tmp_path / 'out'))
    assert 'uavid_val' in str(err.value)
