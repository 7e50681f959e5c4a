import os.path as osp
import sys

import ci_budget
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = osp.join(REPO, '..', 'shared', 'data')

from mmengine.registry import init_default_scope  # noqa: E402

import mmseg_mopeft  # noqa: E402,F401  (registers modules)
from mmseg_mopeft.datasets import generate_shapes  # noqa: E402
from mmseg_mopeft.testing import save_sam_checkpoint  # noqa: E402

torch.set_num_threads(2)
init_default_scope('mmseg')


@pytest.fixture(scope='session')
def tiny_sam_ckpt(tmp_path_factory):
    """(path, reference SAM) for the tiny arch at 64 px, window 4."""
    path = str(tmp_path_factory.mktemp('ckpt') / 'sam_tiny.pth')
    sam = save_sam_checkpoint(path, arch='tiny', img_size=64, window_size=4)
    return path, sam


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'shapes')
    return generate_shapes(root, splits=(('train', 8), ('val', 4)), size=64)


def pytest_configure(config):
    sys.path.insert(0, REPO)
    config.pluginmanager.register(ci_budget)
