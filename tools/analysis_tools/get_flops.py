"""Count FLOPs and parameters of a segmentor (mmseg's get_flops.py, fixed).

mmseg 1.2.2's script passes both ``input_shape`` and ``inputs`` to mmengine
0.10's ``get_model_complexity_info``, which rejects that; this one passes the
preprocessed inputs only. Same arguments.
"""
import argparse

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def parse_args():
    parser = argparse.ArgumentParser(description='Get the FLOPs of a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=[1024], help='input size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args()


def main():
    args = parse_args()
    if len(args.shape) not in (1, 2):
        raise ValueError(f'--shape takes 1 or 2 numbers, got {args.shape}')
    h, w = args.shape * 2 if len(args.shape) == 1 else args.shape
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))

    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    if torch.cuda.is_available():
        model.cuda()
    meta = dict(ori_shape=(h, w), pad_shape=(h, w))
    data = model.data_preprocessor(
        dict(
            inputs=[torch.rand(3, h, w)],
            data_samples=[SegDataSample(metainfo=meta)]))
    with torch.no_grad():
        result = get_model_complexity_info(
            model, inputs=data['inputs'], show_table=False, show_arch=False)
    line = '=' * 30
    print(f"{line}\nInput shape: {tuple(data['inputs'].shape[-2:])}\n"
          f"Flops: {result['flops_str']}\nParams: {result['params_str']}\n"
          f'{line}')


if __name__ == '__main__':
    main()
