"""The MESS datasets are found from their classes alone; the derived maps
and the generated configs agree with the classes and with MESS's facts."""
import json
import os.path as osp
import re

import pytest
from helpers import REPO
from mmseg.registry import DATASETS

from mmseg_mopeft.datasets.mess import (DATASET_CLASSES, MESS_DATASETS,
                                        MESSDataset, mess_dataset_type,
                                        mess_dataset_types)

MESS_SPEC = osp.join(REPO, '..', 'shared', 'mess', 'mess_datasets.json')
# MESS's reporting order (its paper and evaluation script), PAXRay-4 as its
# four binary tasks
MESS_ORDER = ('bdd100k', 'dark_zurich', 'mhp_v1', 'foodseg103', 'atlantis',
              'dram', 'isaid', 'isprs_potsdam', 'worldfloods', 'floodnet',
              'uavid', 'kvasir_instrument', 'chase_db1', 'cryonuseg',
              'paxray_lungs', 'paxray_mediastinum', 'paxray_bones',
              'paxray_diaphragm', 'corrosion_cs', 'deepcrack', 'pst900',
              'zerowaste', 'suim', 'cub_200', 'cwfid')


def test_all_25_classes_found_in_mess_order():
    types = mess_dataset_types()
    assert tuple(types) == MESS_ORDER
    assert list(DATASET_CLASSES) == list(MESS_DATASETS) == list(MESS_ORDER)
    for key, cls in types.items():
        assert cls.key == key and issubclass(cls, MESSDataset)
        assert DATASETS.get(DATASET_CLASSES[key]) is cls
        assert MESS_DATASETS[key]['classes'] == cls.METAINFO['classes']
        assert mess_dataset_type(key) is cls


def test_existing_configs_name_the_same_classes():
    """The 200 generated configs keep working: each dataset base names the
    class that now holds the key."""
    for key, name in DATASET_CLASSES.items():
        path = osp.join(REPO, 'configs', '_base_', 'datasets', 'mess',
                        f'{key}.py')
        with open(path) as f:
            types = re.findall(r"type='(\w+)'", f.read())
        assert types == [name], path
        assert f"data_root='data/{key}'" in open(path).read()


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"'nope'.*'cwfid'"):
        mess_dataset_type('nope')


def test_two_classes_claiming_one_key_fail():

    class Twin(MESSDataset):
        key = 'cwfid'
        METAINFO = dict(mess_dataset_type('cwfid').METAINFO)

    DATASETS.register_module(name='TwinCWFIDDataset', module=Twin)
    try:
        with pytest.raises(ValueError, match="'cwfid'.*CWFIDDataset.*Twin"):
            mess_dataset_types()
    finally:
        DATASETS.module_dict.pop('TwinCWFIDDataset')
    assert mess_dataset_types()['cwfid'].__name__ == 'CWFIDDataset'


@pytest.mark.skipif(
    not osp.isfile(MESS_SPEC),
    reason=f'MESS dataset facts not found at {MESS_SPEC}')
def test_classes_domains_and_coi_are_mess_s():
    with open(MESS_SPEC) as f:
        spec = {d['key']: d for d in json.load(f)}
    types = mess_dataset_types()
    for key, cls in types.items():
        group, _, task = key.partition('_') if key.startswith('paxray_') else (
            key, '', '')
        facts = spec[group]
        classes = facts['classes'][task] if task else facts['classes']
        coi = facts['classes_of_interest']
        info = cls.METAINFO
        assert info['classes'] == tuple(classes), key
        assert info['domain'] == facts['domain'], key
        assert list(info['classes_of_interest']) == list(coi), key
    # every MESS dataset is here, PAXRay-4 as four tasks
    assert {
        k.partition('_')[0] if k.startswith('paxray_') else k
        for k in types
    } == set(spec)


def test_preparers_read_the_image_suffix_from_the_class():
    """The suffix lives in the dataset file only; a preparer (class or
    instance) reads it from there."""
    from mmseg_mopeft.datasets.mess.prepare import PREPARERS
    for key, cls in mess_dataset_types().items():
        preparer = PREPARERS.module_dict[key]
        assert 'img_suffix' not in vars(preparer), key  # not restated
        assert preparer.img_suffix == cls.img_suffix
        assert PREPARERS.build(dict(type=key)).img_suffix == cls.img_suffix
    assert mess_dataset_type('suim').img_suffix == '.jpg'

    class Unknown(PREPARERS.module_dict['suim']):
        key = 'not_a_dataset'

    with pytest.raises(
            AttributeError, match=r"Unknown.img_suffix.*'not_a_dataset'"):
        Unknown().img_suffix
