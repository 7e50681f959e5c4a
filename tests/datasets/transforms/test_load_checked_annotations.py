"""Label files that are not class ids of their dataset are clear errors when
a sample is loaded, in our training and evaluation pipelines."""
import logging
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from helpers import REPO, tiny_config
from mmengine.config import Config
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_mopeft.datasets import LabelError, LoadCheckedAnnotations
from mmseg_mopeft.testing import logged_messages

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'  # 2 classes
SHAPES = 'configs/demo/decoder_ft_vitb_shapes-256.py'  # 3 classes


def _write_pair(root, split, name, label, size=None, img_mode='RGB'):
    """``root/{img_dir,ann_dir}/<split>/<name>.png``; ``label`` is written
    as given (uint8 'L', uint16 'I;16', bool '1', HxWx3 'RGB')."""
    h, w = size or label.shape[:2]
    for sub in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(root, sub, split), exist_ok=True)
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
    Image.fromarray(img, img_mode).save(
        osp.join(root, 'img_dir', split, name + '.png'))
    path = osp.join(root, 'ann_dir', split, name + '.png')
    if label.dtype == np.uint16:
        assert cv2.imwrite(path, label)  # a 16-bit PNG
    elif label.dtype == bool:
        Image.fromarray(label).convert('1').save(path)
    else:
        Image.fromarray(label).save(path)
    return path


def _dataset(root, classes=('background', 'object'), transform=None,
             **kwargs):
    return BaseSegDataset(
        data_root=root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=classes),
        pipeline=[
            dict(type='LoadImageFromFile'),
            transform or dict(type='LoadCheckedAnnotations')
        ],
        **kwargs)


def _label(values, shape=(6, 8)):
    label = np.zeros(shape, np.uint8)
    label.flat[:len(values)] = values
    return label


def test_class_ids_and_ignore_load_unchanged(tmp_path):
    label = _label([1, 1, 255, 0, 1])
    _write_pair(str(tmp_path), 'val', 'a', label)
    loaded = _dataset(str(tmp_path))[0]['gt_seg_map']
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, label)


@pytest.mark.parametrize('value', [2, 7, 254])
def test_value_outside_the_classes_names_file_and_value(tmp_path, value):
    path = _write_pair(str(tmp_path), 'val', 'a', _label([1, value, value]))
    with pytest.raises(LabelError) as err:
        _dataset(str(tmp_path))[0]
    message = str(err.value)
    assert path in message
    assert f'{value} (2 px)' in message
    assert '0..1 of BaseSegDataset (2 classes)' in message
    assert 'ignore index 255' in message


def test_16_bit_label_is_not_cut_to_8_bits(tmp_path):
    """257 = 0x0101 would be read as class 1 by mmseg's LoadAnnotations."""
    label = np.zeros((6, 8), np.uint16)
    label[0, :3] = 257
    label[1, 0] = 1
    path = _write_pair(str(tmp_path), 'val', 'a', label)
    with pytest.raises(LabelError, match='257 \\(3 px\\)') as err:
        _dataset(str(tmp_path))[0]
    assert path in str(err.value) and '257 becomes 1' in str(err.value)
    # valid 16-bit files load
    label[0, :3] = 255
    _write_pair(str(tmp_path), 'val', 'a', label)
    loaded = _dataset(str(tmp_path))[0]['gt_seg_map']
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, label.astype(np.uint8))


def test_rgb_label_is_an_error(tmp_path):
    label = np.zeros((6, 8, 3), np.uint8)
    label[..., 1] = 1
    path = _write_pair(str(tmp_path), 'val', 'a', label)
    with pytest.raises(LabelError, match='shape \\(6, 8, 3\\)') as err:
        _dataset(str(tmp_path))[0]
    assert path in str(err.value) and 'one channel' in str(err.value)


def test_label_of_another_size_than_its_image(tmp_path):
    path = _write_pair(str(tmp_path), 'val', 'a', _label([1]), size=(6, 9))
    with pytest.raises(LabelError, match='label is 6x8') as err:
        _dataset(str(tmp_path))[0]
    assert path in str(err.value)
    assert osp.join('img_dir', 'val', 'a.png') in str(err.value)
    assert 'is 6x9' in str(err.value)


def test_one_bit_label_loads_as_0_and_1(tmp_path):
    label = np.zeros((6, 8), bool)
    label[2:4, 3:6] = True
    _write_pair(str(tmp_path), 'val', 'a', label)
    loaded = _dataset(str(tmp_path))[0]['gt_seg_map']
    np.testing.assert_array_equal(loaded, label.astype(np.uint8))


