"""Small checkpoints that hold only what a run trains, on top of SAM.

With a frozen encoder most of the model is the base SAM file. A PEFT
checkpoint stores the trained tensors only and, per module built on the base
(``SAMViT``, ``SAMMaskDecoderHead``: modules with ``load_sam_checkpoint``),
a record tensor ``<module>.{RECORD_KEY}`` with the base file's path and md5.
The record lives in the state dict because ``_load_from_state_dict`` never
sees the checkpoint's ``meta``; it lets every load path (``load_from``,
``--resume``, ``tools/test.py``, ``init_model``, ``MMSegInferencer``) rebuild
the frozen weights from the base file, and refuse a different base file.
"""
import copy
import hashlib
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

RECORD_KEY = '_peft_base_record'
# Set to 1 to accept a base file whose md5 differs from the recorded one.
ALLOW_MISMATCH_ENV = 'MMSEG_MOPEFT_ALLOW_BASE_MISMATCH'

_md5_cache: Dict[tuple, str] = {}


def file_md5(path: str) -> str:
    """md5 of a file, cached per (path, size, mtime)."""
    stat = os.stat(path)
    key = (osp.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _md5_cache:
        digest = hashlib.md5()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 22), b''):
                digest.update(chunk)
        _md5_cache[key] = digest.hexdigest()
    return _md5_cache[key]


def encode_record(record: dict) -> Tensor:
    """A JSON dict as a uint8 tensor (state dicts hold tensors only)."""
    data = json.dumps(record, sort_keys=True).encode()
    return torch.tensor(list(data), dtype=torch.uint8)


def decode_record(tensor: Tensor) -> dict:
    return json.loads(bytes(tensor.tolist()).decode())


def is_base_backed(module: nn.Module) -> bool:
    """Modules whose frozen weights can be rebuilt from a SAM file."""
    return callable(getattr(module, 'load_sam_checkpoint', None))


def base_checkpoint_of(module: nn.Module) -> Optional[str]:
    """The SAM file of a module's ``init_cfg`` (``type='Pretrained'``)."""
    cfg = getattr(module, 'init_cfg', None)
    if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
        return cfg.get('checkpoint')
    return None


def load_base(module: nn.Module, path: str) -> List[str]:
    """Load the base SAM file into ``module`` in place (through the module's
    own conversion); returns the module's keys the base file lacks."""
    missing: List[str] = []

    def record_missing(_module, incompatible):
        missing[:] = list(incompatible.missing_keys)

    handle = module.register_load_state_dict_post_hook(record_missing)
    try:
        cfg = getattr(module, 'init_cfg', None)
        kwargs = {}
        if isinstance(cfg, dict) and 'prefix' in cfg:
            kwargs['prefix'] = cfg['prefix']
        module.load_sam_checkpoint(path, **kwargs)
    finally:
        handle.remove()
    return missing


def base_record(module: nn.Module) -> Optional[dict]:
    """``dict(path, md5)`` of the module's base file, None without one."""
    path = base_checkpoint_of(module)
    if path is None:
        return None
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{type(module).__name__}: base SAM checkpoint {path!r} (from '
            f'init_cfg) not found; a PEFT checkpoint needs it to record and '
            f'rebuild the frozen weights.')
    return dict(path=path, md5=file_md5(path))


def check_base_md5(path: str, record: dict, owner: str) -> None:
    """Fail (or warn, with the opt-in) when ``path`` is not the base file
    the checkpoint was trained on."""
    md5 = file_md5(path)
    if md5 == record['md5']:
        return
    message = (f'{owner}: the PEFT checkpoint was trained on the base SAM '
               f'file {record["path"]!r} with md5 {record["md5"]}, but the '
               f'base file used now, {path!r}, has md5 {md5}. The frozen '
               f'weights would differ from training.')
    if os.environ.get(ALLOW_MISMATCH_ENV) == '1':
        print_log(message + f' Accepted because {ALLOW_MISMATCH_ENV}=1.',
                  logger='current', level=logging.WARNING)
        return
    raise ValueError(message + f' Use the recorded file, or set '
                     f'{ALLOW_MISMATCH_ENV}=1 to accept this one.')


