"""Every preparer that declares ``test_required`` prepares its test split
from those paths alone exactly as from the complete raw dataset (issue 9
item 6). Each dataset's own fixture (``make_raw`` in the ``test_<key>.py``
beside this file) supplies the raw data."""
import importlib
import os
import os.path as osp

import pytest
from mess_helpers import listing

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

TEST_ONLY = sorted(k for k, cls in PREPARERS.module_dict.items()
                   if cls.test_required is not None)


def test_the_datasets_shipped_by_split_support_it():
    assert TEST_ONLY == [
        'atlantis', 'corrosion_cs', 'deepcrack', 'floodnet', 'foodseg103',
        'pst900', 'suim', 'uavid', 'worldfloods', 'zerowaste'
    ]


@pytest.mark.parametrize('key', TEST_ONLY)
def test_test_split_alone_equals_the_full_preparation(tmp_path, key):
    make_raw = importlib.import_module(f'test_{key}').make_raw
    raw, alone = str(tmp_path / 'raw'), str(tmp_path / 'alone')
    make_raw(raw)
    full = prepare(PREPARERS.build(dict(type=key)), raw,
                   str(tmp_path / 'full'))
    assert full['counts']['test'] > 0 and full['test_only'] is False
    # a raw folder holding only what the test split needs
    for rel in PREPARERS.build(dict(type=key)).test_required:
        os.makedirs(osp.dirname(osp.join(alone, rel)), exist_ok=True)
        os.symlink(osp.join(raw, rel), osp.join(alone, rel))
    with pytest.raises(RawDataError):
        prepare(PREPARERS.build(dict(type=key)), alone, str(tmp_path / 'o'))
    meta = prepare(
        PREPARERS.build(dict(type=key)),
        alone,
        str(tmp_path / 'test'),
        test_only=True)
    assert meta['test_only'] is True and meta['splits'] == ['test']
    assert meta['counts'] == dict(train=0, val=0, test=full['counts']['test'])
    written = listing(str(tmp_path / 'test'))
    del written['meta.json']
    assert written == {
        rel: data
        for rel, data in listing(str(tmp_path / 'full')).items()
        if rel.startswith(('img_dir/test/', 'ann_dir/test/'))
    }