def test_invalid_to_ignore_maps_and_logs_the_count(tmp_path):
    label = _label([1, 7, 7, 9, 0])
    path = _write_pair(str(tmp_path), 'val', 'a', label)
    with logged_messages(logging.NOTSET) as messages:
        loaded = _dataset(
            str(tmp_path),
            transform=dict(
                type='LoadCheckedAnnotations',
                invalid_to_ignore=True))[0]['gt_seg_map']
    expected = label.copy()
    expected[np.isin(label, [7, 9])] = 255
    np.testing.assert_array_equal(loaded, expected)
    text = '\n'.join(messages)
    assert path in text and '3 pixels set to ignore' in text


def test_reduce_zero_label_and_label_map_are_applied_before_the_check(
        tmp_path):
    # reduce_zero_label: file 0 -> ignore, file k -> k - 1; 2 classes
    raw = _label([0, 1, 2, 255])
    _write_pair(str(tmp_path), 'val', 'a', raw)
    loaded = _dataset(
        str(tmp_path), reduce_zero_label=True)[0]['gt_seg_map']
    expected = raw.astype(int) - 1
    expected[(raw == 0) | (raw == 255)] = 255
    np.testing.assert_array_equal(loaded, expected)
    _write_pair(str(tmp_path), 'val', 'a', _label([3]))  # -> 2: invalid
    with pytest.raises(LabelError, match='3 \\(1 px\\)'):
        _dataset(str(tmp_path), reduce_zero_label=True)[0]

    # a subset of ShapesDataset's classes: label_map 0->0, 1->255, 2->1
    shapes = dict(
        type='ShapesDataset',
        data_root=str(tmp_path),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        metainfo=dict(classes=('background', 'square')),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadCheckedAnnotations')
        ])
    _write_pair(str(tmp_path), 'val', 'a', _label([0, 1, 2, 255]))
    np.testing.assert_array_equal(
        DATASETS.build(shapes)[0]['gt_seg_map'], _label([0, 255, 1, 255]))
    _write_pair(str(tmp_path), 'val', 'a', _label([3]))
    with pytest.raises(LabelError, match='ShapesDataset \\(2 classes\\)'):
        DATASETS.build(shapes)[0]


def test_explicit_num_classes_overrides_the_dataset(tmp_path):
    _write_pair(str(tmp_path), 'val', 'a', _label([2]))
    transform = dict(type='LoadCheckedAnnotations', num_classes=3)
    assert _dataset(str(tmp_path), transform=transform)[0][
        'gt_seg_map'].max() == 2
    with pytest.raises(LabelError, match='of the dataset \\(1 classes\\)'):
        LoadCheckedAnnotations(num_classes=1)(
            dict(
                seg_map_path=osp.join(tmp_path, 'ann_dir', 'val', 'a.png'),
                reduce_zero_label=False,
                seg_fields=[]))


def test_checked_in_dataloader_workers(tmp_path):
    path = _write_pair(str(tmp_path), 'val', 'a', _label([5]))
    loader = torch.utils.data.DataLoader(
        _dataset(str(tmp_path)), num_workers=1, collate_fn=lambda x: x)
    with pytest.raises(LabelError, match='5 \\(1 px\\)') as err:
        next(iter(loader))
    assert path in str(err.value)


@pytest.mark.parametrize('config', [CONFIG, SHAPES])
def test_every_pipeline_of_our_configs_checks_labels(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    pipelines = {
        name: cfg[name].dataset.pipeline
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    }
    if 'tta_pipeline' in cfg:
        pipelines['tta_pipeline'] = [
            t for group in cfg.tta_pipeline[1]['transforms'] for t in group
        ]
    for name, pipeline in pipelines.items():
        types = [t['type'] for t in pipeline]
        assert 'LoadCheckedAnnotations' in types, name
        assert 'LoadAnnotations' not in types, name


@pytest.mark.parametrize('split', ['train', 'val'])
def test_training_and_evaluation_data_refuse_a_bad_label(tmp_path, split):
    """The CryoNuSeg config (2 classes) on a label holding 7."""
    root = str(tmp_path)
    good = np.ones((32, 32), np.uint8)
    good[0] = 0
    for s in ('train', 'val'):
        _write_pair(root, s, 'good', good)
    path = _write_pair(root, split, 'zbad', _label([7], shape=(32, 32)))
    cfg = tiny_config(CONFIG, root, str(tmp_path / 'work'))
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    assert dataset[0]['data_samples'].gt_sem_seg.data.max() == 1
    with pytest.raises(LabelError, match='7 \\(1 px\\)') as err:
        dataset[1]
    assert path in str(err.value)
    assert 'CryoNuSegDataset (2 classes)' in str(err.value)
