"""Run the two-CPU-process train + test of tests/test_training.py N times
and count the runs whose launchers exit 0 (the gloo abort at exit,
"terminate called without an active exception", fails about 1 in 14).

Not part of the test suite (minutes per run on 2 cores):

    .venv/bin/python tests/tools/repeat_two_process_runs.py --runs 30
    # another checkout, e.g. an export of an older commit:
    .venv/bin/python tests/tools/repeat_two_process_runs.py --repo /tmp/old
"""
import argparse
import os
import os.path as osp
import signal
import subprocess
import sys
import tempfile
import time

HERE = osp.dirname(osp.abspath(__file__))
CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'
ABORT = 'terminate called'
LEAK = 'still referenced after destroy_process_group'  # teardown's warning


def prepare(repo: str, work: str) -> str:
    """Data, tiny SAM checkpoint and config as the test makes them."""
    sys.path[:0] = [repo, osp.join(repo, 'tests')]
    from helpers import tiny_config
    from mmengine.registry import init_default_scope

    import mmseg_mopeft  # noqa: F401
    from mmseg_mopeft.datasets import generate_shapes
    from mmseg_mopeft.testing import save_sam_checkpoint
    assert osp.dirname(osp.dirname(mmseg_mopeft.__file__)) == repo, (
        mmseg_mopeft.__file__)
    init_default_scope('mmseg')
    root = generate_shapes(
        osp.join(work, 'cryonuseg'),
        splits=(('train', 6), ('val', 2)),
        size=64,
        num_classes=2)
    ckpt = osp.join(work, 'sam_tiny.pth')
    save_sam_checkpoint(ckpt, arch='tiny', img_size=64, window_size=4)
    cfg = tiny_config(CONFIG, root, osp.join(work, 'run'), ckpt)
    cfg.env_cfg.dist_cfg = dict(backend='nccl')  # as in real configs
    cfg_file = osp.join(work, 'cfg.py')
    cfg.dump(cfg_file)
    return cfg_file


def launch(repo, args, port, timeout):
    env = dict(
        os.environ,
        PYTHONPATH=repo,
        CUDA_VISIBLE_DEVICES='',
        PYTHON=sys.executable,
        PORT=str(port))
    proc = subprocess.Popen(['bash'] + args,
                            cwd=repo,
                            env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # the launcher and both ranks
        os.killpg(proc.pid, signal.SIGKILL)
        output = proc.communicate()[0] + f'\nTIMEOUT after {timeout} s'
    return proc.returncode, ABORT in output, output, LEAK in output


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--repo', default=osp.dirname(osp.dirname(HERE)))
    parser.add_argument('--port', type=int, default=29610)
    parser.add_argument('--keep-logs', help='folder for failed runs\' logs')
    parser.add_argument(
        '--timeout', type=int, default=1800, help='seconds per launch')
    args = parser.parse_args()
    repo = osp.abspath(args.repo)
    work = tempfile.mkdtemp(prefix='two_process_runs_')
    cfg_file = prepare(repo, work)
    ckpt = osp.join(work, 'run', 'iter_4.pth')
    passed = aborts = leaks = 0
    for run in range(args.runs):
        start = time.time()
        train = launch(repo, ['tools/dist_train.sh', cfg_file, '2'],
                       args.port + 2 * run, args.timeout)
        test = launch(repo, [
            'tools/dist_test.sh', cfg_file, ckpt, '2', '--work-dir',
            osp.join(work, 'test')
        ], args.port + 2 * run + 1, args.timeout)
        ok = train[0] == 0 and test[0] == 0
        passed += ok
        aborts += train[1] + test[1]
        leaks += train[3] + test[3]
        print(f'run {run + 1}: train rc {train[0]} (abort: {train[1]}), '
              f'test rc {test[0]} (abort: {test[1]}), '
              f'group left alive: {train[3] or test[3]}, '
              f'{time.time() - start:.0f} s',
              flush=True)
        if not ok and args.keep_logs:
            os.makedirs(args.keep_logs, exist_ok=True)
            for name, result in (('train', train), ('test', test)):
                with open(osp.join(args.keep_logs, f'run{run}_{name}.log'),
                          'w') as f:
                    f.write(result[2])
    print(f'{passed} of {args.runs} runs passed; "{ABORT}" seen '
          f'{aborts} times; process group left alive {leaks} times ({repo})')


if __name__ == '__main__':
    main()
