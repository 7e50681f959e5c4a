"""A MESS dataset class reads only finished ``prepare_mess.py`` outputs and
says how to make one when the folder is not that."""
import json
import os
import os.path as osp
import re

import mmcv
import numpy as np
import pytest
from helpers import REPO
from mmengine.config import Config
from mmseg.registry import DATASETS

from mmseg_mopeft.datasets.mess import DatasetNotPreparedError
from mmseg_mopeft.datasets.mess.prepare.base import CONVERTER_VERSION

COMMAND = 'python tools/dataset_converters/prepare_mess.py'


def write_output(root,
                 samples=(('train', 3), ('val', 1), ('test', 2)),
                 key='cwfid',
                 suffix='.png',
                 **meta):
    """A prepared folder as prepare_mess.py writes it (meta.json last,
    listing every file with its size); returns the meta written."""
    files = {}
    for split, count in samples:
        for i in range(count):
            image = np.full((8, 8, 3), i, np.uint8)
            label = np.full((8, 8), i % 3, np.uint8)
            for rel, array in ((f'img_dir/{split}/{i:03d}{suffix}', image),
                               (f'ann_dir/{split}/{i:03d}.png', label)):
                mmcv.imwrite(array, osp.join(root, rel))
                files[rel] = osp.getsize(osp.join(root, rel))
    content = dict(
        dataset=key,
        writer='prepare_mess',
        converter_version=CONVERTER_VERSION,
        splits=[s for s, _ in samples],
        test_only=False,
        img_suffix=suffix,
        files=files,
        counts={
            s: n
            for s, n in samples
        })
    content.update(meta)
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump(content, f)
    return content


def build(root, split='test', type='CWFIDDataset', **kwargs):
    # serialize_data=False: mmengine's gc.collect() costs a second here
    return DATASETS.build(
        dict(
            type=type,
            data_root=root,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            pipeline=[],
            serialize_data=False,
            **kwargs))


def test_prepared_output_loads(tmp_path):
    root = str(tmp_path / 'cwfid')
    write_output(root)
    assert [osp.basename(d['img_path'])
            for d in build(root).load_data_list()] == ['000.png', '001.png']
    assert len(build(root, 'train')) == 3


def test_missing_folder_names_the_command(tmp_path):
    root = str(tmp_path / 'nowhere')
    with pytest.raises(DatasetNotPreparedError) as err:
        build(root)
    message = str(err.value)
    assert f'{root!r} is not a prepared dataset: the folder does not exist' \
        in message
    assert f'{COMMAND} cwfid /path/to/cwfid --out {root}' in message


