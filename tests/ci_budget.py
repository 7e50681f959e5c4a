"""Slow tests within CI's time budget.

`.ci/run` sets ``MMSEG_MOPEFT_SLOW_DEADLINE`` to the Unix time after which
no slow test may start, so that a fresh run stays within its budget on a
slower machine. A slow test due later is skipped with that reason, and the
summary counts them; without the variable (``make test-slow`` by hand)
every slow test runs.
"""
import os
import time

import pytest

ENV = 'MMSEG_MOPEFT_SLOW_DEADLINE'
_DEADLINE = pytest.StashKey[object]()
_SKIPPED = pytest.StashKey[list]()


def _deadline():
    value = os.environ.get(ENV, '').strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise pytest.UsageError(
            f'{ENV}={value!r} is not a Unix time in seconds') from None


def pytest_configure(config):
    # read once; a malformed value stops the run before any test
    config.stash[_DEADLINE] = _deadline()
    config.stash[_SKIPPED] = []


def pytest_runtest_setup(item):
    deadline = item.config.stash[_DEADLINE]
    if (deadline is not None and item.get_closest_marker('slow')
            and time.time() >= deadline):
        item.config.stash[_SKIPPED].append(item.nodeid)
        pytest.skip(f'CI time budget: no slow test starts after {ENV}; '
                    '`make test-slow` without it runs this test')


def pytest_terminal_summary(terminalreporter, config):
    skipped = config.stash[_SKIPPED]
    if skipped:
        terminalreporter.write_line(
            f'{len(skipped)} slow tests skipped for CI\'s time budget '
            f'({ENV}), first: {skipped[0]}', yellow=True, bold=True)
