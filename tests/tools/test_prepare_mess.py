"""tools/dataset_converters/prepare_mess.py: progress, --nproc, and the
refusal of output folders holding files it did not write. Run in-process
(``main`` with patched argv): a subprocess costs ~25 s of imports here."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
from helpers import load_tool
from mess_helpers import listing, make_cwfid, make_deepcrack
from PIL import Image


def _load_tool():
    return load_tool('tools/dataset_converters/prepare_mess.py')


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


def test_all_into_the_raw_root_keeps_raw_files_and_reruns_as_no_op(
        tmp_path, monkeypatch):
    """``all data/`` with data/cwfid raw: the output is data/cwfid too."""
    monkeypatch.chdir(tmp_path)
    make_cwfid(osp.join('data', 'cwfid'))
    raw_files = listing(osp.join('data', 'cwfid'))
    with pytest.raises(SystemExit, match='raw data missing'):  # the others
        run(monkeypatch, 'all', 'data')
    prepared = listing(osp.join('data', 'cwfid'))
    assert len(prepared) == len(raw_files) + 9  # 4 images, 4 labels, meta
    meta = osp.join('data', 'cwfid', 'meta.json')
    mtime = os.stat(meta).st_mtime_ns
    for extra in ((), ('--overwrite', )):
        with pytest.raises(SystemExit, match='raw data missing'):
            run(monkeypatch, 'all', 'data', *extra)
        assert os.stat(meta).st_mtime_ns == mtime  # nothing was redone
        assert listing(osp.join('data', 'cwfid')) == prepared


def test_a_label_value_of_no_class_stops_naming_file_and_value(
        tmp_path, monkeypatch):
    raw = str(tmp_path / 'zerowaste-f')
    split = osp.join(raw, 'splits_final_deblurred', 'test')
    for kind in ('data', 'sem_seg'):
        os.makedirs(osp.join(split, kind))
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(
        osp.join(split, 'data', 'f.PNG'), format='PNG')
    label = np.zeros((6, 8), np.uint8)
    label[3, 4] = 6  # ZeroWaste's raw masks hold its 5 class ids 0..4
    path = osp.join(split, 'sem_seg', 'f.PNG')
    Image.fromarray(label).save(path, format='PNG')
    with pytest.raises(SystemExit) as err:
        run(monkeypatch, 'zerowaste', raw, '--out', str(tmp_path / 'out'),
            '--test-only')
    message = str(err.value)
    assert message.startswith('zerowaste: ')
    assert path in message and '[6]' in message
