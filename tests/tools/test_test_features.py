"""tools/test.py: --tta combines with --record-gates, --show-dir and --out;
a pickle --out is refused for segmentation configs; --out and --show-dir
never overwrite files; --record-gates under dist_test.sh: one row per image,
in dataset order."""
import json
import os.path as osp
import socket
import sys

import mmcv
import numpy as np
import pytest
import torch
from helpers import gate_record, load_tool, run_tool, tiny_config
from mmengine.config import Config
from mmengine.runner import Runner
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
    out.mkdir()  # an empty folder is fine
    run_tool([
        sys.executable, 'tools/test.py', cfg_file, ckpt, '--tta',
        '--record-gates', '--show-dir',
        str(show), '--out',
        str(out), '--work-dir',
        str(work)
    ])
    names = ['0000', '0001', '0002']  # generate_shapes' names
    with np.load(gate_record(work)) as data:
        paths = [osp.basename(p) for p in data['img_paths']]
        gates = {k: data[k] for k in data.files if k != 'img_paths'}
    assert paths == [n + '.png' for n in names]
    assert sorted(gates) == ['adapter', 'lora', 'prefix']
    for values in gates.values():
        assert values.shape == (3, 4)  # images x blocks (tiny arch)
        assert ((values > 0) & (values < 1)).all()
    saved = json.load(open(gate_record(work, 'json')))
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
    tool = load_tool('tools/test.py')
    monkeypatch.setattr(sys, 'argv', [
        'test.py', cfg_file, ckpt, '--out',
        str(tmp_path / 'preds.pkl'), '--work-dir',
        str(tmp_path / 'work')
    ])
    with pytest.raises(ValueError, match='preds.pkl: a pickle of '
                       'predictions is written for detection'):
        tool.main()
    assert not (tmp_path / 'preds.pkl').exists()


@pytest.mark.parametrize('option, name', [('--out', '0001.png'),
                                          ('--show-dir', 'notes.txt'),
                                          ('--out', 'preds.pkl')])
def test_outputs_never_overwrite_files(tmp_path, mopeft_run, monkeypatch,
                                       option, name):
    """--out/--show-dir take a new or empty folder (a .pkl: a new file);
    otherwise the run stops before writing, naming what is there."""
    cfg_file, ckpt, _ = mopeft_run
    folder = tmp_path / 'given'
    folder.mkdir()
    mine = folder / name
    mine.write_bytes(b'not to be overwritten')
    path = str(mine if name.endswith('.pkl') else folder)
    monkeypatch.setattr(sys, 'argv', [
        'test.py', cfg_file, ckpt, option, path, '--work-dir',
        str(tmp_path / 'work')
    ])
    expected = 'exists' if name.endswith('.pkl') else f'not empty .{name}'
    with pytest.raises(FileExistsError, match=f'{option} .*{expected}'):
        load_tool('tools/test.py').main()
    assert mine.read_bytes() == b'not to be overwritten'
    assert sorted(p.name for p in folder.iterdir()) == [name]


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


@pytest.mark.slow  # two tools/test.py processes
def test_gates_of_two_processes_are_one_row_per_image(tmp_path,
                                                      mopeft_run):
    """3 images on 2 ranks: DefaultSampler pads rank 1 with image 0 and
    deals the images out in turn; the file lists each image once, in
    dataset order, with the values a single process records."""
    cfg_file, ckpt, _ = mopeft_run
    cfg = Config.fromfile(cfg_file)
    cfg.load_from, cfg.work_dir = ckpt, str(tmp_path / 'one')
    cfg.custom_hooks.append(dict(type='GateRecorderHook'))
    Runner.from_cfg(cfg).test()
    run_tool(['bash', 'tools/dist_test.sh', cfg_file, ckpt, '2',
              '--record-gates', '--work-dir', str(tmp_path / 'two')],
             timeout=600,
             extra_env=dict(PYTHON=sys.executable, PORT=_free_port()))
    with np.load(gate_record(tmp_path / 'one')) as one, \
            np.load(gate_record(tmp_path / 'two')) as two:
        assert [osp.basename(p) for p in two['img_paths']] == [
            '0000.png', '0001.png', '0002.png'
        ]
        assert sorted(one.files) == sorted(two.files)
        for key in one.files:
            if key != 'img_paths':
                assert two[key].shape == (3, 4)
                np.testing.assert_allclose(two[key], one[key], atol=1e-6)
    rows = json.load(open(gate_record(tmp_path / 'two', 'json')))['images']
    assert len(rows) == 3
