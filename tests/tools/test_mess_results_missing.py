"""tools/analysis_tools/mess_results.py: unfinished runs are skipped and
listed, the others still make the table."""
import json
import sys

import pytest
from helpers import REPO, load_tool
from mmengine.config import Config

mess_results = load_tool('tools/analysis_tools/mess_results.py')


def _run_dir(tmp_path, key, scores=None):
    work = tmp_path / key
    work.mkdir()
    Config.fromfile(f'{REPO}/configs/lora/lora_vitb_{key}.py').dump(
        str(work / f'lora_vitb_{key}.py'))
    if scores is not None:
        (work / '20260101_000000').mkdir()
        (work / '20260101_000000' / '20260101_000000.json').write_text(
            json.dumps(dict(aAcc=99.0, mIoU=scores[0],
                            **{'CoI-mIoU': scores[1]})))
    return str(work)


def _main(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['mess_results.py', *args])
    mess_results.main()


def test_folders_without_results_are_skipped_and_listed(
        tmp_path, monkeypatch, capsys):
    done = [_run_dir(tmp_path, 'cryonuseg', (60.0, 40.0)),
            _run_dir(tmp_path, 'deepcrack', (80.0, 70.0))]
    untested = _run_dir(tmp_path, 'suim')  # trained, never tested
    empty = tmp_path / 'empty'
    empty.mkdir()
    out = tmp_path / 'table.md'
    _main(monkeypatch, done[0], untested, str(empty), done[1], '--out',
          str(out))
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert '| Medical Sciences | CryoNuSeg | 60.00 | 40.00 |' in lines
    assert '| Engineering | DeepCrack | 80.00 | 70.00 |' in lines
    assert '| all | **mean of 2** | 70.00 | 55.00 |' in lines
    assert not any('SUIM' in line for line in lines)
    assert (f'Skipped 2 folder(s) without results: {untested}, {empty}'
            in lines)
    assert f'skipped {untested}: no test result' in printed.err
    assert f'skipped {empty}: no config saved by mmengine' in printed.err
    assert out.read_text() == printed.out


def test_no_results_at_all_is_an_error(tmp_path, monkeypatch):
    untested = _run_dir(tmp_path, 'suim')
    with pytest.raises(SystemExit,
                       match='No test results in any of the given folders'):
        _main(monkeypatch, untested)


def test_two_results_for_one_dataset_is_an_error(tmp_path, monkeypatch):
    first = _run_dir(tmp_path, 'cryonuseg', (60.0, 40.0))
    (tmp_path / 'again').mkdir()
    second = _run_dir(tmp_path / 'again', 'cryonuseg', (50.0, 30.0))
    with pytest.raises(ValueError,
                       match=f'{second}: a second result for cryonuseg'):
        _main(monkeypatch, first, second)
