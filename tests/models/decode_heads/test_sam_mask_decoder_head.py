"""SAMMaskDecoderHead: shapes, checkpoint loading, matching, losses."""
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_mopeft.models.decode_heads.sam_mask_decoder_head import \
    semantic_inference


def build_head(**kwargs):
    cfg = dict(type='SAMMaskDecoderHead', num_classes=3, num_points=0)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_forward_shapes_and_default_queries():
    head = build_head()
    assert head.num_queries == 3  # one per class by default
    cls, masks = head((torch.randn(2, 256, 4, 6), ))
    assert cls.shape == (2, 3, 4) and masks.shape == (2, 3, 16, 24)
    head = build_head(num_queries=7)
    cls, masks = head((torch.randn(1, 256, 4, 4), ))
    assert cls.shape == (1, 7, 4) and masks.shape == (1, 7, 16, 16)


def test_torch_flop_counter_counts_inference_under_no_grad():
    """torch's FlopCounterMode tracks modules through their tensor inputs;
    under no_grad it must count what the forward with gradients counts."""
    from torch.utils.flop_counter import FlopCounterMode
    head = build_head().eval()
    feats = (torch.randn(2, 256, 4, 4), )
    with FlopCounterMode(display=False) as with_grad:
        head(feats)
    with torch.no_grad(), FlopCounterMode(display=False) as without:
        head(feats)
    assert without.get_total_flops() == with_grad.get_total_flops() > 0


def test_loads_sam_decoder_and_expands_first_mask_token(tiny_sam_ckpt):
    path, ref = tiny_sam_ckpt
    head = build_head(
        num_queries=5, init_cfg=dict(type='Pretrained', checkpoint=path))
    head.init_weights()
    sam = ref.state_dict()
    for key, value in head.transformer.state_dict().items():
        assert torch.equal(value, sam['mask_decoder.transformer.' + key])
    for key, value in head.hypernet_mlp.state_dict().items():
        assert torch.equal(
            value, sam['mask_decoder.output_hypernetworks_mlps.0.' + key])
    for key, value in head.prompt_encoder.state_dict().items():
        assert torch.equal(value, sam['prompt_encoder.' + key])
    first = sam['mask_decoder.mask_tokens.weight'][0]
    assert torch.equal(head.mask_tokens.weight, first.expand(5, -1))
    assert torch.equal(head.iou_token.weight,
                       sam['mask_decoder.iou_token.weight'])


def test_constant_prompt_path_matches_sam_mask_decoder(tiny_sam_ckpt):
    """With one query, our decoder computes what SAM's transformer +
    hypernetwork compute for the first mask token with empty prompts, with
    SAM's IoU token in front of it (Conv-LoRA's reference decoder)."""
    path, ref = tiny_sam_ckpt
    head = build_head(
        num_queries=1, init_cfg=dict(type='Pretrained', checkpoint=path))
    head.init_weights()
    head.eval()
    emb = torch.randn(2, 256, 4, 4)
    dec = ref.mask_decoder
    sparse, dense = ref.prompt_encoder(points=None, boxes=None, masks=None)
    assert sparse.shape[1] == 0  # empty prompts add no tokens
    tokens = torch.cat([dec.iou_token.weight,
                        dec.mask_tokens.weight[:1]]).expand(2, -1, -1)
    with torch.no_grad():
        pe = ref.prompt_encoder.get_dense_pe().expand(2, -1, -1, -1)
        hs, src = dec.transformer(emb + dense, pe, tokens)
        up = dec.output_upscaling(src.transpose(1, 2).reshape(2, 256, 4, 4))
        hyper = dec.output_hypernetworks_mlps[0](hs[:, 1])
        expected = torch.einsum('bc,bchw->bhw', hyper, up)
        _, masks = head((emb, ))
    assert torch.allclose(masks[:, 0], expected, atol=1e-5)


def _sample(seg):
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(seg)[None])
    return sample


