"""ConverterOutput: staged writes, manifests naming every file, refusal of
files the converter did not write."""
import json
import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest
from helpers import load_tool
from mess_helpers import listing, make_cwfid
from PIL import Image

from mmseg_mopeft.datasets.converter_output import (ConverterOutput,
                                                    OutputFolderError,
                                                    listing_digest)

OWNER = dict(writer='test_writer', dataset='a')


def _output(root, owner=OWNER):
    return ConverterOutput(root, ('img_dir', 'ann_dir'), 'meta.json', owner)


def _write(root, rel, text):
    path = osp.join(root, rel)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return osp.getsize(path)


def _build(root, contents, settings, owner=OWNER):
    """One complete converter run writing ``{rel: text}``."""
    output = _output(root, owner)
    stage = output.begin()
    files = {rel: _write(stage, rel, text) for rel, text in contents.items()}
    return output.commit(files, dict(settings))


def _tree(root):
    return {
        osp.relpath(osp.join(d, f), root): open(osp.join(d, f)).read()
        for d, _, names in os.walk(root) for f in names
    }


def test_commit_moves_staged_files_and_writes_the_manifest_last(tmp_path):
    root = str(tmp_path / 'out')
    output = _output(root)
    stage = output.begin()
    assert stage.startswith(root) and osp.basename(stage).startswith('.')
    size = _write(stage, 'img_dir/test/a.jpg', 'abc')
    # nothing is visible before the commit
    assert not osp.exists(osp.join(root, 'img_dir'))
    assert not osp.exists(osp.join(root, 'meta.json'))
    meta = output.commit({'img_dir/test/a.jpg': size}, dict(k=1))
    assert meta == dict(k=1, **OWNER, files={'img_dir/test/a.jpg': 3})
    assert _tree(root) == {
        'img_dir/test/a.jpg': 'abc',
        'meta.json': open(osp.join(root, 'meta.json')).read()
    }
    assert output.current(dict(k=1)) == meta
    assert output.current(dict(k=2)) is None


@pytest.mark.parametrize('change', ['missing', 'extra', 'size'])
def test_output_differing_from_the_manifest_is_not_current(tmp_path, change):
    root = str(tmp_path / 'out')
    _build(root, {'img_dir/x/a.png': 'aa', 'ann_dir/x/a.png': 'b'}, {})
    assert _output(root).current({}) is not None
    if change == 'missing':
        os.remove(osp.join(root, 'ann_dir/x/a.png'))
    elif change == 'extra':
        _write(root, 'img_dir/x/a.part.png', 'half')
    else:
        _write(root, 'img_dir/x/a.png', 'a')  # truncated
    assert _output(root).current({}) is None


def test_foreign_files_stop_the_run_and_survive(tmp_path):
    root = str(tmp_path / 'out')
    _write(root, 'img_dir/train/theirs.jpg', 'x')
    _write(root, 'notes.txt', 'kept in any case')
    with pytest.raises(OutputFolderError) as err:
        _output(root).begin()
    message = str(err.value)
    assert 'img_dir/train/theirs.jpg' in message and '--overwrite' in message
    assert _tree(root) == {
        'img_dir/train/theirs.jpg': 'x',
        'notes.txt': 'kept in any case'
    }
    # overwrite: they are replaced; files outside the data folders stay
    output = _output(root)
    stage = output.begin(overwrite=True)
    output.commit({'img_dir/test/a.jpg': _write(stage, 'img_dir/test/a.jpg',
                                                'a')}, {})
    assert set(_tree(root)) == {'img_dir/test/a.jpg', 'notes.txt',
                                'meta.json'}


def test_another_owners_manifest_is_refused(tmp_path):
    root = str(tmp_path / 'out')
    _build(root, {'img_dir/test/b.jpg': 'b'}, {},
           owner=dict(writer='test_writer', dataset='b'))
    before = _tree(root)
    with pytest.raises(OutputFolderError, match="'dataset': 'b'"):
        _output(root).begin()
    assert _tree(root) == before
    with open(osp.join(root, 'meta.json'), 'w') as f:
        f.write('{"dataset": "a", "writer": "test_writer"}')  # no file list
    with pytest.raises(OutputFolderError, match='lists no files'):
        _output(root).begin()


def test_rebuild_replaces_only_own_files(tmp_path):
    root = str(tmp_path / 'out')
    _build(root, {'img_dir/t/a.jpg': 'a', 'img_dir/t/b.jpg': 'b'}, dict(v=1))
    meta = _build(root, {'img_dir/t/b.jpg': 'B', 'img_dir/t/c.jpg': 'c'},
                  dict(v=2))
    assert {k: v for k, v in _tree(root).items() if k != 'meta.json'} == {
        'img_dir/t/b.jpg': 'B',
        'img_dir/t/c.jpg': 'c'
    }
    assert meta['files'] == {'img_dir/t/b.jpg': 1, 'img_dir/t/c.jpg': 1}


