"""A head whose num_classes disagrees with its dataset stops the run before
the first iteration, naming the config key, both numbers and the dataset."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
from helpers import REPO, tiny_config
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmseg_mopeft.engine.hooks.num_classes_check_hook import config_classes

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'  # 2 classes
FAIR1M_CONFIG = 'configs/fair1m/lora_vitb_fair1m.py'


pytestmark = pytest.mark.usefixtures('unformatted_config_text')


@pytest.mark.parametrize('stage', ['train', 'test'])
def test_segmentation_head_with_other_num_classes(tmp_path, cryo_root,
                                                  stage):
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path))
    cfg.model.decode_head.num_classes = 3
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError) as err:
        getattr(runner, stage)()
    message = str(err.value)
    split = 'train' if stage == 'train' else 'test'
    assert (f'model.decode_head.num_classes=3, but {split}_dataloader.'
            f'dataset (CryoNuSegDataset) has 2 classes') in message
    assert runner.iter == 0


def test_dataset_of_the_config_not_built_by_the_run(tmp_path,
                                                    cryo_root):
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path))
    cfg.test_dataloader.dataset.metainfo = dict(classes=('a', 'b', 'c'))
    with pytest.raises(ValueError) as err:
        Runner.from_cfg(cfg).train()
    assert ('model.decode_head.num_classes=2, but test_dataloader.dataset '
            '(CryoNuSegDataset) has 3 classes (a, b, c)') in str(err.value)


def _fair1m_root(root):
    """One 64 px image with one 'Van' in the release layout."""
    for sub in ('images', 'labelXml'):
        os.makedirs(osp.join(root, 'val', sub), exist_ok=True)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(
        osp.join(root, 'val', 'images', '0001.png'))
    points = ''.join(f'<point>{x},{y}</point>'
                     for x, y in ((8, 8), (30, 8), (30, 20), (8, 20), (8, 8)))
    with open(osp.join(root, 'val', 'labelXml', '0001.xml'), 'w') as f:
        f.write('<annotation><size><width>64</width><height>64</height>'
                '</size><objects><object><possibleresult><name>Van</name>'
                f'</possibleresult><points>{points}</points></object>'
                '</objects></annotation>')
    return root


def test_detection_head_with_other_num_classes(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, FAIR1M_CONFIG))
    cfg.model.backbone.update(
        arch='tiny', img_size=64, window_size=4, init_cfg=None)
    cfg.model.decode_head.update(num_queries=4, init_cfg=None, num_classes=5)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.data_root = _fair1m_root(str(tmp_path))
    cfg.test_evaluator.nproc = 1
    cfg.work_dir = str(tmp_path / 'work')
    with pytest.raises(ValueError) as err:
        Runner.from_cfg(cfg).test()
    assert ('model.decode_head.num_classes=5, but test_dataloader.dataset '
            '(FAIR1MDataset) has 37 classes') in str(err.value)


@pytest.mark.slow  # parses all ~600 configs: ~20 s of CPU
def test_every_config_agrees_with_its_datasets():
    configs = [
        p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                             recursive=True) if '_base_' not in p
    ]
    checked, wrong = 0, []
    for path in configs:
        cfg = Config.fromfile(path)
        head = cfg.model.get('decode_head') or {}
        if 'num_classes' not in head:
            continue
        for split in ('train', 'val', 'test'):
            found = config_classes(cfg, split)
            if found is None:
                continue
            checked += 1
            if len(found[1]) != head.num_classes:
                wrong.append((osp.relpath(path, REPO), split,
                              head.num_classes, found))
    assert checked > 3 * 100 and not wrong
