"""Fixtures of the hook tests that run real Runners."""
import pytest

from mmseg_mopeft.datasets import generate_shapes


@pytest.fixture
def unformatted_config_text(monkeypatch):
    """Runners log and dump their config; skip yapf's formatting of it
    (about 3 s per runner on 2 cores)."""
    monkeypatch.setattr('mmengine.config.config.FormatCode',
                        lambda text, **kwargs: (text, False))


@pytest.fixture(scope='module')
def cryo_root(tmp_path_factory):
    """Generated data with CryoNuSeg's two classes: 2 train, 1 val."""
    root = str(tmp_path_factory.mktemp('data') / 'cryonuseg')
    return generate_shapes(
        root, splits=(('train', 2), ('val', 1)), size=64, num_classes=2)
