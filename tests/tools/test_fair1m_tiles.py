"""The FAIR-1M tile converter: tile positions, the keep/drop rule, output."""
import os
import os.path as osp
import sys

import cv2
import mmcv
import numpy as np
import pytest
from helpers import REPO, load_tool
from mess_helpers import listing

from mmseg_mopeft.datasets import FAIR1MDataset
from mmseg_mopeft.datasets.converter_output import OutputFolderError
from mmseg_mopeft.datasets.fair1m_parse import (FAIR1M_CLASSES, FAIR1MObject,
                                                parse_fair1m_xml)

FAIR1M = osp.join(REPO, '..', 'shared', 'data', 'fair1m')


def _load_tool():
    return load_tool('tools/dataset_converters/fair1m_tiles.py',
                     register=True)


tiles = _load_tool()


@pytest.mark.parametrize('length, tile, overlap, expected', [
    (1000, 512, 128, [0, 384, 488]),
    (3000, 1024, 200, [0, 824, 1648, 1976]),
    (1848, 1024, 200, [0, 824]),
    (1024, 1024, 200, [0]),
    (600, 1024, 200, [0]),
])
def test_tile_origins(length, tile, overlap, expected):
    starts = tiles.tile_origins(length, tile, overlap)
    assert starts == expected
    assert starts[-1] + min(tile, length) == max(length, min(tile, length))
    steps = np.diff(starts)
    assert (steps <= tile - overlap).all()  # overlap at least as asked


def test_tile_origins_reject_overlap_not_below_tile():
    with pytest.raises(ValueError):
        tiles.tile_origins(2000, 512, 512)


def _box_object(x1, y1, x2, y2, name='Van'):
    quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float)
    return FAIR1MObject(name, quad, quad, np.array([x1, y1, x2, y2], float))


def test_objects_cut_by_the_tile_edge_are_kept_by_visible_share():
    tile = (0, 0, 100, 100)
    objects = [
        _box_object(10, 10, 30, 30),  # inside: 1.0
        _box_object(90, 0, 110, 10),  # 0.5: kept (the rule is >=)
        _box_object(80, 50, 120, 60),  # 0.5
        _box_object(94, 0, 104, 10),  # 0.6
        _box_object(96, 0, 106, 10),  # 0.4: dropped
        _box_object(50, 99, 60, 109),  # 0.1: dropped
        _box_object(100, 0, 110, 10),  # touches the edge: 0, not a cut
        _box_object(200, 200, 210, 210),  # elsewhere
    ]
    np.testing.assert_allclose(
        tiles.visible_fraction(np.stack([o.bbox for o in objects]), tile),
        [1, .5, .5, .6, .4, .1, 0, 0])
    kept, cut = tiles.objects_in_tile(objects, tile, 0.5)
    assert [objects.index(o) for o in kept] == [0, 1, 2, 3]
    assert cut == 2
    kept, cut = tiles.objects_in_tile(objects, tile, 0.55)
    assert [objects.index(o) for o in kept] == [0, 3] and cut == 4


def _write_source(root, img, objects):
    """One image with (name, corners) objects in the release layout."""
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'labelXml'))
    cv2.imwrite(osp.join(root, 'images', 'p1.png'), img)
    body = ''.join(
        f'<object><possibleresult><name>{n}</name></possibleresult><points>'
        + ''.join(f'<point>{x},{y}</point>' for x, y in [*pts, pts[0]]) +
        '</points></object>' for n, pts in objects)
    with open(osp.join(root, 'labelXml', 'p1.xml'), 'w') as f:
        f.write(f'<annotation><size><width>{img.shape[1]}</width><height>'
                f'{img.shape[0]}</height><depth>3</depth></size><objects>'
                f'{body}</objects></annotation>')
    # an annotation file without image: skipped and counted
    with open(osp.join(root, 'labelXml', 'lost.xml'), 'w') as f:
        f.write('<annotation/>')


def rect(x1, y1, x2, y2):
    return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]