def test_hungarian_matching_on_hand_made_case():
    head = build_head(num_queries=4)
    gt = InstanceData(
        labels=torch.tensor([2, 0]),
        masks=torch.zeros(2, 8, 8, dtype=torch.long))
    gt.masks[0, :4] = 1  # class 2: top half
    gt.masks[1, 4:] = 1  # class 0: bottom half
    cls = torch.full((4, 4), -5.0)
    masks = torch.full((4, 8, 8), -10.0)
    cls[3, 2] = 5  # query 3 says class 2 ...
    masks[3, :4] = 10  # ... with the top-half mask
    cls[1, 0] = 5  # query 1 says class 0 ...
    masks[1, 4:] = 10  # ... with the bottom-half mask
    query_idx, gt_idx = head.match(cls, masks, gt)
    assert dict(zip(query_idx.tolist(), gt_idx.tolist())) == {3: 0, 1: 1}


def test_loss_prefers_correct_predictions_and_reaches_trainable_params():
    torch.manual_seed(0)
    head = build_head(num_queries=3)
    seg = torch.zeros(16, 16, dtype=torch.long)
    seg[:8] = 1
    seg[12:, 12:] = 255  # ignored pixels are no class
    samples = [_sample(seg)]
    good_cls = torch.tensor([[[8., -8, -8, -8], [-8, 8, -8, -8],
                              [-8, -8, -8, 8]]])
    good_masks = torch.full((1, 3, 16, 16), -8.0)
    good_masks[0, 0, 8:] = 8
    good_masks[0, 1, :8] = 8
    good_masks[0, 0, 12:, 12:] = -8  # ignored pixels count as background
    good = head.loss_by_feat((good_cls, good_masks), samples)
    unsure = torch.zeros_like(good_masks)
    bad_masks = head.loss_by_feat((good_cls, unsure), samples)
    for key in ('loss_mask', 'loss_dice'):
        assert good[key] < 0.1 * bad_masks[key], key
    no_object = good_cls.clone()
    no_object[0, :2] = good_cls[0, 2]  # every query says "no object"
    bad_cls = head.loss_by_feat((no_object, good_masks), samples)
    assert good['loss_cls'] < 0.1 * bad_cls['loss_cls']

    cls, masks = head((torch.randn(1, 256, 4, 4), ))
    losses = head.loss_by_feat((cls, masks), samples)
    sum(losses.values()).backward()
    for name, param in head.named_parameters():
        has_grad = param.grad is not None and param.grad.abs().sum() > 0
        assert has_grad == param.requires_grad, name
    assert not any(p.requires_grad for p in head.prompt_encoder.parameters())


def test_losses_equal_the_formulas_written_out():
    """Mask2Former's weighting: class loss 2 x CE with the no-object class
    weighted 0.1 and normalised by the weights used; mask losses 5 x BCE
    and 5 x dice over the matched masks, ignored pixels as background."""
    torch.manual_seed(0)
    k = 3
    head = build_head(num_classes=k, num_queries=4)
    seg = torch.zeros(8, 8, dtype=torch.long)
    seg[:4] = 2
    seg[6:, 6:] = 255
    cls = torch.randn(1, 4, k + 1)
    cls[0, 3, 2] = cls[0, 1, 0] = 9  # matching: query 3 class 2, 1 class 0
    masks = torch.randn(1, 4, 8, 8)
    masks[0, 3, :4] += 6
    masks[0, 1, 4:] += 6
    losses = head.loss_by_feat((cls, masks), [_sample(seg)])

    labels = torch.tensor([k, 0, k, 2])  # unmatched queries: no object
    weight = torch.tensor([1.0] * k + [0.1])[labels]
    ce = torch.nn.functional.cross_entropy(cls[0], labels, reduction='none')
    preds = torch.stack([masks[0, 1], masks[0, 3]]).flatten(1)
    targets = torch.stack([seg == 0, seg == 2]).flatten(1).float()
    probs = preds.sigmoid()
    dice = 1 - (2 * (probs * targets).sum(1) + 1) / (
        probs.sum(1) + targets.sum(1) + 1)
    expected = dict(
        loss_cls=2 * (weight * ce).sum() / weight.sum(),
        loss_mask=5 * torch.nn.functional.binary_cross_entropy_with_logits(
            preds, targets),
        loss_dice=5 * dice.mean())
    for key, value in expected.items():
        torch.testing.assert_close(losses[key], value, rtol=1e-5, atol=0,
                                   msg=key)


def test_image_without_labels_gives_zero_mask_losses():
    head = build_head(num_queries=2)
    seg = torch.full((16, 16), 255, dtype=torch.long)
    cls, masks = head((torch.randn(1, 256, 4, 4), ))
    losses = head.loss_by_feat((cls, masks), [_sample(seg)])
    assert losses['loss_mask'] == 0 and losses['loss_dice'] == 0
    assert losses['loss_cls'] > 0


