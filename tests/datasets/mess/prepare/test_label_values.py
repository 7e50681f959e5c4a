"""Raw label values that become ignore (255) are never lost silently: a
value no correct copy of the dataset has stops the preparation, naming the
file and the value; values sent to ignore on purpose are counted per split
in meta.json, and those that are no class are warned about."""
import logging
import os
import os.path as osp

import numpy as np
import pytest
import tifffile
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import (PREPARERS, LabelValueError,
                                                lookup, prepare)
from mmseg_mopeft.datasets.mess.prepare.deepcrack import DeepCrack
from mmseg_mopeft.testing import logged_messages

# key, a value outside the dataset's documented raw values, a value inside
# (documented ranges: the preparers' docstrings, data/mess DATASETS.md)
OUT_OF_RANGE = [
    ('atlantis', 57, 56),  # 0 void, 1..56
    ('bdd100k', 19, 255),  # 0..18, 255 unlabelled
    ('bdd100k', 254, 18),
    ('corrosion_cs', 4, 3),  # 0..3
    ('corrosion_cs', 255, 0),
    ('floodnet', 10, 9),  # 0..9
    ('foodseg103', 104, 103),  # 0..103
    ('pst900', 5, 4),  # 0..4
    ('pst900', 255, 4),
    ('zerowaste', 5, 4),  # 0..4
    ('dram', 21, 20),  # VOC ids 0..20, 255 void
    ('dark_zurich', 34, 33),  # Cityscapes label ids 0..33, 255
    ('mhp_v1', 19, 18),  # part ids 0..18
    ('worldfloods', 4, 3),  # 0 invalid, 1..3
]


def label_argument(key, tmp_path, values):
    """What ``read_label`` of ``key`` takes, for a label of ``values``."""
    if key == 'worldfloods':
        path = str(tmp_path / 'gt.tif')
        tifffile.imwrite(path, values)
        return path, path
    path = str(tmp_path / 'label.png')
    Image.fromarray(values).save(path)
    if key == 'dark_zurich':
        invalid = str(tmp_path / 'invalid.png')
        Image.fromarray(np.zeros_like(values)).save(invalid)
        return (path, invalid), path
    if key == 'mhp_v1':
        return [path], path
    return path, path


@pytest.mark.parametrize('key,bad,good', OUT_OF_RANGE)
def test_a_value_outside_the_raw_range_is_an_error(tmp_path, key, bad, good):
    preparer = PREPARERS.build(dict(type=key))
    values = np.zeros((4, 6), np.uint8)
    values[1, 2] = good
    preparer.read_label(label_argument(key, tmp_path, values)[0])  # fine
    values[2, 3] = bad
    label, path = label_argument(key, tmp_path, values)
    with pytest.raises(LabelValueError) as err:
        preparer.read_label(label)
    assert path in str(err.value) and f'[{bad}]' in str(err.value)


def test_16_bit_values_are_named_too(tmp_path):
    path = str(tmp_path / 'gt.tif')
    tifffile.imwrite(path, np.array([[1, 2], [3, 300]], np.uint16))
    with pytest.raises(LabelValueError, match=r'gt\.tif.*\[300\]'):
        PREPARERS.build(dict(type='worldfloods')).read_label(path)


def test_preparation_stops_on_it_naming_dataset_file_value(tmp_path):
    raw, out = tmp_path / 'PST900_RGBT_Dataset', str(tmp_path / 'out')
    for split in ('train', 'test'):
        for kind in ('thermal', 'labels'):
            os.makedirs(raw / split / kind)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 100, np.uint8)).save(
                raw / split / 'thermal' / f'{split}{i}.png')
            label = np.zeros((8, 8), np.uint8)
            if (split, i) == ('train', 1):
                label[:4] = 9  # no PST900 class (0..4)
            Image.fromarray(label).save(
                raw / split / 'labels' / f'{split}{i}.png')
    with pytest.raises(LabelValueError) as err:
        prepare(PREPARERS.build(dict(type='pst900')), str(raw), out)
    message = str(err.value)
    assert message.startswith('pst900: ')
    assert str(raw / 'train' / 'labels' / 'train1.png') in message
    assert '[9]' in message and '0..4' in message
    assert not osp.exists(osp.join(out, 'meta.json'))


class Coded(DeepCrack):
    """DeepCrack's layout with class ids 0..1, a void mark 255 and a valid
    raw value 7 that is no class."""

    def read_label(self, path):
        lut = np.full(256, 255, np.uint8)
        lut[:2] = (0, 1)
        return lookup(np.array(Image.open(path)), lut, path, void=(255, ),
                      no_class=(7, ))


def make_coded(root):
    """{split folder: {stem: label}}; train has 7 in two of its labels."""
    rng = np.random.default_rng(0)
    labels = {}
    for split, count in (('train', 10), ('test', 3)):
        for kind in ('img', 'lab'):
            os.makedirs(osp.join(root, f'{split}_{kind}'))
        for i in range(count):
            stem = f'{split}{i}'
            Image.fromarray(rng.integers(0, 255, (6, 8, 3), np.uint8)).save(
                osp.join(root, f'{split}_img', stem + '.jpg'))
            label = rng.choice([0, 1, 255], (6, 8)).astype(np.uint8)
            if split == 'train' and i in (3, 8):
                label[0, :i] = 7
            Image.fromarray(label).save(
                osp.join(root, f'{split}_lab', stem + '.png'))
            labels[stem] = label
    return labels


def warnings_of(func):
    """``func()`` and the warnings it logged, one text."""
    with logged_messages(logging.WARNING) as messages:
        result = func()
    return result, '\n'.join(messages)


def test_ignored_values_are_counted_per_split_and_warned(tmp_path):
    raw, out = str(tmp_path / 'DeepCrack'), str(tmp_path / 'out')
    labels = make_coded(raw)
    meta, printed = warnings_of(lambda: prepare(Coded(), raw, out))
    for split in ('train', 'val', 'test'):
        stems = [n[:-4] for n in os.listdir(osp.join(out, 'ann_dir', split))]
        expected = {}
        for value, kind in (('255', 'void'), ('7', 'no class')):
            having = [s for s in stems if (labels[s] == int(value)).any()]
            if having:
                expected[value] = dict(
                    kind=kind,
                    pixels=sum(int((labels[s] == int(value)).sum())
                               for s in stems),
                    files=len(having))
        ignored = meta['label_values_ignored'][split]
        assert {v: {k: e[k] for k in ('kind', 'pixels', 'files')}
                for v, e in ignored.items()} == expected
        for value, entry in ignored.items():  # an example that has it
            assert (np.array(Image.open(entry['example'])) == int(value)).any()
        if '7' in ignored:  # the warning names dataset, value and a file
            assert (f'deepcrack {split}: raw label value 7 is no class'
                    in printed)
            assert ignored['7']['example'] in printed
    assert sum(meta['label_values_ignored'][s].get('7', {}).get('files', 0)
               for s in ('train', 'val')) == 2
    assert 'raw label value 255' not in printed  # void: counted, no warning
