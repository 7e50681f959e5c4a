"""An output folder that a dataset converter owns, file by file.

The converters (``tools/dataset_converters/prepare_mess.py``,
``fair1m_tiles.py``) write into folders that dataset classes list. To keep
those listings trustworthy, every run goes through :class:`ConverterOutput`:

* A manifest (e.g. ``meta.json``) names every file the converter wrote, with
  its size, and the settings it used; it is written last and removed first,
  so it exists only beside a complete output. A re-run with the same
  settings over files that match the manifest exactly does nothing.
* New files are written into a hidden staging folder beside the data
  folders (``<out>/.<writer>.tmp/``), where no dataset class looks, and
  moved into place only once all of them exist.
* Files the converter did not write (not in its manifest nor in the journal
  of an interrupted run) are never deleted or mixed in: the run stops and
  names them, unless the caller passes ``overwrite=True``.
* Files of the converter's input folders are never deleted or replaced, not
  even with ``overwrite=True``: an output folder inside (or equal to) an
  input folder may hold nothing but the converter's own files, and an
  input folder inside the folders it replaces is refused.
"""
import hashlib
import os
import os.path as osp
import shutil
import sys
from typing import Callable, Dict, Iterable, Optional

from mmengine.fileio import dump, load
from mmengine.utils import (scandir, track_iter_progress,
                            track_parallel_progress)


class OutputFolderError(RuntimeError):
    """The output folder holds files this converter did not write."""


