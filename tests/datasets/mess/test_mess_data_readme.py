"""data/README.md stays true: a row per MESS key naming the raw folder its
preparer expects, the top-level paths it requires and those a test-only
preparation requires; FAIR-1M's own layout."""
import os.path as osp
import re

import pytest
from helpers import REPO

from mmseg_mopeft.datasets.mess import mess_dataset_types
from mmseg_mopeft.datasets.mess.prepare import PREPARERS

with open(osp.join(REPO, 'data', 'README.md')) as f:
    README = f.read()


def row(key):
    rows = [
        line for line in README.splitlines()
        if line.startswith('|') and f'`{key}`' in line
    ]
    assert len(rows) == 1, f'data/README.md: no single table row for {key}'
    return rows[0]


@pytest.mark.parametrize('key', sorted(PREPARERS.module_dict))
def test_each_converter_has_its_row(key):
    preparer = PREPARERS.build(dict(type=key))
    line = row(key)
    assert f'`{preparer.raw_name}`' in line.split('|')[2], line
    for path in preparer.required:
        top = re.split(r'[/_]', path)[0] if key == 'chase_db1' else \
            path.split('/')[0]
        assert top in line.split('|')[3], f'{key}: {path} not mentioned'
    test_only = line.split('|')[4].strip()
    if preparer.test_required is None:
        assert test_only == '–', f'{key} cannot be prepared test-only'
    else:
        for path in preparer.test_required:
            assert path.split('/')[0] in test_only, f'{key}: {path}'


def test_every_dataset_class_is_covered():
    assert set(mess_dataset_types()) <= set(PREPARERS.module_dict)
    for key in mess_dataset_types():
        row(key)


def test_fair1m_layout_is_described():
    section = README[README.index('## FAIR-1M'):]
    for text in ('images/<id>.tif', 'labelXml/<id>.xml', 'fair1m_tiles.py',
                 'data/fair1m_1024/{train,val}'):
        assert text in section
