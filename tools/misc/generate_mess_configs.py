"""Write the per-dataset and per-method MESS configs (all inheritance).

    python tools/misc/generate_mess_configs.py [--check]

For every MESS dataset class (found in mmseg's registry; its file under
``mmseg_mopeft/datasets/mess/`` holds key, name, domain and classes):
``configs/_base_/datasets/mess/<key>.py`` (its dataset class and data root)
and, for every method base ``configs/_base_/methods/<method>_vitb.py``,
``configs/<method>/<method>_vitb_<key>.py`` (method base + dataset base +
number of classes). ``--check`` only reports files that differ.
"""
import glob
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmseg_mopeft.datasets.mess import mess_dataset_types  # noqa: E402
from mmseg_mopeft.datasets.mess import registered_name  # noqa: E402
from mmseg_mopeft.utils.generated_files import generator_main  # noqa: E402
from mmseg_mopeft.utils.generated_files import mark  # noqa: E402

METHODS = tuple(
    sorted(
        osp.basename(p)[:-len('_vitb.py')] for p in glob.glob(
            osp.join(REPO, 'configs', '_base_', 'methods', '*_vitb.py'))))

DATASET_BASE = """\
# {name} ({domain}); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='{cls}', data_root='data/{key}')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
"""

METHOD_CONFIG = """\
_base_ = [
    '../_base_/methods/{method}_vitb.py',
    '../_base_/datasets/mess/{key}.py',
]
model = dict({peft}decode_head=dict(num_classes={num_classes}))
"""


def method_peft(method: str) -> list:
    """The PEFT method names a method base configures."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'methods', f'{method}_vitb.py'))
    return [k for k in cfg.model.backbone.get('peft') or {} if k != 'gated']


def dataset_peft_options(names: list, num_classes: int) -> str:
    """``backbone=dict(peft=...)`` with what each PEFT method's paper sets
    per dataset (e.g. Conv-LoRA's loss weight), or ''."""
    from mmseg_mopeft.models.peft import PEFT_METHODS
    options = {}
    for name in names:
        extra = PEFT_METHODS.module_dict[name].dataset_options(num_classes)
        if extra:
            options[name] = ', '.join(f'{k}={v!r}' for k, v in extra.items())
    if not options:
        return ''
    inner = ', '.join(f'{k}=dict({v})' for k, v in options.items())
    return f'\n    backbone=dict(peft=dict({inner})),\n    '


def expected_files():
    files = {}
    pefts = {method: method_peft(method) for method in METHODS}
    for key, cls in mess_dataset_types().items():
        info = cls.METAINFO
        files[f'configs/_base_/datasets/mess/{key}.py'] = DATASET_BASE.format(
            name=info['dataset_name'], domain=info['domain'],
            cls=registered_name(cls), key=key)
        for method in METHODS:
            num_classes = len(info['classes'])
            files[f'configs/{method}/{method}_vitb_{key}.py'] = \
                METHOD_CONFIG.format(
                    method=method, key=key, num_classes=num_classes,
                    peft=dataset_peft_options(pefts[method], num_classes))
    return mark(__file__, files)


if __name__ == '__main__':
    generator_main(__doc__.splitlines()[0], REPO, expected_files)
