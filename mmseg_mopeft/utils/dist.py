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


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the process group (if any)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
