"""Reseed the model's random draws at every training iteration.

The mask losses sample points at random (Mask2Former's importance
sampling) and dropout draws masks, from the global RNGs. Their state at
iteration i then depends on everything that ran before, validation and
data loading included, and a resumed run cannot recover it from a
checkpoint written by rank 0 alone. Seeding python, numpy and torch (CPU
and CUDA) from (seed, iteration, rank) before each iteration makes the
state a function of values every checkpoint carries (``meta.seed``,
``meta.iter``; mmengine restores the seed on resume): a resumed run draws
exactly what the uninterrupted run drew. Data augmentation does not use
these streams (``SeededInfiniteSampler`` seeds every sample itself).
"""
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.rng import seed_all


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Seed all RNGs from (runner seed, iteration, rank) before each
    training iteration; ranks draw different streams."""

    priority = 'HIGHEST'  # before any other hook of the iteration draws

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        seed_all(runner.seed, runner.iter, get_rank())
