"""CPUMallocHook: glibc keeps freed memory on CPU runs only, and says so."""
import pytest
from mmengine.config import Config
from mmseg.registry import HOOKS

from mmseg_mopeft.engine.hooks import cpu_malloc_hook


class _Logger:

    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)


class _Runner:

    def __init__(self):
        self.logger = _Logger()


@pytest.fixture
def kept(monkeypatch):
    """Calls of keep_freed_memory, which answers what glibc would
    (monkeypatch ``answer``); the test process's malloc is left alone."""
    calls = dict(count=0, answer=True)

    def keep_freed_memory():
        calls['count'] += 1
        return calls['answer']

    monkeypatch.setattr(cpu_malloc_hook, 'keep_freed_memory',
                        keep_freed_memory)
    return calls


@pytest.mark.parametrize('glibc', [True, False])
def test_on_cpu_malloc_keeps_freed_memory(kept, monkeypatch, glibc):
    monkeypatch.setattr(cpu_malloc_hook, 'get_device', lambda: 'cpu')
    kept['answer'] = glibc
    runner = _Runner()
    HOOKS.build(dict(type='CPUMallocHook')).before_run(runner)
    assert kept['count'] == 1
    expected = 'keeps freed blocks' if glibc else "not glibc's"
    assert len(runner.logger.lines) == 1
    assert expected in runner.logger.lines[0]


def test_with_a_gpu_malloc_is_left_alone(kept, monkeypatch):
    monkeypatch.setattr(cpu_malloc_hook, 'get_device', lambda: 'cuda')
    runner = _Runner()
    cpu_malloc_hook.CPUMallocHook().before_run(runner)
    assert kept['count'] == 0 and runner.logger.lines == []


def test_our_configs_run_it_before_the_other_hooks():
    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert cfg.custom_hooks[0] == dict(type='CPUMallocHook')
    assert cpu_malloc_hook.CPUMallocHook.priority == 'VERY_HIGH'
