"""tools/test.py: --tta combines with --record-gates, --show-dir and --out;
a pickle --out is refused for segmentation configs."""
import importlib.util
import json
import os.path as osp
import sys

import mmcv
import numpy as np
import pytest
import torch
from helpers import REPO, run_tool, tiny_config
from mmseg.registry import MODELS

from mmseg_mopeft.datasets import generate_shapes

CONFIG = 'configs/mopeft/mopeft_vitb_cryonuseg.py'


@pytest.fixture(scope='module')
def mopeft_run(tmp_path_factory, tiny_sam_ckpt):
    """(config file, checkpoint, data root): tiny MoPEFT with SAM weights."""
    base = tmp_path_factory.mktemp('tta')
    root = generate_shapes(
        str(base / 'data'), splits=(('train', 1), ('val', 3)), size=64,
        num_classes=2)
    cfg = tiny_config(CONFIG, root, str(base / 'work'), tiny_sam_ckpt[0])
    cfg_file = str(base / 'cfg.py')
    cfg.dump(cfg_file)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(base / 'mopeft.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return cfg_file, ckpt, root


@pytest.mark.slow  # tools/test.py in a subprocess
def test_tta_with_gates_show_dir_and_out(tmp_path, mopeft_run):
    cfg_file, ckpt, root = mopeft_run
    work, show, out = tmp_path / 'work', tmp_path / 'show', tmp_path / 'out'
    run_tool([
        sys.executable, 'tools/test.py', cfg_file, ckpt, '--tta',
        '--record-gates', '--show-dir',
        str(show), '--out',
        str(out), '--work-dir',
        str(work)
    ])
    names = ['0000', '0001', '0002']  # generate_shapes' names
    with np.load(work / 'gates.npz') as data:
        paths = [osp.basename(p) for p in data['img_paths']]
        gates = {k: data[k] for k in data.files if k != 'img_paths'}
    assert paths == [n + '.png' for n in names]
    assert sorted(gates) == ['adapter', 'lora', 'prefix']
    for values in gates.values():
        assert values.shape == (3, 4)  # images x blocks (tiny arch)
        assert ((values > 0) & (values < 1)).all()
    saved = json.load(open(work / 'gates.json'))
    assert [row['views'] for row in saved['images']] == [2, 2, 2]  # flips
    drawn = sorted(p.name for p in show.rglob('*.png'))
    assert len(drawn) == 3 and all(
        any(n in d for d in drawn) for n in names), drawn
    for name in names:
        pred = mmcv.imread(str(out / f'{name}.png'), flag='unchanged')
        label = mmcv.imread(
            osp.join(root, 'ann_dir', 'val', f'{name}.png'),
            flag='unchanged')
        assert pred.shape == label.shape
        assert set(np.unique(pred)) <= {0, 1}


def test_pickle_out_is_for_detection_only(tmp_path, mopeft_run,
                                          monkeypatch):
    cfg_file, ckpt, _ = mopeft_run
    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(REPO, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', [
        'test.py', cfg_file, ckpt, '--out',
        str(tmp_path / 'preds.pkl'), '--work-dir',
        str(tmp_path / 'work')
    ])
    with pytest.raises(ValueError, match='preds.pkl: a pickle of '
                       'predictions is written for detection'):
        tool.main()
    assert not (tmp_path / 'preds.pkl').exists()
