"""Atomic checkpoint writes and checkpoint read errors that name the file."""
import os
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmengine.fileio import get_file_backend
from mmengine.runner import load_checkpoint
from mmseg.apis import init_model

from mmseg_mopeft.engine.checkpoint_io import (ATOMIC_BACKEND,
                                               CheckpointFileError,
                                               check_readable,
                                               resume_candidates)

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'


def _truncated(src, dst, keep=0.5):
    data = open(src, 'rb').read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * keep)])
    return dst


@pytest.fixture
def files(tmp_path):
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=dict(w=torch.arange(4000.))), good)
    text = str(tmp_path / 'notes.pth')
    with open(text, 'w') as f:
        f.write('not a checkpoint\n')
    tensor = str(tmp_path / 'tensor.pth')
    torch.save(torch.zeros(3), tensor)
    return dict(
        good=good,
        truncated=_truncated(good, str(tmp_path / 'cut.pth')),
        empty=_truncated(good, str(tmp_path / 'empty.pth'), keep=0),
        text=text,
        tensor=tensor)


@pytest.mark.parametrize('kind, message', [
    ('truncated', 'incomplete: the zip archive .* ends early \\(truncated'),
    ('empty', 'it is empty'),
    ('text', 'not a file written by torch.save'),
    ('tensor', 'holds a Tensor, not a dict'),
])
def test_unreadable_files_are_named(files, kind, message):
    path = files[kind]
    model = torch.nn.Linear(2, 2)
    with pytest.raises(CheckpointFileError, match=message) as err:
        load_checkpoint(model, path)  # mmengine's loader: load_from, resume
    assert f'Checkpoint {path}' in str(err.value)
    with pytest.raises(CheckpointFileError, match=message):
        check_readable(path)


def test_init_model_names_a_truncated_file(files):
    with pytest.raises(CheckpointFileError) as err:
        init_model(osp.join(REPO, CONFIG), files['truncated'], device='cpu')
    assert files['truncated'] in str(err.value)


def test_complete_file_reads(files):
    check_readable(files['good'])
    assert load_checkpoint(torch.nn.Module(),
                           files['good'])['state_dict']['w'][-1] == 3999


def test_atomic_put_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend=ATOMIC_BACKEND))
    target = str(tmp_path / 'sub' / 'iter_1.pth')
    backend.put(b'first', target)
    assert open(target, 'rb').read() == b'first'

    def crash(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='No space'):
        backend.put(b'second, longer', target)
    monkeypatch.undo()
    assert open(target, 'rb').read() == b'first'  # untouched
    assert os.listdir(tmp_path / 'sub') == ['iter_1.pth']  # no temp left
    backend.put(b'second', target)
    assert open(target, 'rb').read() == b'second'
    assert oct(os.stat(target).st_mode & 0o777) == oct(
        0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_resume_candidates_newest_first(tmp_path):
    for step in (2, 10, 4):
        torch.save({}, str(tmp_path / f'iter_{step}.pth'))
    torch.save({}, str(tmp_path / 'best_mIoU_iter_10.pth'))
    torch.save({}, str(tmp_path / '.iter_12.pth.abcd1234.tmp'))
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(str(tmp_path / 'iter_10.pth'))
    candidates, pointer = resume_candidates(str(tmp_path))
    assert [osp.basename(p) for p in candidates] == [
        'iter_10.pth', 'iter_4.pth', 'iter_2.pth'
    ]
    assert pointer == str(tmp_path / 'iter_10.pth')
    assert resume_candidates(str(tmp_path / 'nowhere')) == ([], None)


def _names(work_dir):
    return [osp.basename(p) for p in resume_candidates(str(work_dir))[0]]


def test_resume_candidates_skip_a_stale_run_left_in_the_work_dir(tmp_path):
    """Run A wrote iter_2/4/6; run B, from scratch in the same dir, wrote
    iter_2/4 (over A's) and the record: A's iter_6 is not B's."""
    for step in (2, 4, 6):
        torch.save({}, str(tmp_path / f'iter_{step}.pth'))
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(str(tmp_path / 'iter_4.pth'))
    assert _names(tmp_path) == ['iter_4.pth', 'iter_2.pth']
    os.remove(tmp_path / 'last_checkpoint')  # no record: by step
    assert _names(tmp_path) == ['iter_6.pth', 'iter_4.pth', 'iter_2.pth']


def test_resume_candidates_of_a_record_naming_a_missing_file(tmp_path):
    """A moved work dir: the record names the old path."""
    for step in (2, 4, 6):
        torch.save({}, str(tmp_path / f'iter_{step}.pth'))
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write('/moved/away/iter_4.pth')
    candidates, pointer = resume_candidates(str(tmp_path))
    assert candidates == [str(tmp_path / 'iter_4.pth'),
                          str(tmp_path / 'iter_2.pth')]
    assert pointer == '/moved/away/iter_4.pth'
