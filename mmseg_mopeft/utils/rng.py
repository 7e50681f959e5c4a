"""Random streams that are functions of a few integers, not of history.

Exact resume and layout-independent multi-process training both need every
random draw to follow from values a run can recompute: the seed, the
iteration, the dataset index. ``derive_seeds`` maps such integers to
independent seeds for python's ``random``, numpy and torch;
``seeded_rngs`` runs a block under them and restores the previous states,
so the block leaves no trace on the caller's streams.
"""
import random
from contextlib import contextmanager
from typing import Iterator, Tuple

import numpy as np
import torch


def derive_seeds(*values: int) -> Tuple[int, int, int]:
    """Seeds (python, numpy, torch) that depend on ``values`` only.

    Negative values are taken modulo 2**64 (SeedSequence wants entropy
    >= 0); numpy's legacy seed must be below 2**32, the others use 64 bits.
    """
    entropy = [int(v) % 2**64 for v in values]
    words = np.random.SeedSequence(entropy).generate_state(5)
    python_seed = int(words[0]) << 32 | int(words[1])
    torch_seed = int(words[2]) << 32 | int(words[3])
    return python_seed, int(words[4]), torch_seed


def seed_all(*values: int) -> None:
    """Seed python's ``random``, numpy's global RNG and torch (CPU and
    every CUDA device) from ``values``."""
    python_seed, numpy_seed, torch_seed = derive_seeds(*values)
    random.seed(python_seed)
    np.random.seed(numpy_seed)
    torch.manual_seed(torch_seed)


@contextmanager
def seeded_rngs(*values: int) -> Iterator[None]:
    """Run a block with python, numpy and torch CPU RNGs seeded from
    ``values``; restore their previous states afterwards, also on error.

    CUDA states are left alone: data pipelines run on CPU, and touching
    CUDA would initialise it in every data-loader worker.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    python_seed, numpy_seed, torch_seed = derive_seeds(*values)
    random.seed(python_seed)
    np.random.seed(numpy_seed)
    # torch.manual_seed would also seed CUDA; the CPU generator suffices.
    torch.default_generator.manual_seed(torch_seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)
