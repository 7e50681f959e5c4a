"""Prompt sampling of the Stable-SAM protocol on hand-made masks, checked
against brute-force computations."""
import numpy as np
import pytest

from mmseg_mopeft.models.prompts import (GTPromptSampler, box_iou, noisy_box,
                                         object_rng, oracle_box, oracle_point,
                                         random_point, target_masks)


def brute_force_depth(mask):
    """Distance of every object pixel to the nearest pixel that is not the
    object, the image's outside included (a one-pixel frame)."""
    h, w = mask.shape
    rows, cols = np.mgrid[-1:h + 1, -1:w + 1]
    outside = np.ones((h + 2, w + 2), bool)
    outside[1:-1, 1:-1] = ~mask
    br, bc = rows[outside], cols[outside]
    depth = np.zeros(mask.shape)
    for r, c in zip(*np.nonzero(mask)):
        depth[r, c] = np.sqrt((br - r)**2 + (bc - c)**2).min()
    return depth


def disk(shape, centre, radius):
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    return (rows - centre[0])**2 + (cols - centre[1])**2 <= radius**2


def l_shape():
    mask = np.zeros((20, 24), bool)
    mask[2:18, 3:8] = True  # vertical bar, 16 x 5 = 80 px
    mask[13:18, 8:21] = True  # foot, 5 x 13 = 65 px
    return mask


def test_oracle_point_is_the_deepest_pixel():
    mask = disk((25, 30), centre=(10, 17), radius=6)
    np.testing.assert_array_equal(oracle_point(mask), [17, 10])  # (x, y)
    for mask in (l_shape(), np.pad(np.ones((9, 4), bool), ((0, 5), (3, 0)))):
        x, y = oracle_point(mask).astype(int)
        assert mask[y, x]
        depth = brute_force_depth(mask)
        assert depth[y, x] == pytest.approx(depth.max())


def test_oracle_point_treats_the_image_border_as_boundary():
    mask = np.zeros((12, 20), bool)
    mask[:, :7] = True  # touches top, bottom and left border
    # depth min(x + 1, 7 - x, y + 1, 12 - y): 4 at x = 3, y = 3..8 (without
    # the frame it would be 7 at the left border); first in row-major order
    np.testing.assert_array_equal(oracle_point(mask), [3, 3])
    depth = brute_force_depth(mask)
    assert depth[3, 3] == depth.max() == 4.0


def test_random_points_are_inside_and_uniform():
    mask = l_shape()
    rng = np.random.default_rng(0)
    points = np.array([random_point(mask, rng) for _ in range(4000)], int)
    assert mask[points[:, 1], points[:, 0]].all()
    in_foot = np.mean(points[:, 0] >= 8)
    assert abs(in_foot - 65 / 145) < 0.03  # area share of the foot
    assert len({tuple(p) for p in points}) > 130  # most of the 145 pixels


def test_oracle_box_is_tight():
    mask = l_shape()
    rows, cols = np.nonzero(mask)
    np.testing.assert_array_equal(
        oracle_box(mask), [cols.min(), rows.min(), cols.max(), rows.max()])
    single = np.zeros((5, 5), bool)
    single[2, 3] = True
    np.testing.assert_array_equal(oracle_box(single), [3, 2, 3, 2])


def test_box_iou_by_hand():
    # inclusive pixel boxes: 10 x 10 = 100 px each, overlap 5 x 10
    assert box_iou(np.array([0, 0, 9, 9]), np.array([5, 0, 14, 9])) == \
        pytest.approx(50 / 150)
    assert box_iou(np.array([0, 0, 9, 9]), np.array([10, 0, 19, 9])) == 0
    assert box_iou(np.array([3, 2, 3, 2]), np.array([3, 2, 3, 2])) == 1


def pixel_iou(a, b, shape):
    """IoU of two boxes rasterised on a 10x finer grid (independent of
    box_iou's formula)."""
    ys, xs = np.mgrid[0:shape[0]:0.1, 0:shape[1]:0.1]
    ys, xs = ys + 0.05 - 0.5, xs + 0.05 - 0.5  # sub-pixel centres

    def inside(box):
        return ((xs >= box[0] - 0.5) & (xs < box[2] + 0.5)
                & (ys >= box[1] - 0.5) & (ys < box[3] + 0.5))

    ia, ib = inside(a), inside(b)
    return (ia & ib).sum() / (ia | ib).sum()


def test_noisy_boxes_keep_iou_and_spread_around_the_box():
    box = np.array([60.0, 40.0, 139.0, 99.0])  # 80 x 60 px
    shape = (200, 240)
    rng = np.random.default_rng(1)
    boxes = np.array([noisy_box(box, shape, rng) for _ in range(600)])
    ious = np.array([box_iou(b, box) for b in boxes])
    assert (ious >= 0.5).all() and ious.min() < 0.6  # near the limit
    for b in boxes[:5]:
        assert pixel_iou(b, box, shape) == pytest.approx(
            box_iou(b, box), abs=0.01)
    size = np.array([80, 60, 80, 60])
    offsets = (boxes - box) / size
    assert (np.abs(offsets) <= 0.4 + 1e-9).all()  # scale 0.4 per side
    assert (offsets.std(axis=0) > 0.12).all()  # every side moves
    # centred on the box and spread around it, in every direction
    centre = (offsets[:, :2] + offsets[:, 2:]) / 2
    assert (np.abs(centre.mean(axis=0)) < 0.015).all()
    assert (centre.std(axis=0) > 0.08).all()
    assert all((np.sign(centre) == s).all(axis=1).any()
               for s in ([1, 1], [1, -1], [-1, 1], [-1, -1]))
    # slightly larger on average: moving a side out by d costs less IoU
    # than moving it in by d, so the IoU >= 0.5 rule keeps more of those
    assert offsets[:, 0].mean() < 0 < offsets[:, 2].mean()
    assert (boxes[:, 2:] >= boxes[:, :2]).all()