def test_convert_writes_tiles_the_dataset_reads(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)
    objects = [
        ('Van', rect(10, 10, 40, 30)),  # left tile only
        ('Bus', rect(100, 50, 140, 70)),  # 0.7 in the left tile
        ('Tugboat', rect(118, 80, 158, 100)),  # 0.25 in the left tile
        ('Intersection', [(128, 80), (138, 90), (128, 100), (118, 90)]),
    ]
    _write_source(str(tmp_path / 'src'), img, objects)
    out = str(tmp_path / 'out')
    # through the command line: 128 px tiles, 56 px overlap -> x 0 and 72
    monkeypatch.setattr(sys, 'argv', [
        'fair1m_tiles.py',
        str(tmp_path / 'src'), out, '--tile-size', '128', '--overlap', '56'
    ])
    tiles.main()
    assert sorted(os.listdir(osp.join(out, 'images'))) == [
        'p1_0_0.png', 'p1_72_0.png'
    ]
    for x in (0, 72):
        tile = cv2.imread(osp.join(out, 'images', f'p1_{x}_0.png'))
        np.testing.assert_array_equal(tile, img[:, x:x + 128])

    ds = FAIR1MDataset(data_root=out, pipeline=[])
    found = {
        d['img_id']: [(FAIR1M_CLASSES[i['bbox_label']], i['bbox'])
                      for i in d['instances']]
        for d in ds
    }
    assert found['p1_0_0'] == [
        ('Van', [10, 10, 40, 30]),
        ('Bus', [100, 50, 128, 70]),  # clipped by the tile
        ('Intersection', [118, 80, 128, 100]),  # diamond, half inside: kept
    ]
    assert found['p1_72_0'] == [
        ('Bus', [28, 50, 68, 70]),
        ('Tugboat', [46, 80, 86, 100]),
        ('Intersection', [46, 80, 66, 100]),
    ]
    # written corners are the original ones, shifted to the tile
    ann = parse_fair1m_xml(osp.join(out, 'labelXml', 'p1_0_0.xml'))
    np.testing.assert_allclose(ann.objects[1].quad, objects[1][1])
    assert (ann.width, ann.height) == (128, 120)


def test_convert_counts_skips_and_cuts(tmp_path):
    img = np.zeros((120, 200, 3), np.uint8)
    _write_source(str(tmp_path / 'src'), img, [
        ('Van', [(118, 80), (158, 80), (158, 100), (118, 100)]),
        ('Van', [(0, 0), (0, 0), (0, 0), (0, 0)]),  # no area: skipped
    ])
    stats = tiles.convert(
        str(tmp_path / 'src'), str(tmp_path / 'out'), 128, 56,
        skip_empty=True)
    assert stats['images'] == 1
    assert stats['skipped_xml_without_image'] == 1
    assert stats['skipped_objects_outside_image'] == 1
    assert stats['objects_cut_below_min_visible'] == 1  # left tile: 0.25
    assert stats['tiles'] == 1 and stats['empty_tiles_skipped'] == 1


@pytest.mark.skipif(not osp.isdir(FAIR1M), reason='real samples missing')
def test_real_images_every_object_in_some_tile(tmp_path):
    """On real images: each kept tile object has >= 50% of its box in the
    tile, and every object no larger than the overlap is whole in a tile."""
    src = tmp_path / 'src'
    for sub in ('images', 'labelXml'):
        os.makedirs(src / sub)
    for i, ext in (('1000', '.jpg'), ('1007', '.jpg')):
        os.symlink(osp.join(FAIR1M, 'images', i + ext),
                   src / 'images' / (i + ext))
        os.symlink(osp.join(FAIR1M, 'labelXml', i + '.xml'),
                   src / 'labelXml' / (i + '.xml'))
    tile, overlap = 384, 64
    stats = tiles.convert(str(src), str(tmp_path / 'out'), tile, overlap)
    assert stats['tiles'] == 2 * 3 * 3
    source = {
        i: parse_fair1m_xml(str(src / 'labelXml' / f'{i}.xml')).objects
        for i in ('1000', '1007')
    }
    whole = set()
    for name in os.listdir(tmp_path / 'out' / 'labelXml'):
        img_id, x, y = osp.splitext(name)[0].split('_')
        offset = np.array([int(x), int(y)])
        ann = parse_fair1m_xml(str(tmp_path / 'out' / 'labelXml' / name))
        for obj in ann.objects:
            quad = obj.quad + offset
            match = [
                k for k, o in enumerate(source[img_id])
                if o.name == obj.name and np.allclose(o.quad, quad)
            ]
            assert len(match) == 1
            box = source[img_id][match[0]].bbox
            inter = np.clip(
                np.minimum(box[2:], offset + tile) - np.maximum(
                    box[:2], offset), 0, None).prod()
            area = np.prod(box[2:] - box[:2])
            assert inter >= 0.5 * area
            if inter == area:
                whole.add((img_id, match[0]))
    for img_id, objects in source.items():
        for k, obj in enumerate(objects):
            if (obj.bbox[2:] - obj.bbox[:2] <= overlap).all():
                assert (img_id, k) in whole, (img_id, obj.name, obj.bbox)


