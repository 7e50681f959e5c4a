"""Multi-process training on machines without GPUs.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP wrapper
passes ``device_ids=[local_rank]``; both fail without GPUs. On such machines
we initialise a gloo process group ourselves (the Runner then skips its own
``init_dist``) and wrap the model with ``device_ids=None``.

At exit the process group must really be destroyed, its gloo worker threads
joined, while the interpreter is alive. A gloo thread still running when
Python finalises may release a finished collective whose saved thread-local
state holds a Python object; the decref needs the GIL, Python ends the thread
(pthread_exit) inside a noexcept destructor and the rank aborts with
"terminate called without an active exception" (about 1 run in 14), failing
the launcher after a successful run. ``destroy_process_group`` only drops the
registry's references: the group lives on while anything else holds it. Two
things do: the DDP wrapper (the caller frees the runner first) and the default
arguments ``group=group.WORLD`` of ``torch.distributed.nn.functional``, which
DDP imports and which capture the group if imported after
``init_process_group``; importing it here, first, leaves them None.
"""
import gc
import glob
import warnings

import torch
import torch.distributed as dist
import torch.distributed.nn.functional  # noqa: F401  (before any init)
from mmengine.config import Config
from torch import Tensor


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare ``cfg`` for gloo training when launched without GPUs.

    Returns True when it did (the launcher is not 'none' and no GPU exists).
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')  # env:// from torchrun
    env_cfg = cfg.get('env_cfg', {})
    env_cfg['dist_cfg'] = dict(backend='gloo')
    cfg.env_cfg = env_cfg
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    if cfg.get('find_unused_parameters'):
        wrapper.setdefault('find_unused_parameters', True)
    cfg.model_wrapper_cfg = wrapper
    return True


def global_avg_factor(local: Tensor, min_total: float = 0.) -> Tensor:
    """Per-rank loss normaliser for a count summed over all ranks.

    A loss is a sum over the samples of a rank divided by this factor: the
    count summed over all ranks (at least ``min_total``) divided by the
    world size. DDP averages the ranks' gradients, so N ranks with batch b
    then train exactly like one process with batch N x b; each rank's own
    count would weigh ranks with few targets (e.g. background-only images)
    up. mmdet's Mask2Former normalises its mask losses alike
    (``reduce_mean``). Every rank must call it (a collective).
    """
    total = local.detach().clone().float()
    world_size = 1
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(total)
        world_size = dist.get_world_size()
    return total.clamp(min=min_total) / world_size


def gloo_worker_threads() -> int:
    """Live gloo worker threads of this process (Linux; 0 elsewhere)."""
    count = 0
    for comm in glob.glob('/proc/self/task/*/comm'):
        try:
            with open(comm) as f:
                count += f.read().startswith('pt_gloo')
        except OSError:  # the thread ended meanwhile
            pass
    return count


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the process group (if any) and
    check that its gloo threads are gone.

    Free the runner (its DDP model holds the group) before calling this.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    gc.collect()  # the runner and its DDP model, kept by reference cycles
    dist.destroy_process_group()
    if gloo_worker_threads():
        warnings.warn(
            'teardown_distributed: the gloo process group is still referenced '
            'after destroy_process_group, its worker threads still run; the '
            'process may abort at exit ("terminate called without an active '
            'exception"). Free every object that holds the group (the '
            'runner, DDP models) before the teardown.')
