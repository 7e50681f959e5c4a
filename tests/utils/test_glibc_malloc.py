"""keep_freed_memory: a training step's freed tensors are reused, not
faulted in again from the kernel (in fresh processes: mallopt is
process-wide)."""
import json
import os.path as osp
import platform
import subprocess
import sys

import pytest

from mmseg_mopeft.utils import glibc_malloc

STEPS_SCRIPT = """
import importlib.util, json, resource, sys
import torch
spec = importlib.util.spec_from_file_location('glibc_malloc', sys.argv[2])
glibc_malloc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(glibc_malloc)  # without the package's imports
if sys.argv[1] == 'keep':
    assert glibc_malloc.keep_freed_memory()


def resident():
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f
                    if line.startswith('VmRSS:'))


def step():  # six 16 MiB activations, live together, then freed
    held = [torch.ones(2**22) for _ in range(6)]
    del held


before, faults = resident(), []
for _ in range(6):
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
    if len(faults) == 1:
        kept = resident() - before
print(json.dumps(dict(faults=faults, kept=kept)))
"""
STEP_BYTES = 6 * 16 * 2**20


def _steps(mode):
    proc = subprocess.run(
        [sys.executable, '-c', STEPS_SCRIPT, mode, glibc_malloc.__file__],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc' or
                    not osp.exists('/proc/self/status'),
                    reason='mallopt settings are glibc\'s; VmRSS is Linux\'s')
def test_freed_steps_stay_in_the_process_and_are_reused():
    defaults, kept = _steps('defaults'), _steps('keep')
    # glibc's defaults give the first step's blocks back to the kernel
    assert defaults['kept'] < STEP_BYTES * 0.1, defaults
    assert kept['kept'] > STEP_BYTES * 0.9, kept
    # once malloc's free lists settle (two or three steps), later steps
    # fault in no new pages
    assert kept['faults'][0] > STEP_BYTES // 4096 * 0.9
    assert sum(kept['faults'][-3:]) < STEP_BYTES // 4096 // 10, kept


def test_without_glibc_nothing_is_changed(monkeypatch):
    def no_glibc(name):
        raise OSError('not found')

    monkeypatch.setattr(glibc_malloc.ctypes, 'CDLL', no_glibc)
    monkeypatch.setattr(glibc_malloc, 'keeping', False)
    assert glibc_malloc.keep_freed_memory() is False
    assert glibc_malloc.keeping is False


def test_a_libc_without_glibc_symbols_is_left_alone(monkeypatch):
    calls = []

    class Musl:  # mallopt exists, but glibc's version function does not
        def mallopt(self, *args):
            calls.append(args)
            return 1

    monkeypatch.setattr(glibc_malloc.ctypes, 'CDLL', lambda name: Musl())
    monkeypatch.setattr(glibc_malloc, 'keeping', False)
    assert glibc_malloc.keep_freed_memory() is False
    assert calls == [] and glibc_malloc.keeping is False
