"""Export a segmentor (SAMViT with PEFT, SAM decode head) to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG CKPT --shape H W \
        [--out model.onnx] [--verify]

PEFT methods that fold into the weights are folded first (ungated LoRA, SSF,
BitFit; prefix MLPs into their vectors); gated MoPEFT, adapters and the
rest are exported as they are. The graph takes the preprocessed image
(B, 3, H, W): RGB, normalised with the config's mean/std, padded to H x W,
as ``model.data_preprocessor`` makes it; it returns per-class scores
(B, K, H, W) (``seg_logits``; argmax over K gives the label map). The batch
axis is dynamic. ``--verify`` runs onnxruntime on a batch of a different
size and compares with the model as trained (before folding), so that it
checks the folding too.
"""
import argparse
import copy
import os.path as osp
import sys

import numpy as np
import torch
from mmengine.config import Config
from torch import Tensor, nn

from mmseg_mopeft.apis.strict_loading import init_model_strict
from mmseg_mopeft.models.peft import fold_peft


class ExportableSegmentor(nn.Module):
    """``model.encode_decode`` on preprocessed images of one fixed shape."""

    def __init__(self, model: nn.Module, shape):
        super().__init__()
        self.model = model
        shape = tuple(int(s) for s in shape)
        self.img_meta = dict(img_shape=shape, pad_shape=shape,
                             ori_shape=shape)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.model.encode_decode(inputs, [self.img_meta])


def parse_args():
    parser = argparse.ArgumentParser(description='Export to ONNX')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'), help='input size (multiple of 16)')
    parser.add_argument('--out', help='ONNX file (default: <checkpoint '
                        'without .pth>.onnx); an existing file is an error')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch (batch 3)')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='--verify tolerance, absolute, on the scores')
    return parser.parse_args()


def load_trained(config: str, checkpoint: str) -> nn.Module:
    """The model on CPU in eval mode; a checkpoint that does not fit the
    config is refused (``init_model`` alone would export what does not fit
    at its initial values)."""
    return init_model_strict(Config.fromfile(config), checkpoint).eval()


def fold_for_export(model: nn.Module) -> nn.Module:
    """``model`` with its PEFT folded where it can be."""
    print(fold_peft(model))
    return model


def load_for_export(config: str, checkpoint: str) -> nn.Module:
    return fold_for_export(load_trained(config, checkpoint))


def check_outputs(out: str, shape) -> None:
    """Refuse what would fail after the (minutes long) export."""
    if osp.exists(out):
        raise FileExistsError(f'{out} exists; remove it or pass --out.')
    if not osp.isdir(osp.dirname(osp.abspath(out))):
        raise FileNotFoundError(f'--out {out}: its folder does not exist')
    if shape[0] % 16 or shape[1] % 16:
        raise ValueError(f'--shape {shape}: both sides must be multiples of '
                         f'16 (SAM patches)')


def export(model: nn.Module, shape, out: str, opset: int = 18,
           batch: int = 2) -> ExportableSegmentor:
    """Write ``out``; returns the exported wrapper."""
    check_outputs(out, shape)
    wrapper = ExportableSegmentor(model, shape).eval()
    dummy = torch.randn(batch, 3, *shape)
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy, ),
            out,
            input_names=['inputs'],
            output_names=['seg_logits'],
            opset_version=opset,
            dynamic_shapes={'inputs': {0: torch.export.Dim('batch')}},
            dynamo=True,
            external_data=False)
    return wrapper


def compare(wrapper: nn.Module, onnx_file: str, shape, batch: int = 3,
            seed: int = 0):
    """Max abs difference of onnxruntime's scores from PyTorch's on a
    random batch (of another size than the export's)."""
    import onnxruntime as ort
    inputs = torch.randn(batch, 3, *shape,
                         generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = wrapper(inputs).numpy()
    session = ort.InferenceSession(onnx_file,
                                   providers=['CPUExecutionProvider'])
    got = session.run(None, {'inputs': inputs.numpy()})[0]
    if got.shape != expected.shape:
        raise AssertionError(f'onnxruntime output {got.shape} != PyTorch '
                             f'{expected.shape}')
    if not (np.isfinite(expected).all() and np.isfinite(got).all()):
        return float('nan')  # a diverged model, or a broken graph
    return float(np.abs(got - expected).max())


def main():
    args = parse_args()
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    check_outputs(out, args.shape)
    trained = load_trained(args.config, args.checkpoint)
    # a second copy only to verify (ViT-H: 2.5 GB)
    model = fold_for_export(
        copy.deepcopy(trained) if args.verify else trained)
    export(model, args.shape, out, args.opset)
    print(f'Wrote {out} (input "inputs" (B, 3, {args.shape[0]}, '
          f'{args.shape[1]}), output "seg_logits", dynamic batch)')
    if args.verify:
        diff = compare(ExportableSegmentor(trained, args.shape), out,
                       args.shape)
        print(f'onnxruntime vs the trained model (unfolded), batch 3: max '
              f'abs difference {diff:.2e} (tolerance {args.atol:g})')
        if not diff <= args.atol:  # NaN: scores not finite
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
