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
* A file the manifest lists is the converter's only at the size listed:
  one edited since is not its own any more.
* Files of the converter's input folders are never deleted or replaced, not
  even with ``overwrite=True``: a file it did not write whose folder, or
  whose real path (a link's target), lies in an input folder stops the run,
  so an output folder inside (or equal to) an input folder may hold nothing
  but the converter's own files; an input folder inside the folders it
  replaces is refused, and so is a link to a folder among them (files would
  be written and deleted through it, outside the output folder).
* The staging folder is deleted only when its journal names this converter
  (or it is empty); anything else there stops the run, named.
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


def _of_folder(path: str, folder: str) -> bool:
    """Whether the entry ``path`` belongs to ``folder``: it lies there
    (its parent resolved) or, being a link, leads there."""
    return _within(osp.dirname(path), folder) or _within(path, folder)


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
        if osp.isdir(self.stage) and self._stage_is_ours():
            shutil.rmtree(self.stage)  # left by a run killed after committing
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
        ``overwrite``; even then when they are files of an input folder,
        when a folder there is a link, or when the staging folder is not
        ours. Nothing is changed before these checks."""
        self._refuse_linked_folders()
        self._refuse_foreign_stage()
        listed = {}
        try:
            content = self.manifest()
            if content is not None:
                listed = content['files']
        except OutputFolderError:
            self._keep_inputs({osp.basename(self.manifest_path)})
            if not overwrite:
                raise
        journal = self._read_journal() or dict(files=[])
        existing = self.existing()
        # a file the manifest lists is ours at its size only (a journal
        # beside a manifest is one of a run killed before changing a file
        # or after writing that manifest); a link is never a file we wrote
        owned = {f for f in journal['files'] if f not in listed}
        owned |= {f for f, size in listed.items() if existing.get(f) == size}
        owned = {f for f in owned
                 if not osp.islink(osp.join(self.root, f))}
        foreign = set(existing) - owned
        self._keep_inputs(foreign)
        if foreign and not overwrite:
            edited = foreign & set(listed)
            changed = (f'; {len(edited)} of them ({_example(edited)}) were '
                       f'written by it but have changed since (their size '
                       f'differs from {self.manifest_path})' if edited else '')
            raise OutputFolderError(
                f'{self.root} holds {len(foreign)} files this converter did '
                f'not write: {_example(foreign)}{changed}; {self._advice}')
        self._remove = set(existing) if overwrite else set(existing) & owned
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
        relative to ``root``) belong to an input folder (lie in it, or
        lead into it as links): they are, or may be, input files."""
        for folder in self.inputs:
            held = [f for f in foreign
                    if _of_folder(osp.join(self.root, f), folder)]
            if held:
                raise OutputFolderError(
                    f'the output folder {self.root} holds {len(held)} files '
                    f'this converter did not write that belong to its input '
                    f'folder {folder} (they lie there, or are links into '
                    f'it): {_example(held)}. They are input files of this '
                    'run, so they are never removed or replaced, not even '
                    'with overwrite (--overwrite): choose an output folder '
                    'outside the input folder, or move them away')

    def _refuse_linked_folders(self) -> None:
        """Stop at a link to a folder under (or as one of) ``subdirs``:
        files would be written, and with overwrite deleted, through it in
        a folder outside ``root``, maybe an input folder."""
        for link in self._linked_folders():
            target = osp.realpath(link)
            files = list(scandir(target, recursive=True)) \
                if osp.isdir(target) else []
            held = f'{len(files)} files ({_example(files, 3)})'
            inputs = [f for f in self.inputs if _within(target, f)]
            where = (f'in the input folder {inputs[0]}: its {held} are '
                     'input files of this run' if inputs else
                     f'outside the output folder {self.root}, holding {held}')
            raise OutputFolderError(
                f'{link} is a link to {target}, {where}. This converter '
                'never writes or removes files through a link, not even '
                'with overwrite (--overwrite): remove the link (not its '
                'target) or choose another output folder')

    def _linked_folders(self) -> list:
        """Links (dangling ones too) among ``subdirs`` and below them."""
        links = []
        for sub in self.subdirs:
            top = osp.join(self.root, sub)
            if osp.islink(top):
                links.append(top)
                continue
            for folder, dirs, _ in os.walk(top):
                links += [osp.join(folder, d) for d in dirs
                          if osp.islink(osp.join(folder, d))]
        return links

    def _read_journal(self) -> Optional[dict]:
        """The staging folder's journal if it is a readable one of ours."""
        try:
            journal = load(self._journal, file_format='json')
        except (OSError, ValueError):
            return None
        if isinstance(journal, dict) and journal.get('owner') == self.owner \
                and isinstance(journal.get('files'), list):
            return journal
        return None

    def _stage_is_ours(self) -> bool:
        """Whether the staging folder may be deleted: a folder (not a
        link) that is empty or whose journal names this converter."""
        return not osp.islink(self.stage) and osp.isdir(self.stage) and (
            not os.listdir(self.stage) or self._read_journal() is not None)

    def _refuse_foreign_stage(self) -> None:
        """Stop when ``stage`` exists but is not ours: someone else's files
        there are never deleted, not even with overwrite."""
        if not osp.lexists(self.stage) or self._stage_is_ours():
            return
        if osp.islink(self.stage) or not osp.isdir(self.stage):
            what = 'is a link or a file, not a folder of this converter'
        else:
            found = [osp.relpath(osp.join(d, n), self.stage)
                     for d, _, names in os.walk(self.stage) for n in names]
            what = (f'holds {len(found)} files ({_example(found, 5)}) '
                    f'but no journal naming this converter ({self.owner})')
        raise OutputFolderError(
            f'{self.stage}, where this converter stages its output, {what}: '
            'it is not removed, not even with overwrite (--overwrite); '
            'move it away or choose another output folder')

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
