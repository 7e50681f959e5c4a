"""Multi-process training on machines without GPUs.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP wrapper
passes ``device_ids=[local_rank]``; both fail without GPUs. On such machines
we initialise a gloo process group ourselves (the Runner then skips its own
``init_dist``) and wrap the model with ``device_ids=None``.

At exit the process group is destroyed explicitly: a gloo group left to the
interpreter's shutdown can abort a rank ("terminate called without an active
exception") after training has finished, failing the launcher.
"""
import torch
import torch.distributed as dist
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


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the process group (if any)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