def test_point_sampled_loss_close_to_dense_loss():
    torch.manual_seed(0)
    seg = torch.zeros(64, 64, dtype=torch.long)
    seg[:, 20:] = 1
    cls = torch.tensor([[[5., -5, -5], [-5, 5, -5]]])  # fixes the matching
    # smooth logits, so sampling between pixel centres changes little
    masks = torch.nn.functional.interpolate(
        3 * torch.randn(1, 2, 4, 4), size=(16, 16), mode='bilinear')
    dense = build_head(num_classes=2, num_points=0)
    sampled = build_head(
        num_classes=2,
        num_points=20000,
        oversample_ratio=1.0,
        importance_sample_ratio=0.0)
    ld = dense.loss_by_feat((cls, masks), [_sample(seg)])
    ls = sampled.loss_by_feat((cls, masks), [_sample(seg)])
    assert torch.allclose(ld['loss_mask'], ls['loss_mask'], rtol=0.05)


def test_predict_is_class_weighted_mask_probability():
    head = build_head()
    cls = torch.randn(2, 3, 4)
    masks = torch.randn(2, 3, 8, 8)
    metas = [dict(img_shape=(32, 32), pad_shape=(32, 32))] * 2
    seg = head.predict_by_feat((cls, masks), metas)
    assert seg.shape == (2, 3, 32, 32)
    up = torch.nn.functional.interpolate(masks, (32, 32), mode='bilinear')
    expected = sum(
        cls.softmax(-1)[:, q, :3, None, None] * up[:, q:q + 1].sigmoid()
        for q in range(3))
    assert torch.allclose(seg, expected, atol=1e-6)
    assert torch.allclose(semantic_inference(cls, up), expected, atol=1e-6)


@pytest.mark.parametrize('freeze', [True, False])
def test_freeze_mask_decoder(freeze):
    head = build_head(freeze_mask_decoder=freeze)
    trainable = {n.split('.')[0] for n, p in head.named_parameters()
                 if p.requires_grad}
    always = {'mask_tokens', 'cls_embed'}
    decoder = {'transformer', 'output_upscaling', 'hypernet_mlp', 'iou_token'}
    assert trainable == (always if freeze else always | decoder)


@pytest.mark.parametrize('option', [
    dict(loss_decode=dict(type='CrossEntropyLoss', class_weight=[1, 2, 3])),
    dict(sampler=dict(type='OHEMPixelSampler', thresh=0.7)),
    dict(dropout_ratio=0.1),
    dict(out_channels=1, threshold=0.3),
], ids=['loss_decode', 'sampler', 'dropout_ratio', 'out_channels'])
def test_mmseg_head_options_it_does_not_use_are_refused(option):
    with pytest.raises(ValueError, match='does not take') as error:
        build_head(**option)
    assert all(key in str(error.value) for key in option)


def test_a_label_that_is_no_class_is_a_clear_error():
    """ignore_index=0 to leave out class 0 leaves the padding's 255 a
    label; matching would fail deep in mmdet without this message."""
    head = build_head(num_queries=3, ignore_index=0)
    seg = torch.zeros(16, 16, dtype=torch.long)
    seg[:8] = 1
    seg[12:] = 255
    feats = (torch.randn(1, 256, 4, 4), )
    with pytest.raises(ValueError, match=r'label 255 is no class of the 3 '
                       r'and not decode_head.ignore_index=0'):
        head.loss(feats, [_sample(seg)], None)


@pytest.mark.parametrize('maps', [
    [[(slice(0, 8), 1), (slice(8, 16), 3)]],  # K: the no-object column
    [[(slice(0, 8), 3)]],  # an image's only label
    [[(slice(0, 8), 1)], [(slice(8, 16), 3)]],  # in a later image
])
def test_labels_from_num_classes_up_are_refused_in_any_image(maps):
    """Label K would train as "no object" without a word."""
    samples = []
    for regions in maps:
        seg = torch.full((16, 16), 255, dtype=torch.long)
        for rows, label in regions:
            seg[rows] = label
        samples.append(_sample(seg))
    with pytest.raises(ValueError, match='label 3 is no class of the 3'):
        build_head(num_queries=3).loss(
            (torch.randn(len(samples), 256, 4, 4), ), samples, None)
