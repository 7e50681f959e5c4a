"""CryoNuSeg preparation on a fixture in the authors' layout (the example
every MESS preparer test follows)."""
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

MASKS = ('Annotator 1 (biologist second round of manual marks up)/'
         'Annotator 1 (biologist second round of manual marks up)/'
         'mask binary')


def make_raw(root, count=10, size=32):
    """Raw CryoNuSeg: tissue images/<id>.tif and 0/255 masks (with a few
    other values that must not count as nuclei)."""
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'tissue images'))
    os.makedirs(osp.join(root, MASKS))
    masks = {}
    for i in range(count):
        stem = f'Human_Organ{i // 3}_{i:02d}'
        img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        mask = np.where(rng.random((size, size)) < 0.3, 255, 0).astype(
            np.uint8)
        mask[0, :3] = (128, 254, 1)  # not nuclei under MESS's value/255
        mmcv.imwrite(img, osp.join(root, 'tissue images', stem + '.tif'))
        mmcv.imwrite(mask, osp.join(root, MASKS, stem + '.png'))
        masks[stem] = mask
    return masks


def test_prepare_cryonuseg(tmp_path):
    raw, out = str(tmp_path / 'CryoNuSeg'), str(tmp_path / 'out')
    masks = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out)
    assert meta['counts'] == dict(train=6, val=2, test=2)
    stems = {}
    for split in ('train', 'val', 'test'):
        files = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = {f[:-4] for f in files}
        for name in files:
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            expected = (masks[name[:-4]] == 255).astype(np.uint8)
            np.testing.assert_array_equal(label, expected)
            assert osp.isfile(osp.join(out, 'img_dir', split, name))
    assert not (stems['train'] & stems['val']) and not (
        stems['train'] & stems['test']) and not (stems['val'] & stems['test'])
    assert set().union(*stems.values()) == set(masks)
    with open(osp.join(out, 'meta.json')) as f:
        assert 'not comparable' in json.load(f)['split_policy']

    # a re-run is idempotent and keeps the files
    before = os.stat(osp.join(out, 'ann_dir', 'train', sorted(
        os.listdir(osp.join(out, 'ann_dir', 'train')))[0])).st_mtime_ns
    assert prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out) == meta
    after = os.stat(osp.join(out, 'ann_dir', 'train', sorted(
        os.listdir(osp.join(out, 'ann_dir', 'train')))[0])).st_mtime_ns
    assert before == after


def test_unpaired_files_are_listed_and_missing_raw_is_explained(tmp_path):
    raw, out = str(tmp_path / 'CryoNuSeg'), str(tmp_path / 'out')
    make_raw(raw, count=6)
    os.remove(osp.join(raw, MASKS, 'Human_Organ0_00.png'))
    meta = prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out)
    assert meta['unpaired']['images_without_label'] == ['Human_Organ0_00']
    assert sum(meta['counts'].values()) == 5

    with pytest.raises(RawDataError, match='kaggle.com') as err:
        prepare(PREPARERS.build(dict(type='cryonuseg')),
                str(tmp_path / 'nothing'), out)
    assert 'tissue images' in str(err.value)


def test_interrupted_output_is_not_trusted(tmp_path, monkeypatch):
    raw, out = str(tmp_path / 'CryoNuSeg'), str(tmp_path / 'out')
    make_raw(raw, count=6)
    prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out)
    # the raw data loses a sample, and the rebuild is cut short
    for folder, ext in (('tissue images', '.tif'), (MASKS, '.png')):
        os.remove(osp.join(raw, folder, 'Human_Organ1_05' + ext))
    cryonuseg = type(PREPARERS.build(dict(type='cryonuseg')))

    def killed(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(cryonuseg, 'read_label', killed)
    with pytest.raises(KeyboardInterrupt):
        prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out)
    monkeypatch.undo()
    assert not osp.exists(osp.join(out, 'meta.json'))
    # the rerun rebuilds: the old run's files are replaced, none is left
    meta = prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out)
    written = {
        osp.join(sub, split, name)
        for sub in ('img_dir', 'ann_dir') for split in ('train', 'val', 'test')
        if osp.isdir(osp.join(out, sub, split))
        for name in os.listdir(osp.join(out, sub, split))
    }
    assert written == set(meta['files']) and len(written) == 10
    assert not any('Human_Organ1_05' in rel for rel in written)
    # a file no run wrote is never removed: the run stops, naming it
    stale = osp.join(out, 'ann_dir', 'train', 'stale.png')
    mmcv.imwrite(np.zeros((2, 2), np.uint8), stale)
    with pytest.raises(Exception, match='ann_dir/train/stale.png'):
        prepare(PREPARERS.build(dict(type='cryonuseg')), raw, out)
    assert osp.isfile(stale)


def test_cli_prepares_into_data_key(tmp_path):
    import subprocess
    import sys

    from helpers import REPO
    raw = str(tmp_path / 'CryoNuSeg')
    make_raw(raw, count=5)
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/dataset_converters/prepare_mess.py'),
        'cryonuseg', raw
    ],
                          cwd=tmp_path,
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / 'data' / 'cryonuseg' / 'meta.json') as f:
        assert sum(json.load(f)['counts'].values()) == 5
    # missing raw data: tests/tools/test_prepare_mess.py (in-process)
