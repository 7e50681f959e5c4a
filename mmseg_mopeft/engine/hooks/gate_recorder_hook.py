import json
import os.path as osp
from typing import Dict, List

import numpy as np
from mmengine.dist import collect_results_gpu, is_main_process
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmseg.registry import HOOKS

from ...models.peft import PEFTTuner


def find_backbone(model):
    """The backbone inside a (wrapped, test-time-augmented) segmentor."""
    if is_model_wrapper(model):
        model = model.module
    if isinstance(model, BaseTTAModel):
        model = model.module
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise AttributeError(
            f'GateRecorderHook: {type(model).__name__} has no backbone; it '
            'records the gates of a segmentor or detector with a SAMViT '
            'backbone')
    return backbone


@HOOKS.register_module()
class GateRecorderHook(Hook):
    """Record the MoPEFT gate values of every block for every test image.

    Writes ``<filename>.npz`` (one (images, blocks) array per method, NaN
    where a block has no such method, plus ``img_paths``) and a ``.json``
    twin that also holds each image's number of ``views`` into the run's
    log folder (``<work_dir>/<timestamp>/``, new for every run, so that
    testing another checkpoint in the same work dir keeps the first record);
    ``tools/analysis_tools/gate_usage.py`` plots them. Off by default: add
    it to ``custom_hooks`` or pass ``tools/test.py --record-gates``.

    With test-time augmentation (``tools/test.py --tta``) the model sees
    each image several times (flips, scales); an image's gate value is then
    the mean over its views. Under several processes (``dist_test.sh``)
    rows are in dataset order, one per image: merged as mmengine's
    evaluator merges results (rank-interleaved, the sampler's padding cut).
    """

    def __init__(self, filename: str = 'gates'):
        self.filename = filename
        self._tuners: List = []
        self._rows: List[Dict] = []
        self._forwards: List[Dict] = []
        self._handle = None

    def before_test(self, runner) -> None:
        backbone = find_backbone(runner.model)
        blocks = getattr(backbone, 'blocks', [])
        self._tuners = [getattr(block, 'tuner', None) for block in blocks]
        gated = [t for t in self._tuners
                 if isinstance(t, PEFTTuner) and t.gates is not None]
        if not gated:
            runner.logger.warning('GateRecorderHook: the model has no gated '
                                  'PEFT methods; nothing will be recorded.')
        for tuner in gated:
            tuner.record_gates = True
        self._rows, self._forwards = [], []
        self._handle = backbone.register_forward_hook(self._collect)

    def _collect(self, module, inputs, output) -> None:
        """After each backbone forward: this forward's gates, per block."""
        gates = {}
        for block, tuner in enumerate(self._tuners):
            for name, value in getattr(tuner, 'last_gates', {}).items():
                gates.setdefault(name, {})[block] = value.float().cpu()
            if isinstance(tuner, PEFTTuner):
                tuner.last_gates = {}  # never read a stale value twice
        self._forwards.append(gates)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        forwards, self._forwards = self._forwards, []
        for i, sample in enumerate(outputs):
            row = dict(img_path=sample.img_path, views=len(forwards),
                       gates={})
            for name in sorted({n for f in forwards for n in f}):
                blocks = sorted({b for f in forwards for b in f.get(name, {})})
                for block in blocks:
                    values = [float(f[name][block][i]) for f in forwards
                              if block in f.get(name, {})]
                    row['gates'].setdefault(name, {})[block] = float(
                        np.mean(values))
            self._rows.append(row)

    def after_test(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        for tuner in self._tuners:
            if isinstance(tuner, PEFTTuner):
                tuner.record_gates = False
        # all_gather_object underneath, whatever the device (gloo on CPUs)
        rows = collect_results_gpu(self._rows,
                                   len(runner.test_dataloader.dataset))
        if not is_main_process() or not rows:
            return
        depth = len(self._tuners)
        methods = sorted({name for row in rows for name in row['gates']})
        arrays = {}
        for name in methods:
            values = np.full((len(rows), depth), np.nan)
            for r, row in enumerate(rows):
                for block, value in row['gates'].get(name, {}).items():
                    values[r, block] = value
            arrays[name] = values
        path = osp.join(runner.log_dir, self.filename)
        np.savez(path + '.npz', img_paths=np.array(
            [row['img_path'] for row in rows]), **arrays)
        with open(path + '.json', 'w') as f:
            json.dump(dict(methods=methods, num_blocks=depth, images=rows), f)
        runner.logger.info(f'Gate values of {len(rows)} images written to '
                           f'{path}.npz / .json')
