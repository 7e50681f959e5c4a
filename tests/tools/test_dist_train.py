"""tools/train.py with two CPU processes (gloo), as tools/dist_train.sh
starts it: the same training as one process with twice the batch, and a
clean exit."""
import os
import os.path as osp
import socket
import sys

import mmcv
import numpy as np
import pytest
import torch
from helpers import REPO, run_tool, tiny_config

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'
RUN_TRAIN = osp.join(REPO, 'tests', 'tools', 'run_train_tool.py')


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def _two_images(root: str) -> str:
    """A big disk on background (2 classes) and a background-only image
    (1 class): per-rank class-weight sums differ (2.0 vs 1.1)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    disk = ((yy - 32)**2 + (xx - 30)**2 <= 20**2).astype(np.uint8)
    for split in ('train', 'val'):
        for sub in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, sub, split), exist_ok=True)
    for i, label in enumerate((disk, np.zeros_like(disk))):
        img = rng.uniform(60, 140, size=(64, 64, 3))
        img[label == 1] = (200, 50, 40)
        img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255)
        for split in ('train', 'val')[:2 - i]:
            mmcv.imwrite(img.astype(np.uint8),
                         osp.join(root, 'img_dir', split, f'{i:04d}.png'))
            mmcv.imwrite(label, osp.join(root, 'ann_dir', split,
                                         f'{i:04d}.png'))
    return root


def _train(tmp_path, root, ckpt, name, batch_size, processes):
    """3 SGD iterations with the config's random augmentation; returns the
    tool's output and rank 0's record (FirstStepRecorderHook)."""
    cfg = tiny_config(CONFIG, root, str(tmp_path / name), ckpt, max_iters=3)
    cfg.train_dataloader.batch_size = batch_size
    # SGD: AdamW would turn float noise in gradients that are truly ~0
    # into steps of size lr. At lr 0.5 the loss grew step to step and float
    # noise of 1e-7 decided the second step on some CPUs (1e-3 apart).
    cfg.optim_wrapper.optimizer = dict(type='SGD', lr=0.2)
    cfg.train_cfg.val_begin = 10**6  # no validation
    cfg.default_hooks.checkpoint.interval = 10**6
    out = str(tmp_path / f'{name}.pth')
    cfg.custom_hooks.append(dict(type='FirstStepRecorderHook', out=out))
    cfg_file = str(tmp_path / f'{name}.py')
    cfg.dump(cfg_file)
    if processes == 1:
        args = [sys.executable, RUN_TRAIN, cfg_file]
    else:
        args = [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={processes}', f'--master_port={_free_port()}',
            RUN_TRAIN, cfg_file, '--launcher', 'pytorch'
        ]
    proc = run_tool(args, timeout=600)
    return proc.stdout + proc.stderr, torch.load(out)


@pytest.fixture(scope='module')
def one_and_two_processes(tmp_path_factory, tiny_sam_ckpt):
    tmp_path = tmp_path_factory.mktemp('dist_train')
    root = _two_images(str(tmp_path / 'data'))
    return (_train(tmp_path, root, tiny_sam_ckpt[0], 'one', 2, 1),
            _train(tmp_path, root, tiny_sam_ckpt[0], 'two', 1, 2))


def test_two_processes_batch_1_equal_one_process_batch_2(
        one_and_two_processes):
    (_, one), (_, two) = one_and_two_processes
    assert one['grads'].keys() == two['grads'].keys()
    assert len(one['grads']) > 10  # the trainable decoder and class branch
    largest = max(g.abs().max() for g in one['grads'].values())
    worst = 0.
    for name, grad in one['grads'].items():
        # relative to the gradient, or to 1e-3 of the largest for gradients
        # near 0 (a few 1e-6 of the largest: there fp32 sums differ by more
        # than 1e-5 of themselves)
        scale = torch.maximum(grad.abs().max(), 1e-3 * largest)
        error = ((two['grads'][name] - grad).abs().max() / scale).item()
        worst = max(worst, error)
        assert error < 1e-5, (name, error)
    print(f'first-step gradients: max relative difference {worst:.2e}')

    diff = step = 0.
    for name, weight in one['weights'].items():
        diff = max(diff, (two['weights'][name] - weight).abs().max().item())
        step = max(step, (weight - one['initial'][name]).abs().max().item())
    print(f'weights after 3 SGD steps: max abs difference {diff:.2e} '
          f'(largest change by training {step:.2e})')
    assert diff < 1e-5
    assert step > 1e-2  # training moved the weights far beyond that


@pytest.mark.skipif(
    not osp.isdir('/proc/self/task'), reason='counts threads in /proc')
def test_no_gloo_thread_outlives_the_teardown(one_and_two_processes):
    """A gloo worker thread alive when Python finalises can abort the rank
    after a successful run (1 run in 14): the teardown must join them."""
    _, (output, _) = one_and_two_processes
    assert output.count('gloo threads after tools/train.py: 0') == 2, (
        output[-3000:])
    assert 'terminate called' not in output
