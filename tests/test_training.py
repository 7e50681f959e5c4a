"""Runner training, evaluation, resume and the tools/ scripts on CPU."""
import glob
import os
import os.path as osp
import sys

import pytest
import torch
from helpers import run_tool, tiny_config, train_until_interrupted
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg_mopeft.datasets import generate_shapes

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'


@pytest.fixture(scope='module')
def cryo_root(tmp_path_factory):
    """Generated two-class data in the layout of the CryoNuSeg config."""
    root = str(tmp_path_factory.mktemp('data') / 'cryonuseg')
    return generate_shapes(
        root, splits=(('train', 6), ('val', 2)), size=64, num_classes=2)


def test_train_and_val_a_few_iterations(tmp_path, cryo_root, tiny_sam_ckpt):
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path), tiny_sam_ckpt[0])
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    assert osp.isfile(tmp_path / 'iter_4.pth')
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
    log = open(glob.glob(str(tmp_path / '*' / '*.log'))[0]).read()
    assert 'Trainable parameters:' in log
    assert f'from {tiny_sam_ckpt[0]}' in log  # SAM weights were loaded


class _Interrupt(Hook):
    priority = 'LOWEST'  # after the checkpoint hook has saved

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == 2:
            raise KeyboardInterrupt


def test_resume_matches_uninterruptedrun_tool(tmp_path, cryo_root,
                                              tiny_sam_ckpt):
    ckpt = tiny_sam_ckpt[0]
    straight = train_until_interrupted(
        tiny_config(CONFIG, cryo_root, str(tmp_path / 'a'), ckpt))
    train_until_interrupted(
        tiny_config(CONFIG, cryo_root, str(tmp_path / 'b'), ckpt),
        hooks=[_Interrupt()])
    assert osp.isfile(tmp_path / 'b' / 'iter_2.pth')
    assert not osp.isfile(tmp_path / 'b' / 'iter_4.pth')
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path / 'b'), ckpt)
    cfg.resume = True
    resumed = train_until_interrupted(cfg)
    assert resumed.iter == straight.iter == 4

    for (name, a), (_, b) in zip(straight.model.state_dict().items(),
                                 resumed.model.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name
    opt_a = straight.optim_wrapper.optimizer.state_dict()
    opt_b = resumed.optim_wrapper.optimizer.state_dict()
    assert opt_a['param_groups'] == opt_b['param_groups']
    for key, state in opt_a['state'].items():
        for name, value in state.items():
            assert torch.allclose(
                value, opt_b['state'][key][name], atol=1e-6), (key, name)


def test_resume_keeps_weights_only_loading_safe(tmp_path):
    """mmengine checkpoints load with weights_only=True, arbitrary pickles
    still do not."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    good = tmp_path / 'good.pth'
    torch.save(
        dict(
            meta=dict(
                buf=HistoryBuffer([1.0, 2.0], [1, 1]),
                arr=np.arange(3),
                seed=np.int64(3))), good)
    loaded = torch.load(good)  # weights_only defaults to True
    assert loaded['meta']['buf'].mean() == 1.5

    class Evil:

        def __reduce__(self):
            return (os.system, ('echo pwned', ))

    bad = tmp_path / 'bad.pth'
    torch.save(dict(meta=Evil()), bad)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(bad)


def test_tools_train_then_test_with_show_dir(tmp_path, cryo_root,
                                             tiny_sam_ckpt):
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path / 'work'),
                      tiny_sam_ckpt[0])
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
        str(tmp_path / 'test')
    ])
    assert 'mIoU' in proc.stdout + proc.stderr
    images = glob.glob(str(show_dir / '**' / '*.png'), recursive=True)
    assert len(images) == 2  # one per val image


def test_dist_train_and_test_two_cpu_processes(tmp_path, cryo_root,
                                               tiny_sam_ckpt):
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path / 'work'),
                      tiny_sam_ckpt[0])
    cfg.env_cfg.dist_cfg = dict(backend='nccl')  # as in real configs
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool(['bash', 'tools/dist_train.sh', cfg_file, '2'],
             timeout=600,
             extra_env=dict(PYTHON=sys.executable, PORT='29517'))
    assert osp.isfile(tmp_path / 'work' / 'iter_4.pth')
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert "dist_cfg: {'backend': 'gloo'}" in log

    show_dir = tmp_path / 'vis'
    proc = run_tool([
        'bash', 'tools/dist_test.sh', cfg_file,
        str(tmp_path / 'work' / 'iter_4.pth'), '2', '--work-dir',
        str(tmp_path / 'test'), '--show-dir',
        str(show_dir)
    ],
                    timeout=600,
                    extra_env=dict(PYTHON=sys.executable, PORT='29518'))
    assert 'Iter(test) [1/1]' in proc.stdout + proc.stderr  # 2 images / 2
    assert 'mIoU' in proc.stdout + proc.stderr
    # each rank draws its own image (mmseg's visualizer: rank 0's only)
    drawn = glob.glob(str(show_dir / '**' / '*.png'), recursive=True)
    assert sorted(osp.basename(p).split('.')[0] for p in drawn) == [
        'test_0000', 'test_0001'
    ], drawn


def test_mmseg_analysis_tools_run_on_our_configs(tmp_path, cryo_root):
    """mmseg's benchmark.py and our fixed get_flops.py run on our configs."""
    import mmseg
    tools = osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'analysis_tools')
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path / 'work'))
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    proc = run_tool([
        sys.executable, 'tools/analysis_tools/get_flops.py', cfg_file,
        '--shape', '64'
    ])
    flops = proc.stdout.split('Flops: ')[1].split()[0]
    assert float(flops.rstrip('KMGT')) > 0
    run_tool([
        sys.executable,
        osp.join(tools, 'benchmark.py'), cfg_file, 'none', '--work-dir',
        str(tmp_path / 'bench')
    ])
