"""FAIR-1M configs: training, evaluation and the tools/ scripts on real
samples cut into small tiles, with the tiny SAM arch on CPU."""
import glob
import json
import os
import os.path as osp
import sys
from collections import Counter

import mmcv
import numpy as np
import pytest
import torch
from helpers import REPO, load_tool, run_tool
from mmdet.structures import DetDataSample
from mmdet.structures.mask import PolygonMasks
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmseg_mopeft.datasets import FAIR1MDataset
from mmseg_mopeft.evaluation import FAIR1MMetric
from mmseg_mopeft.models.heads import Masks2BoxesHead

FAIR1M = osp.join(REPO, '..', 'shared', 'data', 'fair1m')
CONFIG = 'configs/fair1m/lora_vitb_fair1m.py'
METHODS = sorted(
    osp.basename(p)[:-len('_vitb_fair1m.py')]
    for p in glob.glob(osp.join(REPO, 'configs/fair1m/*_vitb_fair1m.py'))
    if not p.endswith('decoder_ft_vitb_fair1m.py'))
pytestmark = pytest.mark.skipif(
    not osp.isdir(FAIR1M), reason='real FAIR-1M samples missing')


@pytest.fixture(scope='module')
def tiles_root(tmp_path_factory):
    """Three real images (vehicles, airplanes, courts, an intersection) cut
    into 384 px tiles, written as data_root/{train,val}/{images,labelXml}."""
    tiles = load_tool('tools/dataset_converters/fair1m_tiles.py')
    base = tmp_path_factory.mktemp('fair1m')
    for split, ids in (('train', ('1000', '1007')), ('val', ('1007', '1003'))):
        src = base / 'src' / split
        for sub in ('images', 'labelXml'):
            os.makedirs(src / sub)
        for i in ids:
            os.symlink(
                osp.join(FAIR1M, 'images', i + '.jpg'),
                src / 'images' / (i + '.jpg'))
            os.symlink(
                osp.join(FAIR1M, 'labelXml', i + '.xml'),
                src / 'labelXml' / (i + '.xml'))
        tiles.convert(str(src), str(base / 'data' / split), 384, 64)
    return str(base / 'data')


def tiny_det_config(config: str,
                    data_root: str,
                    work_dir: str,
                    checkpoint: str = None,
                    size: int = 128,
                    max_iters: int = 4,
                    num_val: int = None) -> Config:
    """``config`` made to run in seconds on CPU: tiny SAM arch, ``size`` px
    inputs, 8 queries, no loader workers."""
    cfg = Config.fromfile(osp.join(REPO, config))
    init = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint \
        else None
    cfg.model.backbone.update(
        arch='tiny', img_size=64, window_size=4, init_cfg=init)
    cfg.model.decode_head.update(num_queries=8, init_cfg=init)
    cfg.sam_checkpoint = checkpoint  # what SAMCheckpointCheckHook compares
    cfg.model.data_preprocessor.pad_size_divisor = size
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(num_workers=0, persistent_workers=False)
        loader.batch_size = 2 if name == 'train_dataloader' else 1
        loader.dataset.data_root = data_root
        if num_val and name != 'train_dataloader':
            loader.dataset.indices = num_val
        for transform in loader.dataset.pipeline:
            if 'scale' in transform:
                transform['scale'] = (size, size)
    for views in cfg.tta_pipeline[1].transforms:
        for transform in views:
            if 'scale' in transform:
                transform['scale'] = (size, size)
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name].nproc = 1
    cfg.train_cfg.update(max_iters=max_iters, val_interval=max_iters)
    for scheduler in cfg.param_scheduler:
        scheduler.end = max_iters
    cfg.default_hooks.checkpoint.update(interval=2)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    return cfg


def _check_saved_table(folder):
    table = open(osp.join(folder, 'fair1m_ap.txt')).read()
    for name in FAIR1MDataset.METAINFO['classes']:
        assert f' {name} ' in table
    saved = json.load(open(osp.join(folder, 'fair1m_ap.json')))
    assert len(saved['per_class']) == 37
    return saved


