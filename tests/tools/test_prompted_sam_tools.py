"""The Stable-SAM protocol through tools/test.py, its generated configs,
the results tables and the drawing script."""
import glob
import json
import os.path as osp
import runpy
import sys

import mmcv
import numpy as np
import pytest
import torch
from helpers import REPO, load_tool, run_tool, tiny_config
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmseg.registry import DATASETS, MODELS

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.models.prompts import PROMPT_TYPES

PROMPTS = ('oracle_point', 'random_point', 'oracle_box', 'noisy_box')


def prompted_config(config, root, work, sam_ckpt, split='val'):
    cfg = tiny_config(config, root, work, sam_ckpt)
    cfg.model.prompt_decoder.checkpoint = sam_ckpt
    cfg.test_dataloader.dataset.data_prefix = dict(
        img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}')
    path = osp.join(work, osp.basename(config))
    cfg.dump(path)
    return cfg, path


def test_result(work_dir):
    """The metrics tools/test.py saved in ``work_dir``."""
    paths = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        return json.load(f)


test_result.__test__ = False  # a helper, not a test


def test_generated_configs_are_in_sync_and_consistent():
    generator = load_tool('tools/misc/generate_prompted_sam_configs.py')
    files = generator.expected_files()
    assert len(files) == 25 * (4 + 8)
    for rel, text in files.items():
        with open(osp.join(REPO, rel)) as f:
            assert f.read() == text, f'{rel}: run the generator'
    assert tuple(PROMPTS) == PROMPT_TYPES
    for prompt in PROMPTS:
        cfg = Config.fromfile(
            f'{REPO}/configs/prompted_sam/sam_vitb_{prompt}_cwfid.py')
        assert cfg.model.type == 'PromptedSAM'
        assert cfg.model.test_modes == [prompt]
        assert cfg.model.decode_head is None
        assert cfg.model.backbone.frozen
        assert cfg.test_evaluator.pred_key == f'pred_{prompt}'
        assert cfg.test_dataloader.dataset.type == 'CWFIDDataset'
        assert any(t.type.endswith('Annotations')  # prompts need labels
                   for t in cfg.test_dataloader.dataset.pipeline)
    cfg = Config.fromfile(f'{REPO}/configs/prompted_sam/hybrid/'
                          'lora_vitb_suim.py')
    assert cfg.model.type == 'PromptedSAM'
    assert cfg.model.backbone.peft.lora.rank == 8
    assert cfg.model.decode_head.num_classes == 8
    modes = cfg.model.test_modes
    assert modes[0] == 'semantic' and len(modes) == 9
    assert [(m.prefix, m.pred_key) for m in cfg.test_evaluator] == [
        (m, 'pred_' + m.replace('/', '_')) for m in modes]


def test_missing_sam_checkpoint_is_named():
    cfg = Config.fromfile(
        f'{REPO}/configs/prompted_sam/sam_vitb_oracle_box_deepcrack.py')
    cfg.model.prompt_decoder.checkpoint = 'checkpoints/absent_sam.pth'
    with pytest.raises(FileNotFoundError, match='absent_sam.pth'):
        MODELS.build(cfg.model)


def mean_iou(preds, gts, num_classes):
    inter, union = np.zeros(num_classes), np.zeros(num_classes)
    for pred, gt in zip(preds, gts):
        valid = gt != 255
        for c in range(num_classes):
            p, g = (pred == c) & valid, (gt == c) & valid
            inter[c] += (p & g).sum()
            union[c] += (p | g).sum()
    with np.errstate(invalid='ignore'):
        return float(np.nanmean(inter / np.where(union, union, np.nan)) *
                     100)


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    return generate_shapes(
        str(tmp_path_factory.mktemp('data') / 'cryonuseg'),
        splits=(('train', 1), ('val', 3), ('test', 3)), size=64,
        num_classes=2)


