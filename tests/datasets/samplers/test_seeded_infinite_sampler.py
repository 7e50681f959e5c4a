"""SeededInfiniteSampler: mmengine's index stream, tagged with seed and
pass; each sample's pipeline draws depend on (seed, pass, index) only."""
import itertools
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset, InfiniteSampler

from mmseg_mopeft.datasets.samplers import (SampleKey, SeededInfiniteSampler,
                                            SeededPipeline)


class _Draws:
    """A transform that records one draw from each global RNG."""

    def __call__(self, results):
        results['draws'] = (random.random(), np.random.rand(),
                            torch.rand(()).item())
        return results


class _ToyDataset(BaseDataset):

    def load_data_list(self):
        return [dict(value=i) for i in range(self.metainfo['size'])]


def _dataset(size=5, pipeline=None):
    return _ToyDataset(
        metainfo=dict(size=size), pipeline=pipeline or [_Draws()])


def _take(sampler, count):
    return list(itertools.islice(iter(sampler), count))


@pytest.mark.parametrize('shuffle', [True, False])
def test_same_indices_as_mmengine_with_pass_and_seed(shuffle):
    seeded = SeededInfiniteSampler(_dataset(), shuffle=shuffle, seed=7)
    stock = InfiniteSampler(_dataset(), shuffle=shuffle, seed=7)
    keys = _take(seeded, 12)
    assert keys == _take(stock, 12)
    assert all(isinstance(k, SampleKey) and k.seed == 7 for k in keys)
    assert [k.pass_index for k in keys] == [0] * 5 + [1] * 5 + [2] * 2
    assert sorted(keys[:5]) == sorted(keys[5:10]) == list(range(5))


def test_ranks_share_the_stream_and_split_it(monkeypatch):
    import mmengine.dataset.sampler as sampler_module
    streams = []
    for rank, world_size in ((0, 2), (1, 2), (0, 1)):
        monkeypatch.setattr(sampler_module, 'get_dist_info',
                            lambda r=rank, w=world_size: (r, w))
        sampler = SeededInfiniteSampler(_dataset(), seed=3)
        streams.append(_take(sampler, 5 * (3 - world_size)))
    rank0, rank1, whole = streams
    assert rank0 == whole[0::2] and rank1 == whole[1::2]
    assert [k.pass_index for k in rank0 + rank1] == [
        k.pass_index for k in whole[0::2] + whole[1::2]
    ]


def test_draws_depend_on_seed_pass_and_index_only():
    dataset = _dataset()
    SeededInfiniteSampler(dataset, seed=0)
    assert isinstance(dataset.pipeline, SeededPipeline)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    state = (random.getstate(), np.random.get_state()[1].copy(),
             torch.get_rng_state())
    first = dataset[SampleKey(2, seed=0, pass_index=0)]
    # The caller's streams are left exactly as they were.
    assert random.getstate() == state[0]
    assert np.array_equal(np.random.get_state()[1], state[1])
    assert torch.equal(torch.get_rng_state(), state[2])
    torch.rand(100), np.random.rand(7)  # other history in between
    again = dataset[SampleKey(2, seed=0, pass_index=0)]
    assert first['draws'] == again['draws']
    assert first['sample_idx'] == 2 and type(first['sample_idx']) is int
    others = [
        dataset[SampleKey(3, seed=0, pass_index=0)]['draws'],
        dataset[SampleKey(2, seed=0, pass_index=1)]['draws'],
        dataset[SampleKey(2, seed=1, pass_index=0)]['draws'],
    ]
    for draws in others:  # every stream and every draw differs
        assert all(a != b for a, b in zip(draws, first['draws']))


def test_sample_key_survives_pickling_to_workers():
    key = pickle.loads(pickle.dumps(SampleKey(4, seed=9, pass_index=2)))
    assert (int(key), key.seed, key.pass_index) == (4, 9, 2)
    assert isinstance(key, SampleKey)


def test_refetch_after_none_is_deterministic():
    """mmengine replaces a sample whose pipeline returns None by a random
    other one; which one, and its draws, follow from the failed key."""

    def drop_zero(results):
        return None if results['value'] == 0 else results

    dataset = _dataset(pipeline=[drop_zero, _Draws()])
    SeededInfiniteSampler(dataset, seed=0)
    results = []
    for history in (3, 11):
        torch.rand(history), np.random.rand(history)
        results.append(dataset[SampleKey(0, seed=0, pass_index=0)])
    assert results[0]['value'] != 0
    assert results[0]['sample_idx'] == results[1]['sample_idx']
    assert results[0]['draws'] == results[1]['draws']


def test_dataset_wrappers_are_refused():
    from mmengine.dataset import ConcatDataset
    wrapped = ConcatDataset([_dataset(), _dataset()])
    with pytest.raises(TypeError, match='ConcatDataset.*InfiniteSampler'):
        SeededInfiniteSampler(wrapped, seed=0)


def test_reseed_restarts_the_stream_with_the_new_seed():
    """A resumed run's seed arrives after the sampler is built."""
    sampler = SeededInfiniteSampler(_dataset(), seed=1)
    before = iter(sampler)
    _take(before, 3)
    sampler.reseed(5)
    keys = _take(sampler, 7)
    assert keys == _take(SeededInfiniteSampler(_dataset(), seed=5), 7)
    assert all(k.seed == 5 for k in keys) and keys[0].pass_index == 0
