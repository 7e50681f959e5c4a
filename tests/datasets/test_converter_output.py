"""ConverterOutput: staged writes, manifests naming every file, refusal of
files the converter did not write."""
import os
import os.path as osp

import pytest

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
