"""onnxruntime vs PyTorch inference time on the CPU, per method.

    python tools/analysis_tools/benchmark_onnx.py [--size 1024] [--iters 3]

For frozen SAM (the decoder-only config: no PEFT), LoRA (folded into the
q/k/v weights, as ``tools/deployment/pytorch2onnx.py`` exports it) and
MoPEFT (gated: exported as it is), this builds SAM (ViT-B by default, random
weights: timing does not depend on them), exports it with
``pytorch2onnx.export`` and times one forward of the whole segmentor
(encoder and decode head, batch 1) in PyTorch and in onnxruntime. The
eight runs take turns in one process (round-robin), so machine drift hits
all alike; medians after one warm-up round. Prints a markdown table with
the ratios and the largest difference of the scores.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import tempfile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = {
    'frozen SAM': 'decoder_ft',
    'LoRA (merged)': 'lora',
    'MoPEFT (gated)': 'mopeft',
}


def _module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--arch', default='vit-b')
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--work-dir', help='where the ONNX files go, kept '
                        '(new names only; default: a temporary folder, '
                        'removed after)')
    return parser.parse_args()


def build(method: str, args):
    """The method's model, tuned weights made non-trivial, PEFT folded where
    it can be."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_mopeft  # noqa: F401
    from mmseg_mopeft.models.peft import fold_peft
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        osp.join(REPO, f'configs/_base_/methods/{method}_vitb.py'))
    size = args.size
    cfg.model.backbone.update(arch=args.arch, img_size=size, init_cfg=None)
    cfg.model.decode_head.update(init_cfg=None, num_classes=2)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():  # e.g. LoRA's B starts at 0
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 1e-3)
    report = fold_peft(model)
    return model, report


def onnx_name(method: str, args) -> str:
    return f'{method}_{args.arch}_{args.size}.onnx'


def main():
    args = parse_args()
    if args.work_dir:  # export refuses these too, but only once it runs
        from mmseg_mopeft.utils.new_files import refuse_existing
        if not osp.isdir(args.work_dir):
            raise SystemExit(f'--work-dir {args.work_dir} is not a folder')
        refuse_existing(
            *(osp.join(args.work_dir, onnx_name(m, args))
              for m in METHODS.values()),
            option='--work-dir')
    import numpy as np
    import onnxruntime as ort
    import torch
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_utils import machine, time_round_robin
    exporter = _module(
        osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py'),
        'pytorch2onnx')

    shape = (args.size, args.size)
    inputs = torch.randn(
        1, 3, *shape, generator=torch.Generator().manual_seed(0))
    feed = {'inputs': inputs.numpy()}
    tasks, diffs, notes = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or tmp
        for label, method in METHODS.items():
            model, report = build(method, args)
            notes[label] = (f'{len(report.folded)} folded, '
                            f'{len(report.kept)} kept')
            path = osp.join(work, onnx_name(method, args))
            wrapper = exporter.export(model, shape, path)
            session = ort.InferenceSession(
                path, providers=['CPUExecutionProvider'])
            with torch.no_grad():
                expected = wrapper(inputs).numpy()
            got = session.run(None, feed)[0]
            diffs[label] = float(np.abs(got - expected).max())

            def run_torch(wrapper=wrapper):
                with torch.no_grad():
                    wrapper(inputs)

            tasks[f'{label}|PyTorch'] = run_torch
            tasks[f'{label}|onnxruntime'] = (
                lambda session=session: session.run(None, feed))
            print(f'{label}: exported and checked', flush=True)
        times = time_round_robin(tasks, warmup=1, iters=args.iters,
                                 device='cpu')

    first = next(iter(METHODS))
    lines = [
        f'SAM {args.arch}, {args.size}x{args.size}, batch 1, CPU '
        f'({torch.get_num_threads()} PyTorch threads; onnxruntime '
        f'{ort.__version__} defaults; torch {torch.__version__}), median of '
        f'{args.iters} rounds after 1 warm-up, round-robin in one process.',
        machine('cpu'),
        '',
        '| model | PEFT | PyTorch (s) | onnxruntime (s) | onnxruntime / '
        'PyTorch | x frozen SAM, PyTorch | x frozen SAM, onnxruntime | max '
        'abs diff |', '|---|---|---:|---:|---:|---:|---:|---:|'
    ]
    for label in METHODS:
        pt, rt = times[f'{label}|PyTorch'], times[f'{label}|onnxruntime']
        lines.append(
            f'| {label} | {notes[label]} | {pt:.3f} | {rt:.3f} | '
            f'{rt / pt:.2f} | {pt / times[first + "|PyTorch"]:.2f} | '
            f'{rt / times[first + "|onnxruntime"]:.2f} | '
            f'{diffs[label]:.1e} |')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