def test_interrupted_rebuild_is_recognised_and_redone(tmp_path):
    root = str(tmp_path / 'out')
    _build(root, {'img_dir/t/a.jpg': 'a'}, dict(v=1))
    output = _output(root)
    stage = output.begin()
    _write(stage, 'img_dir/t/new.jpg', 'n')
    # killed here: the manifest is gone, the old file is still ours
    assert not osp.exists(osp.join(root, 'meta.json'))
    assert _output(root).current(dict(v=1)) is None
    meta = _build(root, {'img_dir/t/z.jpg': 'z'}, dict(v=2))
    assert set(meta['files']) == {'img_dir/t/z.jpg'}
    assert set(_tree(root)) == {'img_dir/t/z.jpg', 'meta.json'}


def test_listing_digest_sees_names_sizes_and_times(tmp_path):
    root = str(tmp_path)
    _write(root, 'a/x.txt', 'one')
    first = listing_digest(root)
    assert listing_digest(root) == first
    _write(root, 'a/x.txt', 'two')  # same size, newer time
    os.utime(osp.join(root, 'a/x.txt'), ns=(1, 1))
    second = listing_digest(root)
    assert second != first
    _write(root, 'a/y.txt', '')
    assert listing_digest(root) != second


def test_listing_digest_skips_hidden_folders(tmp_path):
    root = str(tmp_path)
    _write(root, 'a/x.txt', 'one')
    first = listing_digest(root)
    _write(root, '.git/objects/ab', 'blob')  # a hidden folder
    _write(root, 'a/.cache/y.txt', 'cached')  # and one deeper down
    _write(root, 'a/.hidden.txt', 'h')  # a hidden file
    assert listing_digest(root) == first
    _write(root, 'a/z.txt', '')
    assert listing_digest(root) != first


def test_listing_digest_leaves_out_the_excluded_paths(tmp_path):
    root = str(tmp_path)
    _write(root, 'images/a.png', 'raw')
    first = listing_digest(root)
    output = _output(root)  # writes into the folder it lists
    _build(root, {'img_dir/t/a.png': 'out', 'ann_dir/t/a.png': 'o'}, {})
    assert listing_digest(root) != first
    assert listing_digest(root, exclude=output.paths()) == first
    _write(root, 'images/b.png', 'new raw file')
    assert listing_digest(root, exclude=output.paths()) != first


@pytest.mark.parametrize('where', ['same', 'inside'])
def test_files_of_an_input_folder_are_never_removed(tmp_path, where):
    raw = str(tmp_path / 'raw')
    root = raw if where == 'same' else osp.join(raw, 'prepared')
    _write(raw, 'img_dir/test/raw_image.jpg', 'input')
    if where == 'inside':
        _write(root, 'img_dir/test/raw_image.jpg', 'input too')
    before = _tree(raw)
    for overwrite in (False, True):
        output = ConverterOutput(root, ('img_dir', 'ann_dir'), 'meta.json',
                                 OWNER, inputs=(raw, ))
        with pytest.raises(OutputFolderError) as err:
            output.begin(overwrite=overwrite)
        message = str(err.value)
        assert root in message and raw in message
        assert 'img_dir/test/raw_image.jpg' in message
        assert _tree(raw) == before


def test_a_foreign_manifest_in_an_input_folder_is_kept(tmp_path):
    raw = str(tmp_path / 'raw')
    _write(raw, 'meta.json', '{"shipped": "with the dataset"}')
    output = ConverterOutput(raw, ('img_dir', 'ann_dir'), 'meta.json', OWNER,
                             inputs=(raw, ))
    with pytest.raises(OutputFolderError, match='meta.json'):
        output.begin(overwrite=True)
    assert _tree(raw) == {'meta.json': '{"shipped": "with the dataset"}'}


@pytest.mark.parametrize('sub', ['img_dir', 'img_dir/x', '.test_writer.tmp'])
def test_an_input_folder_in_what_the_converter_replaces_is_refused(
        tmp_path, sub):
    root = str(tmp_path / 'out')
    raw = osp.join(root, sub)
    _write(raw, 'a.jpg', 'input')
    with pytest.raises(OutputFolderError) as err:
        ConverterOutput(root, ('img_dir', 'ann_dir'), 'meta.json', OWNER,
                        inputs=(raw, ))
    assert raw in str(err.value) and root in str(err.value)
    assert _tree(raw) == {'a.jpg': 'input'}


