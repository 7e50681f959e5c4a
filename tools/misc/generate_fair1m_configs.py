"""Write the FAIR-1M detection config of every PEFT method base.

    python tools/misc/generate_fair1m_configs.py [--check]

mmengine cannot inherit both the detection model and a segmentation method
base (both define ``model``), so for every ``configs/_base_/methods/
<method>_vitb.py`` whose backbone has ``peft=``, this writes
``configs/fair1m/<method>_vitb_fair1m.py``: the detection base plus the same
``peft`` settings (and ``find_unused_parameters`` where the method needs it).
``--check`` only reports files that differ.
"""
import glob
import os.path as osp
import sys

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmseg_mopeft.utils.generated_files import generator_main  # noqa: E402
from mmseg_mopeft.utils.generated_files import is_marker  # noqa: E402
from mmseg_mopeft.utils.generated_files import mark  # noqa: E402

TEMPLATE = """\
{comment}_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
{items})))
{extra}"""


def _leading_comment(path: str) -> str:
    lines = []
    for line in open(path):
        if not line.startswith('#'):
            break
        if not is_marker(line):
            lines.append(line)
    return ''.join(lines)


def _py(value) -> str:
    """Config source of a value: dicts as ``dict(k=v)``."""
    if isinstance(value, dict):
        return 'dict(' + ', '.join(f'{k}={_py(v)}'
                                   for k, v in value.items()) + ')'
    if isinstance(value, (list, tuple)):
        inner = ', '.join(_py(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner}, )' \
            if len(value) == 1 else f'({inner})'
    return repr(value)


def expected_files():
    files = {}
    pattern = osp.join(REPO, 'configs', '_base_', 'methods', '*_vitb.py')
    for path in sorted(glob.glob(pattern)):
        method = osp.basename(path)[:-len('_vitb.py')]
        cfg = Config.fromfile(path)
        peft = cfg.model.backbone.get('peft')
        if not peft:
            continue
        items = ',\n'.join(f'            {k}={_py(v)}'
                           for k, v in peft.items())
        extra = ''
        if cfg.get('find_unused_parameters'):
            extra = ('# experts not picked in a step get no gradient\n'
                     'find_unused_parameters = True\n')
        files[f'configs/fair1m/{method}_vitb_fair1m.py'] = TEMPLATE.format(
            comment=_leading_comment(path), items=items, extra=extra)
    return mark(__file__, files)


if __name__ == '__main__':
    generator_main(__doc__.splitlines()[0], REPO, expected_files)