def _tiles_written(out):
    """{relative path: bytes} under OUT/images and OUT/labelXml."""
    return {
        rel: data
        for rel, data in listing(out).items()
        if rel.startswith(('images', 'labelXml'))
    }


def _two_image_source(root):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)
    _write_source(root, img, [('Van', rect(10, 10, 40, 30)),
                              ('Bus', rect(100, 50, 140, 70))])
    cv2.imwrite(osp.join(root, 'images', 'p2.png'), img[:, ::-1])
    with open(osp.join(root, 'labelXml', 'p1.xml')) as f:
        xml = f.read()
    with open(osp.join(root, 'labelXml', 'p2.xml'), 'w') as f:
        f.write(xml)


def test_rerun_with_other_settings_replaces_the_tiles(tmp_path):
    src, out, fresh = (str(tmp_path / d) for d in ('src', 'out', 'fresh'))
    _two_image_source(src)
    tiles.convert(src, out, 128, 56)
    assert len(os.listdir(osp.join(out, 'images'))) == 4
    stats = tiles.convert(src, out, 100, 20)
    assert tiles.convert(src, fresh, 100, 20) == stats
    assert _tiles_written(out) == _tiles_written(fresh)
    # 200 x 120 px: x at 0, 80, 100 and y at 0, 20; no 128 px tile left
    assert sorted(os.listdir(osp.join(out, 'images'))) == sorted(
        f'p{i}_{x}_{y}.png' for i in (1, 2) for x in (0, 80, 100)
        for y in (0, 20))
    # the same settings again: nothing is rewritten
    mtime = os.stat(osp.join(out, 'tiles.json')).st_mtime_ns
    assert tiles.convert(src, out, 100, 20) == stats
    assert os.stat(osp.join(out, 'tiles.json')).st_mtime_ns == mtime


class Killed(Exception):
    pass


