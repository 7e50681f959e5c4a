"""CWFID preparation: a fixture in the authors' layout and the complete real
dataset in shared/data when present (whose polygon files fix the meaning of
the annotation colours: green = crop, red = weed)."""
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import yaml
from helpers import REPO
from mess_helpers import load_split, read_png, read_split
from PIL import Image

from mmseg_mopeft.datasets.mess.prepare import PREPARERS, RawDataError, prepare

REAL = osp.join(REPO, '..', 'shared', 'data', 'cwfid')
CROP, WEED = 1, 2  # MESS's names: 1 'crop seedling', 2 'weed'
GREEN, RED = (0, 255, 0), (255, 0, 0)
FORMS = ('rgb', 'palette', 'rgba')


def save_annotation(classes, path, form):
    """Crop green, weed red, soil black, as the CWFID authors draw them."""
    colours = np.array([(0, 0, 0), GREEN, RED], np.uint8)
    if form == 'palette':
        mask = Image.frombytes('P', classes.shape[::-1],
                               classes.astype(np.uint8).tobytes())
        mask.putpalette(colours.ravel().tolist())
    elif form == 'rgba':
        rgba = np.concatenate(
            [colours[classes], np.full(classes.shape + (1, ), 255, np.uint8)],
            -1)
        mask = Image.fromarray(rgba)
    else:
        mask = Image.fromarray(colours[classes])
    mask.save(path)


def make_raw(root, ids=range(1, 13), h=16, w=20):
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'annotations'))
    classes = {}
    for k, i in enumerate(ids):
        stem = f'{i:03d}'
        cls = rng.integers(0, 3, (h, w))
        mmcv.imwrite(
            rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
            osp.join(root, 'images', stem + '_image.png'))
        save_annotation(cls,
                        osp.join(root, 'annotations',
                                 stem + '_annotation.png'),
                        FORMS[k % len(FORMS)])
        classes[stem] = cls.astype(np.uint8)
    with open(osp.join(root, 'train_test_split.yaml'), 'w') as f:
        # id 4 in both lists (like 28), 11 in neither, 13 without files
        f.write('train: [2, 3, 4, 5, 6, 7, 8, 9, 13]\n'
                'test: [1, 4, 10, 12]\n')
    return classes


def test_colours_and_storage_forms(tmp_path):
    preparer = PREPARERS.build(dict(type='cwfid'))
    cls = np.arange(12).reshape(3, 4) % 3
    for form in FORMS:
        path = str(tmp_path / f'{form}.png')
        save_annotation(cls, path, form)
        np.testing.assert_array_equal(
            preparer.read_label(path), cls, err_msg=form)
    # green is the crop, red the weed (the reverse of MESS's mapping)
    assert preparer.read_label(path)[0, 1] == CROP  # green pixel
    assert preparer.read_label(path)[0, 2] == WEED  # red pixel

    odd = np.zeros((3, 4, 3), np.uint8)
    odd[1, 2] = (0, 0, 255)
    Image.fromarray(odd).save(str(tmp_path / 'odd.png'))
    with pytest.raises(ValueError, match=r'odd\.png.*\(0, 0, 255\)'):
        preparer.read_label(str(tmp_path / 'odd.png'))


def test_prepare_cwfid(tmp_path):
    raw, out = str(tmp_path / 'cwfid'), str(tmp_path / 'out')
    classes = make_raw(raw)
    os.remove(osp.join(raw, 'annotations', '006_annotation.png'))
    meta = prepare(PREPARERS.build(dict(type='cwfid')), raw, out)

    # train ids 2,3,5,7,8,9 (4 goes to test, 6 lost its label, 13 absent)
    assert meta['counts'] == dict(train=5, val=1, test=4)
    assert meta['unpaired'] == dict(
        images_without_label=['006'],
        labels_without_image=[],
        in_no_split=['011'],
        listed_without_pair=['006', '013'])
    stems = {}
    for split in ('train', 'val', 'test'):
        labels = read_split(out, split)
        stems[split] = set(labels)
        for stem, label in labels.items():
            np.testing.assert_array_equal(label, classes[stem], err_msg=stem)
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.png'))
            assert img.shape == label.shape + (3, )
    assert stems['test'] == {'001', '004', '010', '012'}
    assert stems['train'] | stems['val'] == {'002', '003', '005', '007',
                                             '008', '009'}
    assert not stems['train'] & stems['val']
    assert prepare(PREPARERS.build(dict(type='cwfid')), raw, out) == meta

    dataset = load_split('CWFIDDataset', out)
    assert len(dataset) == 4
    assert dataset.metainfo['classes'] == ('ground', 'crop seedling', 'weed')
    sample = dataset[0]
    assert osp.basename(sample['data_samples'].img_path) == '001.png'
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), classes['001'])


