"""Random data augmentation that depends on the sample, not the process.

Stock samplers hand the dataset plain indices, and the pipeline draws from
whatever state the process's global RNGs are in: the draws then depend on
which rank or data-loader worker loads a sample and on what ran before, so
neither a resumed run nor N processes with batch b reproduce one process
with batch N x b. Our sampler hands out ``SampleKey`` indices instead (an
int that also carries the stream seed and the pass over the dataset), and
``SeededPipeline`` runs each sample's pipeline with the RNGs seeded from
(seed, pass, index), restoring the previous states afterwards.
"""
from typing import Optional

import numpy as np
from mmengine.dataset import BaseDataset

from ...utils.rng import derive_seeds, seeded_rngs


class SampleKey(int):
    """A dataset index that also names its stream seed and pass."""

    def __new__(cls, index: int, seed: int, pass_index: int):
        key = super().__new__(cls, index)
        key.seed = int(seed)
        key.pass_index = int(pass_index)
        return key

    def __reduce__(self):  # to data-loader workers
        return SampleKey, (int(self), self.seed, self.pass_index)

    def __repr__(self) -> str:
        return (f'SampleKey({int(self)}, seed={self.seed}, '
                f'pass_index={self.pass_index})')


class SeededPipeline:
    """Wraps a dataset's pipeline: a sample whose ``sample_idx`` is a
    ``SampleKey`` runs under RNGs seeded from (seed, pass, index).

    mmengine's ``BaseDataset`` replaces a sample whose pipeline returns None
    by a random other one (``_rand_another``, numpy's global RNG) and passes
    it a plain index; such retries stay deterministic: numpy is seeded from
    the failed key before returning, and the retry is seeded from that key
    and its attempt number. A plain index with no failed key before it (a
    direct ``dataset[i]``) runs unseeded, as with mmengine's samplers.
    """

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self._failed: Optional[tuple] = None  # (key, attempt) to retry

    @property
    def transforms(self):
        return self.pipeline.transforms

    def __call__(self, results: dict) -> Optional[dict]:
        index = results.get('sample_idx')
        if isinstance(index, SampleKey):
            key, attempt = index, 0
        elif self._failed is not None:
            key, attempt = self._failed[0], self._failed[1] + 1
        else:
            return self.pipeline(results)
        self._failed = None
        results['sample_idx'] = int(index)
        values = (key.seed, key.pass_index, int(key), attempt, int(index))
        with seeded_rngs(*values):
            data = self.pipeline(results)
        if data is None:
            self._failed = (key, attempt)
            np.random.seed(derive_seeds(*values, -1)[1])  # _rand_another
        return data

    def __repr__(self) -> str:
        return f'SeededPipeline({self.pipeline!r})'


def seed_pipeline_per_sample(dataset) -> None:
    """Make ``dataset`` run each ``SampleKey``'s pipeline seeded (once).

    Only mmengine ``BaseDataset``s pass the index on to the pipeline (as
    ``sample_idx``); dataset wrappers (Concat/Repeat/ClassBalanced) map it
    to a plain int, so they are refused rather than silently unseeded.
    """
    if not isinstance(dataset, BaseDataset):
        raise TypeError(
            f'per-sample seeding needs an mmengine BaseDataset (it passes '
            f'the sampled index to the pipeline as sample_idx); got '
            f'{type(dataset).__name__}. Dataset wrappers are not supported: '
            f'use mmengine\'s InfiniteSampler for them (augmentation then '
            f'depends on the process, and resume is not exact).')
    if not isinstance(dataset.pipeline, SeededPipeline):
        dataset.pipeline = SeededPipeline(dataset.pipeline)
