"""Run tools/train.py in this process, with its arguments, as a launcher
would; then print how many gloo worker threads outlived its teardown (any
that still run when the interpreter finalises can abort the process:
"terminate called without an active exception").

Registers ``FirstStepRecorderHook`` for configs that use it."""
import glob
import os.path as osp
import runpy
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import first_step_recorder  # noqa: E402,F401  (registers the hook)

TRAIN = osp.join(osp.dirname(osp.dirname(HERE)), 'tools', 'train.py')


def gloo_threads() -> int:
    count = 0
    for comm in glob.glob('/proc/self/task/*/comm'):
        try:
            with open(comm) as f:
                count += f.read().startswith('pt_gloo')
        except OSError:
            pass
    return count


if __name__ == '__main__':
    sys.argv = [TRAIN] + sys.argv[1:]
    runpy.run_path(TRAIN, run_name='__main__')
    print(f'gloo threads after tools/train.py: {gloo_threads()}', flush=True)
