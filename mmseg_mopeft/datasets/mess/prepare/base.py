"""Turning a MESS dataset, as its authors distribute it, into our layout.

Every preparer (one module per dataset) says where the raw files are, how
images and labels pair up, which split each pair belongs to and how a label
converts to class ids. ``prepare`` then writes, for all datasets alike::

    <out>/img_dir/<split>/<stem><img_suffix>
    <out>/ann_dir/<split>/<stem>.png        (uint8 class ids, 255 = ignore)
    <out>/meta.json                         (split policy, counts, version)

Files are written to a temporary name and renamed, so no half-written file
exists. ``meta.json`` is written last: a re-run finding it with the same
converter version skips files already there; anything else (an interrupted
run, another version) is removed and written again.
"""
import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.registry import Registry

PREPARERS = Registry('mess preparer')
SPLITS = ('train', 'val', 'test')


@dataclass
class Pair:
    """One image and its label file(s), named ``stem`` in the output."""
    stem: str
    image: str
    label: object  # a path, or whatever ``read_label`` needs


class RawDataError(FileNotFoundError):
    """The raw dataset is missing or incomplete."""


class MESSPreparer:
    """Base class: subclasses set the class attributes and ``collect``.

    Attributes:
        key: MESS dataset key (also the default output folder name).
        raw_name: Folder name the authors' archive unpacks to.
        download: Where to get the raw data (printed when it is missing).
        required: Paths below the raw folder that must exist.
        img_suffix: Suffix of the written images.
        tile_size: Cut images and labels into tiles of this size (MESS's
            tiling: row-major, no overlap, edge tiles padded with image 0 /
            label 255, named ``<stem>_<k>``).
        split_policy: One sentence for ``meta.json`` and the README.
    """
    key: str = ''
    raw_name: str = ''
    download: str = ''
    required: Sequence[str] = ()
    img_suffix: str = '.png'
    tile_size: Optional[int] = None
    split_policy: str = ''

    def check(self, raw: str) -> None:
        """Fail early, naming every missing path and the download page."""
        missing = [p for p in ('', *self.required)
                   if not osp.exists(osp.join(raw, p))]
        if missing:
            raise RawDataError(
                f'{self.key}: raw data incomplete under {raw!r}; missing: '
                f'{[osp.join(raw, p) for p in missing]}. Get the dataset from '
                f'{self.download} and pass the folder it unpacks to '
                f'({self.raw_name!r}).')

    def collect(self, raw: str) -> Dict[str, List[Pair]]:
        """Pairs per split ('train', 'val', 'test')."""
        raise NotImplementedError

    def read_image(self, path: str) -> np.ndarray:
        """(H, W, 3) uint8 in BGR order (as mmcv writes it)."""
        return mmcv.imread(path, flag='color')

    def read_label(self, label) -> np.ndarray:
        """(H, W) uint8 class ids with 255 = ignore."""
        raise NotImplementedError