def test_interrupted_run_is_invisible_and_redone(tmp_path, monkeypatch):
    src, out, fresh = (str(tmp_path / d) for d in ('src', 'out', 'fresh'))
    _two_image_source(src)
    real_imwrite = mmcv.imwrite
    written = []

    def dies_on_the_third_tile(img, path, *args, **kwargs):
        written.append(path)
        if len(written) == 3:  # half a PNG on disk, then the kill
            real_imwrite(img, path, *args, **kwargs)
            with open(path, 'r+b') as f:
                f.truncate(osp.getsize(path) // 2)
            raise Killed
        return real_imwrite(img, path, *args, **kwargs)

    monkeypatch.setattr(mmcv, 'imwrite', dies_on_the_third_tile)
    with pytest.raises(Killed):
        tiles.convert(src, out, 128, 56)
    monkeypatch.undo()
    assert len(written) == 3
    assert not osp.exists(osp.join(out, 'tiles.json'))
    assert _tiles_written(out) == {}  # nothing a dataset could list
    tiles.convert(src, out, 128, 56)
    tiles.convert(src, fresh, 128, 56)
    assert _tiles_written(out) == _tiles_written(fresh)
    assert len(_tiles_written(out)) == 8


def test_foreign_files_are_refused(tmp_path):
    src, out = str(tmp_path / 'src'), str(tmp_path / 'out')
    _two_image_source(src)
    os.makedirs(osp.join(out, 'images'))
    cv2.imwrite(osp.join(out, 'images', 'old_0_0.png'), np.zeros((4, 4)))
    with pytest.raises(OutputFolderError, match='images/old_0_0.png'):
        tiles.convert(src, out, 128, 56)
    assert os.listdir(osp.join(out, 'images')) == ['old_0_0.png']
    tiles.convert(src, out, 128, 56, overwrite=True)
    assert 'old_0_0.png' not in os.listdir(osp.join(out, 'images'))


@pytest.mark.parametrize('where', ['same', 'source_in_images'])
def test_source_files_are_never_removed_even_with_overwrite(tmp_path, where):
    """OUT = SRC, or SRC inside OUT/images: the source's files would be
    output files this converter did not write, which --overwrite removes."""
    out = str(tmp_path / 'out')
    src = out if where == 'same' else osp.join(out, 'images', 'src')
    _two_image_source(src)
    before = listing(src)
    for overwrite in (False, True):
        with pytest.raises(OutputFolderError) as err:
            tiles.convert(src, out, 128, 56, overwrite=overwrite)
        assert src in str(err.value) and out in str(err.value)
        assert listing(src) == before


def test_output_inside_the_source_is_a_no_op_on_rerun(tmp_path):
    src = str(tmp_path / 'src')
    out = osp.join(src, 'tiles')
    _two_image_source(src)
    first = tiles.convert(src, out, 128, 56)
    mtime = os.stat(osp.join(out, 'tiles.json')).st_mtime_ns
    assert tiles.convert(src, out, 128, 56) == first
    assert os.stat(osp.join(out, 'tiles.json')).st_mtime_ns == mtime
    assert tiles.convert(src, out, 128, 56, overwrite=True) == first
    assert len(os.listdir(osp.join(src, 'images'))) == 2  # sources kept


def test_parallel_tiling_equals_serial_with_progress(
        tmp_path, monkeypatch, capfd):
    src = str(tmp_path / 'src')
    _two_image_source(src)
    outputs = []
    for nproc in (1, 2):
        out = str(tmp_path / f'out{nproc}')
        monkeypatch.setattr(sys, 'argv', [
            'fair1m_tiles.py', src, out, '--tile-size', '128', '--overlap',
            '56', '--nproc',
            str(nproc)
        ])
        tiles.main()
        printed = capfd.readouterr().out
        assert '2/2' in printed and 'task/s' in printed, printed
        assert 'tiles: 4' in printed
        outputs.append(listing(out))
    assert outputs[0] == outputs[1]


@pytest.mark.skipif(not osp.isdir(FAIR1M), reason='real samples missing')
def test_keep_rule_through_mmdet_equals_the_plain_formula():
    """mmdet's ``bbox_overlaps(mode='iof')`` gives the shares the tiler kept
    by before (intersection over the object's box area), on real boxes."""
    boxes = np.concatenate([
        np.stack([o.bbox for o in parse_fair1m_xml(
            osp.join(FAIR1M, 'labelXml', name)).objects])
        for name in sorted(os.listdir(osp.join(FAIR1M, 'labelXml')))[:10]
    ])
    assert len(boxes) > 50
    for x in range(0, 1000, 150):
        tile = (x, x // 2, x + 384, x // 2 + 384)
        w = np.clip(np.minimum(boxes[:, 2], tile[2]) -
                    np.maximum(boxes[:, 0], tile[0]), 0, None)
        h = np.clip(np.minimum(boxes[:, 3], tile[3]) -
                    np.maximum(boxes[:, 1], tile[1]), 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        plain = w * h / np.maximum(area, 1e-12)
        shares = tiles.visible_fraction(boxes, tile)
        np.testing.assert_allclose(shares, plain, rtol=1e-12, atol=0)
        assert ((shares >= 0.5) == (plain >= 0.5)).all()
