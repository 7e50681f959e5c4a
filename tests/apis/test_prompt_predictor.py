"""apis/prompt_predictor.py: ``PromptPredictor.from_config`` builds the
config's model with SAM's weights, or a checkpoint that fits it."""
import numpy as np
import pytest
import torch
from helpers import tiny_config
from mmseg.registry import MODELS

from mmseg_mopeft.apis import PromptPredictor
from mmseg_mopeft.models.utils.peft_checkpoint import save_peft_checkpoint

PROMPTED = 'configs/prompted_sam/sam_vitb_oracle_point_cwfid.py'
LORA = 'configs/lora/lora_vitb_cryonuseg.py'


def _config(tmp_path, sam_file):
    cfg = tiny_config(PROMPTED, str(tmp_path), str(tmp_path), sam_file)
    cfg.model.prompt_decoder.checkpoint = sam_file
    return cfg


def _logits(predictor):
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3),
                                              dtype=np.uint8)
    predictor.set_image(image)
    return predictor.predict(points=[[20, 30]])['logits']


def test_without_checkpoint_the_configs_sam_files_load(tmp_path,
                                                       tiny_sam_ckpt):
    path = tiny_sam_ckpt[0]
    sam = torch.load(path)
    predictor = PromptPredictor.from_config(_config(tmp_path, path))
    model = predictor.model
    assert torch.equal(model.backbone.patch_embed.proj.weight,
                       sam['image_encoder.patch_embed.proj.weight'])
    assert torch.equal(model.backbone.blocks[0].attn.qkv.weight,
                       sam['image_encoder.blocks.0.attn.qkv.weight'])
    assert torch.equal(model.prompt_decoder.mask_decoder.iou_token.weight,
                       sam['mask_decoder.iou_token.weight'])
    loaded = PromptPredictor.from_config(_config(tmp_path, path), path)
    np.testing.assert_array_equal(_logits(predictor), _logits(loaded))


def test_checkpoint_of_another_model_is_refused(tmp_path, tiny_sam_ckpt):
    path = tiny_sam_ckpt[0]
    lora = MODELS.build(tiny_config(LORA, str(tmp_path), str(tmp_path),
                                    path).model)
    lora.init_weights()
    other = str(tmp_path / 'lora_peft.pth')
    save_peft_checkpoint(lora, other)
    with pytest.raises(RuntimeError, match='does not fit') as error:
        PromptPredictor.from_config(_config(tmp_path, path), other)
    assert other in str(error.value) and 'tuner' in str(error.value)


def test_config_without_prompts_is_refused(tmp_path, tiny_sam_ckpt):
    cfg = tiny_config(LORA, str(tmp_path), str(tmp_path), tiny_sam_ckpt[0])
    with pytest.raises(TypeError, match='PromptedSAM config'):
        PromptPredictor.from_config(cfg)