@pytest.mark.slow  # two processes' start-up: ~20 s alone on 2 cores
def test_tools_test_scores_prompted_sam(tmp_path, shapes_root,
                                        tiny_sam_ckpt):
    """tools/test.py CONFIG <official-format SAM file>: the number it
    reports equals an independent mIoU of the model's label maps."""
    sam_ckpt = tiny_sam_ckpt[0]
    config = 'configs/prompted_sam/sam_vitb_noisy_box_cryonuseg.py'
    cfg, path = prompted_config(config, shapes_root, str(tmp_path), sam_ckpt)
    work = str(tmp_path / 'run')
    run_tool([sys.executable, 'tools/test.py', path, sam_ckpt,
              '--work-dir', work])
    result = test_result(work)
    assert set(result) >= {'noisy_box/mIoU', 'noisy_box/CoI-mIoU'}

    model = MODELS.build(cfg.model)
    load_checkpoint(model, sam_ckpt, map_location='cpu')
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    preds, gts = [], []
    for i in range(len(dataset)):
        data = dataset[i]
        with torch.no_grad():
            out = model.test_step(
                dict(inputs=[data['inputs']],
                     data_samples=[data['data_samples']]))[0]
        preds.append(out.pred_sem_seg.data[0].numpy())
        gts.append(out.gt_sem_seg.data[0].numpy())
    assert result['noisy_box/mIoU'] == pytest.approx(
        mean_iou(preds, gts, 2), abs=0.006)


@pytest.mark.slow
def test_hybrid_reports_semantic_and_both_peft_states(tmp_path, shapes_root,
                                                      tiny_sam_ckpt):
    sam_ckpt = tiny_sam_ckpt[0]
    method = tiny_config('configs/mopeft/mopeft_vitb_cryonuseg.py',
                         shapes_root, str(tmp_path), sam_ckpt)
    model = MODELS.build(method.model)
    model.init_weights()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.tuner.' in name:
                param.normal_(0, 0.2)
    ckpt = str(tmp_path / 'fine_tuned.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    _, path = prompted_config(  # MESS's split: mess_results.py reads it
        'configs/prompted_sam/hybrid/mopeft_vitb_cryonuseg.py', shapes_root,
        str(tmp_path), sam_ckpt, split='test')
    work, out = str(tmp_path / 'hybrid'), str(tmp_path / 'masks')
    run_tool([sys.executable, 'tools/test.py', path, ckpt,
              '--work-dir', work, '--out', out])
    result = test_result(work)
    # --out: the first mode's (semantic) label maps, one PNG per image
    assert len(glob.glob(osp.join(out, '*.png'))) == 3
    prefixes = ['semantic'] + [f'{peft}/{prompt}' for peft in
                               ('peft_on', 'peft_off') for prompt in PROMPTS]
    for prefix in prefixes:
        assert 0 <= result[f'{prefix}/mIoU'] <= 100, prefix
    assert 'mIoU' not in result

    # the Stable-SAM tables read the prefixed results
    proc = run_tool([sys.executable, 'tools/analysis_tools/mess_results.py',
                     work])
    assert 'peft_off/noisy_box' in proc.stdout
    row = [line for line in proc.stdout.splitlines()
           if line.startswith('| peft_on/oracle_box |')]
    assert row and f"{result['peft_on/oracle_box/mIoU']:.2f}" in row[0]


def test_demo_draws_masks(tmp_path, monkeypatch, tiny_sam_ckpt, shapes_root,
                          capsys):
    sam_ckpt = tiny_sam_ckpt[0]
    _, config = prompted_config(
        'configs/prompted_sam/sam_vitb_oracle_point_cryonuseg.py',
        shapes_root, str(tmp_path), sam_ckpt)
    image = sorted(glob.glob(osp.join(shapes_root, 'img_dir', 'val', '*')))[0]
    out = str(tmp_path / 'drawn.png')
    monkeypatch.setattr(sys, 'argv', [
        'prompt_demo.py', image, config, sam_ckpt, '--points', '20,30',
        '40,10', '--boxes', '5,5,30,40', '--out', out])
    runpy.run_path(osp.join(REPO, 'demo/prompt_demo.py'),
                   run_name='__main__')
    printed = capsys.readouterr().out
    assert printed.count('object ') == 3
    drawn, original = mmcv.imread(out), mmcv.imread(image)
    assert drawn.shape == original.shape
    assert (drawn != original).any(axis=2).mean() > 0.01


