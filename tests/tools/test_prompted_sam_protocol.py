"""The whole Stable-SAM protocol through tools/test.py on the real samples
in ../shared/data (CWFID, DeepCrack, SUIM), all four prompt types, tiny SAM
(random weights: the numbers say nothing about accuracy)."""
import glob
import json
import os
import os.path as osp
import sys

import pytest
from helpers import REPO, run_tool, tiny_config

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, prepare

SHARED = osp.join(REPO, '..', 'shared', 'data')
PROMPTS = ('oracle_point', 'random_point', 'oracle_box', 'noisy_box')
REAL = dict(
    cwfid=osp.join(SHARED, 'cwfid'),
    deepcrack=osp.join(SHARED, 'deepcrack'),
    suim=osp.join(SHARED, 'suim'))


def prepare_test_split(key, out):
    """The real samples' test split, prepared as a user would (only the
    evaluation split where the preparer can do that alone: SUIM's sample
    is its TEST folder)."""
    raw = REAL[key]
    if not osp.isdir(raw):
        pytest.skip(f'real {key} samples not found at {raw}')
    preparer = PREPARERS.build(dict(type=key))
    test_only = preparer.test_required is not None
    prepare(preparer, raw, out, test_only=test_only)


def run(config, root, work, sam_ckpt):
    cfg = tiny_config(config, root, work, sam_ckpt)
    cfg.model.prompt_decoder.checkpoint = sam_ckpt
    cfg.test_dataloader.dataset.data_prefix = dict(
        img_path='img_dir/test', seg_map_path='ann_dir/test')
    cfg.test_dataloader.dataset.indices = 6  # CI time: the first 6 images
    path = osp.join(work, osp.basename(config))
    os.makedirs(work, exist_ok=True)
    cfg.dump(path)
    run_tool([sys.executable, 'tools/test.py', path, sam_ckpt,
              '--work-dir', work])
    (result, ) = glob.glob(osp.join(work, '2*', '2*.json'))
    with open(result) as f:
        return json.load(f)


@pytest.mark.slow
@pytest.mark.parametrize('key', sorted(REAL))
def test_protocol_on_real_samples(key, tmp_path, tiny_sam_ckpt):
    root = str(tmp_path / key)
    prepare_test_split(key, root)
    sam_ckpt = tiny_sam_ckpt[0]
    works = []
    for prompt in PROMPTS:
        work = str(tmp_path / f'{prompt}_{key}')
        result = run(f'configs/prompted_sam/sam_vitb_{prompt}_{key}.py',
                     root, work, sam_ckpt)
        assert 0 <= result[f'{prompt}/mIoU'] <= 100
        works.append(work)
        if prompt == 'noisy_box':  # seeded: a rerun gives the same numbers
            again = run(f'configs/prompted_sam/sam_vitb_{prompt}_{key}.py',
                        root, str(tmp_path / 'again'), sam_ckpt)
            assert {k: v for k, v in again.items() if '/' in k} == \
                {k: v for k, v in result.items() if '/' in k}
    proc = run_tool([sys.executable, 'tools/analysis_tools/mess_results.py',
                     *works])
    for prompt in PROMPTS:
        assert f'| {prompt} |' in proc.stdout
