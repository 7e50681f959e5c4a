"""Cut FAIR-1M images and annotations into overlapping tiles.

FAIR-1M images are 1000 px to several thousand px wide; SAM takes 1024 px.
This writes every image of ``SRC/images`` (tif/png/jpg) that has a
``SRC/labelXml/<id>.xml`` as tiles in the layout ``FAIR1MDataset`` reads::

    OUT/images/<id>_<x>_<y>.png      tile whose top-left corner is (x, y)
    OUT/labelXml/<id>_<x>_<y>.xml    same XML schema as the release

Tiling rule (defaults): tiles of 1024 px overlapping by 200 px, the last
row/column moved in to end at the image border (so tiles never pad); an
image smaller than a tile is one tile. Any object no larger than the overlap
lies wholly inside some tile.

Objects cut by a tile edge: let B be the object's horizontal box (clipped to
the image). The object goes into the tile when at least ``--min-visible``
(default 0.5) of B's area lies inside the tile; its corners are written
unchanged (shifted to tile coordinates, so they may lie outside the tile) and
the dataset clips the polygon to the tile when reading.

Usage:
    python tools/dataset_converters/fair1m_tiles.py data/FAIR1M/train \
        data/fair1m_1024/train [--tile-size 1024] [--overlap 200] [--nproc 4]

Output: tiles are staged in the hidden ``OUT/.fair1m_tiles.tmp/`` and moved
into place when all are written; ``OUT/tiles.json`` (written last, removed
first) lists them with the settings and a digest of the source listing. A
re-run with the same settings over an unchanged source and a complete
output does nothing; otherwise the previous tiles are replaced, never mixed
with the new ones. Files under ``OUT/images``/``OUT/labelXml`` that this
converter did not write stop the run, unless ``--overwrite``; when OUT is SRC
or lies in it (or SRC lies in OUT's images/labelXml) they are source files
and stop it even then, naming both folders.

Bad input follows ``mmseg_mopeft/datasets/fair1m_parse.py``: unreadable
XML, unknown classes and malformed polygons stop the run with the file named;
ids with only an image or only an XML, and objects with no area inside their
image, are skipped and counted in the summary.
"""
import argparse
import logging
import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from functools import partial
from typing import Iterable, List, Sequence

import mmcv
import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps
from mmengine.logging import print_log

from mmseg_mopeft.datasets.converter_output import (ConverterOutput,
                                                    OutputFolderError,
                                                    listing_digest,
                                                    run_with_progress)
from mmseg_mopeft.datasets.fair1m_parse import (FAIR1MObject,
                                                pair_images_and_annotations,
                                                parse_fair1m_xml)

VERSION = '2'  # 2: owned, staged output with tiles.json


