"""tools/dataset_converters/prepare_mess.py: progress, --nproc, and the
refusal of output folders holding files it did not write. Run in-process
(``main`` with patched argv): a subprocess costs ~25 s of imports here."""
import importlib.util
import os
import os.path as osp
import sys

import pytest
from helpers import REPO
from mess_helpers import listing, make_deepcrack


def _load_tool():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'prepare_mess.py')
    spec = importlib.util.spec_from_file_location('prepare_mess', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


def run(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['prepare_mess.py', *args])
    tool.main()


def test_parallel_run_equals_serial_and_shows_progress(
        tmp_path, monkeypatch, capfd):
    raw = str(tmp_path / 'DeepCrack')
    make_deepcrack(raw)
    outputs = []
    for nproc in (1, 2):
        out = str(tmp_path / f'out{nproc}')
        run(monkeypatch, 'deepcrack', raw, '--out', out, '--nproc',
            str(nproc))
        printed = capfd.readouterr().out
        # mmengine's progress bar: "[>>>] 15/15, 98.1 task/s, elapsed: 0s"
        assert '15/15' in printed and 'task/s' in printed, printed
        assert f"{{'train': 9, 'val': 1, 'test': 5}} -> {out}" in printed
        outputs.append(listing(out))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 31


def test_foreign_output_is_refused_then_overwritten(tmp_path, monkeypatch):
    raw, out = str(tmp_path / 'DeepCrack'), str(tmp_path / 'out')
    make_deepcrack(raw, counts=(('train', 3), ('test', 2)))
    theirs = osp.join(out, 'ann_dir', 'val', 'mine.png')
    os.makedirs(osp.dirname(theirs))
    with open(theirs, 'wb') as f:
        f.write(b'someone else')
    args = ('deepcrack', raw, '--out', out)
    with pytest.raises(SystemExit) as err:
        run(monkeypatch, *args)
    assert 'ann_dir/val/mine.png' in str(err.value)
    assert '--overwrite' in str(err.value)
    assert listing(out) == {'ann_dir/val/mine.png': b'someone else'}

    run(monkeypatch, *args, '--overwrite')
    assert not osp.exists(theirs)
    assert len(listing(out)) == 11


def test_test_only_flag(tmp_path, monkeypatch):
    raw, out = str(tmp_path / 'DeepCrack'), str(tmp_path / 'out')
    make_deepcrack(raw, counts=(('test', 2), ))
    with pytest.raises(SystemExit, match='deepcrack'):  # train_img missing
        run(monkeypatch, 'deepcrack', raw, '--out', out)
    run(monkeypatch, 'deepcrack', raw, '--out', out, '--test-only')
    assert sorted(listing(out)) == [
        'ann_dir/test/te000.png', 'ann_dir/test/te001.png',
        'img_dir/test/te000.jpg', 'img_dir/test/te001.jpg', 'meta.json'
    ]


def test_missing_raw_names_the_download_page(tmp_path, monkeypatch, capfd):
    with pytest.raises(SystemExit, match='not prepared'):
        run(monkeypatch, 'cryonuseg', str(tmp_path / 'missing'), '--out',
            str(tmp_path / 'out'))
    assert 'kaggle.com' in capfd.readouterr().err
    assert not osp.exists(tmp_path / 'out')


def test_test_only_is_refused_where_unsupported(tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match=r"\['cwfid'\] cannot be prepared "
                       '--test-only'):
        run(monkeypatch, 'cwfid', str(tmp_path), '--test-only')
