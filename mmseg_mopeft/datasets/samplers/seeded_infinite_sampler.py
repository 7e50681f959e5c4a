"""mmengine's InfiniteSampler with per-sample seeded augmentation."""
import itertools
from typing import Iterator

import torch
from mmengine.dataset import InfiniteSampler
from mmseg.registry import DATA_SAMPLERS

from .sample_seeding import SampleKey, seed_pipeline_per_sample


@DATA_SAMPLERS.register_module()
class SeededInfiniteSampler(InfiniteSampler):
    """The same index stream as ``InfiniteSampler`` (one permutation per
    pass, seeded by ``seed``, sliced by rank), each index tagged with the
    seed and its pass, and the dataset's pipeline seeded per sample.

    A sample's random augmentation is then a function of (seed, pass,
    index) only: the same whichever rank or worker loads it, after a resume
    as in an uninterrupted run, and different on every rank (ranks load
    different samples). ``seed`` is the runner's seed. A resumed run
    restores the checkpoint's seed only after the sampler is built;
    ``CheckpointRecoveryHook`` then calls ``reseed`` (every rank loads the
    same checkpoint, so ranks keep one stream). With
    ``randomness.diff_rank_seed`` mmengine passes None and a fresh random
    seed is drawn, so a resumed run would draw other augmentations.
    """

    def __init__(self, dataset, shuffle: bool = True, seed=None) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed)
        seed_pipeline_per_sample(dataset)

    def reseed(self, seed: int) -> None:
        """Restart the stream from pass 0 with ``seed``; iterators made
        before this keep the old stream (``iter(dataloader)`` again)."""
        self.seed = int(seed)
        self.indices = self._indices_of_rank()

    def _infinite_indices(self) -> Iterator[SampleKey]:
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        for pass_index in itertools.count():
            if self.shuffle:
                order = torch.randperm(self.size, generator=generator).tolist()
            else:
                order = range(self.size)
            for index in order:
                yield SampleKey(index, self.seed, pass_index)