def test_own_files_in_an_input_folder_are_rebuilt(tmp_path):
    raw = str(tmp_path / 'raw')
    _write(raw, 'images/a.jpg', 'input')

    def run(contents, settings):
        output = ConverterOutput(raw, ('img_dir', 'ann_dir'), 'meta.json',
                                 OWNER, inputs=(raw, ))
        stage = output.begin(overwrite=True)
        files = {rel: _write(stage, rel, text)
                 for rel, text in contents.items()}
        return output.commit(files, settings)

    run({'img_dir/t/a.jpg': 'a', 'img_dir/t/b.jpg': 'b'}, dict(v=1))
    run({'img_dir/t/c.jpg': 'c'}, dict(v=2))
    assert {k: v for k, v in _tree(raw).items() if k != 'meta.json'} == {
        'images/a.jpg': 'input', 'img_dir/t/c.jpg': 'c'}


# ----- files of the input, user edits and staging folders of others -----
def _make_fair1m(root):
    """A FAIR-1M split folder: one image, its labelXml file."""
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'labelXml'))
    cv2.imwrite(osp.join(root, 'images', 'p1.png'),
                np.full((40, 60, 3), 99, np.uint8))
    points = ''.join(f'<point>{x},{y}</point>'
                     for x, y in ((5, 5), (20, 5), (20, 15), (5, 15), (5, 5)))
    with open(osp.join(root, 'labelXml', 'p1.xml'), 'w') as f:
        f.write('<annotation><size><width>60</width><height>40</height>'
                '<depth>3</depth></size><objects><object><possibleresult>'
                f'<name>Van</name></possibleresult><points>{points}'
                '</points></object></objects></annotation>')


def _stops(monkeypatch, script, *args):
    """The message with which ``tools/dataset_converters/<script>`` stops
    (run in-process), or what it raised instead (the original code's
    NotADirectoryError after deleting input files)."""
    tool = load_tool(f'tools/dataset_converters/{script}')
    monkeypatch.setattr(sys, 'argv', [script, *args])
    try:
        tool.main()
    except SystemExit as err:
        return str(err)
    except Exception as err:  # evidence for the assertions
        return f'not a refusal: {err!r}'
    return 'not a refusal: the run went through'


@pytest.mark.parametrize('script', ['prepare_mess.py', 'fair1m_tiles.py'])
def test_a_linked_output_folder_into_the_input_is_refused(
        tmp_path, monkeypatch, script):
    """``ln -s RAW/annotations OUT/ann_dir`` (``SRC/labelXml
    OUT/labelXml``): the raw files behind the link are input files, kept
    even with --overwrite, and the message names the folder and files."""
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    if script == 'prepare_mess.py':
        make_cwfid(raw)
        linked, sub, name = 'annotations', 'ann_dir', '001_annotation.png'
        args = ('cwfid', raw, '--out', out)
    else:
        _make_fair1m(raw)
        linked, sub, name = 'labelXml', 'labelXml', 'p1.xml'
        args = (raw, out, '--tile-size', '32', '--overlap', '8')
    before = listing(raw)
    os.makedirs(out)
    os.symlink(osp.join(raw, linked), osp.join(out, sub))
    for extra in (('--overwrite', ), ()):
        message = _stops(monkeypatch, script, *args, *extra)
        assert listing(raw) == before, message  # same names, same bytes
        assert osp.join(out, sub) in message and raw in message, message
        assert 'input files' in message and name in message, message
    assert os.listdir(out) == [sub]


@pytest.mark.parametrize('link', ['file', 'deeper folder', 'elsewhere'])
def test_links_under_the_output_are_never_followed(tmp_path, link):
    """A linked file or a linked folder below a data folder: nothing of
    the input behind it is removed, and no folder outside the output."""
    raw, root = str(tmp_path / 'raw'), str(tmp_path / 'out')
    _write(raw, 'images/a.jpg', 'input')
    target = osp.join(raw, 'images')
    if link == 'file':
        os.makedirs(osp.join(root, 'img_dir', 'test'))
        os.symlink(osp.join(target, 'a.jpg'),
                   osp.join(root, 'img_dir', 'test', 'a.jpg'))
    else:
        if link == 'elsewhere':
            target = str(tmp_path / 'elsewhere')
            _write(target, 'b.jpg', 'not ours either')
        os.makedirs(osp.join(root, 'img_dir'))
        os.symlink(target, osp.join(root, 'img_dir', 'test'))
    before, behind = _tree(raw), _tree(target)
    output = ConverterOutput(root, ('img_dir', 'ann_dir'), 'meta.json',
                             OWNER, inputs=(raw, ))
    with pytest.raises(OutputFolderError) as err:
        _write(output.begin(overwrite=True), 'img_dir/test/a.jpg', 'out')
        output.commit({'img_dir/test/a.jpg': 3}, {})
    assert _tree(raw) == before and _tree(target) == behind
    message = str(err.value)
    assert 'img_dir/test' in message
    if link == 'elsewhere':
        assert target in message and 'link' in message
    else:
        assert raw in message and 'input files' in message
    assert not osp.exists(osp.join(root, '.test_writer.tmp'))


