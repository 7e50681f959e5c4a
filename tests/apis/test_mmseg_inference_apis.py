"""mmseg's own inference APIs run our configs on images without labels."""
import numpy as np
from helpers import tiny_config
from mmseg.apis import MMSegInferencer, inference_model, init_model


def test_inference_model_and_inferencer_on_a_plain_image(tmp_path,
                                                         tiny_sam_ckpt):
    cfg = tiny_config('configs/mopeft/mopeft_vitb_cryonuseg.py',
                      str(tmp_path), str(tmp_path), tiny_sam_ckpt[0])
    image = np.random.default_rng(0).integers(0, 255, (70, 50, 3),
                                              dtype=np.uint8)
    model = init_model(cfg, device='cpu')
    result = inference_model(model, image)
    assert tuple(result.pred_sem_seg.shape) == (70, 50)
    inferencer = MMSegInferencer(model=cfg, device='cpu')
    out = inferencer(image, return_datasamples=True)
    assert tuple(out.pred_sem_seg.shape) == (70, 50)