def test_demo_never_draws_over_an_existing_file(tmp_path, monkeypatch):
    """Checked before the model loads (no config is read here)."""
    image = tmp_path / 'field.png'
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8), str(image))
    before = image.read_bytes()
    monkeypatch.setattr(sys, 'argv', [
        'prompt_demo.py', str(image), 'no_config.py', 'no_sam.pth',
        '--points', '2,3', '--out', str(image)])
    with pytest.raises(SystemExit, match=f'{image} already exists'):
        runpy.run_path(osp.join(REPO, 'demo/prompt_demo.py'),
                       run_name='__main__')
    assert image.read_bytes() == before


def _prompt_tables(tmp_path, monkeypatch, capsys, runs):
    """The lines mess_results.py prints for hand-made prompted results
    ``{dataset key: {prompt: mIoU}}``."""
    dirs = []
    for key, scores in runs.items():
        for prompt, miou in scores.items():
            work = tmp_path / f'{prompt}_{key}'
            (work / '20260101_000000').mkdir(parents=True)
            Config.fromfile(
                f'{REPO}/configs/prompted_sam/sam_vitb_{prompt}_{key}.py'
            ).dump(str(work / f'sam_vitb_{prompt}_{key}.py'))
            (work / '20260101_000000' / '20260101_000000.json').write_text(
                json.dumps({f'{prompt}/mIoU': miou,
                            f'{prompt}/CoI-mIoU': miou - 10}))
            dirs.append(str(work))
    tool = load_tool('tools/analysis_tools/mess_results.py')  # in-process
    monkeypatch.setattr(sys, 'argv', ['mess_results.py', *dirs])
    tool.main()
    return capsys.readouterr().out.splitlines()


def test_prompt_tables_layout(tmp_path, monkeypatch, capsys):
    """Stable-SAM's Table 1 (per prompt, per domain and mean) and Table 2
    (per dataset) from hand-made results of three datasets."""
    lines = _prompt_tables(
        tmp_path, monkeypatch, capsys,
        dict(cryonuseg=dict(oracle_point=40.0, oracle_box=70.0),
             deepcrack=dict(oracle_point=20.0, oracle_box=60.0),
             suim=dict(oracle_point=50.0, oracle_box=80.0)))
    # Table 1: domains in MESS order, then the mean of the datasets
    assert ('| prompt | Medical Sciences | Engineering | '
            'Agriculture and Biology | mean |') in lines
    assert '| oracle_point | 40.00 | 20.00 | 50.00 | 36.67 |' in lines
    assert '| oracle_box | 70.00 | 60.00 | 80.00 | 70.00 |' in lines
    # Table 2: one row per dataset
    assert '| Engineering | DeepCrack | 20.00 | 60.00 |' in lines
    assert '| Medical Sciences | CryoNuSeg | 40.00 | 70.00 |' in lines


def test_prompt_tables_say_what_a_setting_averages(tmp_path, monkeypatch,
                                                   capsys):
    """A setting run on fewer datasets (or PAXRay tasks) than another: its
    means say how many datasets they average, and Table 2 shows each score
    that went into them, with its task count."""
    lines = _prompt_tables(
        tmp_path, monkeypatch, capsys,
        dict(cryonuseg=dict(oracle_box=60.0, oracle_point=20.0),
             deepcrack=dict(oracle_box=80.0),
             suim=dict(oracle_box=40.0),
             paxray_lungs=dict(oracle_box=90.0, oracle_point=10.0),
             paxray_bones=dict(oracle_box=70.0)))
    assert '| oracle_point | 15.00 | - | - | 15.00 (2 of 4) |' in lines
    assert '| oracle_box | 70.00 | 80.00 | 40.00 | 65.00 |' in lines
    assert ('| Medical Sciences | PAXRay-4 (2/4 tasks) | '
            '10.00 (1/4 tasks) | 80.00 |') in lines
