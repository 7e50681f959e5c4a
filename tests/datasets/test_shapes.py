"""generate_shapes: a new or empty folder only, and never a partial one."""
import os

import mmcv
import numpy as np
import pytest

import mmseg_mopeft.datasets.shapes as shapes
from mmseg_mopeft.datasets import generate_shapes


def test_writes_pairs_into_a_new_or_empty_folder(tmp_path):
    (tmp_path / 'empty').mkdir()
    for root in (tmp_path / 'new', tmp_path / 'empty'):
        generate_shapes(str(root), splits=(('train', 2), ('val', 1)),
                        size=16, num_classes=2)
        for split, names in (('train', ['0000.png', '0001.png']),
                             ('val', ['0000.png'])):
            assert sorted(os.listdir(root / 'img_dir' / split)) == names
            assert sorted(os.listdir(root / 'ann_dir' / split)) == names
        label = mmcv.imread(str(root / 'ann_dir' / 'train' / '0000.png'),
                            flag='unchanged')
        assert label.shape == (16, 16) and set(np.unique(label)) <= {0, 1}
    assert sorted(os.listdir(tmp_path)) == ['empty', 'new']  # no stage left


def test_a_folder_with_files_is_refused_untouched(tmp_path):
    mine = tmp_path / 'data' / 'ann_dir' / 'train' / '0000.png'
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b'a label of mine')
    with pytest.raises(FileExistsError, match='is not an empty folder'):
        generate_shapes(str(tmp_path / 'data'), size=16)
    assert mine.read_bytes() == b'a label of mine'
    assert sorted(os.listdir(tmp_path)) == ['data']


def test_an_interrupted_run_leaves_no_partial_dataset(tmp_path,
                                                      monkeypatch):
    """The demo reuses a folder that has img_dir/: it must be complete."""
    written = []

    def imwrite(img, path):
        if len(written) == 5:
            raise KeyboardInterrupt
        written.append(path)

    monkeypatch.setattr(shapes.mmcv, 'imwrite', imwrite)
    with pytest.raises(KeyboardInterrupt):
        generate_shapes(str(tmp_path / 'data'), size=16)
    assert os.listdir(tmp_path) == []
