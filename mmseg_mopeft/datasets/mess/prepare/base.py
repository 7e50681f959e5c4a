"""Turning a MESS dataset, as its authors distribute it, into our layout.

Every preparer (one module per dataset) says where the raw files are, how
images and labels pair up, which split each pair belongs to and how a label
converts to class ids. ``prepare`` then writes, for all datasets alike::

    <out>/img_dir/<split>/<stem><img_suffix>
    <out>/ann_dir/<split>/<stem>.png        (uint8 class ids, 255 = ignore)
    <out>/meta.json                         (split policy, counts, files)

Images already in the output format are copied byte for byte (see
``MESSPreparer.copies_image``); the others are decoded and written.

The output folder is owned through ``ConverterOutput``: files are staged in
the hidden ``<out>/.prepare_mess.tmp/`` and moved into place when all are
written; ``meta.json`` is removed first and written last, and lists every
file with its size and a digest of the raw folder's listing (names, sizes,
modification times). A re-run is a no-op when the output matches
``meta.json`` exactly and the raw data, options and converter version are
unchanged; otherwise the output is rebuilt from scratch. Files in ``<out>``
that no run of this dataset wrote (or edited since) stop the run, unless
``overwrite``, and even then when they are raw files (``<out>`` is the raw
folder or lies in it, or they link into it: raw files are never removed);
the output's own files are not part of the raw listing.

Label values: a raw value the conversion sends to ignore (255) is recorded
per split in ``meta.json`` (``label_values_ignored``: pixels, files, an
example file; ``kind`` 'void' for the dataset's own void mark, 'no class'
for valid values that are no class, which are also warned about); a value
no correct copy of the dataset has stops the run (``LabelValueError``).
"""
import hashlib
import json
import logging
import os
import os.path as osp
import struct
from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.registry import Registry
from mmengine.utils import scandir
from PIL import Image

from ...converter_output import (ConverterOutput, listing_digest,
                                 run_with_progress)
from ..catalog import FromDatasetClass

# the location keeps mmengine from looking for ``<scope>.utils``
PREPARERS = Registry(
    'mess preparer', locations=['mmseg_mopeft.datasets.mess.prepare'])