def fill_missing_from_base(module: nn.Module, state_dict: dict,
                           prefix: str) -> None:
    """Complete a PEFT checkpoint's ``state_dict`` for ``module`` in place.

    Call at the start of ``module._load_from_state_dict``. Without a record
    under ``prefix`` (a full checkpoint) nothing happens. Otherwise the
    record is removed, the base file is checked against its md5 and loaded
    into ``module``, and every frozen key of the module absent from
    ``state_dict`` is added with its base value, so that loading leaves
    nothing missing. A trained parameter it lacks stays missing: the
    checkpoint was saved by another model (e.g. an older head).
    The base file is the module's ``init_cfg`` checkpoint, or the recorded
    path where the config has none (``init_model`` drops the backbone's).
    """
    record = state_dict.pop(prefix + RECORD_KEY, None)
    if record is None:
        return
    record = decode_record(record)
    owner = f'{type(module).__name__} ({prefix.rstrip(".") or "model"})'
    path = base_checkpoint_of(module) or record['path']
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{owner}: base SAM checkpoint {path!r} not found. The PEFT '
            f'checkpoint stores only trained weights and was trained on '
            f'{record["path"]!r} (md5 {record["md5"]}); put that file there '
            f'or set the module\'s init_cfg checkpoint to its location.')
    check_base_md5(path, record, owner)
    not_in_base = set(load_base(module, path))
    own = module.state_dict()
    absent = [k for k in own if prefix + k not in state_dict]
    lost = [k for k in absent if k in not_in_base]
    if lost:
        raise KeyError(
            f'{owner}: {lost} are neither in the PEFT checkpoint nor in the '
            f'base file {path!r}; the checkpoint does not belong to this '
            f'config (e.g. other PEFT methods or number of classes).')
    # a PEFT checkpoint holds every trained tensor: one it lacks stays
    # missing (the checkpoint is of another model), never a base value
    trained = {n for n, p in module.named_parameters() if p.requires_grad}
    for key in absent:
        if key not in trained:
            state_dict[prefix + key] = own[key]


def base_backed_modules(model: nn.Module) -> Dict[str, nn.Module]:
    """Outermost modules of ``model`` that rebuild from a base SAM file,
    by name (``''`` for the model itself)."""
    found: Dict[str, nn.Module] = {}
    for name, module in model.named_modules():
        if any(p == '' or name.startswith(p + '.') for p in found):
            continue
        if is_base_backed(module) and base_checkpoint_of(module):
            found[name] = module
    return found


class BaseSnapshot:
    """Which tensors of a model equal its base SAM file, taken once when
    training starts (after ``load_from``/resume), so that checkpoints can
    leave them out.

    Frozen parameters are compared when the snapshot is taken; they are not
    expected to change while training. Buffers may change, so the base
    values of those left out are kept and compared at every save.
    """

    def __init__(self, model: nn.Module):
        self.records: Dict[str, dict] = {}
        self.same_params = set()
        self.base_buffers: Dict[str, Tensor] = {}
        for name, module in base_backed_modules(model).items():
            prefix = name + '.' if name else ''
            record = base_record(module)
            self.records[prefix] = record
            base = copy.deepcopy(module)
            not_in_base = set(load_base(base, record['path']))
            base_state = base.state_dict()
            buffers = {k for k, _ in module.named_buffers()}
            for key, value in module.state_dict().items():
                if key in not_in_base or not torch.equal(
                        value, base_state[key]):
                    continue
                if key in buffers:
                    self.base_buffers[prefix + key] = value.detach().cpu(
                    ).clone()
                else:
                    self.same_params.add(prefix + key)
            del base

    def meta_record(self) -> dict:
        """``checkpoint['meta']['peft_base']``: ``dict(path, md5)``, or one
        such dict per module name when modules use different files."""
        records = list(self.records.values())
        if all(r == records[0] for r in records):
            return dict(records[0])
        return {p.rstrip('.'): dict(r) for p, r in self.records.items()}

    def prune(self, model: nn.Module, state_dict: Dict[str, Tensor]
              ) -> Dict[str, Tensor]:
        """The part of ``state_dict`` the base file cannot rebuild: trained
        parameters and anything that differs from the base, plus the base
        records."""
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        kept = {}
        for key, value in state_dict.items():
            if key in trainable:
                kept[key] = value
            elif key in self.same_params:
                continue
            elif key in self.base_buffers and torch.equal(
                    value.cpu(), self.base_buffers[key]):
                continue
            else:
                kept[key] = value
        for prefix, record in self.records.items():
            kept[prefix + RECORD_KEY] = encode_record(record)
        return kept


def save_peft_checkpoint(model: nn.Module, filename: str,
                         meta: Optional[dict] = None) -> dict:
    """Save ``model``'s weights as a PEFT checkpoint (what
    ``PEFTCheckpointHook`` writes, without optimizer state); returns it."""
    snapshot = BaseSnapshot(model)
    if not snapshot.records:
        raise ValueError(f'{type(model).__name__} has no module built on a '
                         f'base SAM file (init_cfg Pretrained); save the '
                         f'whole state dict instead.')
    meta = dict(meta or {}, peft_base=snapshot.meta_record())
    checkpoint = dict(
        meta=meta, state_dict=snapshot.prune(model, model.state_dict()))
    torch.save(checkpoint, filename)
    return checkpoint
