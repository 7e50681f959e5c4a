"""Turning a MESS dataset, as its authors distribute it, into our layout.

Every preparer (one module per dataset) says where the raw files are, how
images and labels pair up, which split each pair belongs to and how a label
converts to class ids. ``prepare`` then writes, for all datasets alike::

    <out>/img_dir/<split>/<stem><img_suffix>
    <out>/ann_dir/<split>/<stem>.png        (uint8 class ids, 255 = ignore)
    <out>/meta.json                         (split policy, counts, version)

Files are written to a temporary name and renamed, so no half-written file
exists. ``meta.json`` is written last: a re-run finding it with the same
converter version and preparer options skips files already there; anything
else (an interrupted run, another version or option) is removed and written
again.
"""
import glob
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
from PIL import Image

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
        """(H, W, 3) uint8 in BGR order (as mmcv writes it), the pixels as
        stored: an EXIF orientation is not applied, as labels ignore it."""
        image = mmcv.imread(path, flag='color_ignore_orientation')
        if image is None:
            raise ValueError(f'{self.key}: cannot read image {path}')
        return image

    def read_label(self, label) -> np.ndarray:
        """(H, W) uint8 class ids with 255 = ignore."""
        raise NotImplementedError


def read_ids(path: str) -> np.ndarray:
    """A label image's values as stored: a palette PNG gives its indices, a
    grey one its values, an RGB one with equal channels its grey value. A
    colour image is an error naming the file."""
    with Image.open(path) as mask:
        ids = np.array(mask)
    if ids.ndim == 3:
        if (ids[..., :3] != ids[..., :1]).any():
            raise ValueError(f'{path} is a colour image, expected class ids')
        ids = ids[..., 0]
    return ids


def keep_ids(ids: np.ndarray, num_classes: int, first: int = 0) -> np.ndarray:
    """Map stored values ``first .. first + num_classes - 1`` to class ids
    ``0 .. num_classes - 1`` and everything else to 255 (ignore)."""
    lut = np.full(256, 255, np.uint8)
    lut[first:first + num_classes] = np.arange(num_classes)
    return lut[np.minimum(ids, 255)]


def colours_to_ids(bgr: np.ndarray, colours: dict, rows: int = 256):
    """Class ids of an (H, W, 3) BGR colour label by a ``{(r, g, b): id}``
    table; any other colour becomes 255. Processes ``rows`` rows at a time
    so large masks need no full-size temporaries."""
    codes = np.array([r << 16 | g << 8 | b for r, g, b in colours])
    order = np.argsort(codes)
    codes = codes[order]
    ids = np.array(list(colours.values()), np.uint8)[order]
    out = np.empty(bgr.shape[:2], np.uint8)
    for y in range(0, bgr.shape[0], rows):
        block = bgr[y:y + rows].astype(np.int64)
        key = block[..., 2] << 16 | block[..., 1] << 8 | block[..., 0]
        pos = np.minimum(np.searchsorted(codes, key), len(codes) - 1)
        out[y:y + rows] = np.where(codes[pos] == key, ids[pos], 255)
    return out


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


def files_by_stem(pattern: str) -> Dict[str, str]:
    """``{stem: path}`` of the files ``pattern`` matches, the usual way a
    preparer indexes a folder before ``pair_by_stem``."""
    return {osp.splitext(osp.basename(p))[0]: p for p in glob.glob(pattern)}


def pair_by_stem(images: Dict[str, str],
                 labels: Dict[str, object],
                 where: str,
                 unpaired: Optional[Dict[str, List[str]]] = None,
                 prefix: str = '') -> Tuple[List[Pair], Dict[str, List[str]]]:
    """Pair images and labels by stem. Unpaired files are returned (for
    ``meta.json``) and reported, never dropped silently. Given ``unpaired``
    (one dict for all splits), their stems are also appended to its lists
    as ``prefix + stem``, so callers can tell which split they came from."""
    pairs = [Pair(s, images[s], labels[s]) for s in sorted(images)
             if s in labels]
    found = dict(
        images_without_label=sorted(set(images) - set(labels)),
        labels_without_image=sorted(set(labels) - set(images)))
    for kind, stems in found.items():
        if stems:
            print_log(f'{where}: {len(stems)} {kind.replace("_", " ")}: '
                      f'{stems[:10]}{" ..." if len(stems) > 10 else ""}',
                      logger='current', level=30)
        if unpaired is not None:
            unpaired.setdefault(kind, []).extend(f'{prefix}{s}' for s in stems)
    return pairs, found


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
    # instance settings (e.g. composite='rgb') change the output too
    options = json.loads(json.dumps(vars(preparer), default=str))
    trusted = False
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            old = json.load(f)
        trusted = old.get('converter_version') == version and old.get(
            'options', {}) == options
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
        options=options,
        unpaired=unpaired)
    _write_atomic(meta_path, lambda p: _dump_json(meta, p))
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


def _dump_json(obj, path) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)


def _exists(out, split, stem, img_suffix) -> bool:
    return osp.isfile(osp.join(out, 'img_dir', split, stem + img_suffix)) \
        and osp.isfile(osp.join(out, 'ann_dir', split, stem + '.png'))
