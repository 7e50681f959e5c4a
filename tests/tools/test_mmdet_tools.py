"""FAIR-1M with mmdet's habits: drawings named after the tile, --out
writes the pickle mmdet's analysis tools read; mmdet's own browse_dataset,
test.py, analyze_results and confusion_matrix run on our configs."""
import os.path as osp
import pickle
import sys

import mmcv
import mmdet
import numpy as np
import pytest
from helpers import load_tool, run_tool
from test_fair1m_training import (CONFIG, FAIR1M, tiles_root,  # noqa: F401
                                  tiny_det_config)

from mmseg_mopeft.datasets import FAIR1MDataset

TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')
pytestmark = [
    pytest.mark.skipif(
        not osp.isdir(FAIR1M), reason='real FAIR-1M samples missing'),
    pytest.mark.slow,  # each tool runs in a subprocess
]


@pytest.fixture(scope='module')
def det_run(tmp_path_factory, tiles_root, tiny_sam_ckpt):  # noqa: F811
    """(config file, checkpoint, val tiles) of a 2-iteration tiny run."""
    base = tmp_path_factory.mktemp('mmdet_tools')
    cfg = tiny_det_config(
        CONFIG, tiles_root, str(base / 'work'), tiny_sam_ckpt[0], num_val=3,
        max_iters=2)
    cfg_file = str(base / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool([sys.executable, 'tools/train.py', cfg_file])
    val = FAIR1MDataset(
        data_root=osp.join(tiles_root, 'val'), pipeline=[], test_mode=True,
        indices=3)
    return cfg_file, str(base / 'work' / 'iter_2.pth'), val


def _check_pickle(path, val):
    results = pickle.load(open(path, 'rb'))
    assert [r['img_path'] for r in results] == [d['img_path'] for d in val]
    for result in results:
        pred = result['pred_instances']
        assert pred['bboxes'].shape[1] == 4
        assert len(pred['labels']) == len(pred['scores']) == len(
            pred['bboxes'])
    return results


def test_our_test_py_names_drawings_after_tiles_and_writes_pickle(
        tmp_path, det_run):
    cfg_file, ckpt, val = det_run
    show = tmp_path / 'show'
    run_tool([
        sys.executable, 'tools/test.py', cfg_file, ckpt, '--out',
        str(tmp_path / 'results.pkl'), '--show-dir',
        str(show), '--work-dir',
        str(tmp_path / 'test')
    ])
    _check_pickle(tmp_path / 'results.pkl', val)
    names = sorted(p.name for p in show.iterdir())
    assert names == sorted(osp.basename(d['img_path']) for d in val)


def test_an_existing_pickle_is_not_overwritten(tmp_path, det_run,
                                               monkeypatch):
    cfg_file, ckpt, _ = det_run
    pkl = tmp_path / 'results.pkl'
    pkl.write_bytes(b'mine')
    tool = load_tool('tools/test.py')
    monkeypatch.setattr(sys, 'argv', [
        'test.py', cfg_file, ckpt, '--out',
        str(pkl), '--work-dir',
        str(tmp_path / 'test')
    ])
    with pytest.raises(FileExistsError, match='--out .*results.pkl exists'):
        tool.main()
    assert pkl.read_bytes() == b'mine'


def test_mmdet_test_py_on_our_config(tmp_path, det_run):
    cfg_file, ckpt, val = det_run
    run_tool([
        sys.executable,
        osp.join(TOOLS, 'test.py'), cfg_file, ckpt, '--out',
        str(tmp_path / 'mmdet.pkl'), '--work-dir',
        str(tmp_path / 'test')
    ])
    _check_pickle(tmp_path / 'mmdet.pkl', val)


@pytest.mark.parametrize('tool', ['ours', 'mmdet'])
def test_test_py_tta(tmp_path, det_run, tool):
    cfg_file, ckpt, val = det_run
    script = 'tools/test.py' if tool == 'ours' else osp.join(TOOLS, 'test.py')
    proc = run_tool([
        sys.executable, script, cfg_file, ckpt, '--tta', '--out',
        str(tmp_path / 'tta.pkl'), '--work-dir',
        str(tmp_path / 'test')
    ])
    assert 'fair1m/mAP' in proc.stdout + proc.stderr
    _check_pickle(tmp_path / 'tta.pkl', val)


def test_mmdet_analysis_tools_read_our_pickle(tmp_path, det_run):
    cfg_file, ckpt, val = det_run
    pkl = str(tmp_path / 'results.pkl')
    run_tool([
        sys.executable, 'tools/test.py', cfg_file, ckpt, '--out', pkl,
        '--work-dir',
        str(tmp_path / 'test')
    ])
    run_tool([
        sys.executable,
        osp.join(TOOLS, 'analysis_tools', 'confusion_matrix.py'), cfg_file,
        pkl,
        str(tmp_path / 'cm'), '--score-thr', '0'
    ], extra_env=dict(MPLBACKEND='Agg'))
    assert osp.getsize(tmp_path / 'cm' / 'confusion_matrix.png') > 10000
    run_tool([
        sys.executable,
        osp.join(TOOLS, 'analysis_tools', 'analyze_results.py'), cfg_file,
        pkl,
        str(tmp_path / 'analysis'), '--topk', '1', '--show-score-thr', '0'
    ])
    for kind in ('good', 'bad'):
        drawn = list((tmp_path / 'analysis' / kind).glob('*.png'))
        assert len(drawn) == 1
        tile = drawn[0].name.rsplit('_', 1)[0]  # <tile>_<mAP>.png
        assert tile in {osp.basename(d['img_path'])[:-4] for d in val}


def test_mmdet_browse_dataset_on_fair1m(tmp_path, det_run):
    cfg_file, _, _ = det_run
    out = tmp_path / 'browse'
    run_tool([
        sys.executable,
        osp.join(TOOLS, 'analysis_tools', 'browse_dataset.py'), cfg_file,
        '--output-dir',
        str(out), '--not-show'
    ])
    drawn = sorted(out.iterdir())
    assert drawn
    for path in drawn:
        assert mmcv.imread(str(path)).ndim == 3
    assert np.mean([osp.getsize(p) for p in drawn]) > 1000
