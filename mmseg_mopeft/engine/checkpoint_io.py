"""Checkpoint files: written whole, read with errors that name the file.

mmengine writes a checkpoint straight under its final name, so a crash
during the write leaves a truncated file there; and torch.load fails on a
truncated or foreign file with a zip or pickle error that names no file.

* ``AtomicLocalBackend`` (mmengine file backend ``'atomic_local'``) writes
  to a temporary file in the target folder, fsyncs it and renames it onto
  the final name: that name only ever holds a complete file.
* mmengine's local-file checkpoint loader (``CheckpointLoader``, used by
  ``Runner.load_checkpoint``/``resume``, ``load_from``, ``init_model`` and
  ``Pretrained`` init) is replaced by ``load_from_local``, which loads
  the same way and turns failures into ``CheckpointFileError`` naming the
  file and what is wrong with it.
* ``resume_candidates`` lists the checkpoints of a work dir's last run,
  newest first, for ``--resume`` to fall back past broken ones.
"""
import os
import os.path as osp
import re
import uuid
import zipfile
from collections.abc import Mapping
from typing import List, Optional, Tuple

import mmengine
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.runner import CheckpointLoader

ATOMIC_BACKEND = 'atomic_local'
# what CheckpointHook names periodic checkpoints (filename_tmpl default)
_STEP_FILE = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


class CheckpointFileError(RuntimeError):
    """A checkpoint file that cannot be read (truncated, damaged, foreign)."""


class AtomicLocalBackend(LocalBackend):
    """Local files written via a temporary name, fsync and rename."""

    def put(self, obj: bytes, filepath) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        mmengine.mkdir_or_exist(folder)
        tmp = osp.join(
            folder, f'.{osp.basename(filepath)}.{uuid.uuid4().hex[:8]}.tmp')
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):  # our own temporary file, never the target
                os.remove(tmp)
            raise
        _fsync_folder(folder)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _defect(filename: str) -> Optional[str]:
    """Why ``filename`` cannot be a complete torch.save file, from its first
    bytes and its zip index; None when it may be one."""
    with open(filename, 'rb') as f:
        head = f.read(4)
    if not head:
        return 'it is empty (e.g. a crash before anything was written)'
    if head.startswith(b'PK'):  # torch.save's zip format
        if not zipfile.is_zipfile(filename):
            return ('it is incomplete: the zip archive torch.save writes '
                    'ends early (truncated, e.g. by a crash or a full disk '
                    'while it was written)')
        return None
    if head.startswith(b'\x80'):  # a pickle: torch.save's legacy format
        return None
    return f'it is not a file written by torch.save (it starts with {head})'


def read_checkpoint(filename: str, map_location=None, mmap: bool = False):
    """``torch.load`` with mmengine's defaults; failures name the file.

    ``mmap=True`` (zip checkpoints only) reads the structure without the
    tensor data: a cheap completeness check.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    where = f'Checkpoint {filename} ({osp.getsize(filename):,} bytes)'
    defect = _defect(filename)
    if defect:
        raise CheckpointFileError(f'{where} cannot be read: {defect}.')
    try:
        checkpoint = torch.load(
            filename, map_location=map_location, mmap=mmap)
    except Exception as err:
        reason = (str(err).strip().splitlines() or [''])[0]
        reason = f'{type(err).__name__}: {reason}'.rstrip(': ')
        if 'Weights only load failed' in reason:
            raise CheckpointFileError(
                f'{where} holds objects that safe loading (torch.load '
                f'weights_only=True) refuses; it is no checkpoint of this '
                f'project or of mmengine ({reason}).') from err
        raise CheckpointFileError(
            f'{where} cannot be read: it is damaged or not a file written '
            f'by torch.save ({reason}).') from err
    if not isinstance(checkpoint, Mapping):
        raise CheckpointFileError(
            f'{where} is not a checkpoint: it holds a '
            f'{type(checkpoint).__name__}, not a dict of weights (with '
            f'mmengine, {{"state_dict": ..., "meta": ...}}).')
    return checkpoint


def load_from_local(filename: str, map_location=None):
    """mmengine's loader for local paths, with ``read_checkpoint``'s errors
    (the name keeps mmengine's log line: "Loads checkpoint by local
    backend")."""
    return read_checkpoint(filename, map_location=map_location)


def check_readable(filename: str) -> None:
    """Raise ``CheckpointFileError``/``FileNotFoundError`` unless
    ``filename`` loads; zip checkpoints are memory-mapped, so this costs
    little more than reading the file's index."""
    read_checkpoint(
        filename, map_location='cpu', mmap=zipfile.is_zipfile(filename))


def _step_of(path: str) -> int:
    match = _STEP_FILE.match(osp.basename(path))
    return int(match.group(1)) if match else -1


def resume_candidates(work_dir: str) -> Tuple[List[str], Optional[str]]:
    """Checkpoints to resume from, newest first, and the ``last_checkpoint``
    record's target (None without one).

    The record names the newest checkpoint of the last run in ``work_dir``
    (mmengine's auto resume takes it). A later run rewrites the record, not
    the ``iter_<n>.pth`` files an earlier, longer run left: the highest step
    may be stale. So with a record the candidates are its target, then the
    ``iter_<n>.pth``/``epoch_<n>.pth`` files of ``work_dir`` with a lower
    step (that run's earlier checkpoints, the fallback when the target is
    truncated); a missing target is replaced by the work dir's file of the
    same name (a moved work dir). Without a record: all those files, by
    step, then modification time.
    """
    if not osp.isdir(work_dir):
        return [], None
    paths = [
        osp.join(work_dir, name) for name in os.listdir(work_dir)
        if _STEP_FILE.match(name)
    ]
    pointer, target, first = osp.join(work_dir, 'last_checkpoint'), None, []
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip() or None
    if target is not None:
        limit, name = _step_of(target), osp.basename(target)
        if osp.isfile(target):
            first = [target]
            paths = [p for p in paths if _step_of(p) < limit]
        else:
            paths = [
                p for p in paths
                if _step_of(p) < limit or osp.basename(p) == name
            ]
    return first + sorted(
        paths, key=lambda p: (_step_of(p), osp.getmtime(p)),
        reverse=True), target


def register_checkpoint_io() -> None:
    """Register the atomic backend and the local loader (idempotent)."""
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