def test_missing_raw_is_explained(tmp_path):
    raw = str(tmp_path / 'cwfid')
    make_raw(raw, ids=[1])
    os.remove(osp.join(raw, 'train_test_split.yaml'))
    with pytest.raises(RawDataError, match='github.com/cwfid/dataset') as err:
        prepare(PREPARERS.build(dict(type='cwfid')), raw, str(tmp_path / 'o'))
    assert 'train_test_split.yaml' in str(err.value)


def polygon_masks(yaml_path, shape):
    """Rasterised crop / weed polygons of one image's yaml file."""
    with open(yaml_path) as f:
        plants = yaml.safe_load(f)['annotation']
    if isinstance(plants, dict):
        plants = [plants]
    masks = dict(crop=np.zeros(shape, np.uint8), weed=np.zeros(shape,
                                                               np.uint8))
    for plant in plants:
        xs, ys = plant['points']['x'], plant['points']['y']
        xs, ys = np.atleast_1d(xs), np.atleast_1d(ys)
        points = np.round(np.stack([xs, ys], -1)).astype(np.int32)
        cv2.fillPoly(masks[plant['type']], [points], 1)
    return {k: v.astype(bool) for k, v in masks.items()}


needs_real = pytest.mark.skipif(
    not osp.isfile(osp.join(REAL, 'train_test_split.yaml')),
    reason=f'real CWFID not found at {REAL}')


def check_real_label(label, stem, counts):
    """``label`` is the colour table applied to the raw PNG; adds the
    classes found inside the crop / weed polygons to ``counts``."""
    assert label.shape == (966, 1296)
    rgb = read_png(osp.join(REAL, 'annotations',
                            stem + '_annotation.png'))[..., :3]
    expected = np.full(label.shape, 255, np.uint8)
    expected[np.all(rgb == (0, 0, 0), -1)] = 0
    expected[np.all(rgb == GREEN, -1)] = CROP
    expected[np.all(rgb == RED, -1)] = WEED
    np.testing.assert_array_equal(label, expected, err_msg=stem)
    masks = polygon_masks(
        osp.join(REAL, 'annotations', stem + '_annotation.yaml'), label.shape)
    for kind, mask in masks.items():
        counts[kind] += np.bincount(label[mask], minlength=3)[:3]


def check_semantics(counts):
    """Pixels inside the authors' crop polygons are crop, inside weed
    polygons weed (``counts[polygon type][class]``)."""
    assert counts['crop'][CROP] > 0.99 * counts['crop'][1:].sum()
    assert counts['weed'][WEED] > 0.99 * counts['weed'][1:].sum()
    # MESS's mapping (red -> 1 'crop seedling') would get it backwards
    assert counts['crop'][WEED] < 0.01 * counts['crop'][CROP]


@needs_real
def test_real_cwfid_splits_and_colours():
    """Fast: the splits of the real dataset, and the conversion of a few
    annotations checked against their polygon files."""
    preparer = PREPARERS.build(dict(type='cwfid'))
    splits = preparer.collect(REAL)
    stems = {s: {p.stem for p in splits[s]} for s in ('train', 'val', 'test')}
    assert {s: len(v) for s, v in stems.items()} == dict(
        train=35, val=4, test=21)
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    assert '028' in stems['test']
    assert len(set().union(*stems.values())) == 60
    assert not any(splits['unpaired'].values())

    pairs = {p.stem: p for s in ('train', 'val', 'test') for p in splits[s]}
    counts = dict(crop=np.zeros(3, int), weed=np.zeros(3, int))
    for stem in ('001', '002', '010', '028', '045', '050'):
        check_real_label(preparer.read_label(pairs[stem].label), stem, counts)
    check_semantics(counts)


@pytest.mark.slow
@needs_real
def test_real_cwfid_prepare(tmp_path):
    """All 60 images written and every label checked (25-35 s)."""
    out = str(tmp_path / 'out')
    meta = prepare(PREPARERS.build(dict(type='cwfid')), REAL, out)
    assert meta['counts'] == dict(train=35, val=4, test=21)
    stems = {}
    counts = dict(crop=np.zeros(3, int), weed=np.zeros(3, int))
    for split in ('train', 'val', 'test'):
        labels = read_split(out, split)
        stems[split] = set(labels)
        for stem, label in labels.items():
            check_real_label(label, stem, counts)
            img = mmcv.imread(osp.join(out, 'img_dir', split, stem + '.png'))
            raw = mmcv.imread(osp.join(REAL, 'images', stem + '_image.png'))
            np.testing.assert_array_equal(img, raw)  # lossless PNG copy
    assert not stems['train'] & stems['val']
    assert not (stems['train'] | stems['val']) & stems['test']
    assert '028' in stems['test'] and len(set().union(*stems.values())) == 60
    check_semantics(counts)
