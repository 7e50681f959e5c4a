"""A generated toy dataset, so the demo and the tests need no downloads."""
import os
import os.path as osp
import shutil
import tempfile

import mmcv
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

SHAPES_CLASSES = ('background', 'disk', 'square')


@DATASETS.register_module()
class ShapesDataset(BaseSegDataset):
    """Disks and squares on textured backgrounds (see ``generate_shapes``)."""
    METAINFO = dict(
        classes=SHAPES_CLASSES, palette=[[0, 0, 0], [220, 20, 60],
                                         [0, 128, 255]])

    def __init__(self, **kwargs):
        super().__init__(
            img_suffix='.png',
            seg_map_suffix='.png',
            reduce_zero_label=False,
            **kwargs)


# Per class, the RGB range its colour is drawn from: grey backgrounds, warm
# disks, cool squares; shape and colour both tell the classes apart.
_COLOURS = ([(70, 170)] * 3, [(150, 255), (0, 120), (0, 90)],
            [(0, 90), (60, 200), (150, 255)])


def _colour(rng, cls):
    return np.array([rng.uniform(lo, hi) for lo, hi in _COLOURS[cls]])


def _draw_sample(rng: np.random.Generator, size: int, num_classes: int):
    """One image with 1-4 shapes on a noisy background."""
    grey = rng.uniform(*_COLOURS[0][0])
    img = grey + rng.normal(0, 15, size=(size, size, 3))
    label = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(rng.integers(1, 5)):
        cls = rng.integers(1, num_classes)
        radius = rng.uniform(0.08, 0.2) * size
        cy, cx = rng.uniform(radius, size - radius, size=2)
        if cls == 1:
            mask = (yy - cy)**2 + (xx - cx)**2 <= radius**2
        else:
            mask = (np.abs(yy - cy) <= radius) & (np.abs(xx - cx) <= radius)
        img[mask] = _colour(rng, cls) + rng.normal(0, 8, size=(mask.sum(), 3))
        label[mask] = cls
    return np.clip(img, 0, 255).astype(np.uint8), label


def generate_shapes(root: str,
                    splits=(('train', 32), ('val', 8)),
                    size: int = 128,
                    num_classes: int = 3,
                    seed: int = 0) -> str:
    """Write ``root/{img_dir,ann_dir}/<split>/<n>.png``; return ``root``.

    Labels: 0 background, 1 disk, 2 square (``num_classes=2``: disks only).
    Deterministic for a given seed. ``root`` must be new or empty: the
    files are written into a folder beside it that becomes ``root`` once
    all are there, so an interrupted run leaves no partial dataset behind.
    """
    if osp.lexists(root) and not (osp.isdir(root) and not os.listdir(root)):
        raise FileExistsError(
            f'{root} exists and is not an empty folder; the Shapes dataset '
            'is generated into a new or empty folder only (nothing there is '
            'overwritten)')
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix='.shapes-', dir=parent)
    try:
        rng = np.random.default_rng(seed)
        for split, count in splits:
            for i in range(count):
                img, label = _draw_sample(rng, size, num_classes)
                name = f'{split}/{i:04d}.png'
                mmcv.imwrite(img[..., ::-1],
                             osp.join(stage, 'img_dir', name))
                mmcv.imwrite(label, osp.join(stage, 'ann_dir', name))
        os.chmod(stage, 0o755)  # mkdtemp's folder is private
        os.rename(stage, root)  # replaces an empty folder
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return root
