from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.utils.peft_checkpoint import BaseSnapshot


@HOOKS.register_module()
class PEFTCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that saves only what the run trains.

    With a frozen encoder most of the model is the base SAM file, so a
    checkpoint keeps the trained parameters, tensors that differ from the
    base, the optimizer/scheduler state and a record of the base file
    (``meta['peft_base'] = dict(path=..., md5=...)``, and one record tensor
    per base-backed module in the state dict). Every load path rebuilds the
    rest from the base file (``models/utils/peft_checkpoint.py``).

    Args:
        trainable_only: False saves whole models, like ``CheckpointHook``.
        Others: as ``CheckpointHook``.
    """

    def __init__(self, *args, trainable_only: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.trainable_only = trainable_only
        self._snapshot = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not self.trainable_only:
            return
        model = self._model(runner)
        snapshot = BaseSnapshot(model)
        if not snapshot.records:
            runner.logger.warning(
                'PEFTCheckpointHook: no module of the model loads a base SAM '
                'file (init_cfg Pretrained); saving whole models.')
            return
        self._snapshot = snapshot
        kept = snapshot.prune(model, model.state_dict())
        total = sum(v.numel() for v in model.state_dict().values())
        saved = sum(v.numel() for k, v in kept.items()
                    if k in model.state_dict())
        bases = {r['path']: r['md5'] for r in snapshot.records.values()}
        runner.logger.info(
            f'PEFTCheckpointHook: checkpoints hold {saved:,} of {total:,} '
            f'model values ({100 * saved / max(total, 1):.2f}%); the rest '
            f'comes from the base file(s) {bases}.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._snapshot is None:
            return
        checkpoint['state_dict'] = self._snapshot.prune(
            self._model(runner), checkpoint['state_dict'])
        checkpoint.setdefault('meta', {})['peft_base'] = \
            self._snapshot.meta_record()
