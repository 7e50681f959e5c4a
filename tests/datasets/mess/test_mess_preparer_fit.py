"""Each preparer writes what its dataset class reads: for every MESS key,
``prepare`` (the real writer, on a stand-in for the raw data) produces an
output that the class lists completely, with the class's image suffix."""
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_mopeft.datasets.mess import (DATASET_CLASSES,
                                        DatasetNotPreparedError,
                                        mess_dataset_types)
from mmseg_mopeft.datasets.mess.prepare import PREPARERS, Pair, prepare

SPLITS = dict(train=2, val=1, test=2)


def stand_in(key, raw):
    """The key's real preparer, with raw data it generates itself: every
    step after ``collect`` (naming, tiling, writing, meta.json) is real."""
    base = PREPARERS.module_dict[key]
    pairs = {}
    for split, count in SPLITS.items():
        pairs[split] = []
        for i in range(count):
            path = osp.join(raw, f'{split}{i}.png')
            mmcv.imwrite(np.full((12, 16, 3), 40 * i, np.uint8), path)
            pairs[split].append(Pair(f'{split}{i}', path, i))

    class StandIn(base):

        def check(self, raw, *args, **kwargs):
            pass

        def collect(self, raw):
            return dict(pairs)

        def read_image(self, path):
            return mmcv.imread(path)

        def read_label(self, label):
            return np.full((12, 16), label, np.uint8)

    return StandIn()


@pytest.mark.parametrize('key', list(mess_dataset_types()))
def test_preparer_writes_what_the_class_reads(key, tmp_path):
    cls = mess_dataset_types()[key]
    out = str(tmp_path / key)
    meta = prepare(stand_in(key, str(tmp_path)), str(tmp_path), out)
    assert meta['img_suffix'] == cls.img_suffix
    for split, count in SPLITS.items():
        dataset = DATASETS.build(
            dict(
                type=DATASET_CLASSES[key],
                data_root=out,
                data_prefix=dict(
                    img_path=f'img_dir/{split}',
                    seg_map_path=f'ann_dir/{split}'),
                pipeline=[],
                serialize_data=False))
        paths = [d['img_path'] for d in dataset.load_data_list()]
        # tiled datasets: a 12 x 16 image is one (padded) tile
        assert len(paths) == count == meta['counts'][split]
        assert all(p.endswith(cls.img_suffix) for p in paths)
        # the label of sample i holds i everywhere (tiles: 255 padding)
        for info in dataset.load_data_list():
            stem = osp.basename(info['img_path'])[:-len(cls.img_suffix)]
            label = mmcv.imread(info['seg_map_path'], flag='unchanged')
            assert set(np.unique(label)) <= {int(stem[len(split)]), 255}


def test_test_only_preparation_refuses_training(tmp_path):
    """The real writer's test-only output: tested, never trained on."""
    out = str(tmp_path / 'suim')
    meta = prepare(
        stand_in('suim', str(tmp_path)), str(tmp_path), out, test_only=True)
    assert meta['test_only'] is True
    spec = dict(
        type='SUIMDataset', data_root=out, pipeline=[], serialize_data=False)
    test = DATASETS.build(
        dict(
            spec,
            data_prefix=dict(
                img_path='img_dir/test', seg_map_path='ann_dir/test')))
    assert len(test) == SPLITS['test']
    with pytest.raises(
            DatasetNotPreparedError,
            match='suim was prepared from its evaluation split '
            'only; train/val do not exist'):
        DATASETS.build(
            dict(
                spec,
                data_prefix=dict(
                    img_path='img_dir/train', seg_map_path='ann_dir/train')))
