"""masks_to_boxes and Masks2BoxesHead: boxes from hand-made masks and
logits, mask targets from polygons."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import PolygonMasks
from mmengine.structures import InstanceData

from mmseg_mopeft.models.heads import Masks2BoxesHead, masks_to_boxes


def _masks(shape, *regions):
    """One (H, W) mask per region list; a region is (y1, y2, x1, x2)."""
    out = torch.zeros(len(regions), *shape, dtype=torch.bool)
    for i, blobs in enumerate(regions):
        for y1, y2, x1, x2 in blobs:
            out[i, y1:y2, x1:x2] = True
    return out


def test_masks_to_boxes_on_hand_made_masks():
    masks = _masks(
        (20, 30),
        [(2, 5, 3, 10)],  # one rectangle
        [(2, 12, 3, 13), (18, 19, 28, 29)],  # 100 px + 1 px stray blob
        [(0, 5, 0, 5), (10, 15, 20, 26)],  # two big blobs: box around both
        [(0, 10, 0, 10), (15, 17, 20, 25)],  # 100 px + 10 px: 10% kept
        [(0, 10, 0, 10), (15, 18, 20, 23)],  # 100 px + 9 px: dropped
        [],  # empty
    )
    # a diagonal line is one 8-connected component, however thin
    diagonal = torch.zeros(1, 20, 30, dtype=torch.bool)
    diagonal[0, torch.arange(4, 14), torch.arange(6, 16)] = True
    boxes, valid = masks_to_boxes(torch.cat([masks, diagonal]))
    assert valid.tolist() == [True] * 5 + [False, True]
    assert boxes.tolist() == [
        [3, 2, 10, 5],
        [3, 2, 13, 12],
        [0, 0, 26, 15],
        [0, 0, 25, 17],
        [0, 0, 10, 10],
        [0, 0, 0, 0],
        [6, 4, 16, 14],
    ]
    # without the component rule: the tight box around every pixel
    boxes, _ = masks_to_boxes(masks, min_component_ratio=0)
    assert boxes[1].tolist() == [3, 2, 29, 19]


def test_masks_to_boxes_with_components_on_a_coarser_grid():
    """cell=4: components are grouped on 4x4 blocks, areas stay exact."""
    masks = _masks(
        (40, 40),
        # 100 px object + 9 px blob far away (9 blocks vs up to 4 blocks,
        # but 9% of the pixels): dropped
        [(2, 12, 2, 12), (30, 33, 30, 33)],
        # a 1 px blob in the block next to the object's blocks (0-2): one
        # component, kept
        [(2, 12, 2, 12), (14, 15, 14, 15)],
        # the same blob with an empty block in between: dropped
        [(2, 12, 2, 12), (17, 18, 17, 18)],
    )
    boxes, valid = masks_to_boxes(masks, cell=4)
    assert valid.all()
    assert boxes.tolist() == [[2, 2, 12, 12], [2, 2, 15, 15], [2, 2, 12, 12]]
    # pixel-level components drop the 1 px blob in every case
    assert masks_to_boxes(masks)[0].tolist() == [[2, 2, 12, 12]] * 3
    # a block cut by the mask border counts its pixels only: 1 px of 17
    edge = _masks((14, 14), [(0, 4, 0, 4), (13, 14, 13, 14)])
    assert masks_to_boxes(edge, cell=4)[0].tolist() == [[0, 0, 4, 4]]


def _head(**kwargs):
    kwargs.setdefault('num_queries', 3)
    return Masks2BoxesHead(num_classes=37, init_cfg=None, **kwargs).eval()


def _meta(**kwargs):
    meta = dict(
        img_shape=(60, 64),
        batch_input_shape=(64, 64),
        scale_factor=(0.5, 0.5),
        ori_shape=(120, 128))
    meta.update(kwargs)
    return meta


def test_predictions_are_mask_boxes_in_original_image_coordinates():
    """Hand-made logits on the 16x16 mask grid of a 64x64 input: query 0 is
    class 5 with a mask on cells rows 2-3, cols 3-5; query 1 is class 20
    with a mask only in the padding below the 60 px image; query 2 is "no
    object"."""
    cls = torch.full((1, 3, 38), -10.)
    cls[0, 0, 5] = cls[0, 1, 20] = cls[0, 2, 37] = 10.
    masks = torch.full((1, 3, 16, 16), -10.)
    masks[0, 0, 2:4, 3:6] = 10.
    masks[0, 1, 15, :] = 10.
    sample = DetDataSample(metainfo=_meta())
    head = _head(score_thr=0.5)
    result, = head.predict_by_feat(cls, masks, [sample])
    assert result.labels.tolist() == [5]
    # cells (3..6) x (2..4) * stride 4 = input box (12, 8, 24, 16); the
    # image was resized by 0.5, so the original box is twice that.
    assert result.bboxes.tolist() == [[24., 16., 48., 32.]]
    expected = torch.softmax(cls[0, 0], -1)[5]
    assert result.scores.tolist() == pytest.approx([expected.item()])

    result, = _head(score_thr=0.5).predict_by_feat(
        cls, masks, [sample], rescale=False)
    assert result.bboxes.tolist() == [[12., 8., 24., 16.]]

    # with mask quality: the soft border of the upsampled mask lowers it
    result, = _head(score_thr=0.5, score_with_mask_quality=True) \
        .predict_by_feat(cls, masks, [sample])
    assert 0.5 * expected < result.scores[0] < expected


