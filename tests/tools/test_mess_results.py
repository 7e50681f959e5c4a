"""tools/analysis_tools/mess_results.py: the table's means, and runs that
are unfinished or not the benchmark's task skipped and listed while the
others still make the table."""
import json
import os
import sys

import pytest
from helpers import REPO, load_tool
from mmengine.config import Config

mess_results = load_tool('tools/analysis_tools/mess_results.py')


def _run_dir(tmp_path, key, scores=None, stamp='20260101_000000',
             own_config=False, **changes):
    """A tools/test.py work dir: the config mmengine dumps (with
    ``changes`` merged), and with ``scores`` a result (with ``own_config``
    also the run's vis_data/config.py)."""
    work = tmp_path / key
    work.mkdir(exist_ok=True)
    config = Config.fromfile(f'{REPO}/configs/lora/lora_vitb_{key}.py')
    config.merge_from_dict(changes)
    config.dump(str(work / f'lora_vitb_{key}.py'))
    if scores is not None:
        run = work / stamp
        (run / 'vis_data').mkdir(parents=True)
        if own_config:
            config.dump(str(run / 'vis_data' / 'config.py'))
        (run / f'{stamp}.json').write_text(
            json.dumps(dict(aAcc=99.0, mIoU=scores[0],
                            **{'CoI-mIoU': scores[1]})))
        os.utime(run / f'{stamp}.json', (int(stamp[-6:]), ) * 2)
    return str(work)


def _main(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['mess_results.py', *args])
    mess_results.main()


def test_paxray_tasks_merge_and_domains_average(tmp_path, monkeypatch,
                                                capsys):
    runs = dict(cryonuseg=(60.0, 40.0), paxray_lungs=(90.0, 85.0),
                paxray_bones=(70.0, 55.0), deepcrack=(80.0, 65.0))
    _main(monkeypatch,
          *[_run_dir(tmp_path, key, scores) for key, scores in runs.items()])
    lines = capsys.readouterr().out.splitlines()
    assert '| Medical Sciences | CryoNuSeg | 60.00 | 40.00 |' in lines
    # PAXRay-4 = mean of the tasks present (2 of 4 here, and it says so)
    assert ('| Medical Sciences | PAXRay-4 (2/4 tasks) | 80.00 | 70.00 |'
            in lines)
    assert '| Medical Sciences | **mean** | 70.00 | 55.00 |' in lines
    assert '| Engineering | **mean** | 80.00 | 65.00 |' in lines
    assert '| all | **mean of 3** | 73.33 | 58.33 |' in lines


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
    assert (f'Skipped 2 folder(s) (reasons on stderr): {untested}, {empty}'
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


def test_a_result_is_named_after_its_own_run_s_dataset(
        tmp_path, monkeypatch, capsys):
    """A later tools/test.py on another dataset in the same work dir that
    wrote no result: the result stays CryoNuSeg's."""
    work = _run_dir(tmp_path, 'cryonuseg', (60.0, 40.0), own_config=True)
    Config.fromfile(f'{REPO}/configs/lora/lora_vitb_deepcrack.py').dump(
        os.path.join(work, 'lora_vitb_deepcrack.py'))
    _main(monkeypatch, work)
    lines = capsys.readouterr().out.splitlines()
    assert '| Medical Sciences | CryoNuSeg | 60.00 | 40.00 |' in lines
    assert not any('DeepCrack' in line for line in lines)


def test_results_of_several_datasets_in_one_folder_are_skipped(
        tmp_path, monkeypatch, capsys):
    done = _run_dir(tmp_path, 'suim', (50.0, 30.0))
    # two datasets' configs, results without a config of their own
    mixed = _run_dir(tmp_path, 'cryonuseg', (60.0, 40.0))
    Config.fromfile(f'{REPO}/configs/lora/lora_vitb_deepcrack.py').dump(
        os.path.join(mixed, 'lora_vitb_deepcrack.py'))
    # two finished runs of two datasets, each with its config
    both = tmp_path / 'both'
    both.mkdir()
    for key, stamp in (('cwfid', '20260101_000001'),
                       ('deepcrack', '20260101_000002')):
        run = _run_dir(tmp_path, key, (70.0, 60.0), stamp, own_config=True)
        os.rename(os.path.join(run, stamp), both / stamp)
        os.rename(os.path.join(run, f'lora_vitb_{key}.py'),
                  both / f'lora_vitb_{key}.py')
    _main(monkeypatch, done, mixed, str(both))
    printed = capsys.readouterr()
    assert '| all | **mean of 1** | 50.00 | 30.00 |' in printed.out
    assert f'skipped {mixed}: configs of several datasets' in printed.err
    assert f'skipped {both}: test results of several datasets' in printed.err


def test_a_metric_some_tasks_lack_is_left_out_and_counted(
        tmp_path, monkeypatch, capsys):
    """PAXRay-4's CoI-mIoU must average the same tasks as its mIoU, and the
    means say how many rows they average."""
    dirs = [_run_dir(tmp_path, 'paxray_lungs', (90.0, 85.0)),
            _run_dir(tmp_path, 'paxray_bones', (70.0, None)),
            _run_dir(tmp_path, 'cryonuseg', (60.0, 40.0)),
            _run_dir(tmp_path, 'deepcrack', (80.0, None))]
    _main(monkeypatch, *dirs)
    lines = capsys.readouterr().out.splitlines()
    assert '| Medical Sciences | PAXRay-4 (2/4 tasks) | 80.00 | - |' in lines
    assert '| Engineering | DeepCrack | 80.00 | - |' in lines
    assert '| Medical Sciences | **mean** | 70.00 | 40.00 (1 of 2) |' in lines
    assert '| Engineering | **mean** | 80.00 | - |' in lines
    assert '| all | **mean of 3** | 73.33 | 40.00 (1 of 3) |' in lines


@pytest.mark.parametrize('changes, reason', [
    (dict(test_dataloader=dict(dataset=dict(metainfo=dict(
        classes=('background', 'water'))))),
     "its test set is a class subset of FloodNetDataset (['background', "
     "'water'] of 10 classes)"),
    (dict(test_dataloader=dict(dataset=dict(data_prefix=dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train')))),
     "its test set reads 'img_dir/train', not the MESS test split"),
])
def test_runs_on_another_task_are_skipped(tmp_path, monkeypatch, capsys,
                                          changes, reason):
    done = _run_dir(tmp_path, 'cryonuseg', (60.0, 40.0))
    other = _run_dir(tmp_path, 'floodnet', (95.0, 90.0), **changes)
    _main(monkeypatch, done, other)
    printed = capsys.readouterr()
    assert '| all | **mean of 1** | 60.00 | 40.00 |' in printed.out
    assert 'FloodNet |' not in printed.out
    assert f'skipped {other}' in printed.err and reason in printed.err


def test_an_existing_out_file_is_refused(tmp_path, monkeypatch):
    done = _run_dir(tmp_path, 'cryonuseg', (60.0, 40.0))
    notes = tmp_path / 'table.md'
    notes.write_text('my notes\n')
    with pytest.raises(SystemExit, match=f'{notes} already exists'):
        _main(monkeypatch, done, '--out', str(notes))
    assert notes.read_text() == 'my notes\n'