SPLITS = ('train', 'val', 'test')
# 2: stable carve, byte copies, file lists; 3: label values checked, the
# ones sent to ignore recorded
CONVERTER_VERSION = '3'
# source suffixes holding the same format as an output suffix
_SAME_FORMAT = {
    '.jpg': ('.jpg', '.jpeg'),
    '.png': ('.png', ),
    '.bmp': ('.bmp', ),
    '.tif': ('.tif', '.tiff')
}
_ORIENTATION = 0x0112  # EXIF tag


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
        img_suffix: Suffix of the written images, the one the dataset
            class of ``key`` reads (its file holds the fact).
        test_required: Paths below the raw folder enough to prepare the
            test split alone (``prepare(..., test_only=True)``), for
            datasets whose evaluation split is distributed on its own;
            None: the dataset cannot be prepared test-only.
        tile_size: Cut images and labels into tiles of this size (MESS's
            tiling: row-major, no overlap, edge tiles padded with image 0 /
            label 255, named ``<stem>_<k>``).
        split_policy: One sentence for ``meta.json`` and the README.
    """
    key: str = ''
    raw_name: str = ''
    download: str = ''
    required: Sequence[str] = ()
    test_required: Optional[Sequence[str]] = None
    tile_size: Optional[int] = None
    split_policy: str = ''
    img_suffix = FromDatasetClass()
    dataset_metainfo = FromDatasetClass('METAINFO')

    def check(self, raw: str, test_only: bool = False) -> None:
        """Fail early, naming every missing path and the download page."""
        required = self.required
        if test_only:
            if self.test_required is None:
                raise ValueError(
                    f'{self.key} cannot be prepared test-only: its test '
                    'split is not distributed apart from the training data')
            required = self.test_required
        missing = [p for p in ('', *required)
                   if not osp.exists(osp.join(raw, p))]
        if missing:
            what = 'test split' if test_only else 'raw data'
            raise RawDataError(
                f'{self.key}: {what} incomplete under {raw!r}; missing: '
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

    def copies_image(self, path) -> bool:
        """Whether ``path`` is written as is, byte for byte: no tiling, the
        base ``read_image`` (a subclass overriding it converts) and a source
        already holding what we write, 8-bit RGB in the output format, so
        decoding and encoding again could only lose information (JPEG).
        Grey, palette, alpha or 16-bit sources are converted to 8-bit BGR
        as mmcv reads them."""
        if not (self.tile_size is None
                and type(self).read_image is MESSPreparer.read_image
                and isinstance(path, str) and osp.splitext(path)[1].lower()
                in _SAME_FORMAT.get(self.img_suffix.lower(), ())):
            return False
        with Image.open(path) as img:
            return img.mode == 'RGB'

    def read_label(self, label) -> np.ndarray:
        """(H, W) uint8 class ids with 255 = ignore."""
        raise NotImplementedError


def read_ids(path: str) -> np.ndarray:
    """A label image's values as stored: a palette PNG gives its indices, a
    grey one its values, an RGB one with equal channels its grey value (an
    alpha channel, grey + alpha or RGBA, is not a value). A colour image is
    an error naming the file."""
    with Image.open(path) as mask:
        ids = np.array(mask)
    if ids.ndim == 3:
        colour = ids[..., :1] if ids.shape[-1] == 2 else ids[..., :3]
        if (colour != colour[..., :1]).any():
            raise ValueError(f'{path} is a colour image, expected class ids')
        ids = ids[..., 0]
    return ids


class LabelValueError(ValueError):
    """A label holds a value that no correct copy of the dataset has."""


_IGNORED: Optional[list] = None  # set by ``_read_label`` around read_label


def note_ignored(path: str, value, pixels: int, void: bool = False):
    """Record for ``meta.json`` that ``pixels`` pixels of the raw label
    ``value`` (grey value or (R, G, B)) in ``path`` became ignore (255):
    ``void`` for the dataset's own void/ignore mark, else a valid raw value
    that is no class (warned about, as it loses labelled pixels)."""
    if _IGNORED is not None and pixels:
        _IGNORED.append((str(value), int(pixels), path, bool(void)))


def _ranges(values) -> str:
    """'0..3, 255' for [0, 1, 2, 3, 255]."""
    runs: List[List[int]] = []
    for v in sorted(values):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ', '.join(str(a) if a == b else f'{a}..{b}' for a, b in runs)


def lookup(ids: np.ndarray, lut: np.ndarray, path: str, void=(),
           no_class=()) -> np.ndarray:
    """``lut[ids]``: class ids of raw label values by a table of 256 (255 =
    ignore). A value the table sends to 255 must be in ``void`` (the
    dataset's own void mark) or ``no_class`` (documented values that are no
    class); both are recorded (``note_ignored``). Any other value is no
    value of a correct copy of the dataset: LabelValueError naming ``path``
    and the value, rather than labelled pixels silently ignored."""
    ids = np.asarray(ids)
    ids = ids.astype(np.uint8) if ids.dtype == bool else ids
    if ids.size and not 0 <= ids.min() <= ids.max() <= 255:
        values, counts = np.unique(ids, return_counts=True)  # 16 bit, ...
    else:
        counts = np.bincount(ids.ravel(), minlength=256)
        values = np.arange(len(counts))
    values, counts = values[counts > 0].tolist(), counts[counts > 0].tolist()
    lost = {v: n for v, n in zip(values, counts)
            if not 0 <= v <= 255 or lut[v] == 255}
    allowed = set(void) | set(no_class)
    bad = [v for v in lost if v not in allowed]
    if bad:
        valid = set(np.flatnonzero(lut != 255).tolist()) | allowed
        raise LabelValueError(
            f'{path} holds the label value(s) {bad[:10]}, which no correct '
            f'copy of this dataset has (its raw values: {_ranges(valid)}); '
            'the file is damaged or from another dataset or version')
    for value, pixels in lost.items():
        note_ignored(path, value, pixels, value in void)
    return lut[ids]


def keep_ids(ids: np.ndarray, num_classes: int, path: str, first: int = 0,
             void=()) -> np.ndarray:
    """Map stored values ``first .. first + num_classes - 1`` to class ids
    ``0 .. num_classes - 1`` and the dataset's ``void`` values to 255
    (ignore); any other value is a LabelValueError (``lookup``)."""
    lut = np.full(256, 255, np.uint8)
    lut[first:first + num_classes] = np.arange(num_classes)
    return lookup(ids, lut, path, void=void)


def colours_to_ids(bgr: np.ndarray, colours: dict, path: str,
                   rows: int = 256):
    """Class ids of an (H, W, 3) BGR colour label by a ``{(r, g, b): id}``
    table; any other colour becomes 255, recorded per colour as no class
    (``note_ignored``). Processes ``rows`` rows at a time so large masks
    need no full-size temporaries."""
    codes = np.array([r << 16 | g << 8 | b for r, g, b in colours])
    order = np.argsort(codes)
    codes = codes[order]
    ids = np.array(list(colours.values()), np.uint8)[order]
    out = np.empty(bgr.shape[:2], np.uint8)
    unknown: Dict[int, int] = {}
    for y in range(0, bgr.shape[0], rows):
        block = bgr[y:y + rows].astype(np.int64)
        key = block[..., 2] << 16 | block[..., 1] << 8 | block[..., 0]
        pos = np.minimum(np.searchsorted(codes, key), len(codes) - 1)
        known = codes[pos] == key
        out[y:y + rows] = np.where(known, ids[pos], 255)
        for code, n in zip(*np.unique(key[~known], return_counts=True)):
            unknown[int(code)] = unknown.get(int(code), 0) + int(n)
    for code, n in sorted(unknown.items()):
        note_ignored(path, (code >> 16, code >> 8 & 255, code & 255), n)
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


def files_by_stem(folder: str,
                  suffix: Union[str, Tuple[str, ...]],
                  recursive: bool = False) -> Dict[str, str]:
    """``{stem: path}`` of the files in ``folder`` (and below, if
    ``recursive``) whose names end with ``suffix`` (one or a tuple), the
    stem being the name without that suffix; how a preparer indexes a
    folder before ``pair_by_stem``. A missing folder gives ``{}`` (``check``
    reports required folders); two files with one stem are an error."""
    if not osp.isdir(folder):
        return {}
    suffixes = (suffix, ) if isinstance(suffix, str) else tuple(suffix)
    found: Dict[str, str] = {}
    for rel in sorted(scandir(folder, suffixes, recursive=recursive)):
        name = osp.basename(rel)
        end = max((s for s in suffixes if name.endswith(s)), key=len)
        stem = name[:-len(end)]
        path = osp.join(folder, rel)
        if stem in found:
            raise ValueError(f'two files with the stem {stem!r}: '
                             f'{found[stem]} and {path}')
        found[stem] = path
    return found


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
                      logger='current', level=logging.WARNING)
        if unpaired is not None:
            unpaired.setdefault(kind, []).extend(f'{prefix}{s}' for s in stems)
    return pairs, found


def carve_key(stem: str, seed: int) -> str:
    """The rank of ``stem`` in ``carve``: depends on nothing but the stem and
    the seed, so files added or missing elsewhere never move it."""
    return hashlib.sha1(f'{seed}:{stem}'.encode()).hexdigest()


def carve(pairs: List[Pair], fraction: float,
          seed: int = 0) -> Tuple[List[Pair], List[Pair]]:
    """Split off ``fraction`` of ``pairs`` (at least one), deterministically:
    the pairs of lowest ``carve_key``. Removing pairs that were not carved
    changes nothing carved unless the rounded count changes (then one pair
    moves). Returns (rest, carved), each sorted by stem."""
    count = max(1, round(len(pairs) * fraction)) if pairs else 0
    ranked = sorted(range(len(pairs)),
                    key=lambda i: (carve_key(pairs[i].stem, seed), i))
    picked = set(ranked[:count])
    order = sorted(range(len(pairs)), key=lambda i: pairs[i].stem)
    rest = [pairs[i] for i in order if i not in picked]
    carved = [pairs[i] for i in order if i in picked]
    return rest, carved


def exif_orientation(path: str) -> int:
    """The EXIF orientation tag of an image file (1 when absent)."""
    with Image.open(path) as img:
        return int(img.getexif().get(_ORIENTATION, 1))


def reset_jpeg_orientation(data: bytes) -> Optional[bytes]:
    """``data`` (a JPEG file) with its EXIF orientation set to 1, all other
    bytes unchanged; None when it has no EXIF orientation entry."""
    if data[:2] != b'\xff\xd8':
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            return None
        length = struct.unpack('>H', data[pos + 2:pos + 4])[0]
        body = pos + 4
        if marker == 0xE1 and data[body:body + 6] == b'Exif\0\0':
            tiff = body + 6
            order = {b'II': '<', b'MM': '>'}.get(data[tiff:tiff + 2])
            if order is None:
                return None
            ifd = tiff + struct.unpack(order + 'I', data[tiff + 4:tiff + 8])[0]
            entries = struct.unpack(order + 'H', data[ifd:ifd + 2])[0]
            for k in range(entries):
                entry = ifd + 2 + 12 * k
                tag, kind = struct.unpack(order + 'HH', data[entry:entry + 4])
                if tag == _ORIENTATION and kind == 3:  # SHORT
                    value = entry + 8
                    return (data[:value] + struct.pack(order + 'H', 1) +
                            data[value + 2:])
            return None
        pos = body + length - 2
    return None


def prepare(preparer: MESSPreparer,
            raw: str,
            out: str,
            version: str = CONVERTER_VERSION,
            overwrite: bool = False,
            nproc: int = 1,
            test_only: bool = False) -> dict:
    """Convert ``raw`` into ``out``; returns the ``meta.json`` content.

    Args:
        overwrite: Replace files under ``out/img_dir``, ``out/ann_dir`` and
            ``out/meta.json`` that this dataset's runs did not write
            (otherwise such files stop the run, named).
        nproc: Processes converting images in parallel (the output does
            not depend on it).
        test_only: Prepare the test split alone, from a raw folder holding
            only that (``preparer.test_required``).
    """
    preparer.check(raw, test_only)
    splits = preparer.collect(raw)
    unpaired = splits.pop('unpaired', {})
    wanted = ('test', ) if test_only else SPLITS
    splits = {s: splits.get(s, []) for s in wanted}
    seen: Dict[str, str] = {}
    for split in wanted:
        for pair in splits[split]:
            if pair.stem in seen:
                raise ValueError(f'{preparer.key}: {pair.stem!r} is in both '
                                 f'{seen[pair.stem]!r} and {split!r}')
            seen[pair.stem] = split

    # raw files are never removed; the output may lie in the raw folder
    # (``all data/`` for a key equal to its raw folder's name), so its own
    # files are no raw data
    output = ConverterOutput(out, ('img_dir', 'ann_dir'), 'meta.json',
                             dict(writer='prepare_mess', dataset=preparer.key),
                             inputs=(raw, ))
    # instance settings (e.g. composite='rgb') change the output too
    options = json.loads(json.dumps(vars(preparer), default=str))
    settings = dict(
        converter_version=version,
        options=options,
        raw_dir=osp.abspath(raw),
        raw_listing_sha1=listing_digest(raw, exclude=output.paths()),
        splits=list(wanted),
        test_only=test_only)
    meta = output.current(settings)
    if meta is not None:
        print_log(f'{preparer.key}: {out} is complete and up to date',
                  logger='current')
        return meta

    stage = output.begin(overwrite)
    tasks = [(split, pair) for split in wanted for pair in splits[split]]
    results = run_with_progress(
        partial(_write_pair, preparer, stage), tasks, nproc)
    files: Dict[str, int] = {}
    counts = dict.fromkeys(SPLITS, 0)
    images = dict(copied=0, converted=0, exif_orientation_reset=[])
    ignored = {split: {} for split in wanted}
    for (split, _), (samples, values) in zip(tasks, results):
        _count_ignored(ignored[split], values)
        for stem, written, how, reset in samples:
            for rel, size in written.items():
                if rel in files:
                    raise ValueError(f'{preparer.key}: two samples are '
                                     f'written to {rel}')
                files[rel] = size
            counts[split] += 1
            images[how] += 1
            if reset:
                images['exif_orientation_reset'].append(f'{split}/{stem}')
    meta = dict(
        settings,
        split_policy=preparer.split_policy,
        source_counts={s: len(splits.get(s, [])) for s in SPLITS},
        counts=counts,
        tile_size=preparer.tile_size,
        img_suffix=preparer.img_suffix,
        images=images,
        label_values_ignored=ignored,
        unpaired=unpaired)
    _warn_ignored(preparer.key, ignored)
    return output.commit(files, meta)


def _count_ignored(table: dict, values) -> None:
    """Add one label's ``note_ignored`` records to a split's table."""
    for value, pixels, path, void in values:
        entry = table.setdefault(
            value, dict(kind='void' if void else 'no class', pixels=0,
                        files=0, example=path))
        entry['pixels'] += pixels
        entry['files'] += 1


def _warn_ignored(key: str, ignored: dict) -> None:
    """Raw values that are no class lose labelled pixels: say so."""
    for split, table in ignored.items():
        for value, entry in table.items():
            if entry['kind'] == 'no class':
                print_log(
                    f'{key} {split}: raw label value {value} is no class and '
                    f'became ignore (255) in {entry["pixels"]} pixels of '
                    f'{entry["files"]} files, e.g. {entry["example"]} '
                    '(meta.json: label_values_ignored)',
                    logger='current', level=logging.WARNING)


def _read_label(preparer: MESSPreparer, pair: Pair):
    """``preparer.read_label`` and what it recorded (``note_ignored``)."""
    global _IGNORED
    _IGNORED = []
    try:
        return preparer.read_label(pair.label), _IGNORED
    except LabelValueError as err:
        raise LabelValueError(f'{preparer.key}: {err}') from None
    finally:
        _IGNORED = None


def _write_pair(preparer: MESSPreparer, stage: str, task) -> tuple:
    """Write one pair (or its tiles) below ``stage``; returns what
    ``_write_samples`` returns and the label's ``note_ignored`` records."""
    split, pair = task
    label, ignored = _read_label(preparer, pair)
    _check_class_ids(preparer, pair, label)
    return _write_samples(preparer, stage, split, pair, label), ignored