def test_train_and_evaluate_on_real_tiles(tmp_path, tiles_root, tiny_sam_ckpt):
    cfg = tiny_det_config(CONFIG, tiles_root, str(tmp_path), tiny_sam_ckpt[0])
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    assert osp.isfile(tmp_path / 'iter_4.pth')
    assert osp.isfile(tmp_path / 'best_fair1m_mAP_iter_4.pth')
    metrics = runner.val_loop.run()
    assert 0 <= metrics['fair1m/mAP'] <= 1
    # one AP per class and one mean per category present in the val tiles
    val = FAIR1MDataset(
        data_root=osp.join(tiles_root, 'val'), pipeline=[], test_mode=True)
    classes = val.metainfo['classes']
    present = Counter(classes[i['bbox_label']] for d in val
                      for i in d['instances'])
    categories = {
        cat
        for cat, names in val.metainfo['categories'].items()
        if set(names) & set(present)
    }
    assert len(categories) >= 3
    assert set(metrics) == {'fair1m/mAP'} | {
        f'fair1m/mAP_{c}'
        for c in categories
    } | {f'fair1m/AP50_{n}'
         for n in present}
    log_dir, = glob.glob(str(tmp_path / '2*'))
    saved = _check_saved_table(log_dir)
    assert {
        n: v['num_gts']
        for n, v in saved['per_class'].items() if v['num_gts']
    } == present
    log = open(glob.glob(osp.join(log_dir, '*.log'))[0]).read()
    assert 'Trainable parameters:' in log
    assert f'from {tiny_sam_ckpt[0]}' in log  # SAM weights were loaded


def _oracle_logits(info, scale, flip=False):
    """Class and mask logits (1, N, ...) that say exactly the ground truth
    of ``info`` (mirrored with ``flip``), for a 1024 px input of the image
    resized by ``scale``, at the decoder's 1/4 resolution."""
    polygons = []
    for instance in info['instances']:
        xy = np.array(instance['mask'][0], dtype=np.float64)
        if flip:
            xy[0::2] = info['width'] - xy[0::2]
        polygons.append([xy * scale])
    grid = PolygonMasks(polygons, 1024, 1024).resize((256, 256))
    masks = grid.to_tensor(torch.float32, 'cpu') * 20 - 10
    labels = torch.tensor([i['bbox_label'] for i in info['instances']],
                          dtype=torch.long)
    cls = torch.full((len(labels), 38), -10.)
    cls[torch.arange(len(labels)), labels] = 10.
    return cls[None], masks[None]


def test_perfect_masks_give_near_perfect_map(tiles_root):
    """Oracle check of the whole inference path on real tiles: mask logits
    made from the ground-truth polygons (at the decoder's 1/4 resolution of
    a 1024 px input) go through Masks2Boxes, rescaling to tile coordinates
    and the metric; nearly every object must be found at IoU 0.5."""
    ds = FAIR1MDataset(
        data_root=osp.join(tiles_root, 'val'), pipeline=[], test_mode=True)
    head = Masks2BoxesHead(num_classes=37, num_queries=1, init_cfg=None)
    metric = FAIR1MMetric(nproc=1)
    metric.dataset_meta = ds.metainfo
    for info in ds:
        h, w = info['height'], info['width']
        scale = 1024 / max(h, w)
        cls, masks = _oracle_logits(info, scale)
        labels = cls[0].argmax(-1)
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(round(h * scale), round(w * scale)),
                batch_input_shape=(1024, 1024),
                scale_factor=(scale, scale)))
        head.max_per_img = max(len(labels), 1)
        pred, = head.predict_by_feat(cls, masks, [sample])
        gt = torch.tensor([i['bbox']
                           for i in info['instances']]).reshape(-1, 4)
        metric.process({}, [
            dict(
                gt_instances=dict(bboxes=gt, labels=labels),
                ignored_instances=dict(
                    bboxes=torch.zeros(0, 4),
                    labels=torch.zeros(0, dtype=torch.long)),
                pred_instances=pred.to_dict())
        ])
    metrics = metric.evaluate(len(ds))
    assert metrics['fair1m/AP50_Small Car'] > 0.99
    assert metrics['fair1m/mAP'] > 0.99


class _OracleDetector(torch.nn.Module):
    """Mask logits drawn from each view's own ground-truth polygons (mirrored
    in a flipped view), through Masks2Boxes as the detector runs it."""

    def __init__(self, infos):
        super().__init__()
        self.infos = {info['img_path']: info for info in infos}
        self.head = Masks2BoxesHead(
            num_classes=37, num_queries=1, init_cfg=None)

    def test_step(self, data):
        sample, = data['data_samples']
        info = self.infos[sample.img_path]
        cls, masks = _oracle_logits(info, sample.scale_factor[0], sample.flip)
        sample.set_metainfo(dict(batch_input_shape=(1024, 1024)))
        self.head.max_per_img = max(cls.shape[1], 1)
        pred, = self.head.predict_by_feat(cls, masks, [sample])
        sample.pred_instances = pred
        return [sample]


