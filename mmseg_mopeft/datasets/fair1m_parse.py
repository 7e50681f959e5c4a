"""Reading FAIR-1M's original annotation files (``labelXml/<id>.xml``).

Each object is an oriented rectangle given by four corners (the file repeats
the first corner as a fifth point) and a fine class name. We turn it into the
polygon's part inside the image (convex hull of the corners, clipped to the
image) and the horizontal box around that part.

Bad input, by case (the dataset class and the tile converter share this):

* XML that does not parse, lacks ``size``, has a class name that is not one
  of the 37 FAIR-1M names, a point that is not "x,y", or a polygon with
  other than 4 corners (5 points with the last repeating the first is also
  accepted): ``FAIR1MAnnotationError`` naming the file and the object. These
  mean a broken or different release; guessing would corrupt the labels.
* A polygon partly outside the image: clipped to the image (the release has
  such objects at image borders). One with no area inside the image (wholly
  outside, or degenerate: all corners on one line or point; the release has
  a few on the border): skipped, counted in ``FAIR1MAnnotation.skipped`` for
  the caller to log.
* An image without annotation file or the reverse: see
  ``pair_images_and_annotations``; skipped, counted and logged by callers.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np
from shapely.geometry import MultiPoint, box

# The 37 fine classes by category, as the XML files spell them, in the order
# of the FAIR-1M paper's tables (thesis Table A.1).
FAIR1M_CATEGORIES: Dict[str, Tuple[str, ...]] = {
    'Airplane': ('Boeing737', 'Boeing747', 'Boeing777', 'Boeing787', 'C919',
                 'A220', 'A321', 'A330', 'A350', 'ARJ21', 'other-airplane'),
    'Ship': ('Passenger Ship', 'Motorboat', 'Fishing Boat', 'Tugboat',
             'Engineering Ship', 'Liquid Cargo Ship', 'Dry Cargo Ship',
             'Warship', 'other-ship'),
    'Vehicle': ('Small Car', 'Bus', 'Cargo Truck', 'Dump Truck', 'Van',
                'Trailer', 'Tractor', 'Excavator', 'Truck Tractor',
                'other-vehicle'),
    'Court': ('Basketball Court', 'Tennis Court', 'Football Field',
              'Baseball Field'),
    'Road': ('Intersection', 'Roundabout', 'Bridge'),
}
FAIR1M_CLASSES: Tuple[str, ...] = tuple(
    name for names in FAIR1M_CATEGORIES.values() for name in names)

IMAGE_EXTENSIONS = ('.tif', '.tiff', '.png', '.jpg', '.jpeg')


class FAIR1MAnnotationError(ValueError):
    """An annotation file we refuse to guess about."""


@dataclass(eq=False)  # arrays inside: compare by identity
class FAIR1MObject:
    name: str
    quad: np.ndarray  # (4, 2) corners as written, image coordinates
    polygon: np.ndarray  # (K, 2) part of the quad inside the image
    bbox: np.ndarray  # (4,) x1, y1, x2, y2 around ``polygon``


@dataclass
class FAIR1MAnnotation:
    width: int
    height: int
    objects: List[FAIR1MObject] = field(default_factory=list)
    # Objects left out, as 'file: object i (class)' descriptions.
    skipped: List[str] = field(default_factory=list)


def _corners(obj: ET.Element, where: str) -> np.ndarray:
    texts = [p.text or '' for p in obj.findall('points/point')]
    try:
        points = np.array([[float(v) for v in t.split(',')] for t in texts],
                          dtype=np.float64)
    except ValueError as err:
        raise FAIR1MAnnotationError(f'{where}: bad point ({err}).') from None
    if points.ndim != 2 or points.shape[1] != 2:
        raise FAIR1MAnnotationError(
            f'{where}: points must be "x,y", got {texts}.')
    if len(points) == 5 and np.array_equal(points[0], points[4]):
        points = points[:4]
    if len(points) != 4:
        raise FAIR1MAnnotationError(
            f'{where}: expected 4 corners (5 points, the last repeating the '
            f'first), got {len(texts)} points.')
    return points


def clip_quad(quad: np.ndarray, width: float, height: float):
    """(polygon (K, 2), bbox (4,)) of the quad's part inside the image, or
    None when that part has no area. The convex hull makes the corner order
    irrelevant (FAIR-1M objects are rectangles)."""
    inside = MultiPoint([tuple(p) for p in quad]).convex_hull.intersection(
        box(0, 0, width, height))
    if inside.geom_type != 'Polygon' or inside.area <= 0:
        return None
    polygon = np.asarray(inside.exterior.coords)[:-1]
    return polygon, np.asarray(inside.bounds, dtype=np.float64)


def parse_fair1m_xml(path: str,
                     classes: Tuple[str, ...] = FAIR1M_CLASSES
                     ) -> FAIR1MAnnotation:
    """Parse one ``labelXml`` file; see the module docstring for errors."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise FAIR1MAnnotationError(f'{path}: cannot parse XML ({err}).') \
            from None
    try:
        width = int(float(root.findtext('size/width')))
        height = int(float(root.findtext('size/height')))
    except (TypeError, ValueError):
        raise FAIR1MAnnotationError(
            f'{path}: missing or bad size/width, size/height.') from None
    ann = FAIR1MAnnotation(width, height)
    for i, obj in enumerate(root.iter('object')):
        name = (obj.findtext('possibleresult/name') or '').strip()
        where = f'{path}: object {i} ({name!r})'
        if name not in classes:
            raise FAIR1MAnnotationError(
                f'{where}: unknown class; FAIR-1M has {len(classes)} classes: '
                f'{", ".join(classes)}.')
        quad = _corners(obj, where)
        clipped = clip_quad(quad, width, height)
        if clipped is None:
            ann.skipped.append(f'{where}: no area inside the '
                               f'{width}x{height} image')
            continue
        ann.objects.append(FAIR1MObject(name, quad, *clipped))
    return ann


def _files_by_stem(folder: str, extensions) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = osp.splitext(name)
        if ext.lower() not in extensions:
            continue
        if stem in found:
            raise FAIR1MAnnotationError(
                f'{folder}: two files for id {stem!r}: '
                f'{osp.basename(found[stem])} and {name}.')
        found[stem] = osp.join(folder, name)
    return found


def pair_images_and_annotations(img_dir: str, ann_dir: str):
    """Match ``img_dir/<id>.{tif,png,jpg,...}`` with ``ann_dir/<id>.xml``.

    Returns ``(pairs, xml_without_image, image_without_xml)``: ``pairs`` is a
    list of (id, image path, xml path) sorted by id; the other two list the
    ids that have only one of the two files (callers skip and log them).
    """
    for folder in (img_dir, ann_dir):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'FAIR-1M folder not found: {folder}')
    images = _files_by_stem(img_dir, IMAGE_EXTENSIONS)
    xmls = _files_by_stem(ann_dir, ('.xml', ))
    pairs = [(i, images[i], xmls[i]) for i in sorted(images) if i in xmls]
    return (pairs, sorted(set(xmls) - set(images)),
            sorted(set(images) - set(xmls)))
