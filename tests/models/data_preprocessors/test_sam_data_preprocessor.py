"""Inputs reach SAMViT padded to a multiple of 16, never cropped."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_mopeft.models import SAMDataPreProcessor


def _data(h, w, with_gt=True):
    sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    if with_gt:
        sample.gt_sem_seg = PixelData(data=torch.ones(1, h, w,
                                                      dtype=torch.long))
    return dict(inputs=[torch.full((3, h, w), 200, dtype=torch.uint8)],
                data_samples=[sample])


def test_larger_than_size_is_padded_to_a_multiple_of_16_in_training():
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3, size=(64, 64),
                              seg_pad_val=255)
    out = pre(_data(70, 50), training=True)
    assert out['inputs'].shape == (1, 3, 80, 64)
    assert (out['inputs'][..., 70:, :] == 0).all()  # zeros, as SAM pads
    sample = out['data_samples'][0]
    gt = sample.gt_sem_seg.data
    assert gt.shape == (1, 80, 64)
    assert (gt[:, 70:] == 255).all() and (gt[:, :70, :50] == 1).all()
    assert tuple(sample.pad_shape) == (80, 64)


def test_test_padding_is_recorded_so_predictions_are_cropped_back():
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3,
                              test_cfg=dict(size=(64, 64)))
    out = pre(_data(70, 50, with_gt=False), training=False)
    assert out['inputs'].shape == (1, 3, 80, 64)
    meta = out['data_samples'][0].metainfo
    # mmseg's postprocess_result crops by padding_size (l, r, t, b)
    assert meta['img_padding_size'] == [0, 14, 0, 10]
    assert tuple(meta['pad_shape']) == (80, 64)


def test_test_labels_keep_the_image_size():
    """At test time labels are loaded after Resize at the original size
    (mmseg scores them there); padding them like the input broke IoUMetric.
    """
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3,
                              test_cfg=dict(size=(64, 64)))
    out = pre(_data(70, 50), training=False)
    assert out['inputs'].shape == (1, 3, 80, 64)
    gt = out['data_samples'][0].gt_sem_seg.data
    assert gt.shape == (1, 70, 50) and (gt == 1).all()


@pytest.mark.parametrize('test_cfg', [dict(size=(64, 64)), None])
@pytest.mark.parametrize('sizes', [((70, 50), (40, 90)),
                                   ((40, 90), (70, 50))])
def test_test_images_of_different_sizes_form_one_batch(test_cfg, sizes):
    """mmseg asserts one size per test batch; each image is padded as if
    alone, then to the largest (in either dimension, whichever image it
    is), the extra padding recorded for cropping."""
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3, test_cfg=test_cfg)
    first, second = _data(*sizes[0]), _data(*sizes[1])
    alone = pre(_data(*sizes[1]), training=False)
    out = pre(
        dict(inputs=first['inputs'] + second['inputs'],
             data_samples=first['data_samples'] + second['data_samples']),
        training=False)
    h, w = 80, 96  # 70x50 pads to 80x64, 40x90 to 64x96 (48x96 unsized)
    assert out['inputs'].shape == (2, 3, h, w)
    ah, aw = alone['inputs'].shape[-2:]
    assert torch.equal(out['inputs'][1, :, :ah, :aw], alone['inputs'][0])
    assert (out['inputs'][1, :, ah:] == 0).all()
    assert (out['inputs'][1, :, :, aw:] == 0).all()
    metas = [s.metainfo for s in out['data_samples']]
    for meta, (ih, iw) in zip(metas, sizes):
        assert meta['img_padding_size'] == [0, w - iw, 0, h - ih]
    assert all(tuple(m['pad_shape']) == (h, w) for m in metas)


@pytest.mark.parametrize('divisor,padded', [(16, (80, 96)), (32, (96, 96))])
def test_without_a_fixed_size_a_batch_pads_to_the_divisor(divisor, padded):
    """Images of different sizes, no ``size``: mmseg's own stacking by
    ``size_divisor`` (it asserted when given neither)."""
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3,
                              size_divisor=divisor)
    first, second = _data(70, 50), _data(40, 90)
    batch = dict(inputs=first['inputs'] + second['inputs'],
                 data_samples=first['data_samples'] + second['data_samples'])
    out = pre(batch, training=True)
    assert out['inputs'].shape == (2, 3) + padded
    gt = out['data_samples'][1].gt_sem_seg.data
    assert gt.shape == (1, ) + padded
    assert (gt[:, :40, :90] == 1).all() and (gt[:, 40:] == 255).all()
    assert (out['inputs'][1, :, 40:] == 0).all()


def test_multiples_of_16_pass_unchanged():
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3, size=(64, 64))
    out = pre(_data(64, 48), training=True)
    assert out['inputs'].shape == (1, 3, 64, 64)


def test_segmentor_predicts_at_the_image_size(tmp_path):
    from helpers import tiny_config
    from mmseg.registry import MODELS
    cfg = tiny_config('configs/lora/lora_vitb_cryonuseg.py', str(tmp_path),
                      str(tmp_path))
    model = MODELS.build(cfg.model).eval()
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        pred = model.test_step(_data(70, 50, with_gt=False))[0]
    assert seen == [(80, 64)]
    assert tuple(pred.pred_sem_seg.data.shape[-2:]) == (70, 50)


def test_a_mixed_size_test_batch_predicts_as_each_image_alone(tmp_path):
    """Both images within SAM's fixed size: the batch pads them as alone."""
    from helpers import tiny_config
    from mmseg.registry import MODELS
    cfg = tiny_config('configs/lora/lora_vitb_cryonuseg.py', str(tmp_path),
                      str(tmp_path))
    model = MODELS.build(cfg.model).eval()
    torch.manual_seed(0)
    images = [torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
              for h, w in ((60, 40), (30, 50))]

    def batch(imgs):
        samples = [SegDataSample(metainfo=dict(img_shape=tuple(
            i.shape[-2:]), ori_shape=tuple(i.shape[-2:]))) for i in imgs]
        return dict(inputs=list(imgs), data_samples=samples)

    with torch.no_grad():
        together = model.test_step(batch(images))
        alone = [model.test_step(batch([i]))[0] for i in images]
    for got, want in zip(together, alone):
        assert got.seg_logits.data.shape == want.seg_logits.data.shape
        torch.testing.assert_close(got.seg_logits.data, want.seg_logits.data,
                                   atol=1e-5, rtol=0)