def test_flip_tta_merges_views_in_tile_coordinates(tiles_root):
    """``--tta`` with the config's tta_model and tta_pipeline: the mirrored
    view's boxes come back to tile coordinates and the ground truth is the
    tile's, so oracle masks in both views still score nearly perfectly."""
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    infos = list(FAIR1MDataset(
        data_root=osp.join(tiles_root, 'val'), pipeline=[], test_mode=True))
    dataset = FAIR1MDataset(
        data_root=osp.join(tiles_root, 'val'), test_mode=True,
        pipeline=cfg.tta_pipeline)
    tta = MODELS.build(dict(cfg.tta_model, module=_OracleDetector(infos)))
    metric = FAIR1MMetric(nproc=1)
    metric.dataset_meta = dataset.metainfo
    flips = []
    for i in range(len(dataset)):
        views = dataset[i]
        flips.append([s.flip for s in views['data_samples']])
        merged = tta.test_step(pseudo_collate([views]))
        metric.process({}, [s.to_dict() for s in merged])
    assert all(flip == [False, True] for flip in flips)
    metrics = metric.evaluate(len(dataset))
    assert metrics['fair1m/mAP'] > 0.99


def test_tools_train_then_test_with_show_dir(tmp_path, tiles_root,
                                             tiny_sam_ckpt):
    cfg = tiny_det_config(
        CONFIG,
        tiles_root,
        str(tmp_path / 'work'),
        tiny_sam_ckpt[0],
        num_val=3)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool([
        sys.executable, 'tools/train.py', cfg_file, '--cfg-options',
        'train_cfg.max_iters=2'
    ])
    ckpt = str(tmp_path / 'work' / 'iter_2.pth')
    assert osp.isfile(ckpt)
    show_dir = tmp_path / 'vis'
    proc = run_tool([
        sys.executable, 'tools/test.py', cfg_file, ckpt, '--show-dir',
        str(show_dir), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(tmp_path / 'out'), '--cfg-options',
        'default_hooks.visualization.score_thr=0'
    ])
    out = proc.stdout + proc.stderr
    assert 'mAP (all classes)' in out and 'fair1m/mAP' in out
    _check_saved_table(str(tmp_path / 'out'))  # --out: table + detections
    detections = json.load(open(tmp_path / 'out' / 'fair1m_detections.json'))
    assert sorted(detections) == ['1003_0_0', '1003_0_320', '1003_0_616']
    images = sorted(glob.glob(str(show_dir / '**' / '*.png'), recursive=True))
    assert len(images) == 3  # one per val tile
    # ground truth | predictions, drawn over the first val tile
    val = FAIR1MDataset(
        data_root=osp.join(tiles_root, 'val'), pipeline=[], test_mode=True)
    assert val[0]['instances']
    tile = mmcv.imread(val[0]['img_path'])
    drawn = mmcv.imread(images[0])
    assert drawn.shape == (384, 2 * 384, 3)
    for panel in (drawn[:, :384], drawn[:, 384:]):
        changed = np.abs(panel.astype(int) - tile).max(axis=2) > 40
        assert 0 < changed.mean() < 0.5  # boxes drawn, image still there


def test_dist_train_two_cpu_processes(tmp_path, tiles_root, tiny_sam_ckpt):
    cfg = tiny_det_config(
        CONFIG,
        tiles_root,
        str(tmp_path / 'work'),
        tiny_sam_ckpt[0],
        num_val=2)
    cfg.env_cfg.dist_cfg = dict(backend='nccl')  # as in real configs
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool(['bash', 'tools/dist_train.sh', cfg_file, '2'],
             timeout=600,
             extra_env=dict(PYTHON=sys.executable, PORT='29527'))
    assert osp.isfile(tmp_path / 'work' / 'iter_4.pth')
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    assert 'Distributed training: True' in log
    assert 'fair1m/mAP' in log


@pytest.mark.parametrize('method', METHODS)
def test_fair1m_configs_reuse_the_method_settings(method):
    """Each FAIR-1M config tunes the encoder exactly like the segmentation
    method config of the same name."""
    det = Config.fromfile(
        osp.join(REPO, f'configs/fair1m/{method}_vitb_fair1m.py'))
    seg = Config.fromfile(
        osp.join(REPO, f'configs/_base_/methods/{method}_vitb.py'))
    assert det.model.type == 'mmdet.SAMDetector'
    for key in ('arch', 'img_size', 'frozen', 'peft'):
        assert det.model.backbone.get(key) == seg.model.backbone.get(key)
    assert det.model.decode_head.get('freeze_mask_decoder') == \
        seg.model.decode_head.get('freeze_mask_decoder')
    assert det.optim_wrapper == seg.optim_wrapper
    assert det.default_scope == 'mmseg'
