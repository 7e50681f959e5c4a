"""CHASE DB1 preparation on a fixture in the authors' (flat) layout."""
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mess_helpers import load_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

SIZE = (10, 12)  # not square: a transposed mask would not fit
MODES = {'1bit': '1', '8bit': 'L', 'palette': 'P'}  # PIL mode of each form


def save_mask(vessel, path, form):
    """The observer mask in one of the storage forms it may come in."""
    if form == '1bit':
        Image.fromarray(vessel).save(path)  # mode '1'
    elif form == '8bit':
        Image.fromarray(vessel.astype(np.uint8) * 255).save(path)
    else:  # palette drawn white on black, but with index 0 = white
        index = (~vessel).astype(np.uint8)
        mask = Image.frombytes('P', index.shape[::-1], index.tobytes())
        mask.putpalette([255, 255, 255, 0, 0, 0])
        mask.save(path)
    with Image.open(path) as saved:  # the PNG really has that storage form
        assert saved.mode == MODES[form]


def make_raw(root):
    """Image_<NN><L|R>.jpg with _1stHO.png (1-bit, 8-bit or palette) and
    _2ndHO.png masks; plus a 15th child with only one file each."""
    rng = np.random.default_rng(0)
    os.makedirs(root)
    vessels = {}
    forms = tuple(MODES)
    for child in range(1, 16):
        for k, eye in enumerate('LR'):
            stem = f'Image_{child:02d}{eye}'
            if (child, eye) != (15, 'R'):
                img = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
                Image.fromarray(img).save(osp.join(root, stem + '.jpg'))
            vessel = rng.random(SIZE) < 0.3
            if (child, eye) != (15, 'L'):
                save_mask(vessel, osp.join(root, stem + '_1stHO.png'),
                          forms[(2 * child + k) % 3])
                vessels[stem] = vessel
            # the second observer's mask must not be used
            Image.fromarray(~vessel).save(osp.join(root, stem + '_2ndHO.png'))
    return vessels


def test_prepare_chase_db1(tmp_path):
    raw, out = str(tmp_path / 'CHASEDB1'), str(tmp_path / 'out')
    vessels = make_raw(raw)
    meta = prepare(PREPARERS.build(dict(type='chase_db1')), raw, out)
    assert meta['counts'] == dict(train=6, val=2, test=20)
    assert meta['unpaired'] == dict(
        images_without_label=['Image_15L'],
        labels_without_image=['Image_15R'])
    assert 'compare with MESS' in meta['split_policy']

    stems = {}
    for split in ('train', 'val', 'test'):
        names = sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        stems[split] = [n[:-4] for n in names]
        for name in names:
            label = mmcv.imread(osp.join(out, 'ann_dir', split, name),
                                flag='unchanged')
            np.testing.assert_array_equal(
                label, vessels[name[:-4]].astype(np.uint8))
            assert osp.isfile(osp.join(out, 'img_dir', split, name))
    # MESS's test set; the rest split by child (both eyes together)
    assert stems['test'] == [f'Image_{c:02d}{e}' for c in range(5, 15)
                             for e in 'LR']
    assert stems['train'] == [f'Image_{c:02d}{e}' for c in range(1, 4)
                              for e in 'LR']
    assert stems['val'] == ['Image_04L', 'Image_04R']
    with open(osp.join(out, 'meta.json')) as f:
        assert json.load(f)['counts']['test'] == 20

    dataset = load_split('MESSChaseDB1Dataset', out)
    assert len(dataset) == 20
    sample = dataset[0]
    assert osp.basename(sample['data_samples'].img_path) == 'Image_05L.png'
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data.numpy()[0],
        vessels['Image_05L'])


def test_incomplete_raw_names_the_missing_files(tmp_path):
    raw, out = str(tmp_path / 'CHASEDB1'), str(tmp_path / 'out')
    make_raw(raw)
    os.remove(osp.join(raw, 'Image_07R_1stHO.png'))
    with pytest.raises(RawDataError, match='kingston.ac.uk') as err:
        prepare(PREPARERS.build(dict(type='chase_db1')), raw, out)
    assert 'Image_07R_1stHO.png' in str(err.value)
