"""The base class of the MESS datasets: the facts each dataset declares, and
the checks that the folder it reads is a finished preparation."""
import json
import logging
import os.path as osp
from typing import Optional, Tuple

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .facts import check_facts
from .prepared import (DatasetNotPreparedError, is_temporary, prepare_command,
                       prepared_splits, test_only)


@DATASETS.register_module()
class MESSDataset(BaseSegDataset):
    """A MESS benchmark dataset as ``prepare_mess.py`` writes it::

        <root>/img_dir/{train,val,test}/<stem><img_suffix>
        <root>/ann_dir/{train,val,test}/<stem><seg_map_suffix>  (ids, 255)
        <root>/meta.json                                         (last)

    A subclass, one file per dataset (``datasets/mess/<key>.py``), is the
    one home of that dataset's facts: ``key`` (its name in configs, the
    converter and result tables), ``img_suffix`` / ``seg_map_suffix`` (the
    preparer writes what the class reads) and ``METAINFO`` with
    ``dataset_name``, ``domain``, ``classes``, ``palette`` and MESS's
    ``classes_of_interest`` (for CoI-mIoU). They are checked when the class
    is defined (``facts.py``).

    Before listing samples the folder is checked: it must hold a
    ``meta.json`` of this dataset that is not marked incomplete, and a
    train/val split must exist (an output prepared from the evaluation split
    only has none); every failure names the folder and the command that
    prepares it. Temporary files (``*.part.*``, anything below a hidden
    folder) are never samples. ``check_prepared=False`` reads a folder in
    this layout that ``prepare_mess.py`` did not write.

    A config selecting a subset of the classes (``metainfo=dict(classes=
    ...)``) gets ``classes_of_interest`` re-indexed like the labels (mmseg's
    ``label_map``); classes of interest left out are dropped, and when none
    is left the tuple is empty and ``MESSIoUMetric`` reports no CoI-mIoU
    (a warning says so). ``classes_of_interest`` given in ``metainfo`` are
    taken as indices into the classes given there.
    """
    key = ''
    img_suffix = '.png'
    seg_map_suffix = '.png'

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.key:
            check_facts(cls)

    def __init__(self,
                 img_suffix: Optional[str] = None,
                 seg_map_suffix: Optional[str] = None,
                 check_prepared: bool = True,
                 **kwargs):
        self.check_prepared = check_prepared
        if kwargs.pop('reduce_zero_label', False):
            raise ValueError(
                f'{type(self).__name__}: reduce_zero_label=True would '
                f'drop class 0 ({self.METAINFO["classes"][0]!r}) and shift '
                f'the others; prepared MESS labels already start at class '
                f'0. To leave classes out, give a class subset: metainfo='
                f'dict(classes=...).')
        cls = type(self)
        super().__init__(
            img_suffix=cls.img_suffix if img_suffix is None else img_suffix,
            seg_map_suffix=cls.seg_map_suffix
            if seg_map_suffix is None else seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)
        if 'classes_of_interest' not in (kwargs.get('metainfo') or {}):
            self._reindex_classes_of_interest()

    def _reindex_classes_of_interest(self) -> None:
        """Make the declared (full class list) indices point at the same
        classes in the selected ones, as ``label_map`` does for labels."""
        declared = self.METAINFO.get('classes_of_interest')
        if not self.label_map or declared is None:
            return
        kept = tuple(self.label_map[i] for i in declared
                     if self.label_map.get(i, 255) != 255)
        self._metainfo['classes_of_interest'] = kept
        if len(kept) < len(declared):
            names = self.METAINFO['classes']
            dropped = [names[i] for i in declared
                       if self.label_map.get(i, 255) == 255]
            none = '' if kept else '; no CoI-mIoU is reported'
            print_log(
                f'{self._name}: classes of interest {dropped} are not among '
                f'the selected classes{none}',
                logger='current', level=logging.WARNING)

    def load_data_list(self):
        img_dir = self.data_prefix.get('img_path', '') or ''
        meta = self._check_prepared(img_dir) if self.check_prepared else None
        if self.backend_args is None and not osp.isdir(img_dir):
            raise DatasetNotPreparedError(
                f'{self._name}: no folder {img_dir!r}. ' +
                self._how_to_prepare(self._prepared_root(img_dir)[0]))
        data_list = [
            info for info in super().load_data_list()
            if not is_temporary(osp.relpath(info['img_path'], img_dir))
        ]
        if not data_list:
            raise DatasetNotPreparedError(
                f'{self._name}: no images ending in {self.img_suffix!r} '
                f'under {img_dir!r}. ' + self._how_to_prepare(
                    self._prepared_root(img_dir)[0] or img_dir))
        unlabelled = [
            info['img_path'] for info in data_list
            if 'seg_map_path' in info and not osp.isfile(info['seg_map_path'])
        ]
        if unlabelled and self.backend_args is None:
            raise DatasetNotPreparedError(
                f'{self._name}: {len(unlabelled)} images in {img_dir!r} have '
                f'no label in {self.data_prefix.get("seg_map_path")!r}, '
                f'e.g. {unlabelled[:3]}; the output is incomplete. ' +
                self._how_to_prepare(self._prepared_root(img_dir)[0]))
        if meta is not None and isinstance(meta.get('files'), dict) \
                and self._prepared_root(img_dir)[1]:
            self._check_files(data_list, img_dir, meta['files'])
        return data_list

    def _check_files(self, data_list, img_dir: str, files: dict) -> None:
        """The split's images and labels are exactly those ``meta.json``
        lists, at the sizes it records."""
        root, split = self._prepared_root(img_dir)

        def rel(path):
            return osp.relpath(path, root).replace(osp.sep, '/')

        listed = {rel(info['img_path']): info for info in data_list}
        expected = {
            f.replace(osp.sep, '/')
            for f in files
            if f.replace(osp.sep, '/').startswith(f'img_dir/{split}/')
            and f.endswith(self.img_suffix)
        }
        problems = []
        extra = sorted(set(listed) - expected)
        if extra:
            problems.append(f'{len(extra)} images not written by '
                            f'prepare_mess.py, e.g. {extra[:3]}')
        missing = sorted(expected - set(listed))
        if missing:
            problems.append(f'{len(missing)} images it wrote are gone, e.g. '
                            f'{missing[:3]}')
        sizes = {k.replace(osp.sep, '/'): v for k, v in files.items()}
        changed = [
            rel(path) for info in listed.values()
            for path in (info['img_path'], info.get('seg_map_path'))
            if path is not None and rel(path) in sizes
            and osp.getsize(path) != sizes[rel(path)]
        ]
        if changed:
            problems.append(f'{len(changed)} files changed size since, e.g. '
                            f'{changed[:3]}')
        if problems:
            raise self._not_prepared(
                root, f'its {split!r} split differs from meta.json: ' +
                '; '.join(problems))

    @property
    def _name(self) -> str:
        return f'{type(self).__name__} ({self.key or "no key"})'

    def _prepared_root(self, img_dir: str) -> Tuple[Optional[str], str]:
        """(root, split) of ``<root>/img_dir/<split>``; (data_root, '') when
        ``img_dir`` is laid out otherwise."""
        img_dir = osp.normpath(img_dir)
        parent = osp.dirname(img_dir)
        if osp.basename(parent) == 'img_dir':
            return osp.dirname(parent), osp.basename(img_dir)
        return self.data_root, ''

    def _how_to_prepare(self, root: Optional[str]) -> str:
        return ('Prepare it with\n    ' + prepare_command(self.key, root) +
                '\n(data/README.md says where each raw dataset comes from).')

    def _not_prepared(self, root: str, reason: str):
        return DatasetNotPreparedError(
            f'{self._name}: {root!r} is not a prepared dataset: {reason}. ' +
            self._how_to_prepare(root))

    def _check_prepared(self, img_dir: str) -> dict:
        """``meta.json`` of the folder ``img_dir`` belongs to, after
        checking that it is a finished output of this dataset holding the
        split of ``img_dir``."""
        root, split = self._prepared_root(img_dir)
        if root is None:
            raise DatasetNotPreparedError(
                f'{self._name}: cannot tell which prepared folder '
                f'{img_dir!r} belongs to (expected <root>/img_dir/<split>, or '
                'a data_root). Pass check_prepared=False to read a folder '
                'that prepare_mess.py did not write.')
        if not osp.isdir(root):
            raise self._not_prepared(root, 'the folder does not exist')
        meta_path = osp.join(root, 'meta.json')
        if not osp.isfile(meta_path):
            raise self._not_prepared(
                root, 'it has no meta.json, which prepare_mess.py writes '
                'last (the preparation never ran, or did not finish; a '
                'folder in this layout written otherwise, e.g. generated '
                'test data, is read with check_prepared=False)')
        try:
            with open(meta_path) as f:
                meta = json.load(f)
        except (OSError, ValueError) as err:
            raise self._not_prepared(root,
                                     f'{meta_path} is unreadable ({err})')
        if not isinstance(meta, dict):
            raise self._not_prepared(root, f'{meta_path} is not a mapping')
        if meta.get('complete') is False or meta.get('incomplete'):
            raise self._not_prepared(
                root, f'{meta_path} marks the output incomplete')
        if self.key and meta.get('dataset', self.key) != self.key:
            raise DatasetNotPreparedError(
                f'{self._name}: {root!r} holds the prepared '
                f'{meta["dataset"]!r} dataset, not {self.key!r} (see '
                f'{meta_path}); point data_root at the {self.key} output. ' +
                self._how_to_prepare(None))
        from .prepare.base import CONVERTER_VERSION  # imports this module
        version = meta.get('converter_version')
        if version != CONVERTER_VERSION:
            raise DatasetNotPreparedError(
                f'{self._name}: {root!r} was prepared by converter version '
                f'{version!r} ({meta_path}), this package writes and reads '
                f'version {CONVERTER_VERSION!r} (the versions differ in the '
                f'files or labels they write); the same command rebuilds '
                f'it. ' + self._how_to_prepare(root))
        if meta.get('img_suffix', self.img_suffix) != self.img_suffix:
            raise DatasetNotPreparedError(
                f'{self._name}: {root!r} was prepared with images ending in '
                f'{meta["img_suffix"]!r}, but this class reads '
                f'{self.img_suffix!r}; prepare it again with this version. ' +
                self._how_to_prepare(root))
        splits = prepared_splits(meta)
        if split in ('train', 'val') and test_only(meta):
            raise DatasetNotPreparedError(
                f'{self.key} was prepared from its evaluation split only; '
                f'train/val do not exist ({meta_path} lists splits '
                f'{splits}), so it can be tested (tools/test.py) but not '
                'trained or validated. To train, prepare it from the full '
                'raw dataset: ' + prepare_command(self.key, root))
        if split and splits is not None and split not in splits:
            raise self._not_prepared(
                root, f'it has no {split!r} split ({meta_path} lists '
                f'{splits})')
        return meta
