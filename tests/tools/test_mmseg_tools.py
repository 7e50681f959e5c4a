"""mmseg's own tools/ (shipped in its wheel) on our configs: print_config,
browse_dataset on one MESS dataset per domain, confusion_matrix on
tools/test.py --out, analyze_logs on a training log. (benchmark.py: see
tests/test_training.py; get_flops.py is ours: tests/tools/test_get_flops.py)
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import mmcv
import mmseg
import numpy as np
import pytest
from helpers import REPO, load_tool, run_tool, tiny_config
from mmengine.config import Config
from mmseg.apis import inference_model, init_model
from mmseg.registry import DATASETS, MODELS

from mmseg_mopeft.datasets import MESS_DATASETS, generate_shapes
from mmseg_mopeft.datasets.mess.prepare import PREPARERS

TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')
pytestmark = pytest.mark.slow  # each tool runs in a subprocess
ALPHA = 0.8  # SegLocalVisualizer's default blend
# the first dataset of each MESS domain
ONE_PER_DOMAIN = list({
    info['domain']: key
    for key, info in reversed(list(MESS_DATASETS.items()))
}.values())


def _tool(*parts):
    return osp.join(TOOLS, *parts)


def test_print_config(tmp_path):
    config = osp.join(REPO, 'configs/mopeft/mopeft_vitb_cwfid.py')
    proc = subprocess.run(
        [sys.executable, _tool('misc', 'print_config.py'), config],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "type='SAMViT'" in proc.stdout
    dumped = Config.fromfile(str(tmp_path / 'example.py'))  # written there
    assert dumped.model == Config.fromfile(config).model


def _write_mess_split(root, key, num=2, size=48):
    """``num`` random images and labels in the MESS layout (train)."""
    suffix = PREPARERS.get(key).img_suffix if key in \
        PREPARERS.module_dict else '.png'
    classes = len(MESS_DATASETS[key]['classes'])
    for i in range(num):
        # flat regions: JPEG (the drawing keeps the image's suffix) is then
        # nearly lossless away from edges
        img = np.full((size, size + 8, 3), (90, 140, 200), np.uint8)
        img[20:, 20:] = (30 + 60 * i, 200, 60)
        label = np.zeros((size, size + 8), np.uint8)
        label[4:30, 6:40] = min(1, classes - 1)
        label[36:, :10] = 255
        mmcv.imwrite(img, osp.join(root, 'img_dir', 'train', f'{i}{suffix}'))
        mmcv.imwrite(label, osp.join(root, 'ann_dir', 'train', f'{i}.png'))


@pytest.mark.parametrize('key', ONE_PER_DOMAIN)
def test_browse_dataset_draws_mess_labels(tmp_path, key):
    root = str(tmp_path / key)
    _write_mess_split(root, key)
    cfg = Config.fromfile(osp.join(REPO, f'configs/lora/lora_vitb_{key}.py'))
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = root
    dataset.check_prepared = False  # generated, not by prepare_mess.py
    # loading only: what is drawn can be checked pixel by pixel
    dataset.pipeline = [
        t for t in dataset.pipeline if t['type'].startswith('Load')
    ] + [dict(type='PackSegInputs')]
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    out = tmp_path / 'out'
    run_tool([
        sys.executable,
        _tool('analysis_tools', 'browse_dataset.py'), cfg_file,
        '--output-dir',
        str(out), '--not-show'
    ])
    built = DATASETS.build(dataset)
    palette = np.array(built.metainfo['palette'])
    assert len(built) == 2
    for item in built:
        name = osp.basename(item['data_samples'].img_path)
        image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # RGB
        labels = item['data_samples'].gt_sem_seg.data[0].numpy()
        colours = np.zeros_like(image)
        known = labels < len(palette)
        colours[known] = palette[labels[known]]
        expected = (image * (1 - ALPHA) + colours * ALPHA).astype(np.uint8)
        drawn = mmcv.bgr2rgb(mmcv.imread(str(out / name)))
        tolerance = 1 if name.endswith('.png') else 8  # JPEG
        close = np.abs(drawn.astype(int) - expected).max(axis=2) <= tolerance
        assert close.mean() > 0.6, (key, close.mean())  # rest: label boxes
        assert close[labels == 255].mean() > 0.9


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_sam_ckpt):
    """A tiny decoder_ft run: (config file, work dir, checkpoint)."""
    base = tmp_path_factory.mktemp('mmseg_tools')
    root = generate_shapes(
        str(base / 'data'), splits=(('train', 2), ('val', 3)), size=64,
        num_classes=2)
    cfg = tiny_config('configs/decoder_ft/decoder_ft_vitb_cryonuseg.py',
                      root, str(base / 'work'), tiny_sam_ckpt[0],
                      max_iters=2)
    cfg_file = str(base / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool([sys.executable, 'tools/train.py', cfg_file])
    return cfg_file, base / 'work', str(base / 'work' / 'iter_2.pth')


def test_confusion_matrix_on_test_predictions(tmp_path, trained):
    cfg_file, _, ckpt = trained
    preds = tmp_path / 'preds'
    run_tool([
        sys.executable, 'tools/test.py', cfg_file, ckpt, '--out',
        str(preds), '--work-dir',
        str(tmp_path / 'test')
    ])
    assert len(list(preds.glob('*.png'))) == 3
    run_tool([
        sys.executable,
        _tool('analysis_tools', 'confusion_matrix.py'), cfg_file,
        str(preds),
        str(tmp_path / 'cm')
    ], extra_env=dict(MPLBACKEND='Agg'))
    assert osp.getsize(tmp_path / 'cm' / 'confusion_matrix.png') > 10000
    # the matrix it draws: counted here from the PNGs and the labels
    tool = load_tool(_tool('analysis_tools', 'confusion_matrix.py'))
    dataset = DATASETS.build(Config.fromfile(cfg_file).test_dataloader.dataset)
    model = init_model(cfg_file, ckpt, device='cpu')
    results, expected = [], np.zeros((2, 2), np.int64)
    for info in dataset:
        img_path = info['data_samples'].img_path
        name = osp.splitext(osp.basename(img_path))[0]
        pred = mmcv.imread(str(preds / f'{name}.png'), 'unchanged')
        # --out wrote the model's prediction (mmseg's inference API's)
        np.testing.assert_array_equal(
            pred, inference_model(model, img_path).pred_sem_seg.data[0])
        gt = info['data_samples'].gt_sem_seg.data[0].numpy()
        valid = gt != 255
        np.add.at(expected, (gt[valid], pred[valid]), 1)
        results.append(pred)
    np.testing.assert_array_equal(
        tool.calculate_confusion_matrix(dataset, results), expected)


def test_analyze_logs_plots_the_training_curve(tmp_path, trained):
    pytest.importorskip('seaborn')
    _, work, _ = trained
    log, = glob.glob(str(work / '*' / 'vis_data' / '2*.json'))
    out = tmp_path / 'curve.png'
    proc = run_tool([
        sys.executable,
        _tool('analysis_tools', 'analyze_logs.py'), log, '--keys', 'loss',
        'mIoU', '--backend', 'Agg', '--out',
        str(out)
    ])
    assert 'metric is loss' in proc.stdout
    assert 'metric is mIoU' in proc.stdout
    assert osp.getsize(out) > 10000


def test_print_config_graph_builds_the_model(tmp_path, trained):
    cfg_file, _, _ = trained
    proc = subprocess.run(
        [sys.executable, _tool('misc', 'print_config.py'), cfg_file,
         '--graph'],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=REPO,
                               CUDA_VISIBLE_DEVICES=''),
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = MODELS.build(Config.fromfile(cfg_file).model)
    assert str(model) in proc.stdout
