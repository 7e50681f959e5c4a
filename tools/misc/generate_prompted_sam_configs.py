"""Write the prompted-SAM configs for every MESS dataset (all inheritance).

    python tools/misc/generate_prompted_sam_configs.py [--check]

``configs/prompted_sam/sam_vitb_<prompt>_<key>.py``: SAM ViT-B with one
prompt type (oracle_point, random_point, oracle_box, noisy_box), the
Stable-SAM protocol; ``configs/prompted_sam/hybrid/<method>_vitb_<key>.py``:
a PEFT method's semantic model that also answers every prompt type with its
tuning on and off. ``--check`` only reports files that differ.
"""
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmseg_mopeft.datasets.mess import MESS_DATASETS  # noqa: E402
from mmseg_mopeft.models.prompts import PROMPT_TYPES  # noqa: E402
from mmseg_mopeft.utils.generated_files import generator_main  # noqa: E402
from mmseg_mopeft.utils.generated_files import mark  # noqa: E402

# methods whose tuning can be switched off (not BitFit: it trains SAM's own
# biases in place)
HYBRID_METHODS = ('mopeft', 'lora', 'vpt', 'vpt_deep', 'adapter',
                  'conv_lora', 'mopeft_conv', 'ssf')

PROMPT_CONFIG = """\
_base_ = [
    '../_base_/prompted_sam/sam_vitb.py',
    '../_base_/datasets/mess/{key}.py',
]
model = dict(test_modes=['{prompt}'])
test_evaluator = dict(
    type='PromptIoUMetric', pred_key='pred_{prompt}', prefix='{prompt}')
"""

HYBRID_CONFIG = """\
_base_ = [
    '../../{method}/{method}_vitb_{key}.py',
    '../../_base_/prompted_sam/hybrid.py',
]
model = {{{{_base_.hybrid_model}}}}
test_evaluator = {{{{_base_.hybrid_evaluator}}}}
"""


def expected_files():
    files = {}
    for key in MESS_DATASETS:
        for prompt in PROMPT_TYPES:
            files[f'configs/prompted_sam/sam_vitb_{prompt}_{key}.py'] = \
                PROMPT_CONFIG.format(key=key, prompt=prompt)
        for method in HYBRID_METHODS:
            files[f'configs/prompted_sam/hybrid/{method}_vitb_{key}.py'] = \
                HYBRID_CONFIG.format(key=key, method=method)
    return mark(__file__, files)


if __name__ == '__main__':
    generator_main(__doc__.splitlines()[0], REPO, expected_files)
