"""``prepare`` never loses or mixes data (issue 9): foreign files, reruns
after raw changes or kills, stable val carve, byte copies, test-only data,
parallel output. DeepCrack's small layout serves as the example dataset."""
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
from mess_helpers import listing, load_split, make_deepcrack
from PIL import Image

from mmseg_mopeft.datasets.converter_output import OutputFolderError
from mmseg_mopeft.datasets.mess.prepare import (PREPARERS, Pair, RawDataError,
                                                carve, prepare, read_ids)
from mmseg_mopeft.datasets.mess.prepare.deepcrack import DeepCrack


def deepcrack():
    return PREPARERS.build(dict(type='deepcrack'))


def split_stems(out):
    """{split: stems} of the images a dataset class would list."""
    return {
        split: sorted(f[:-4] for f in os.listdir(folder))
        for split in ('train', 'val', 'test')
        if osp.isdir(folder := osp.join(out, 'img_dir', split))
    }


def raw_and_out(tmp_path, **kwargs):
    raw, out = str(tmp_path / 'DeepCrack'), str(tmp_path / 'out')
    return raw, out, make_deepcrack(raw, **kwargs)


# item 1: files the converter did not write are never deleted or mixed
def test_foreign_files_in_the_output_stop_the_run(tmp_path):
    raw, out, _ = raw_and_out(tmp_path)
    theirs = osp.join(out, 'img_dir', 'test', 'theirs.jpg')
    os.makedirs(osp.dirname(theirs))
    with open(theirs, 'wb') as f:
        f.write(b'not ours')
    with pytest.raises(Exception) as err:
        prepare(deepcrack(), raw, out)
    assert 'img_dir/test/theirs.jpg' in str(err.value)
    assert 'overwrite' in str(err.value)
    assert listing(out) == {'img_dir/test/theirs.jpg': b'not ours'}

    meta = prepare(deepcrack(), raw, out, overwrite=True)
    assert not osp.exists(theirs)
    assert sum(meta['counts'].values()) == 15


def test_another_datasets_output_is_not_mixed_in(tmp_path):
    raw, out, _ = raw_and_out(tmp_path)

    class Other(DeepCrack):  # same layout, another dataset
        key = 'other_dataset'

    prepare(deepcrack(), raw, out)
    before = listing(out)
    with pytest.raises(Exception, match='deepcrack'):
        prepare(Other(), raw, out)
    assert listing(out) == before