def test_training_inputs_larger_than_size_that_differ_are_a_clear_error():
    """A crop larger than data_preprocessor.size, e.g. a child config that
    changed one of them: the error names both settings."""
    pre = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3, size=(64, 64))
    first, second = _data(123, 128), _data(104, 128)
    data = dict(inputs=first['inputs'] + second['inputs'],
                data_samples=first['data_samples'] + second['data_samples'])
    with pytest.raises(ValueError, match=r'\(104, 128\), \(123, 128\)\] '
                       r'\(h, w\) exceed data_preprocessor.size=\(64, 64\)'):
        pre(data, training=True)
    small, other = _data(32, 40), _data(50, 20)  # pad to size and stack
    data = dict(inputs=small['inputs'] + other['inputs'],
                data_samples=small['data_samples'] + other['data_samples'])
    assert pre(data, training=True)['inputs'].shape == (2, 3, 64, 64)
    # a size of (h, w) = (64, 128) holds a 64x100 and a 64x128 input
    wide = SAMDataPreProcessor(mean=[0] * 3, std=[1] * 3, size=(64, 128))
    first, second = _data(64, 100), _data(64, 128)
    data = dict(inputs=first['inputs'] + second['inputs'],
                data_samples=first['data_samples'] + second['data_samples'])
    assert wide(data, training=True)['inputs'].shape == (2, 3, 64, 128)