def listing_digest(folder: str, exclude: Iterable[str] = ()) -> str:
    """SHA-1 of the names, sizes and modification times of all files under
    ``folder`` that are neither hidden nor below a hidden folder (``.git``,
    staging folders), leaving out the paths in ``exclude`` (a converter's
    own output, when it writes into its input folder): changes whenever an
    input file is added, removed, replaced or edited, without reading any
    file."""
    skip = {osp.realpath(p) for p in exclude}
    names = {osp.basename(p) for p in skip}
    digest = hashlib.sha1()
    for path in sorted(_visible_files(folder, skip, names)):
        stat = os.stat(path)
        rel = osp.relpath(path, folder)
        digest.update(f'{rel}\t{stat.st_size}\t{stat.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def _visible_files(folder: str, skip: set, names: set):
    """Paths of the files below ``folder`` as mmengine's ``scandir`` finds
    them, but not descending into hidden folders nor into ``skip``."""
    for entry in os.scandir(folder):
        if entry.name.startswith('.') or (
                entry.name in names and osp.realpath(entry.path) in skip):
            continue
        if entry.is_file():
            yield entry.path
        elif entry.is_dir():
            yield from _visible_files(entry.path, skip, names)


def _within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (links resolved)."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def run_with_progress(func: Callable, tasks: list, nproc: int = 1) -> list:
    """``[func(task) for task in tasks]``, in order, in ``nproc``
    processes, with mmengine's progress bar."""
    if not tasks:
        return []
    if nproc > 1:  # sys.stdout of now, not of import time
        return track_parallel_progress(
            func, tasks, min(nproc, len(tasks)), file=sys.stdout)
    return [func(task) for task in track_iter_progress(tasks, file=sys.stdout)]


def _example(paths: Iterable[str], count: int = 10) -> str:
    paths = sorted(paths)
    more = f' and {len(paths) - count} more' if len(paths) > count else ''
    return f'{paths[:count]}{more}'


class ConverterOutput:
    """Stage, verify and commit one converter's output under ``root``.

    Args:
        root: The output folder.
        subdirs: Folders below ``root`` whose files the converter writes
            (and that datasets list).
        manifest: File name of the manifest below ``root``.
        owner: Identity stored in the manifest; a manifest with another
            identity (e.g. another dataset's) is not ours.
        inputs: Folders the converter reads; none of their files is ever
            removed or replaced (OutputFolderError instead).
    """

    def __init__(self,
                 root: str,
                 subdirs: Iterable[str],
                 manifest: str,
                 owner: Dict[str, str],
                 inputs: Iterable[str] = ()):
        self.root = root
        self.subdirs = tuple(subdirs)
        self.manifest_path = osp.join(root, manifest)
        self.owner = dict(owner)
        self.stage = osp.join(root, f'.{owner["writer"]}.tmp')
        self._journal = osp.join(self.stage, 'journal.json')
        self._remove = set()
        self.inputs = tuple(inputs)
        for folder in self.inputs:
            replaced = [p for p in self.paths() if _within(folder, p)]
            if replaced:
                raise OutputFolderError(
                    f'the input folder {folder} lies in {replaced[0]}, which '
                    f'this converter replaces (output folder {root}); '
                    'choose an output folder that does not contain it')

    def paths(self) -> tuple:
        """The folders and the manifest this converter writes, e.g. to
        leave them out of a listing of an input folder holding them."""
        return (*(osp.join(self.root, s) for s in self.subdirs),
                self.manifest_path, self.stage)

    # ----- reading the folder's state -----
    def existing(self) -> Dict[str, int]:
        """``{relative path: size}`` of the files now under ``subdirs``."""
        found = {}
        for sub in self.subdirs:
            folder = osp.join(self.root, sub)
            if osp.isdir(folder):
                for rel in scandir(folder, recursive=True):
                    path = osp.join(folder, rel)
                    found[osp.join(sub, rel)] = osp.getsize(path)
        return found

    def manifest(self) -> Optional[dict]:
        """The manifest if there is one and it is ours; None if absent.
        Raises OutputFolderError for someone else's or an unreadable one."""
        if not osp.isfile(self.manifest_path):
            return None
        try:
            content = load(self.manifest_path, file_format='json')
        except ValueError as err:
            raise OutputFolderError(
                f'{self.manifest_path} is not a readable manifest ({err}); '
                f'{self._advice}') from err
        theirs = {k: content.get(k) for k in self.owner} \
            if isinstance(content, dict) else content
        if theirs != self.owner:
            raise OutputFolderError(
                f'{self.manifest_path} was written for {theirs}, not '
                f'{self.owner}; {self._advice}')
        if not isinstance(content.get('files'), dict):
            raise OutputFolderError(
                f'{self.manifest_path} lists no files (written by an older '
                f'converter version), so its output cannot be verified; '
                f'{self._advice}')
        return content

    def current(self, settings: dict) -> Optional[dict]:
        """The manifest when the output is complete and was made with
        ``settings``: every key of ``settings`` equal in the manifest and
        the files under ``subdirs`` exactly those listed, at their sizes.
        None otherwise (then the output must be rebuilt)."""
        try:
            content = self.manifest()
        except OutputFolderError:
            return None
        if content is None or any(
                content.get(k) != v for k, v in settings.items()):
            return None
        if self.existing() != content['files']:
            return None
        if osp.isdir(self.stage):  # left by a run killed after committing
            shutil.rmtree(self.stage)
        return content

    @property
    def _advice(self) -> str:
        return (f'choose another output folder, or pass overwrite '
                f'(--overwrite) to replace everything under '
                f'{[osp.join(self.root, s) for s in self.subdirs]} and '
                f'{self.manifest_path}')

    # ----- rebuilding -----
    def begin(self, overwrite: bool = False) -> str:
        """Prepare a rebuild; returns the empty staging folder to write into
        (same relative paths as in ``root``). Stops, naming them, when files
        under ``subdirs`` or the manifest are not ours, unless
        ``overwrite``; even then when ``root`` lies in an input folder."""
        owned = set()
        try:
            content = self.manifest()
            if content is not None:
                owned |= set(content['files'])
        except OutputFolderError:
            self._keep_inputs({osp.basename(self.manifest_path)})
            if not overwrite:
                raise
        if osp.isfile(self._journal):  # an interrupted rebuild: its files
            journal = load(self._journal, file_format='json')
            if journal.get('owner') == self.owner:
                owned |= set(journal['files'])
        existing = set(self.existing())
        foreign = existing - owned
        self._keep_inputs(foreign)
        if foreign and not overwrite:
            raise OutputFolderError(
                f'{self.root} holds {len(foreign)} files this converter did '
                f'not write: {_example(foreign)}; {self._advice}')
        self._remove = existing if overwrite else existing & owned
        # what we own (and may delete) survives an interruption from now on
        if osp.isdir(self.stage):
            shutil.rmtree(self.stage)
        os.makedirs(self.stage)
        self._write_journal(owned | self._remove)
        if osp.isfile(self.manifest_path):
            os.remove(self.manifest_path)  # the output is not complete now
        return self.stage

    def _keep_inputs(self, foreign) -> None:
        """Stop when files this converter did not write (``foreign``,
        relative to ``root``) lie in an input folder: they may be input."""
        holding = [f for f in self.inputs if _within(self.root, f)]
        if foreign and holding:
            raise OutputFolderError(
                f'the output folder {self.root} is the input folder '
                f'{holding[0]} or lies in it, and holds {len(foreign)} files '
                f'this converter did not write: {_example(foreign)}. They '
                'may be input files, so they are never removed or replaced, '
                'not even with overwrite (--overwrite): choose an output '
                'folder outside the input folder, or move them away')

    def commit(self, files: Dict[str, int], manifest: dict) -> dict:
        """Replace the old output by the staged ``files`` (``{relative
        path: size}``, all under the staging folder) and write the
        manifest, last. Returns the manifest as written."""
        for rel, size in files.items():
            staged = osp.join(self.stage, rel)
            if not osp.isfile(staged) or osp.getsize(staged) != size:
                raise RuntimeError(f'staged file {staged} is missing or not '
                                   f'{size} bytes')
        owned = set(load(self._journal, file_format='json')['files'])
        self._write_journal(owned | set(files))
        for rel in sorted(self._remove - set(files)):
            path = osp.join(self.root, rel)
            if osp.isfile(path):
                os.remove(path)
            self._prune(osp.dirname(path))
        for rel in sorted(files):
            path = osp.join(self.root, rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            os.replace(osp.join(self.stage, rel), path)
        content = dict(manifest, **self.owner, files=dict(sorted(
            files.items())))
        tmp = osp.join(self.stage, 'manifest.json')
        dump(content, tmp, file_format='json', indent=2)
        os.replace(tmp, self.manifest_path)
        shutil.rmtree(self.stage)
        self._remove = set()
        return load(self.manifest_path, file_format='json')

    def _write_journal(self, files) -> None:
        tmp = self._journal + '.new'
        dump(dict(owner=self.owner, files=sorted(files)), tmp,
             file_format='json')
        os.replace(tmp, self._journal)

    def _prune(self, folder: str) -> None:
        """Remove ``folder`` and its parents below ``root`` while empty."""
        root = osp.abspath(self.root)
        folder = osp.abspath(folder)
        while folder.startswith(root + os.sep) and osp.isdir(folder) \
                and not os.listdir(folder):
            os.rmdir(folder)
            folder = osp.dirname(folder)