# item 2: a rerun is a no-op over a verified output, or a clean rebuild
def test_rerun_after_raw_change_leaves_no_stale_files(tmp_path):
    raw, out, _ = raw_and_out(tmp_path, counts=(('train', 20), ('test', 4)))
    first = prepare(deepcrack(), raw, out)
    # the raw data changes: 5 train pairs go, 3 new ones come, a test
    # label is redrawn
    for i in range(5):
        os.remove(osp.join(raw, 'train_img', f'tr{i:03d}.jpg'))
        os.remove(osp.join(raw, 'train_lab', f'tr{i:03d}.png'))
    for i in range(3):
        for sub, ext in (('img', '.jpg'), ('lab', '.png')):
            os.link(osp.join(raw, f'train_{sub}', f'tr{19 - i:03d}{ext}'),
                    osp.join(raw, f'train_{sub}', f'new{i}{ext}'))
    new_label = np.zeros((24, 32), np.uint8)
    new_label[3:9, 4:20] = 255
    Image.fromarray(new_label).save(osp.join(raw, 'test_lab', 'te002.png'))
    meta = prepare(deepcrack(), raw, out)

    stems = split_stems(out)
    expected = {f'tr{i:03d}' for i in range(5, 20)} | {'new0', 'new1', 'new2'}
    assert set(stems['train']) | set(stems['val']) == expected
    assert not set(stems['train']) & set(stems['val'])
    assert {s: len(v) for s, v in stems.items()} == meta['counts'] \
        == dict(train=16, val=2, test=4)
    label = mmcv.imread(osp.join(out, 'ann_dir', 'test', 'te002.png'),
                        'unchanged')
    np.testing.assert_array_equal(label, new_label // 255)
    assert meta != first


def test_output_not_matching_meta_is_rebuilt(tmp_path):
    """A file whose size differs from meta.json's may be a user's edit:
    named and kept, then rebuilt with overwrite."""
    raw, out, cracks = raw_and_out(tmp_path)
    prepare(deepcrack(), raw, out)
    path = osp.join(out, 'ann_dir', 'test', 'te001.png')
    with open(path, 'r+b') as f:
        f.truncate(20)  # e.g. a disk that filled up, or an edit
    with pytest.raises(OutputFolderError, match='ann_dir/test/te001.png'):
        prepare(deepcrack(), raw, out)
    assert osp.getsize(path) == 20
    prepare(deepcrack(), raw, out, overwrite=True)
    np.testing.assert_array_equal(
        mmcv.imread(path, 'unchanged'), cracks['te001'].astype(np.uint8))


class Killed(Exception):
    pass


def test_a_killed_run_leaves_nothing_a_dataset_lists(tmp_path, monkeypatch):
    raw, out, _ = raw_and_out(tmp_path)
    clean = str(tmp_path / 'clean')
    prepare(deepcrack(), raw, clean)
    real_imwrite, calls = mmcv.imwrite, []

    def dies_on_the_fourth_file(img, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 4:  # killed while writing: half a file on disk
            real_imwrite(img, path, *args, **kwargs)
            with open(path, 'r+b') as f:
                f.truncate(osp.getsize(path) // 2)
            raise Killed
        return real_imwrite(img, path, *args, **kwargs)

    monkeypatch.setattr(mmcv, 'imwrite', dies_on_the_fourth_file)
    with pytest.raises(Killed):
        prepare(deepcrack(), raw, out)
    monkeypatch.undo()

    assert not osp.exists(osp.join(out, 'meta.json'))
    for split in ('train', 'val', 'test'):  # what training would read
        if osp.isdir(osp.join(out, 'img_dir', split)):
            for i in range(len(dataset := load_split(
                    'DeepCrackDataset', out, split))):
                dataset[i]  # every listed sample loads
    visible = [
        rel for rel in listing(out)
        if rel.startswith(('img_dir', 'ann_dir'))
    ]
    assert not [rel for rel in visible if '.part' in rel], visible
    # the rerun finishes the job, exactly as an uninterrupted run
    prepare(deepcrack(), raw, out)
    assert listing(out) == listing(clean)


def test_rerun_over_complete_output_is_a_no_op(tmp_path):
    raw, out, _ = raw_and_out(tmp_path)
    meta = prepare(deepcrack(), raw, out)
    times = {
        rel: os.stat(osp.join(out, rel)).st_mtime_ns
        for rel in listing(out)
    }
    assert prepare(deepcrack(), raw, out) == meta
    assert {rel: os.stat(osp.join(out, rel)).st_mtime_ns
            for rel in listing(out)} == times
    assert set(meta['files']) == set(listing(out)) - {'meta.json'}
    assert all(meta['files'][rel] == osp.getsize(osp.join(out, rel))
               for rel in meta['files'])


@pytest.mark.parametrize('where', ['raw', 'raw/prepared'])
def test_output_in_the_raw_folder_reruns_as_a_no_op(tmp_path, where):
    """``prepare_mess.py all data/`` writes data/<key> into the raw folder
    data/<key> where both names agree: its own output is no raw data."""
    raw = str(tmp_path / 'raw')
    out = str(tmp_path / where)
    make_deepcrack(raw)
    meta = prepare(deepcrack(), raw, out)
    times = {rel: os.stat(osp.join(out, rel)).st_mtime_ns
             for rel in listing(out)}
    assert prepare(deepcrack(), raw, out) == meta
    assert {rel: os.stat(osp.join(out, rel)).st_mtime_ns
            for rel in listing(out)} == times
    # a raw change is still seen
    os.remove(osp.join(raw, 'test_lab', 'te004.png'))
    os.remove(osp.join(raw, 'test_img', 'te004.jpg'))
    assert prepare(deepcrack(), raw, out)['counts']['test'] == 4


def test_overwrite_never_removes_raw_files(tmp_path):
    raw = str(tmp_path / 'raw')
    make_deepcrack(raw)
    theirs = osp.join(raw, 'ann_dir', 'notes.png')  # in what we write
    os.makedirs(osp.dirname(theirs))
    with open(theirs, 'wb') as f:
        f.write(b'part of the raw folder')
    before = listing(raw)
    with pytest.raises(OutputFolderError) as err:
        prepare(deepcrack(), raw, raw, overwrite=True)
    assert raw in str(err.value) and 'ann_dir/notes.png' in str(err.value)
    assert listing(raw) == before


# item 3: the val carve depends on each stem alone
def test_carve_ignores_missing_unrelated_pairs():
    pairs = [Pair(f'img{i:03d}', '', '') for i in range(40)]
    rest, carved = carve(pairs, 0.1, seed=0)
    assert len(carved) == 4 and len(rest) == 36
    rng = np.random.default_rng(0)
    for _ in range(20):
        gone = set(rng.choice([p.stem for p in rest], 3, replace=False))
        kept = [p for p in pairs if p.stem not in gone]
        assert carve(kept, 0.1, seed=0)[1] == carved
    # fewer pairs, smaller count: the carved set only shrinks
    fewer = [p for p in pairs if p in carved or int(p.stem[3:]) < 20]
    assert set(p.stem for p in carve(fewer, 0.1, seed=0)[1]) < set(
        p.stem for p in carved)
    # another seed, another carve
    assert carve(pairs, 0.1, seed=1)[1] != carved


# item 5: images needing no conversion are copied byte for byte
def test_images_are_copied_byte_for_byte(tmp_path):
    raw, out, _ = raw_and_out(tmp_path)
    meta = prepare(deepcrack(), raw, out)
    assert meta['images'] == dict(
        copied=15, converted=0, exif_orientation_reset=[])
    for split, stems in split_stems(out).items():
        folder = 'test_img' if split == 'test' else 'train_img'
        for stem in stems:
            with open(osp.join(raw, folder, stem + '.jpg'), 'rb') as f:
                source = f.read()
            assert listing(out)[f'img_dir/{split}/{stem}.jpg'] == source


def test_exif_orientation_is_reset_not_applied(tmp_path):
    raw, out, cracks = raw_and_out(tmp_path)
    path = osp.join(raw, 'test_img', 'te001.jpg')
    with Image.open(path) as img:
        exif = img.getexif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
        img.save(path, exif=exif, quality=90)
    with open(path, 'rb') as f:
        source = f.read()
    stored = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    # why it matters: mmseg's loader turns the source, not its label
    assert mmcv.imfrombytes(source, flag='color').shape == (32, 24, 3)

    meta = prepare(deepcrack(), raw, out)
    assert meta['images']['exif_orientation_reset'] == ['test/te001']
    with open(osp.join(out, 'img_dir', 'test', 'te001.jpg'), 'rb') as f:
        written = f.read()
    assert len(written) == len(source)
    assert sum(a != b for a, b in zip(written, source)) == 1  # the tag
    samples = [s for s in load_split('DeepCrackDataset', out)
               if s['data_samples'].img_path.endswith('te001.jpg')]
    sample, = samples
    np.testing.assert_array_equal(
        sample['inputs'].permute(1, 2, 0).numpy(), stored)
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), cracks['te001'])


# item 6: datasets shipped with their evaluation split only
def test_test_split_alone(tmp_path):
    raw, out, _ = raw_and_out(tmp_path, counts=(('test', 3), ))
    with pytest.raises(RawDataError, match='train_img'):
        prepare(deepcrack(), raw, out)
    meta = prepare(deepcrack(), raw, out, test_only=True)
    assert meta['splits'] == ['test'] and meta['test_only'] is True
    assert meta['counts'] == dict(train=0, val=0, test=3)
    assert split_stems(out) == dict(test=['te000', 'te001', 'te002'])
    with pytest.raises(ValueError, match='cwfid cannot be prepared test-only'):
        prepare(PREPARERS.build(dict(type='cwfid')), raw, out, test_only=True)


def test_parallel_output_equals_serial(tmp_path):
    raw, out, _ = raw_and_out(tmp_path)
    serial, parallel = str(tmp_path / 's'), str(tmp_path / 'p')
    prepare(deepcrack(), raw, serial, nproc=1)
    prepare(deepcrack(), raw, parallel, nproc=2)
    assert listing(serial) == listing(parallel)
    assert len(listing(serial)) == 31  # 15 images, 15 labels, meta.json


@pytest.mark.parametrize('mode', ['L', 'LA', 'RGB', 'RGBA', 'P'])
def test_read_ids_gives_the_stored_values_of_any_grey_mode(tmp_path, mode):
    values = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = str(tmp_path / 'label.png')
    grey = Image.fromarray(values)
    if mode == 'P':
        grey = grey.convert('P')  # indices: a palette of the grey values
        expected = np.array(grey)
    else:
        expected = values
        grey = grey.convert(mode)
    grey.save(path)
    np.testing.assert_array_equal(read_ids(path), expected)


@pytest.mark.parametrize('mode', ['RGB', 'RGBA'])
def test_read_ids_refuses_colours(tmp_path, mode):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (10, 20, 30)
    path = str(tmp_path / 'colour.png')
    Image.fromarray(rgb).convert(mode).save(path)
    with pytest.raises(ValueError, match='colour.png is a colour image'):
        read_ids(path)


@pytest.mark.parametrize('value', [2, -1])
def test_labels_outside_the_dataset_classes_stop_before_completion(
        tmp_path, value):
    """A preparer writing a value its dataset class has no class for (here
    2: DeepCrack has background and crack; or a negative one, which would
    wrap to the ignore value) never marks the output done."""
    raw, out, _ = raw_and_out(tmp_path)

    class OtherValue(DeepCrack):

        def read_label(self, path):
            label = super().read_label(path).astype(np.int16)
            label[0, 0] = value
            return label

    with pytest.raises(ValueError) as err:
        prepare(OtherValue(), raw, out)
    message = str(err.value)
    assert 'deepcrack: the converted label of' in message
    assert f'holds [{value}], which are no class ids' in message
    assert '(0..1, 255 ignore)' in message
    assert not osp.exists(osp.join(out, 'meta.json'))
