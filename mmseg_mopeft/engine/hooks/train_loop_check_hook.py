from mmengine.dataset import InfiniteSampler
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from mmseg.registry import HOOKS


@HOOKS.register_module()
class TrainLoopCheckHook(Hook):
    """Fail before training when an epoch-based loop draws from an infinite
    sampler (our configs' ``SeededInfiniteSampler``): its first epoch would
    never end, so the run would neither validate nor save, ever."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        sampler = getattr(runner.train_dataloader, 'sampler', None)
        if isinstance(loop, EpochBasedTrainLoop) and isinstance(
                sampler, InfiniteSampler):
            raise ValueError(
                f'train_cfg runs {type(loop).__name__} over '
                f'train_dataloader.sampler={type(sampler).__name__}, whose '
                f'epochs never end. Keep an iteration loop (train_cfg='
                f"dict(type='IterBasedTrainLoop', max_iters=..., "
                f"val_interval=...)) or use a finite sampler "
                f"(train_dataloader.sampler=dict(type='DefaultSampler', "
                f'shuffle=True); it does not seed each sample, so resumed '
                f'runs draw other augmentations).')
