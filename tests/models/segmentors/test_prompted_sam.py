"""PromptedSAM against segment_anything's SamPredictor, the assembly rule,
and the PEFT switch."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from segment_anything import SamPredictor

from mmseg_mopeft.apis import PromptPredictor
from mmseg_mopeft.models.prompts import GTPromptSampler
from mmseg_mopeft.models.segmentors import MaskAssembler, pred_field

SIZE = 64
PREPROCESSOR = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(SIZE, SIZE),
    test_cfg=dict(size=(SIZE, SIZE)))
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


def build(ckpt, peft=None, modes=('oracle_point', ), frozen=True, **kwargs):
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(
            type='PromptedSAM',
            data_preprocessor=PREPROCESSOR,
            backbone=dict(
                type='SAMViT', arch='tiny', img_size=SIZE, window_size=4,
                frozen=frozen, peft=peft),
            prompt_decoder=dict(checkpoint=ckpt),
            test_modes=list(modes),
            **kwargs))
    # the official file as tools/test.py loads it (key renaming)
    missing, unexpected = model.load_state_dict(
        torch.load(ckpt, weights_only=True), strict=False)
    assert not unexpected and all('.tuner.' in k for k in missing)
    return model.eval()


@pytest.fixture(scope='module')
def plain(tiny_sam_ckpt):
    """SAM without PEFT, several prompt types per test step."""
    return build(tiny_sam_ckpt[0],
                 modes=['oracle_point', 'noisy_box', 'oracle_box'],
                 prompt_sampler=dict(seed=5))


def smooth_image(h, w, seed=0):
    """An image with structure at several scales (uint8 BGR)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (h // 8 + 1, w // 8 + 1, 3))
    big = np.kron(small, np.ones((8, 8, 1)))[:h, :w]
    return np.clip(big + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(
        np.uint8)


def write_sample(tmp_path, img, gt):
    import mmcv
    img_path, seg_path = str(tmp_path / 'img.png'), str(tmp_path / 'gt.png')
    mmcv.imwrite(img, img_path)
    mmcv.imwrite(gt, seg_path)
    return dict(img_path=img_path, seg_map_path=seg_path,
                reduce_zero_label=False, seg_fields=[])


def reference_predictor(sam, img_bgr):
    """SamPredictor fed the image after our pipeline's resize (cv2, where
    SamPredictor uses PIL), so that both see the same pixels; it scales
    prompts and masks from the original size itself."""
    import mmcv
    predictor = SamPredictor(sam)
    h, w = img_bgr.shape[:2]
    scale = SIZE / max(h, w)
    resized = mmcv.imresize(img_bgr, (int(w * scale + 0.5),
                                      int(h * scale + 0.5)))
    tensor = torch.as_tensor(mmcv.bgr2rgb(resized)).permute(2, 0, 1)
    predictor.set_torch_image(tensor[None].float(), (h, w))
    return predictor


def test_assembly_rule_by_hand():
    # object 0 (class 1) and object 1 (class 2) on a 2 x 4 image
    logits = torch.tensor([[[2.0, 3.0, -1.0, -2.0], [0.5, 1.0, 4.0, 0.0]],
                           [[1.0, 5.0, 2.0, -3.0], [0.5, -1.0, 3.0, 0.0]]])
    assembler = MaskAssembler((2, 4), unclaimed_label=255)
    assembler.add(logits[:1], torch.tensor([1]))  # in two chunks
    assembler.add(logits[1:], torch.tensor([2]))
    # highest logit above 0 wins; equal logits: the first object; logit 0
    # claims nothing
    expected = [[1, 2, 2, 255], [1, 1, 1, 255]]
    assert assembler.labels.tolist() == expected
    whole = MaskAssembler((2, 4), unclaimed_label=7)
    whole.add(logits, torch.tensor([1, 2]))
    assert whole.labels.tolist() == [[1, 2, 2, 7], [1, 1, 1, 7]]


@pytest.mark.parametrize('shape', [(48, SIZE), (72, 96)])
def test_masks_equal_sam_predictor(tiny_sam_ckpt, plain, shape):
    """Same image, same points and boxes: the same mask logits as
    segment_anything's SamPredictor (multimask, first mask), also when the
    image is resized (72 x 96 -> 48 x 64)."""
    sam = tiny_sam_ckpt[1]
    img = smooth_image(*shape)
    predictor = PromptPredictor(plain, PIPELINE)
    predictor.set_image(img)
    reference = reference_predictor(sam, img)
    h, w = shape
    points = np.array([[w * 0.3, h * 0.6], [w - 5, 3]])
    boxes = np.array([[2, 4, w * 0.5, h * 0.7], [w * 0.4, 1, w - 1, h - 1]])
    ours_p = predictor.predict(points=points)
    ours_b = predictor.predict(boxes=boxes)
    for i in range(2):
        with torch.no_grad():
            ref_p, ref_iou, _ = reference.predict(
                point_coords=points[i:i + 1], point_labels=np.array([1]),
                multimask_output=True, return_logits=True)
            ref_b, _, _ = reference.predict(
                box=boxes[i], multimask_output=True, return_logits=True)
        assert ours_p['logits'].shape[1:] == shape
        np.testing.assert_allclose(ours_p['logits'][i], ref_p[0], atol=2e-4)
        np.testing.assert_allclose(ours_b['logits'][i], ref_b[0], atol=2e-4)
        assert ours_p['scores'][i] == pytest.approx(ref_iou[0], abs=1e-4)
        assert (ours_p['masks'][i] == (ref_p[0] > 0)).mean() > 0.999
    # a point and a box for one object at once
    both = predictor.predict(points=points[:1], boxes=boxes[:1])
    with torch.no_grad():
        ref, _, _ = reference.predict(
            point_coords=points[:1], point_labels=np.array([1]),
            box=boxes[0], multimask_output=True, return_logits=True)
    np.testing.assert_allclose(both['logits'][0], ref[0], atol=2e-4)


def independent_assembly(logit_list, labels, shape):
    stack = np.stack(logit_list)
    best = stack.argmax(axis=0)
    out = np.asarray(labels)[best]
    out[stack.max(axis=0) <= 0] = 255
    return out


def test_gt_prompted_prediction_equals_sam_predictor(tmp_path, tiny_sam_ckpt,
                                                     plain):
    """predict(): prompts from the gt, one mask per object through
    SamPredictor, assembled by an independent rule implementation."""
    sam = tiny_sam_ckpt[1]
    img = smooth_image(72, 96, seed=1)
    gt = np.zeros((72, 96), np.uint8)
    gt[10:40, 10:50] = 1
    gt[45:70, 30:90] = 2
    gt[:4] = 255
    data = Compose(PIPELINE)(write_sample(tmp_path, img, gt))
    with torch.no_grad():
        sample = plain.test_step(
            dict(inputs=[data['inputs']],
                 data_samples=[data['data_samples']]))[0]
    np.testing.assert_array_equal(sample.pred_sem_seg.data,
                                  sample.pred_oracle_point.data)
    reference = reference_predictor(sam, img)
    for prompt_type in ('oracle_point', 'noisy_box'):
        pred = sample.get(pred_field(prompt_type)).data[0].numpy()
        assert pred.shape == gt.shape
        check_against_reference(pred, reference, gt, prompt_type,
                                data['data_samples'].img_path)


def check_against_reference(pred, reference, gt, prompt_type, img_path):
    prompts = GTPromptSampler(seed=5)(gt, img_path, prompt_type)
    logit_list = []
    for p in prompts:
        with torch.no_grad():
            if 'point' in p:
                logits, _, _ = reference.predict(
                    point_coords=p['point'], point_labels=np.array([1]),
                    multimask_output=True, return_logits=True)
            else:
                logits, _, _ = reference.predict(
                    box=p['box'], multimask_output=True, return_logits=True)
        logit_list.append(logits[0])
    expected = independent_assembly(logit_list, [p['label'] for p in prompts],
                                    gt.shape)
    # pixels where two logits are within float noise may differ
    assert (pred == expected).mean() > 0.998
    assert set(np.unique(pred)) <= {0, 1, 2, 255}


def randomise_tuners(model, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.tuner.' in name:
                param.normal_(0, 0.2)


def test_peft_switch_gives_plain_sam(tmp_path, tiny_sam_ckpt, plain):
    """'peft_off' runs the tuned encoder as plain SAM (equal to a model
    without PEFT); 'peft_on' uses the tuning."""
    path, _ = tiny_sam_ckpt
    peft = dict(lora=dict(rank=2), adapter=dict(dim=8), gated=True)
    modes = ['peft_on/oracle_box', 'peft_off/oracle_box']
    tuned = build(path, peft=peft, modes=modes)
    randomise_tuners(tuned)
    img = smooth_image(48, SIZE, seed=2)
    gt = np.zeros((48, SIZE), np.uint8)
    gt[5:30, 8:40] = 1
    data = Compose(PIPELINE)(write_sample(tmp_path, img, gt))

    def run(model):
        with torch.no_grad():
            return model.test_step(
                dict(inputs=[data['inputs']],
                     data_samples=[copy.deepcopy(data['data_samples'])]))[0]

    out, ref = run(tuned), run(plain)
    np.testing.assert_array_equal(out.pred_peft_off_oracle_box.data,
                                  ref.pred_oracle_box.data)
    np.testing.assert_array_equal(out.pred_sem_seg.data,
                                  out.pred_peft_on_oracle_box.data)
    predictor = PromptPredictor(tuned, PIPELINE)
    predictor.set_image(img)
    box = [[8, 5, 39, 29]]
    on = predictor.predict(boxes=box)['logits']
    off = predictor.predict(boxes=box, peft=False)['logits']
    plain_predictor = PromptPredictor(plain, PIPELINE)
    plain_predictor.set_image(img)
    np.testing.assert_allclose(
        off, plain_predictor.predict(boxes=box)['logits'], atol=1e-5)
    assert np.abs(on - off).max() > 1e-2


def test_clear_errors(tmp_path, tiny_sam_ckpt, plain):
    path, _ = tiny_sam_ckpt
    with pytest.raises(ValueError, match="'peft/oracle_point'"):
        build(path, modes=['peft/oracle_point'])
    with pytest.raises(ValueError, match="'semantic' needs a decode_head"):
        build(path, modes=['semantic'])
    with pytest.raises(ValueError, match=r'trains 27 of its own weights in '
                       r'place \(patch_embed.proj.bias, blocks.0.norm1.bias'):
        build(path, peft=dict(bitfit=dict()), modes=['peft_off/noisy_box'])
    with pytest.raises(ValueError, match='trains 27 of its own weights'):
        build(path, peft=dict(bitfit=dict()),
              modes=['peft_on/noisy_box', 'peft_off/noisy_box'])
    with pytest.raises(ValueError, match='trains 65 of its own weights'):
        build(path, peft=dict(lora=dict()), modes=['peft_off/noisy_box'],
              frozen=False)
    predictor = PromptPredictor(build(path, peft=dict(bitfit=dict())),
                                PIPELINE)
    predictor.set_image(smooth_image(48, SIZE))
    predictor.predict(boxes=[[8, 5, 39, 29]])
    with pytest.raises(ValueError, match='trains 27 of its own weights'):
        predictor.predict(boxes=[[8, 5, 39, 29]], peft=False)
    with pytest.raises(FileNotFoundError, match='nowhere/sam.pth'):
        build('nowhere/sam.pth')
    model = plain
    img = smooth_image(48, SIZE)
    data = Compose(PIPELINE[:2] + PIPELINE[3:])(
        write_sample(tmp_path, img, np.zeros((48, SIZE), np.uint8)))
    with pytest.raises(ValueError, match='no gt_sem_seg'):
        model.test_step(dict(inputs=[data['inputs']],
                             data_samples=[data['data_samples']]))
    late = [PIPELINE[0], PIPELINE[2], PIPELINE[1], PIPELINE[3]]
    data = Compose(late)(write_sample(tmp_path, smooth_image(72, 96),
                                      np.zeros((72, 96), np.uint8)))
    with pytest.raises(ValueError, match='load annotations after Resize'):
        model.test_step(dict(inputs=[data['inputs']],
                             data_samples=[data['data_samples']]))
