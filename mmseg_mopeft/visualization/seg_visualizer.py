import importlib.util
from typing import List, Optional

import numpy as np
from mmseg.registry import VISUALIZERS
from mmseg.visualization import SegLocalVisualizer


@VISUALIZERS.register_module()
class SegVisualizer(SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer`` that works with our pinned OpenCV, plus
    a TensorBoard switch.

    * mmseg's ``browse_dataset.py`` hands over a transposed (non-contiguous)
      image; the label boxes are drawn with ``cv2.rectangle`` on a canvas of
      the same memory layout, which OpenCV 4.11 rejects. Images (and palette
      colours, as plain ints) are made contiguous before drawing.
    * ``tensorboard=True`` (e.g. ``--cfg-options visualizer.tensorboard=
      True``) adds a ``TensorboardVisBackend`` to the configured backends,
      so losses, learning rate and metrics also go to TensorBoard event
      files next to mmengine's JSON log (``pip install -e .[vis]``).
    * ``all_ranks=True`` (``tools/test.py --show-dir``) draws on every
      rank: mmengine draws on rank 0 only, so under ``dist_test.sh`` only
      rank 0's share of the images would be drawn.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 vis_backends: Optional[List[dict]] = None,
                 tensorboard: bool = False,
                 all_ranks: bool = False,
                 **kwargs):
        self.all_ranks = all_ranks
        if tensorboard:
            if importlib.util.find_spec('tensorboard') is None:
                raise ImportError(
                    'visualizer.tensorboard=True needs the tensorboard '
                    "package: pip install -e '.[vis]'")
            vis_backends = list(vis_backends or []) + [
                dict(type='TensorboardVisBackend')
            ]
        super().__init__(name=name, vis_backends=vis_backends, **kwargs)

    def _draw_sem_seg(self, image: np.ndarray, sem_seg, classes, palette,
                      *args, **kwargs) -> np.ndarray:
        if palette is not None:
            palette = [tuple(int(c) for c in color) for color in palette]
        return super()._draw_sem_seg(
            np.ascontiguousarray(image), sem_seg, classes, palette, *args,
            **kwargs)

    # with all_ranks, the undecorated methods (mmseg's and mmengine's are
    # master_only)
    def add_datasample(self, *args, **kwargs):
        method = super().add_datasample
        if self.all_ranks:
            return method.__wrapped__(self, *args, **kwargs)
        return method(*args, **kwargs)

    def add_image(self, *args, **kwargs):
        method = super().add_image
        if self.all_ranks:
            return method.__wrapped__(self, *args, **kwargs)
        return method(*args, **kwargs)

    # mmengine's setter is master_only too: every rank needs the classes
    # and palette to draw
    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        self._dataset_meta = dataset_meta