def test_mask_targets_on_the_mask_grid():
    """Polygons (64x64 input) rasterised on the 16x16 grid; an object too
    small for any cell centre gets the cell of its box centre."""
    gt = InstanceData(
        labels=torch.tensor([3, 7]),
        bboxes=HorizontalBoxes(torch.tensor([[8., 8., 24., 24.],
                                             [41., 41., 41.5, 41.5]])),
        masks=PolygonMasks([[np.array([8., 8, 24, 8, 24, 24, 8, 24])],
                            [np.array([41., 41, 41.5, 41, 41.5, 41.5,
                                       41, 41.5])]], 60, 64))
    sample = DetDataSample(metainfo=_meta(), gt_instances=gt)
    targets = Masks2BoxesHead.mask_targets(sample, (16, 16))
    assert targets.labels.tolist() == [3, 7]
    expected = torch.zeros(2, 16, 16)
    expected[0, 2:6, 2:6] = 1
    expected[1, 10, 10] = 1
    assert torch.equal(targets.masks, expected)


def _cls(label=5):
    cls = torch.full((1, 1, 38), -10.)
    cls[0, 0, label] = 10.
    return cls


def test_rescale_divides_x_by_the_width_and_y_by_the_height_factor():
    """mmdet's scale_factor is (w_scale, h_scale): an input box
    (12, 8, 24, 16) of an image resized by 0.5 in x and 0.25 in y is
    (24, 32, 48, 64) in the original image."""
    masks = torch.full((1, 1, 16, 16), -10.)
    masks[0, 0, 2:4, 3:6] = 10.
    w_scale, h_scale = 0.5, 0.25
    meta = dict(img_shape=(60, 64), batch_input_shape=(64, 64),
                scale_factor=(w_scale, h_scale), ori_shape=(240, 128))
    sample = DetDataSample(metainfo=meta)
    head = _head(num_queries=1, score_thr=0.5)
    unscaled, = head.predict_by_feat(_cls(), masks, [sample], rescale=False)
    x1, y1, x2, y2 = unscaled.bboxes[0].tolist()
    result, = head.predict_by_feat(_cls(), masks, [sample])
    assert result.bboxes[0].tolist() == pytest.approx(
        [x1 / w_scale, y1 / h_scale, x2 / w_scale, y2 / h_scale])


def test_object_reaching_the_image_bottom_gets_a_box_to_the_bottom():
    """Image 62 px high on a 64 px input (grid 16, stride 4): an object
    whose mask covers the cells of rows 56..63 covers the image down to its
    last row, so the box ends at y2 = 62 (image height), not at a cell
    border above it."""
    img_h = 62
    masks = torch.full((1, 1, 16, 16), -10.)
    masks[0, 0, 14:, 4:8] = 10.
    meta = dict(img_shape=(img_h, 64), batch_input_shape=(64, 64),
                scale_factor=(1., 1.), ori_shape=(img_h, 64))
    result, = _head(num_queries=1, score_thr=0.5).predict_by_feat(
        _cls(), masks, [DetDataSample(metainfo=meta)], rescale=False)
    assert result.bboxes[0, 3].item() == img_h


def test_mask_quality_is_the_mean_probability_inside_the_mask():
    """Logits 0 (probability 0.5, below the threshold) everywhere but one
    block: quality is the mean probability of the thresholded pixels, in
    (0.5, 1], so the score is at most the class probability."""
    masks = torch.zeros(1, 1, 16, 16)
    masks[0, 0, 5:8, 5:8] = 10.
    meta = dict(img_shape=(64, 64), batch_input_shape=(64, 64),
                scale_factor=(1., 1.), ori_shape=(64, 64))
    cls = _cls()
    head = _head(num_queries=1, score_thr=0.5, score_with_mask_quality=True)
    result, = head.predict_by_feat(cls, masks, [DetDataSample(metainfo=meta)])
    class_prob = torch.softmax(cls[0, 0], -1)[5].item()
    probs = F.interpolate(masks, size=(64, 64), mode='bilinear',
                          align_corners=False)[0, 0].sigmoid()
    quality = probs[probs > 0.5].mean().item()
    assert 0.5 < quality <= 1
    assert result.scores[0].item() == pytest.approx(class_prob * quality,
                                                    rel=1e-4)


def test_head_groups_components_on_the_4px_grid():
    """The head's boxes are masks_to_boxes of the upsampled binary mask with
    cell = stride (4), as its docstring says: an object and a small blob a
    few pixels apart (less than a block) are one component there (kept in
    the box), two on the pixel grid (the small blob dropped)."""
    masks = torch.full((1, 1, 16, 16), -10.)
    masks[0, 0, 2:6, 2:6] = 10.   # 16 cells, about 256 px
    masks[0, 0, 3, 7] = 10.       # one cell ...
    masks[0, 0, 3, 6] = -2.       # ... a weak negative cell between
    meta = dict(img_shape=(64, 64), batch_input_shape=(64, 64),
                scale_factor=(1., 1.), ori_shape=(64, 64))
    result, = _head(num_queries=1, score_thr=0.5).predict_by_feat(
        _cls(), masks, [DetDataSample(metainfo=meta)], rescale=False)
    binary = F.interpolate(masks, size=(64, 64), mode='bilinear',
                           align_corners=False)[0].sigmoid() > 0.5
    grid4, _ = masks_to_boxes(binary, cell=4)
    pixel, _ = masks_to_boxes(binary, cell=1)
    assert grid4.tolist() != pixel.tolist()  # the case tells them apart
    assert result.bboxes.tolist() == grid4.tolist()