def _check_class_ids(preparer, pair, label) -> None:
    """A converted label holds class ids of the dataset class (and 255):
    a preparer that disagrees with its class's classes stops here, before
    its output is marked complete."""
    num_classes = len(preparer.dataset_metainfo['classes'])
    values = np.unique(label)
    bad = values[((values >= num_classes) & (values != 255)) | (values < 0)]
    if bad.size:
        raise LabelValueError(
            f'{preparer.key}: the converted label of {pair.label} holds '
            f'{bad.tolist()}, which are no class ids of the dataset class '
            f'(0..{num_classes - 1}, 255 ignore): the preparer and the '
            f'dataset class disagree on the classes')


def _write_samples(preparer, stage, split, pair, label) -> list:
    """``[(stem, {relative path: size}, how, reset)]`` per written sample,
    ``how`` being 'copied' or 'converted', ``reset`` whether an EXIF
    orientation was removed."""
    if preparer.copies_image(pair.image):
        return [_copy_image(preparer, stage, split, pair, label)]
    image = preparer.read_image(pair.image)
    _check_shape(preparer, pair, image.shape[:2], label.shape[:2])
    samples = [(pair.stem, image, label)]
    if preparer.tile_size is not None:
        size = preparer.tile_size
        samples = [(f'{pair.stem}_{k}', img, lab) for k, (img, lab) in
                   enumerate(zip(tile(image, size, 0), tile(label, size,
                                                            255)))]
    written = []
    for stem, img, lab in samples:
        paths = _sample_paths(preparer, split, stem)
        mmcv.imwrite(img, osp.join(stage, paths[0]))
        mmcv.imwrite(lab.astype(np.uint8), osp.join(stage, paths[1]))
        written.append((stem, _sizes(stage, paths), 'converted', False))
    return written


