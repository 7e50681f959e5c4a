"""apis/strict_loading.py: a checkpoint either fits the model or is an
error naming the file and the keys."""
import pytest
import torch
from helpers import tiny_config
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from torch import nn

from mmseg_mopeft.apis.strict_loading import (config_dataset_meta,
                                              init_model_strict,
                                              load_fitting_checkpoint)

LORA = 'configs/lora/lora_vitb_cryonuseg.py'


def _save(tmp_path, state):
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=state), path)
    return path


def test_fitting_checkpoint_loads(tmp_path):
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    path = _save(tmp_path, source.state_dict())
    load_fitting_checkpoint(target, path)
    assert torch.equal(target.weight, source.weight)
    assert torch.equal(target.bias, source.bias)


@pytest.mark.parametrize('state, key', [
    (dict(weight=torch.zeros(2, 3)), 'missing keys in source state_dict: '
     'bias'),
    (dict(weight=torch.zeros(2, 3), bias=torch.zeros(2),
          scale=torch.ones(1)), 'unexpected key in source state_dict: scale'),
    (dict(weight=torch.zeros(4, 3), bias=torch.zeros(2)),
     'size mismatch for weight'),
],
                         ids=['missing', 'unexpected', 'other_shape'])
def test_checkpoint_that_does_not_fit_is_refused(tmp_path, state, key):
    path = _save(tmp_path, state)
    with pytest.raises(RuntimeError, match='does not fit') as error:
        load_fitting_checkpoint(nn.Linear(3, 2), path, 'my_config.py')
    message = str(error.value)
    assert path in message and 'my_config.py' in message and key in message


def test_init_model_strict_keeps_the_checkpoints_classes(
        tmp_path, tiny_sam_ckpt):
    cfg = tiny_config(LORA, str(tmp_path), str(tmp_path), tiny_sam_ckpt[0])
    model = MODELS.build(cfg.model)
    model.init_weights()
    meta = dict(classes=('a', 'b'), palette=[[0, 0, 0], [1, 2, 3]])
    path = str(tmp_path / 'full.pth')
    torch.save(dict(meta=dict(dataset_meta=meta),
                    state_dict=model.state_dict()), path)
    loaded = init_model_strict(cfg, path)
    assert loaded.dataset_meta == meta and not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


@pytest.mark.parametrize('subset', [None, ('nuclei in cells', 'others')])
def test_init_model_strict_takes_classes_from_the_config_without_meta(
        tmp_path, tiny_sam_ckpt, subset):
    """A checkpoint without meta.dataset_meta gets what a runner records:
    the training dataset's metainfo (a class subset included), built
    without its files (the data root does not exist)."""
    cfg = tiny_config(LORA, str(tmp_path / 'absent'), str(tmp_path),
                      tiny_sam_ckpt[0])
    dataset = cfg.train_dataloader.dataset
    if subset:
        dataset.metainfo = dict(classes=subset)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path / 'no_meta.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    meta = init_model_strict(cfg, path).dataset_meta
    full = DATASETS.get(dataset.type).METAINFO
    classes = subset or full['classes']
    assert tuple(meta['classes']) == tuple(classes)
    assert len(meta['palette']) == len(classes)


def test_config_dataset_meta_of_a_concat_dataset_reads_no_files(tmp_path):
    cfg = Config.fromfile(LORA)
    inner = dict(cfg.train_dataloader.dataset,
                 data_root=str(tmp_path / 'absent'))
    cfg.train_dataloader.dataset = dict(type='ConcatDataset',
                                        datasets=[inner, inner])
    meta = config_dataset_meta(cfg)
    expected = DATASETS.get(inner['type']).METAINFO
    assert tuple(meta['classes']) == tuple(expected['classes'])


def test_config_dataset_meta_of_a_wrapped_mmdet_dataset(tmp_path):
    cfg = Config.fromfile('configs/fair1m/lora_vitb_fair1m.py')
    init_default_scope(cfg.default_scope)
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2,
        dataset=dict(cfg.train_dataloader.dataset,
                     data_root=str(tmp_path / 'absent')))
    meta = config_dataset_meta(cfg)
    expected = DATASETS.get(cfg.test_dataloader.dataset.type).METAINFO
    assert tuple(meta['classes']) == tuple(expected['classes'])