def tile(array: np.ndarray, size: int, pad_value: int) -> List[np.ndarray]:
    """Row-major, non-overlapping ``size`` x ``size`` tiles; the right and
    bottom edge tiles are padded (never resized or shifted)."""
    h, w = array.shape[:2]
    rows, cols = -(-h // size), -(-w // size)
    padding = [(0, rows * size - h), (0, cols * size - w)]
    padding += [(0, 0)] * (array.ndim - 2)
    padded = np.pad(array, padding, constant_values=pad_value)
    return [
        padded[r * size:(r + 1) * size, c * size:(c + 1) * size]
        for r in range(rows) for c in range(cols)
    ]


def pair_by_stem(images: Dict[str, str], labels: Dict[str, object],
                 where: str) -> Tuple[List[Pair], Dict[str, List[str]]]:
    """Pair images and labels by stem. Unpaired files are returned (for
    ``meta.json``) and reported, never dropped silently."""
    pairs = [Pair(s, images[s], labels[s]) for s in sorted(images)
             if s in labels]
    unpaired = dict(
        images_without_label=sorted(set(images) - set(labels)),
        labels_without_image=sorted(set(labels) - set(images)))
    for kind, stems in unpaired.items():
        if stems:
            print_log(f'{where}: {len(stems)} {kind.replace("_", " ")}: '
                      f'{stems[:10]}{" ..." if len(stems) > 10 else ""}',
                      logger='current', level=30)
    return pairs, unpaired


def carve(pairs: List[Pair], fraction: float,
          seed: int = 0) -> Tuple[List[Pair], List[Pair]]:
    """Split off ``fraction`` of ``pairs`` (at least one), deterministically:
    a seeded permutation of the pairs sorted by stem. Returns (rest, carved).
    """
    ordered = sorted(pairs, key=lambda p: p.stem)
    count = max(1, round(len(ordered) * fraction)) if ordered else 0
    picked = set(np.random.RandomState(seed).permutation(len(ordered))[:count])
    rest = [p for i, p in enumerate(ordered) if i not in picked]
    carved = [p for i, p in enumerate(ordered) if i in picked]
    return rest, carved


def _write_atomic(path: str, write) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.part{osp.splitext(path)[1]}'
    write(tmp)
    os.replace(tmp, path)


def prepare(preparer: MESSPreparer,
            raw: str,
            out: str,
            version: str = '1') -> dict:
    """Convert ``raw`` into ``out``; returns the ``meta.json`` content."""
    preparer.check(raw)
    splits = preparer.collect(raw)
    unpaired = splits.pop('unpaired', {})
    seen: Dict[str, str] = {}
    for split in SPLITS:
        for pair in splits.get(split, []):
            if pair.stem in seen:
                raise ValueError(f'{preparer.key}: {pair.stem!r} is in both '
                                 f'{seen[pair.stem]!r} and {split!r}')
            seen[pair.stem] = split

    meta_path = osp.join(out, 'meta.json')
    trusted = False
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            trusted = json.load(f).get('converter_version') == version
    if not trusted:  # unknown or older output: start from scratch
        for sub in ('img_dir', 'ann_dir', 'meta.json'):
            path = osp.join(out, sub)
            if osp.isdir(path):
                shutil.rmtree(path)
            elif osp.isfile(path):
                os.remove(path)

    counts = {}
    for split in SPLITS:
        written = 0
        for pair in splits.get(split, []):
            written += _write_pair(preparer, pair, split, out, trusted)
        counts[split] = written
    meta = dict(
        dataset=preparer.key,
        converter_version=version,
        raw_dir=osp.abspath(raw),
        split_policy=preparer.split_policy,
        source_counts={s: len(splits.get(s, [])) for s in SPLITS},
        counts=counts,
        tile_size=preparer.tile_size,
        img_suffix=preparer.img_suffix,
        unpaired=unpaired)
    _write_atomic(meta_path, lambda p: json.dump(meta, open(p, 'w'), indent=2))
    return meta


def _write_pair(preparer, pair, split, out, trusted) -> int:
    """Write one pair (or its tiles); returns the number of samples."""
    names = [pair.stem]
    if preparer.tile_size is not None or not trusted or not _exists(
            out, split, pair.stem, preparer.img_suffix):
        image = preparer.read_image(pair.image)
        label = preparer.read_label(pair.label)
        if image.shape[:2] != label.shape[:2]:
            raise ValueError(f'{preparer.key}: image {pair.image} is '
                             f'{image.shape[:2]} but its label is '
                             f'{label.shape[:2]}')
        samples = [(pair.stem, image, label)]
        if preparer.tile_size is not None:
            size = preparer.tile_size
            samples = [(f'{pair.stem}_{k}', img, lab) for k, (img, lab) in
                       enumerate(zip(tile(image, size, 0),
                                     tile(label, size, 255)))]
        names = []
        for stem, img, lab in samples:
            names.append(stem)
            if trusted and _exists(out, split, stem, preparer.img_suffix):
                continue
            _write_atomic(
                osp.join(out, 'img_dir', split, stem + preparer.img_suffix),
                lambda p, img=img: mmcv.imwrite(img, p))
            _write_atomic(
                osp.join(out, 'ann_dir', split, stem + '.png'),
                lambda p, lab=lab: mmcv.imwrite(lab.astype(np.uint8), p))
    return len(names)


def _exists(out, split, stem, img_suffix) -> bool:
    return osp.isfile(osp.join(out, 'img_dir', split, stem + img_suffix)) \
        and osp.isfile(osp.join(out, 'ann_dir', split, stem + '.png'))
