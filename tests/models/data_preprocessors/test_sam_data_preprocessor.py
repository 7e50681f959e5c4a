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
