"""One checkpoint, both modes: a fine-tuned PEFT model's semantic output and
SAM's prompted masks with the tuning on and off."""
import copy

import numpy as np
import pytest
import torch
from helpers import tiny_config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.runner import load_checkpoint
from mmseg.apis import inference_model, init_model
from mmseg.registry import DATASETS, MODELS

from mmseg_mopeft.apis import PromptPredictor
from mmseg_mopeft.datasets import generate_shapes

METHOD = 'configs/mopeft/mopeft_vitb_cryonuseg.py'
HYBRID = 'configs/prompted_sam/hybrid/mopeft_vitb_cryonuseg.py'
PLAIN = 'configs/prompted_sam/sam_vitb_oracle_point_cryonuseg.py'


@pytest.fixture(scope='module')
def fine_tuned(tmp_path_factory, tiny_sam_ckpt):
    """A 'fine-tuned' MoPEFT checkpoint (tuning and head perturbed at
    random), saved like mmengine saves one, and the data root."""
    tmp = tmp_path_factory.mktemp('hybrid')
    root = generate_shapes(
        str(tmp / 'data'), splits=(('train', 1), ('val', 2)), size=64,
        num_classes=2)
    cfg = tiny_config(METHOD, root, str(tmp / 'work'), tiny_sam_ckpt[0])
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.tuner.' in name or 'cls_embed' in name:
                param.normal_(0, 0.2)
    path = str(tmp / 'iter_10.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, root, model.eval(), str(tmp)


def tiny_prompted(config, root, work, sam_ckpt):
    cfg = tiny_config(config, root, work, sam_ckpt)
    cfg.model.prompt_decoder.checkpoint = sam_ckpt
    return cfg


def test_one_checkpoint_semantic_and_prompts(fine_tuned, tiny_sam_ckpt):
    ckpt, root, method_model, work = fine_tuned
    sam_ckpt = tiny_sam_ckpt[0]
    cfg = tiny_prompted(HYBRID, root, work, sam_ckpt)
    assert cfg.model.test_modes[0] == 'semantic'
    assert len(cfg.model.test_modes) == len(cfg.test_evaluator) == 9
    hybrid = MODELS.build(cfg.model)
    load_checkpoint(hybrid, ckpt, map_location='cpu')
    hybrid.eval()
    plain = MODELS.build(tiny_prompted(PLAIN, root, work, sam_ckpt).model)
    load_checkpoint(plain, sam_ckpt, map_location='cpu')  # official file
    plain.eval()

    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    data = pipeline(dataset.get_data_info(0))

    def run(model):
        with torch.no_grad():
            return model.test_step(
                dict(inputs=[data['inputs']],
                     data_samples=[copy.deepcopy(data['data_samples'])]))[0]

    semantic, out, ref = run(method_model), run(hybrid), run(plain)
    # the trained head's output, unchanged
    np.testing.assert_array_equal(out.pred_semantic.data,
                                  semantic.pred_sem_seg.data)
    np.testing.assert_array_equal(out.pred_sem_seg.data,
                                  semantic.pred_sem_seg.data)
    # tuning off: exactly SAM with its prompts (official weights)
    np.testing.assert_array_equal(out.pred_peft_off_oracle_point.data,
                                  ref.pred_oracle_point.data)
    for mode in ('peft_on', 'peft_off'):
        for prompt in ('oracle_point', 'random_point', 'oracle_box',
                       'noisy_box'):
            labels = out.get(f'pred_{mode}_{prompt}').data
            assert labels.shape == semantic.pred_sem_seg.data.shape
            assert set(labels.unique().tolist()) <= {0, 1, 255}
    # tuning on: the same prompt decoder on the tuned encoder
    predictor = PromptPredictor(hybrid, cfg.test_dataloader.dataset.pipeline)
    predictor.set_image(data['inputs'].permute(1, 2, 0).numpy())
    on = predictor.predict(points=[[20, 30]])['logits']
    off = predictor.predict(points=[[20, 30]], peft=False)['logits']
    assert np.abs(on - off).max() > 1e-2


def test_flip_tta_is_refused(fine_tuned, tiny_sam_ckpt):
    """``tools/test.py --tta``: the flipped view's prompts would come from
    the unflipped ground truth, so prompt modes refuse it."""
    _, root, _, work = fine_tuned
    cfg = tiny_prompted(HYBRID, root, work, tiny_sam_ckpt[0])
    tta = MODELS.build(dict(cfg.tta_model, module=cfg.model)).eval()
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, pipeline=cfg.tta_pipeline))
    with pytest.raises(ValueError, match='flipped.*without --tta'):
        with torch.no_grad():
            tta.test_step(pseudo_collate([dataset[0]]))


def test_mmseg_init_model_builds_prompted_configs(fine_tuned, tiny_sam_ckpt):
    """mmseg's init_model sets model.pretrained; images without labels get
    pointed to PromptPredictor."""
    _, root, _, work = fine_tuned
    for config in (HYBRID, PLAIN):
        model = init_model(
            tiny_prompted(config, root, work, tiny_sam_ckpt[0]), device='cpu')
        image = np.zeros((40, 50, 3), np.uint8)
        with pytest.raises(ValueError, match='PromptPredictor'):
            inference_model(model, image)
    cfg = tiny_prompted(PLAIN, root, work, tiny_sam_ckpt[0])
    with pytest.raises(ValueError, match="pretrained='x.pth' is not used"):
        MODELS.build(dict(cfg.model, pretrained='x.pth'))