def test_default_folder_needs_no_out(tmp_path, monkeypatch):
    """Other keys name their own raw folder (the one their archive unpacks
    to); the default output folder data/<key> needs no --out."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
            DatasetNotPreparedError,
            match=re.escape(f'{COMMAND} suim /path/to/SUIM\n')):
        build('data/suim', type='SUIMDataset')


def test_the_real_config_fails_with_the_command(tmp_path, monkeypatch):
    """A config pointing at data that is not prepared (the repository's own
    CWFID config, run where data/cwfid does not exist)."""
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(REPO, 'configs/lora/lora_vitb_cwfid.py'))
    cfg.train_dataloader.dataset.serialize_data = False
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(cfg.train_dataloader.dataset)
    assert isinstance(err.value, DatasetNotPreparedError)
    assert "'data/cwfid' is not a prepared dataset" in str(err.value)
    assert f'{COMMAND} cwfid /path/to/cwfid\n' in str(err.value)


def test_unfinished_output_is_refused(tmp_path):
    root = str(tmp_path / 'cwfid')
    write_output(root)
    os.remove(osp.join(root, 'meta.json'))  # removed first on a rebuild
    with pytest.raises(
            DatasetNotPreparedError, match='no meta.json.*did not finish'):
        build(root)
    write_output(root, complete=False)
    with pytest.raises(
            DatasetNotPreparedError, match='marks the output '
            'incomplete'):
        build(root)


def test_another_dataset_s_output_is_refused(tmp_path):
    root = str(tmp_path / 'out')
    write_output(root, key='deepcrack', suffix='.jpg')
    with pytest.raises(
            DatasetNotPreparedError, match="'deepcrack' dataset, not 'cwfid'"):
        build(root)


@pytest.mark.parametrize('version', ['2', None])
def test_an_older_converter_s_output_is_refused(tmp_path, version):
    """prepare_mess.py would rebuild it (other files or labels)."""
    root = str(tmp_path / 'cwfid')
    write_output(root, converter_version=version)
    with pytest.raises(
            DatasetNotPreparedError,
            match=f'(?s)converter version {version!r}.*reads version '
            f"'{CONVERTER_VERSION}'.*{COMMAND} cwfid"):
        build(root)


def test_temporary_files_are_never_samples(tmp_path):
    root = str(tmp_path / 'cwfid')
    write_output(root, files=None)  # an older meta.json: no file list
    with open(osp.join(root, 'img_dir/test/000.png'), 'rb') as f:
        png = f.read()  # a readable image under each temporary name
    for rel in ('img_dir/test/002.png.part.png', 'img_dir/test/003.part',
                'img_dir/test/.tmp/004.png', 'img_dir/test/.005.png'):
        os.makedirs(osp.dirname(osp.join(root, rel)), exist_ok=True)
        with open(osp.join(root, rel), 'wb') as f:
            f.write(png)
    names = [
        osp.relpath(d['img_path'], osp.join(root, 'img_dir', 'test'))
        for d in build(root).load_data_list()
    ]
    assert names == ['000.png', '001.png']


def test_files_differing_from_meta_json_are_refused(tmp_path):
    root = str(tmp_path / 'cwfid')
    write_output(root)
    mmcv.imwrite(
        np.zeros((8, 8, 3), np.uint8), osp.join(root, 'img_dir/test/009.png'))
    mmcv.imwrite(
        np.zeros((8, 8), np.uint8), osp.join(root, 'ann_dir/test/009.png'))
    with pytest.raises(
            DatasetNotPreparedError,
            match=r"1 images not written.*'img_dir/test/009.png'"):
        build(root)
    os.remove(osp.join(root, 'img_dir/test/009.png'))
    os.remove(osp.join(root, 'img_dir/test/001.png'))
    with pytest.raises(
            DatasetNotPreparedError,
            match=r"1 images it wrote are gone.*001.png"):
        build(root)
    write_output(root)
    with open(osp.join(root, 'ann_dir/test/001.png'), 'ab') as f:
        f.write(b'x')
    with pytest.raises(
            DatasetNotPreparedError,
            match=r'changed size.*ann_dir/test/001.png'):
        build(root)
    os.remove(osp.join(root, 'ann_dir/test/001.png'))
    with pytest.raises(
            DatasetNotPreparedError, match=r'1 images .* have no label'):
        build(root)


@pytest.mark.parametrize(
    'meta', [dict(test_only=True, splits=['test']),
             dict(splits=['test'])])
def test_test_only_output_refuses_train_and_val(tmp_path, meta):
    root = str(tmp_path / 'cwfid')
    write_output(root, samples=(('test', 2), ), **meta)
    assert len(build(root, 'test')) == 2
    for split in ('train', 'val'):
        with pytest.raises(
                DatasetNotPreparedError,
                match='cwfid was prepared from its evaluation split only; '
                'train/val do not exist'):
            build(root, split)


def test_training_config_on_test_only_output_fails(tmp_path):
    root = str(tmp_path / 'cwfid')
    write_output(root, samples=(('test', 2), ), test_only=True)
    cfg = Config.fromfile(osp.join(REPO, 'configs/lora/lora_vitb_cwfid.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(
            data_root=root, pipeline=[], serialize_data=False)
    assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 2
    for loader in ('train_dataloader', 'val_dataloader'):
        with pytest.raises(
                DatasetNotPreparedError,
                match='evaluation split only.*tools/test.py'):
            DATASETS.build(cfg[loader].dataset)


def test_missing_split_and_empty_split(tmp_path):
    root = str(tmp_path / 'cwfid')
    write_output(root, samples=(('train', 2), ('test', 2)))
    with pytest.raises(
            DatasetNotPreparedError,
            match=r"no 'val' split .*\['train', 'test'\]"):
        build(root, 'val')
    with pytest.raises(
            DatasetNotPreparedError, match=r"no folder .*img_dir/val"):
        build(root, 'val', check_prepared=False)
    os.makedirs(osp.join(root, 'img_dir', 'val'))
    with pytest.raises(
            DatasetNotPreparedError, match=r"no images ending in '.png'"):
        build(root, 'val', check_prepared=False)


def test_unusual_layouts_need_check_prepared_off(tmp_path):
    folder = str(tmp_path / 'images')
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8), osp.join(folder, 'a.png'))
    spec = dict(
        type='CWFIDDataset',
        data_prefix=dict(img_path=folder),
        pipeline=[],
        serialize_data=False)
    with pytest.raises(DatasetNotPreparedError, match='check_prepared=False'):
        DATASETS.build(spec)
    assert len(DATASETS.build(dict(spec, check_prepared=False))) == 1


def test_reduce_zero_label_is_refused_and_false_accepted(tmp_path):
    """MESS labels start at class 0; mmseg's reduce_zero_label would drop
    it (a user's way to ignore a class; a subset is the way here)."""
    root = str(tmp_path / 'cwfid')
    write_output(root)
    assert len(build(root, reduce_zero_label=False)) == 2
    with pytest.raises(ValueError, match=r"reduce_zero_label=True would "
                       r"drop class 0 \('ground'\).*metainfo="):
        build(root, reduce_zero_label=True)