def _copy_image(preparer, stage, split, pair, label):
    """Copy the image bytes; an EXIF orientation other than 1 (which
    mmseg's loader would apply to the image but not to its label) is reset
    to 1, so the image loads with the pixels as stored, as labelled."""
    with Image.open(pair.image) as img:
        width, height = img.size
    _check_shape(preparer, pair, (height, width), label.shape[:2])
    img_rel, ann_rel = _sample_paths(preparer, split, pair.stem)
    how = 'copied'
    orientation = exif_orientation(pair.image)
    with open(pair.image, 'rb') as f:
        data = f.read()
    if orientation != 1:
        if osp.splitext(pair.image)[1].lower() in _SAME_FORMAT['.jpg']:
            data = reset_jpeg_orientation(data)
            if data is None:
                raise ValueError(
                    f'{preparer.key}: {pair.image} has EXIF orientation '
                    f'{orientation} in a form we cannot reset to 1')
        else:  # lossless formats: write the stored pixels without EXIF
            data, how = None, 'converted'
            mmcv.imwrite(
                preparer.read_image(pair.image), osp.join(stage, img_rel))
    if data is not None:
        os.makedirs(osp.dirname(osp.join(stage, img_rel)), exist_ok=True)
        with open(osp.join(stage, img_rel), 'wb') as f:
            f.write(data)
    mmcv.imwrite(label.astype(np.uint8), osp.join(stage, ann_rel))
    return pair.stem, _sizes(stage, (img_rel, ann_rel)), how, \
        orientation != 1


def _check_shape(preparer, pair, image_hw, label_hw) -> None:
    if tuple(image_hw) != tuple(label_hw):
        note = ''
        if isinstance(pair.image, str) and tuple(image_hw) == tuple(
                label_hw)[::-1] and exif_orientation(pair.image) != 1:
            note = (' (its EXIF orientation turns it to the label\'s '
                    'shape, but the labels of this dataset follow the '
                    'stored pixels)')
        raise ValueError(f'{preparer.key}: image {pair.image} is '
                         f'{tuple(image_hw)} but its label is '
                         f'{tuple(label_hw)}{note}')


def _sample_paths(preparer, split, stem) -> Tuple[str, str]:
    return (osp.join('img_dir', split, stem + preparer.img_suffix),
            osp.join('ann_dir', split, stem + '.png'))


def _sizes(stage, paths) -> Dict[str, int]:
    return {rel: osp.getsize(osp.join(stage, rel)) for rel in paths}