def test_noisy_boxes_stay_in_the_image():
    box = np.array([0.0, 0.0, 9.0, 29.0])
    rng = np.random.default_rng(2)
    for _ in range(200):
        b = noisy_box(box, (30, 10), rng)
        assert b.min() >= 0 and b[2] <= 9 and b[3] <= 29
        assert box_iou(b, box) >= 0.5


def test_targets_per_class_and_per_component():
    gt = np.full((10, 10), 255, np.uint8)
    gt[0:3, 0:3] = 1
    gt[3:5, 3:5] = 1  # touches the first blob at a corner: 8-connected
    gt[7:9, 7:9] = 1
    gt[6:10, 0:2] = 0
    per_class = target_masks(gt)
    assert [(c, i) for c, i, _ in per_class] == [(0, 0), (1, 0)]
    assert per_class[1][2].sum() == 9 + 4 + 4
    per_comp = target_masks(gt, per='component')
    assert [(c, i) for c, i, _ in per_comp] == [(0, 0), (1, 0), (1, 1)]
    assert [m.sum() for _, _, m in per_comp] == [8, 13, 4]
    with pytest.raises(ValueError, match="per='blob'"):
        target_masks(gt, per='blob')


def make_gt():
    gt = np.zeros((40, 50), np.uint8)
    gt[5:20, 5:30] = 1
    gt[25:38, 10:45] = 2
    gt[0:3, :] = 255
    return gt


@pytest.mark.parametrize(
    'prompt_type', ['oracle_point', 'random_point', 'oracle_box', 'noisy_box'])
def test_sampler_is_deterministic_per_image_and_object(prompt_type):
    sampler = GTPromptSampler(seed=3)
    gt = make_gt()
    first = sampler(gt, '/data/a/img_dir/test/x.png', prompt_type)
    assert [p['label'] for p in first] == [0, 1, 2]
    # same file name elsewhere: same prompts; another image: its own
    again = sampler(gt, '/elsewhere/x.png', prompt_type)
    for a, b in zip(first, again):
        for key in ('point', 'box'):
            if key in a:
                np.testing.assert_array_equal(a[key], b[key])
    # an extra object does not shift the others' draws
    gt3 = gt.copy()
    gt3[30:35, 0:5] = 3
    more = sampler(gt3, 'x.png', prompt_type)
    assert [p['label'] for p in more] == [0, 1, 2, 3]
    key = 'point' if 'point' in prompt_type else 'box'
    np.testing.assert_array_equal(more[1][key], first[1][key])
    for p in first:
        if key == 'point':
            x, y = p['point'][0].astype(int)
            assert gt[y, x] == p['label']


def test_seed_and_file_name_change_random_draws():
    gt = make_gt()
    draws = {(seed, name): GTPromptSampler(seed=seed)(gt, name,
                                                      'random_point')[2]
             ['point'].tolist()
             for seed in (0, 1) for name in ('a.png', 'b.png')}
    assert len({str(v) for v in draws.values()}) == 4
    rng_a, rng_b = object_rng(0, 'a.png', 2, 0), object_rng(0, 'a.png', 2, 0)
    assert rng_a.integers(1 << 30) == rng_b.integers(1 << 30)


def test_sampler_rejects_unknown_settings():
    with pytest.raises(ValueError, match="'centre_point'"):
        GTPromptSampler()(make_gt(), 'x.png', 'centre_point')
    with pytest.raises(ValueError, match="per='pixel'"):
        GTPromptSampler(per='pixel')
    with pytest.raises(ValueError, match='non-empty'):
        oracle_point(np.zeros((4, 4), bool))


def _iou_inclusive(a, b):
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(ix, 0) * max(iy, 0)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_sampler_min_iou_is_applied_to_noisy_boxes():
    gt = np.full((64, 64), 255, np.uint8)
    gt[10:40, 12:50] = 3
    rows, cols = np.nonzero(gt == 3)
    tight = [cols.min(), rows.min(), cols.max(), rows.max()]
    ious = []
    for seed in range(20):
        sampler = GTPromptSampler(seed=seed, min_iou=0.7)
        prompt, = sampler(gt, f'img{seed}.png', 'noisy_box')
        ious.append(_iou_inclusive(prompt['box'], tight))
    assert min(ious) >= 0.7


def test_components_of_one_class_draw_independently():
    """per='component': two same-shaped components of one class; their
    random points (relative to each component) are not all the same."""
    gt = np.full((40, 40), 255, np.uint8)
    gt[2:12, 2:12] = 1
    gt[25:35, 20:30] = 1
    same = []
    for seed in range(5):
        a, b = GTPromptSampler(per='component', seed=seed)(
            gt, 'x.png', 'random_point')
        same.append(np.array_equal(a['point'] - [2, 2],
                                   b['point'] - [20, 25]))
    assert not all(same)
