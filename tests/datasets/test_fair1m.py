"""FAIR-1M annotation parsing and the dataset class, on the real XML files."""
import contextlib
import glob
import logging
import os
import os.path as osp
import re
from collections import Counter

import cv2
import numpy as np
import pytest
from helpers import REPO
from mmengine.logging import MMLogger

from mmseg_mopeft.datasets import FAIR1MDataset
from mmseg_mopeft.datasets.fair1m_parse import (FAIR1M_CATEGORIES,
                                                FAIR1M_CLASSES,
                                                FAIR1MAnnotationError,
                                                clip_quad, parse_fair1m_xml)

FAIR1M = osp.join(REPO, '..', 'shared', 'data', 'fair1m')
XMLS = sorted(glob.glob(osp.join(FAIR1M, 'labelXml', '*.xml')))
pytestmark = pytest.mark.skipif(
    not XMLS, reason='real FAIR-1M samples (../shared/data/fair1m) missing')


def _area(polygon):
    """Shoelace formula."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def _independent_parse(path):
    """Regex reading of one file: size and (name, corners, has area inside
    the image) per object, without ElementTree or shapely."""
    text = open(path, encoding='utf-8').read()
    width = int(re.search(r'<width>(\d+)</width>', text).group(1))
    height = int(re.search(r'<height>(\d+)</height>', text).group(1))
    objects = []
    for body in re.findall(r'<object>(.*?)</object>', text, re.S):
        name = re.search(r'<name>(.*?)</name>', body).group(1)
        pts = np.array(
            re.findall(r'<point>([-\d.]+),([-\d.]+)</point>', body), float)
        corners = pts[:4]
        x, y = corners[:, 0], corners[:, 1]
        w = min(x.max(), width) - max(x.min(), 0)
        h = min(y.max(), height) - max(y.min(), 0)
        objects.append((name, corners, w > 0 and h > 0 and _area(corners) > 0))
    return width, height, objects


def test_all_real_xml_files_parse_like_an_independent_reading():
    assert len(XMLS) == 119
    total, skipped = Counter(), 0
    for path in XMLS:
        width, height, expected = _independent_parse(path)
        ann = parse_fair1m_xml(path)
        assert (ann.width, ann.height) == (width, height)
        kept = [e for e in expected if e[2]]
        assert Counter(o.name for o in ann.objects) == Counter(
            e[0] for e in kept), path
        assert len(ann.skipped) == len(expected) - len(kept), path
        for obj, (name, corners, _) in zip(ann.objects, kept):
            assert obj.name == name
            np.testing.assert_allclose(obj.quad, corners)
            lo, hi = corners.min(0), corners.max(0)
            if (lo >= 0).all() and hi[0] <= width and hi[1] <= height:
                # wholly inside: the box spans the corners
                np.testing.assert_allclose(obj.bbox, [*lo, *hi])
            else:  # clipped: inside the image and the corners' box
                assert (obj.bbox[:2] >= np.maximum(lo, 0) - 1e-9).all()
                assert obj.bbox[2] <= min(hi[0], width) + 1e-9
                assert obj.bbox[3] <= min(hi[1], height) + 1e-9
        total.update(o.name for o in ann.objects)
        skipped += len(ann.skipped)
    # Facts of these 119 files: 4870 objects of 33 classes, 5 of them lie on
    # the image border with no area.
    assert sum(total.values()) + skipped == 4870
    assert skipped == 5
    assert len(total) == 33 and set(total) <= set(FAIR1M_CLASSES)
    # 1643 Small Cars in the files, two of them without area
    assert total['Small Car'] == 1641 and total['ARJ21'] == 1


def test_class_list_is_fair1m_37_classes_in_5_categories():
    assert len(FAIR1M_CLASSES) == len(set(FAIR1M_CLASSES)) == 37
    assert list(FAIR1M_CATEGORIES) == [
        'Airplane', 'Ship', 'Vehicle', 'Court', 'Road'
    ]
    assert [len(v) for v in FAIR1M_CATEGORIES.values()] == [11, 9, 10, 4, 3]
    for other in ('other-airplane', 'other-ship', 'other-vehicle'):
        assert other in FAIR1M_CLASSES


@pytest.mark.parametrize(
    'quad, size, box, area',
    [
        # axis-aligned rectangle, any corner order (bow-tie order too)
        ([[2, 3], [12, 3], [12, 8], [2, 8]], (20, 20), [2, 3, 12, 8], 50),
        ([[2, 3], [12, 8], [12, 3], [2, 8]], (20, 20), [2, 3, 12, 8], 50),
        # diamond (square rotated by 45 degrees): box around the corners
        ([[5, 0], [10, 5], [5, 10], [0, 5]], (20, 20), [0, 0, 10, 10], 50),
        # the same diamond cut in half by the right image border
        ([[5, 0], [10, 5], [5, 10], [0, 5]], (5, 20), [0, 0, 5, 10], 25),
        # a rectangle sticking out of the top-left corner
        ([[-4, -2], [6, -2], [6, 3], [-4, 3]], (20, 20), [0, 0, 6, 3], 18),
    ])
def test_box_of_known_quadrilaterals(quad, size, box, area):
    polygon, bbox = clip_quad(np.array(quad, float), *size)
    np.testing.assert_allclose(bbox, box)
    assert _area(polygon) == pytest.approx(area)


@pytest.mark.parametrize(
    'quad',
    [
        [[25, 1], [30, 1], [30, 5], [25, 5]],  # wholly outside
        [[3, 20], [3, 20], [9, 20], [9, 20]],  # a line on the border
        [[4, 4], [4, 4], [4, 4], [4, 4]],  # a point
    ])
def test_quads_without_area_inside_the_image_give_none(quad):
    assert clip_quad(np.array(quad, float), 20, 20) is None


# ---------------------------------------------------------------- bad input
def _xml(objects, width=64, height=48):
    body = ''.join(
        f'<object><possibleresult><name>{name}</name></possibleresult>'
        f'<points>{"".join(f"<point>{x},{y}</point>" for x, y in pts)}'
        f'</points></object>' for name, pts in objects)
    return (f'<?xml version="1.0" encoding="utf-8"?><annotation><size>'
            f'<width>{width}</width><height>{height}</height><depth>3</depth>'
            f'</size><objects>{body}</objects></annotation>')


SQUARE = [(4, 4), (20, 4), (20, 12), (4, 12), (4, 4)]


def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


@pytest.mark.parametrize(
    'text, message',
    [
        ('<annotation><size>', 'cannot parse XML'),
        (_xml([('Boeing 737', SQUARE)]), "unknown class"),
        (_xml([('Van', SQUARE[:3])]), 'expected 4 corners'),
        (_xml([('Van', SQUARE[:4] + [(5, 5)])]), 'expected 4 corners'),
        (_xml([('Van', [(4, 4), ('a', 4), (5, 5), (6, 6)])]), 'bad point'),
        ('<annotation><objects/></annotation>', 'size'),
    ])
def test_bad_annotation_files_are_clear_errors(tmp_path, text, message):
    path = str(tmp_path / 'x.xml')
    _write(path, text)
    with pytest.raises(FAIR1MAnnotationError, match=message) as err:
        parse_fair1m_xml(path)
    assert path in str(err.value)


def test_four_corners_without_the_repeated_fifth_are_accepted(tmp_path):
    path = str(tmp_path / 'x.xml')
    _write(path, _xml([('Van', SQUARE[:4])]))
    np.testing.assert_allclose(parse_fair1m_xml(path).objects[0].bbox,
                               [4, 4, 20, 12])


@contextlib.contextmanager
def _captured_log():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _make_layout(root, ids_with_image, ids_with_xml, ext='.png'):
    for i in ids_with_image:
        img = np.full((48, 64, 3), 40 * len(i), np.uint8)
        path = osp.join(root, 'images', i + ext)
        os.makedirs(osp.dirname(path), exist_ok=True)
        cv2.imwrite(path, img)
    for i in ids_with_xml:
        _write(
            osp.join(root, 'labelXml', i + '.xml'),
            _xml([('Van', SQUARE), ('Tugboat', [(60, 40), (70, 40),
                                                (70, 60), (60, 60)]),
                  ('Bridge', [(64, 1), (64, 1), (64, 9), (64, 9)])]))


def test_dataset_skips_and_logs_unpaired_files_and_empty_objects(tmp_path):
    root = str(tmp_path)
    _make_layout(root, ['a', 'b', 'only_image'], ['a', 'b', 'only_xml'])
    with _captured_log() as records:
        ds = FAIR1MDataset(data_root=root, pipeline=[])
    assert [d['img_id'] for d in ds] == ['a', 'b']
    assert ds.skip_counts['xml_without_image'] == 1
    assert ds.skip_counts['image_without_xml'] == 1
    assert ds.skip_counts['object_outside_image'] == 2  # 'Bridge' per image
    log = '\n'.join(r.getMessage() for r in records)
    assert 'skipped 1 annotation files without an image: only_xml.xml' in log
    assert 'skipped 1 images without an annotation file: only_image' in log
    assert 'skipped 2 objects with no area inside their image' in log
    van, boat = ds[0]['instances']
    assert van['bbox'] == [4, 4, 20, 12] and boat['bbox'] == [60, 40, 64, 48]
    assert van['bbox_label'] == FAIR1M_CLASSES.index('Van')
    assert boat['bbox_label'] == FAIR1M_CLASSES.index('Tugboat')
    # polygon for mask supervision, clipped to the image
    assert sorted(map(tuple, np.reshape(boat['mask'][0], (-1, 2)))) == [
        (60, 40), (60, 48), (64, 40), (64, 48)
    ]


def test_dataset_reads_tif_and_png_and_refuses_two_images_per_id(tmp_path):
    root = str(tmp_path)
    _make_layout(root, ['a'], ['a', 'b'], ext='.tif')
    _make_layout(root, ['b'], [], ext='.png')
    ds = FAIR1MDataset(data_root=root, pipeline=[])
    assert [osp.basename(d['img_path']) for d in ds] == ['a.tif', 'b.png']
    _make_layout(root, ['b'], [], ext='.jpg')
    with pytest.raises(FAIR1MAnnotationError, match="two files for id 'b'"):
        FAIR1MDataset(data_root=root, pipeline=[])


def test_subset_of_classes_leaves_out_and_counts_the_others(tmp_path):
    root = str(tmp_path)
    _make_layout(root, ['a'], ['a'])
    ds = FAIR1MDataset(
        data_root=root, pipeline=[], metainfo=dict(classes=('Tugboat', )))
    assert [i['bbox_label'] for i in ds[0]['instances']] == [0]
    assert ds.skip_counts['object_of_other_class'] == 1


@pytest.mark.parametrize('classes,message', [
    (('Small car', 'Van'), r"not FAIR-1M: \['Small car'\]"),
    (('Van', 'Van'), r"listed twice: \['Van'\]"),
])
def test_subset_names_must_be_fair1m_classes(tmp_path, classes, message):
    """A misspelt name would drop every object of the class it meant."""
    root = str(tmp_path)
    _make_layout(root, ['a'], ['a'])
    with pytest.raises(ValueError, match=message):
        FAIR1MDataset(
            data_root=root, pipeline=[], metainfo=dict(classes=classes))


def test_dataset_on_the_real_samples(tmp_path):
    with _captured_log() as records:
        ds = FAIR1MDataset(data_root=FAIR1M, pipeline=[])
    images = {
        osp.splitext(n)[0]
        for n in os.listdir(osp.join(FAIR1M, 'images'))
    }
    xml_ids = {osp.splitext(osp.basename(p))[0] for p in XMLS}
    assert len(ds) == len(images) == 20
    assert ds.skip_counts['xml_without_image'] == len(xml_ids - images) == 99
    assert 'skipped 99 annotation files without an image' in '\n'.join(
        r.getMessage() for r in records)
    outside = 0
    for info in ds:
        _, _, expected = _independent_parse(
            osp.join(FAIR1M, 'labelXml', info['img_id'] + '.xml'))
        kept = [e for e in expected if e[2]]
        outside += len(expected) - len(kept)
        assert [FAIR1M_CLASSES[i['bbox_label']] for i in info['instances']
                ] == [e[0] for e in kept]
    assert ds.skip_counts['object_outside_image'] == outside == 2


def test_empty_images_are_filtered_for_training_only(tmp_path):
    root = str(tmp_path)
    _make_layout(root, ['a', 'empty'], ['a'])
    _write(osp.join(root, 'labelXml', 'empty.xml'), _xml([]))
    train = FAIR1MDataset(
        data_root=root, pipeline=[], filter_cfg=dict(filter_empty_gt=True))
    test = FAIR1MDataset(
        data_root=root,
        pipeline=[],
        test_mode=True,
        filter_cfg=dict(filter_empty_gt=True))
    assert [d['img_id'] for d in train] == ['a']
    assert train.skip_counts['image_without_objects'] == 1
    assert [d['img_id'] for d in test] == ['a', 'empty']
