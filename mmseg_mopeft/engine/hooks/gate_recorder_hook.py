import json
import os.path as osp
from typing import Dict, List

import numpy as np
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.peft import PEFTTuner


@HOOKS.register_module()
class GateRecorderHook(Hook):
    """Record the MoPEFT gate values of every block for every test image.

    Writes ``<work_dir>/<filename>.npz`` (one (images, blocks) array per
    method, NaN where a block has no such method, plus ``img_paths``) and a
    ``.json`` twin; ``tools/analysis_tools/gate_usage.py`` plots them. Off by
    default: add it to ``custom_hooks`` or pass ``tools/test.py
    --record-gates``.
    """

    def __init__(self, filename: str = 'gates'):
        self.filename = filename
        self._tuners: List = []
        self._rows: List[Dict] = []

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        blocks = getattr(model.backbone, 'blocks', [])
        self._tuners = [getattr(block, 'tuner', None) for block in blocks]
        gated = [t for t in self._tuners
                 if isinstance(t, PEFTTuner) and t.gates is not None]
        if not gated:
            runner.logger.warning('GateRecorderHook: the model has no gated '
                                  'PEFT methods; nothing will be recorded.')
        for tuner in gated:
            tuner.record_gates = True
        self._rows = []

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        for i, sample in enumerate(outputs):
            row = dict(img_path=sample.img_path, gates={})
            for block, tuner in enumerate(self._tuners):
                for name, value in getattr(tuner, 'last_gates', {}).items():
                    row['gates'].setdefault(name, {})[block] = float(value[i])
            self._rows.append(row)

    def after_test(self, runner) -> None:
        for tuner in self._tuners:
            if isinstance(tuner, PEFTTuner):
                tuner.record_gates = False
        rows = [row for part in all_gather_object(self._rows) for row in part]
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
        path = osp.join(runner.work_dir, self.filename)
        np.savez(path + '.npz', img_paths=np.array(
            [row['img_path'] for row in rows]), **arrays)
        with open(path + '.json', 'w') as f:
            json.dump(dict(methods=methods, num_blocks=depth, images=rows), f)
        runner.logger.info(f'Gate values of {len(rows)} images written to '
                           f'{path}.npz / .json')