def tile_origins(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of tiles along one image axis."""
    if not 0 <= overlap < tile:
        raise ValueError(f'need 0 <= overlap ({overlap}) < tile ({tile})')
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - overlap))
    return starts + [length - tile]


def visible_fraction(boxes: np.ndarray,
                     tile_box: Sequence[float]) -> np.ndarray:
    """Share of each (x1, y1, x2, y2) box's area inside ``tile_box``
    (mmdet's intersection over foreground, in float64)."""
    boxes = torch.as_tensor(np.asarray(boxes, np.float64).reshape(-1, 4))
    tile = torch.tensor([list(tile_box)], dtype=torch.float64)
    return bbox_overlaps(boxes, tile, mode='iof')[:, 0].numpy()


def objects_in_tile(objects: Sequence[FAIR1MObject], tile_box,
                    min_visible: float):
    """(kept objects, number cut off) for one tile, by the tiling rule."""
    if not objects:
        return [], 0
    frac = visible_fraction(np.stack([o.bbox for o in objects]), tile_box)
    kept = [o for o, f in zip(objects, frac) if f >= min_visible and f > 0]
    cut = int(((frac > 0) & (frac < min_visible)).sum())
    return kept, cut


def tile_xml(name: str, width: int, height: int, depth: int,
             objects: Iterable[FAIR1MObject], offset,
             source: str) -> ET.ElementTree:
    """An annotation file in the release's schema for one tile."""
    root = ET.Element('annotation')
    src = ET.SubElement(root, 'source')
    ET.SubElement(src, 'filename').text = name
    ET.SubElement(src, 'origin').text = source
    ET.SubElement(src, 'tile_offset').text = f'{offset[0]},{offset[1]}'
    size = ET.SubElement(root, 'size')
    for key, value in dict(width=width, height=height, depth=depth).items():
        ET.SubElement(size, key).text = str(value)
    objs = ET.SubElement(root, 'objects')
    for obj in objects:
        node = ET.SubElement(objs, 'object')
        ET.SubElement(node, 'coordinate').text = 'pixel'
        ET.SubElement(node, 'type').text = 'rectangle'
        ET.SubElement(node, 'description').text = 'None'
        ET.SubElement(ET.SubElement(node, 'possibleresult'),
                      'name').text = obj.name
        points = ET.SubElement(node, 'points')
        quad = obj.quad - np.asarray(offset, np.float64)
        for x, y in [*quad, quad[0]]:
            ET.SubElement(points, 'point').text = f'{x:.6f},{y:.6f}'
    ET.indent(root)
    return ET.ElementTree(root)


def convert(src: str,
            out: str,
            tile_size: int = 1024,
            overlap: int = 200,
            min_visible: float = 0.5,
            img_dir: str = 'images',
            ann_dir: str = 'labelXml',
            skip_empty: bool = False,
            ext: str = '.png',
            overwrite: bool = False,
            nproc: int = 1) -> Counter:
    """Tile one split; returns counts (also printed by the CLI)."""
    tile_origins(tile_size, tile_size, overlap)  # check the settings first
    ext = '.' + ext.lstrip('.')
    pairs, no_image, no_xml = pair_images_and_annotations(
        osp.join(src, img_dir), osp.join(src, ann_dir))
    output = ConverterOutput(out, ('images', 'labelXml'), 'tiles.json',
                             dict(writer='fair1m_tiles'), inputs=(src, ))
    settings = dict(
        converter_version=VERSION,
        source=osp.abspath(src),
        source_listing_sha1=listing_digest(src, exclude=output.paths()),
        tile_size=tile_size,
        overlap=overlap,
        min_visible=min_visible,
        img_dir=img_dir,
        ann_dir=ann_dir,
        skip_empty=skip_empty,
        ext=ext)
    manifest = output.current(settings)
    if manifest is not None:
        print_log(f'{out} is complete and up to date', logger='current')
        return Counter(manifest['stats'])

    stats = Counter(
        images=len(pairs),
        skipped_xml_without_image=len(no_image),
        skipped_image_without_xml=len(no_xml))
    for ids, what in ((no_image, 'annotation files without an image'),
                      (no_xml, 'images without an annotation file')):
        if ids:
            print_log(f'skipped {len(ids)} {what}: {", ".join(ids[:5])}'
                      f'{", ..." if len(ids) > 5 else ""}',
                      logger='current', level=logging.WARNING)
    stage = output.begin(overwrite)
    results = run_with_progress(
        partial(tile_image, stage, tile_size, overlap, min_visible,
                skip_empty, ext), pairs, nproc)
    files = {}
    for image_stats, written in results:
        stats.update(image_stats)
        files.update(written)
    output.commit(files, dict(settings, stats=dict(stats)))
    return stats


def tile_image(out: str, tile_size: int, overlap: int, min_visible: float,
               skip_empty: bool, ext: str, pair) -> tuple:
    """Write the tiles of one (id, image, xml) ``pair`` below ``out``;
    returns (counts, {relative path: size} of the written files)."""
    img_id, img_path, xml_path = pair
    stats, files = Counter(), {}
    ann = parse_fair1m_xml(xml_path)
    stats['objects'] += len(ann.objects)
    stats['skipped_objects_outside_image'] += len(ann.skipped)
    for reason in ann.skipped:
        print_log(f'skipped {reason}', logger='current',
                  level=logging.WARNING)
    img = mmcv.imread(img_path, 'unchanged')
    height, width = img.shape[:2]
    if (width, height) != (ann.width, ann.height):
        raise ValueError(f'{xml_path} says {ann.width}x{ann.height}, '
                         f'{img_path} is {width}x{height}.')
    depth = 1 if img.ndim == 2 else img.shape[2]
    os.makedirs(osp.join(out, 'labelXml'), exist_ok=True)
    for y in tile_origins(height, tile_size, overlap):
        for x in tile_origins(width, tile_size, overlap):
            w, h = min(tile_size, width), min(tile_size, height)
            kept, cut = objects_in_tile(ann.objects, (x, y, x + w, y + h),
                                        min_visible)
            stats['objects_cut_below_min_visible'] += cut
            if skip_empty and not kept:
                stats['empty_tiles_skipped'] += 1
                continue
            name = f'{img_id}_{x}_{y}'
            image_rel = osp.join('images', name + ext)
            xml_rel = osp.join('labelXml', name + '.xml')
            mmcv.imwrite(img[y:y + h, x:x + w], osp.join(out, image_rel))
            tile_xml(name + ext, w, h, depth, kept, (x, y),
                     osp.basename(img_path)).write(
                         osp.join(out, xml_rel),
                         encoding='utf-8',
                         xml_declaration=True)
            for rel in (image_rel, xml_rel):
                files[rel] = osp.getsize(osp.join(out, rel))
            stats['tiles'] += 1
            stats['tile_objects'] += len(kept)
    return stats, files


def parse_args():
    parser = argparse.ArgumentParser(
        description='Cut FAIR-1M images and labelXml files into tiles.')
    parser.add_argument('src', help='split folder with images/, labelXml/')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--tile-size', type=int, default=1024)
    parser.add_argument('--overlap', type=int, default=200)
    parser.add_argument(
        '--min-visible',
        type=float,
        default=0.5,
        help='keep an object cut by a tile edge when at least this share '
        'of its box lies in the tile')
    parser.add_argument('--img-dir', default='images')
    parser.add_argument('--ann-dir', default='labelXml')
    parser.add_argument(
        '--skip-empty',
        action='store_true',
        help='do not write tiles without objects')
    parser.add_argument('--ext', default='.png', help='tile image format')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace files under OUT/images and OUT/labelXml that this '
        'converter did not write (otherwise they stop the run); never '
        'files of SRC')
    parser.add_argument(
        '--nproc',
        type=int,
        default=1,
        help='processes tiling images in parallel')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        stats = convert(args.src, args.out, args.tile_size, args.overlap,
                        args.min_visible, args.img_dir, args.ann_dir,
                        args.skip_empty, args.ext, args.overwrite, args.nproc)
    except OutputFolderError as err:
        raise SystemExit(str(err))
    for key, value in stats.items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
