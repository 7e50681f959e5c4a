"""Write the per-dataset and per-method MESS configs (all inheritance).

    python tools/misc/generate_mess_configs.py [--check]

For every MESS dataset key: ``configs/_base_/datasets/mess/<key>.py`` (its
dataset class and data root) and, for every method,
``configs/<method>/<method>_vitb_<key>.py`` (method base + dataset base +
number of classes). ``--check`` only reports files that differ.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmseg_mopeft.datasets.mess import DATASET_CLASSES  # noqa: E402
from mmseg_mopeft.datasets.mess import MESS_DATASETS  # noqa: E402

METHODS = ('mopeft', 'lora', 'vpt', 'vpt_deep', 'adapter', 'decoder_ft',
           'frozen', 'full_ft')

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
model = dict(decode_head=dict(num_classes={num_classes}))
"""


def expected_files():
    files = {}
    for key, cls in DATASET_CLASSES.items():
        info = MESS_DATASETS[key]
        files[f'configs/_base_/datasets/mess/{key}.py'] = DATASET_BASE.format(
            name=info['name'], domain=info['domain'], cls=cls, key=key)
        for method in METHODS:
            files[f'configs/{method}/{method}_vitb_{key}.py'] = \
                METHOD_CONFIG.format(method=method, key=key,
                                     num_classes=len(info['classes']))
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()
    stale = []
    for rel, text in expected_files().items():
        path = osp.join(REPO, rel)
        current = open(path).read() if osp.isfile(path) else None
        if current != text:
            stale.append(rel)
            if not args.check:
                with open(path, 'w') as f:
                    f.write(text)
    if args.check and stale:
        raise SystemExit(f'{len(stale)} configs differ from the generator: '
                         f'{stale[:5]}')
    print(f'{len(expected_files())} configs, {len(stale)} '
          f"{'differ' if args.check else 'written'}")


if __name__ == '__main__':
    main()
