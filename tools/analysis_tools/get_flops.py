"""Count FLOPs and parameters of a segmentor (mmseg's get_flops.py, fixed).

Replaces mmseg 1.2.2's script, which fails twice on our stack:

* it passes both ``input_shape`` and ``inputs`` to mmengine 0.10's
  ``get_model_complexity_info``, which rejects that;
* mmengine's counter has no handle for ``aten::scaled_dot_product_attention``
  and silently counts attention as zero. SAM's encoder runs its attention
  through that op (a fifth of ViT-B's work at 1024 px), so we register one;
  likewise ``aten::addmm_``, LoRA's up-projection added in place.

Same arguments as mmseg's script. FLOPs follow mmengine/fvcore: one fused
multiply-add counts as one FLOP (``torch.utils.flop_counter`` counts two).
"""
import argparse
from typing import Any, List

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import addmm_flop_jit, get_shape
from mmengine.analysis.print_helper import _format_size
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

SDPA = 'aten::scaled_dot_product_attention'


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of ``scaled_dot_product_attention(q, k, v, ...)``:
    ``q @ k^T`` and ``softmax(.) @ v`` for every batch/head entry; the
    softmax and an optional mask are element-wise, not counted (as
    mmengine does not count element-wise ops elsewhere)."""
    q, k, v = (get_shape(x) for x in inputs[:3])
    if q is None or k is None or v is None:
        raise ValueError(f'{SDPA}: operand shapes unknown in the trace '
                         f'({q}, {k}, {v})')
    batch = 1
    for size in q[:-2]:
        batch *= size
    queries, width = q[-2], q[-1]
    keys, value_width = k[-2], v[-1]
    return batch * queries * keys * (width + value_width)


def count_flops(model: torch.nn.Module, inputs) -> FlopAnalyzer:
    """mmengine's FlopAnalyzer with attention counted."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(**{
        SDPA: sdpa_flop_jit,
        'aten::addmm_': addmm_flop_jit
    })
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(
        False)


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
        analyzer = count_flops(model, data['inputs'])
        flops = analyzer.total()
        by_module = analyzer.by_module()
    unsupported = analyzer.unsupported_ops()
    line = '=' * 30
    shape = tuple(data['inputs'].shape[-2:])
    if shape != (h, w):  # what the test-time preprocessor pads to
        print(f'--shape {h} {w}: the data preprocessor pads inputs to '
              f'{shape}, which is what is counted')
    print(f"{line}\nInput shape: {shape}\n"
          f'Flops: {_format_size(flops)}\n'
          f"Params: {_format_size(parameter_count(model)[''])}\n{line}")
    for name in ('backbone', 'neck', 'decode_head', 'auxiliary_head'):
        if name in by_module:
            print(f'{name} flops: {round(by_module[name])} '
                  f'({_format_size(by_module[name])})')
    print(f'total flops: {round(flops)}')
    if unsupported:
        print('Not counted (element-wise or unknown ops): ' + ', '.join(
            f'{op} x{n}' for op, n in sorted(unsupported.items())))


if __name__ == '__main__':
    main()