def test_an_edited_own_file_is_foreign(tmp_path):
    """A file of the manifest whose size changed was edited: a rebuild
    stops naming it instead of replacing it; overwrite replaces it."""
    root = str(tmp_path / 'out')
    _build(root, {'img_dir/t/a.jpg': 'ours', 'img_dir/t/b.jpg': 'b'}, {})
    _write(root, 'img_dir/t/a.jpg', 'edited by the user')
    with pytest.raises(OutputFolderError) as err:
        _build(root, {'img_dir/t/a.jpg': 'rebuilt'}, dict(v=2))
    assert _tree(root)['img_dir/t/a.jpg'] == 'edited by the user'
    message = str(err.value)
    assert 'img_dir/t/a.jpg' in message and 'changed since' in message
    assert 'img_dir/t/b.jpg' not in message and '--overwrite' in message
    output = _output(root)
    stage = output.begin(overwrite=True)
    output.commit({'img_dir/t/a.jpg': _write(stage, 'img_dir/t/a.jpg', 'n')},
                  {})
    assert _tree(root)['img_dir/t/a.jpg'] == 'n'


def test_an_edited_output_label_stops_a_prepare_mess_rerun(
        tmp_path, monkeypatch):
    """``prepare_mess.py cwfid RAW --out OUT``, a label of OUT edited by
    hand, the same command again: the edit is kept and named."""
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_cwfid(raw)
    args = ('cwfid', raw, '--out', out)
    assert _stops(monkeypatch, 'prepare_mess.py', *args).startswith(
        'not a refusal')  # the first run
    labels = osp.join(out, 'ann_dir', 'test')
    edited = osp.join(labels, os.listdir(labels)[0])
    Image.fromarray(np.ones((6, 8), np.uint8)).save(edited, compress_level=0)
    with open(edited, 'rb') as f:
        mine = f.read()
    message = _stops(monkeypatch, 'prepare_mess.py', *args)
    with open(edited, 'rb') as f:
        assert f.read() == mine, message
    assert osp.relpath(edited, out) in message and 'changed' in message


def test_a_staging_folder_of_someone_else_is_kept(tmp_path, monkeypatch):
    """``OUT/.prepare_mess.tmp/`` that no run of the converter made: not
    deleted, even with --overwrite; the message names it."""
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_cwfid(raw)
    stage = osp.join(out, '.prepare_mess.tmp')
    _write(stage, 'notes.txt', 'not the converter\'s')
    _write(stage, 'img_dir/test/mine.png', 'mine')
    before = listing(out)
    for extra in (('--overwrite', ), ()):
        message = _stops(monkeypatch, 'prepare_mess.py', 'cwfid', raw,
                         '--out', out, *extra)
        assert listing(out) == before, message
        assert stage in message and 'notes.txt' in message, message


def test_a_staging_folder_is_ours_only_by_its_journal(tmp_path):
    root = str(tmp_path / 'out')
    stage = osp.join(root, '.test_writer.tmp')
    _write(stage, 'journal.json', json.dumps(dict(
        owner=dict(writer='test_writer', dataset='b'), files=[])))
    _write(stage, 'img_dir/x/b.jpg', 'staged for dataset b')
    before = _tree(root)
    with pytest.raises(OutputFolderError, match='.test_writer.tmp'):
        _output(root).begin(overwrite=True)
    assert _tree(root) == before
    # an output complete beside it is current, and the folder stays
    other = str(tmp_path / 'other')
    meta = _build(other, {'img_dir/x/a.jpg': 'a'}, {})
    os.rename(stage, osp.join(other, '.test_writer.tmp'))
    assert _output(other).current({}) == meta
    assert osp.isdir(osp.join(other, '.test_writer.tmp'))
    # an empty one (a run killed before its journal) is cleared
    shutil.rmtree(osp.join(other, '.test_writer.tmp'))
    os.makedirs(osp.join(other, '.test_writer.tmp'))
    assert _build(other, {'img_dir/x/a.jpg': 'bb'}, dict(v=2))['v'] == 2
    assert not osp.exists(osp.join(other, '.test_writer.tmp'))
