"""Resuming mmengine checkpoints with torch >= 2.6.

torch.load defaults to ``weights_only=True`` since torch 2.6, and mmengine
0.10 checkpoints hold a few non-tensor objects: the message hub's
``HistoryBuffer`` (which pickles its statistic methods as
``getattr(HistoryBuffer, 'mean')``), numpy arrays and scalars. So ``--resume``
fails. Rather than turning ``weights_only`` off, which would let any
checkpoint execute code, we allow exactly those objects; ``getattr`` is
replaced by a stand-in that only returns public HistoryBuffer methods.
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_globals():
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        from numpy._core import multiarray
    else:
        from numpy.core import multiarray
    dtypes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
            *dtypes]


def _history_buffer_getattr(owner, name):
    """``getattr`` as seen by the unpickler: HistoryBuffer methods only."""
    if owner is HistoryBuffer and not name.startswith('_') and callable(
            getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')


def allow_mmengine_checkpoints():
    """Register mmengine's checkpoint objects as torch safe globals."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # older torch does not restrict torch.load
        add([
            HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'),
            *_numpy_globals()
        ])
