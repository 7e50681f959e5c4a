"""What a dataset class reads from a ``prepare_mess.py`` output: its
``meta.json`` (read defensively: older outputs lack newer fields) and which
files are samples."""
import os.path as osp
from typing import List, Optional

CONVERTER = 'tools/dataset_converters/prepare_mess.py'


class DatasetNotPreparedError(FileNotFoundError):
    """A MESS dataset folder is missing, unfinished or lacks a split; the
    message names the folder and the command that prepares it."""


def is_temporary(rel_path: str) -> bool:
    """True for files a preparer may leave behind while writing: below a
    hidden folder, hidden themselves, or named ``*.part`` / ``*.part.*``."""
    parts = osp.normpath(rel_path).split(osp.sep)
    name = parts[-1]
    return (any(p.startswith('.') and p not in ('.', '..') for p in parts)
            or '.part.' in name or name.endswith('.part'))


def prepared_splits(meta: dict) -> Optional[List[str]]:
    """The splits ``meta.json`` says were written, or None when it does not
    say (``splits`` as a list or a mapping, else ``counts`` > 0)."""
    splits = meta.get('splits')
    if isinstance(splits, dict):
        return sorted(splits)
    if isinstance(splits, (list, tuple)):
        return list(splits)
    counts = meta.get('counts')
    if isinstance(counts, dict):
        return [s for s, n in counts.items() if n]
    return None


def test_only(meta: dict) -> bool:
    """Whether the output holds the evaluation split only (no train/val)."""
    if meta.get('test_only') is True:
        return True
    splits = meta.get('splits')
    if isinstance(splits, (list, tuple, dict)):
        return not {'train', 'val'} & set(splits)
    return False


def prepare_command(key: str, root: Optional[str] = None) -> str:
    """The ``prepare_mess.py`` call that writes ``key`` to ``root`` (its
    default ``data/<key>`` when None), with the raw folder's name."""
    from .prepare import PREPARERS  # the preparers import the dataset facts
    raw = '<raw folder>'
    if key in PREPARERS.module_dict:
        raw = PREPARERS.module_dict[key].raw_name or raw
    command = f'python {CONVERTER} {key or "<key>"} /path/to/{raw}'
    if root is not None and osp.normpath(root) != osp.join('data', key):
        command += f' --out {root}'
    return command
