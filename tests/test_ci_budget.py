import time

import ci_budget
import pytest

TESTS = """
import pytest

@pytest.mark.slow
def test_slow():
    pass

def test_fast():
    pass
"""


def run(pytester, monkeypatch, deadline):
    if deadline is None:
        monkeypatch.delenv(ci_budget.ENV, raising=False)
    else:
        monkeypatch.setenv(ci_budget.ENV, str(deadline))
    pytester.makeini('[pytest]\nmarkers =\n    slow: slow\nfilterwarnings =\n'
                     '    ignore::pytest.PytestAssertRewriteWarning\n')
    pytester.makepyfile(TESTS)
    return pytester.runpytest_inprocess('-p', 'ci_budget', '-rs')


def test_past_deadline_skips_slow_tests_only(pytester, monkeypatch):
    result = run(pytester, monkeypatch, time.time() - 1)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*1 slow tests skipped for CI's time budget*test_slow*",
        '*SKIPPED*CI time budget: no slow test starts after '
        'MMSEG_MOPEFT_SLOW_DEADLINE*'])


@pytest.mark.parametrize('deadline', [None, 'future'])
def test_without_or_before_deadline_all_run(pytester, monkeypatch, deadline):
    deadline = time.time() + 3600 if deadline else None
    result = run(pytester, monkeypatch, deadline)
    result.assert_outcomes(passed=2)
    assert 'time budget' not in result.stdout.str()


def test_malformed_deadline_is_a_usage_error(pytester, monkeypatch):
    result = run(pytester, monkeypatch, 'in ten minutes')
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*MMSEG_MOPEFT_SLOW_DEADLINE='in ten minutes' is not a Unix time*"])
