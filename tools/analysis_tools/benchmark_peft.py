"""Measure the cost of each fine-tuning method (the paper's Table 4.5).

For every method this builds SAM (ViT-B by default, random weights: timing
does not depend on them) from its CryoNuSeg config and measures, on the same
machine and input: trainable parameters, one training step (forward,
backward, AdamW step), one inference forward (prefix reparameterisation
folded) and peak memory while training. Times are medians over rounds in
which the methods take turns in one process (so machine drift affects all
alike); peak memory comes from one training step of a freshly built model
("peak train mem": the weights and what the step adds; CUDA: the growth of
allocated memory, methods one after another in this process; CPU: the
growth of the resident set, a fresh process per method, see
``benchmark_utils.peak_memory``); "process peak" is the whole process on
CPU, interpreter and libraries included. Prints a markdown
table with ratios to full fine-tuning, and the paper's figures beside ours.

Rows are the method bases in ``configs/_base_/methods/`` plus references
that change a method's backbone options:

* ``backprop_floor``: one rank-1 LoRA in the first block, so the step
  back-propagates through every block while the tuner itself costs nothing.
  No PEFT that tunes every block can train faster.
* ``<method>_last_half``: the method in the later half of the blocks only
  (``peft_blocks='last_half'``): back-propagation stops at the first tuned
  block.
* ``<method>_cp``: gradient checkpointing (``with_cp=True``).

``--dtypes fp32 bf16`` adds a bf16-autocast row for every method. Ratios
are to ``full_ft`` in fp32, or in the first of ``--dtypes`` without fp32.
``--mfu`` adds the FLOPs of a training step (torch's FLOP counter) and model
FLOP utilisation against ``--peak-tflops``.

    python tools/analysis_tools/benchmark_peft.py --size 512 --iters 3
    python tools/analysis_tools/benchmark_peft.py --device cuda \
        --batch-size 4 --dtypes bf16 --mfu
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
import benchmark_utils as bench  # noqa: E402

BASES = sorted(
    osp.basename(p)[:-len('_vitb.py')] for p in glob.glob(
        osp.join(REPO, 'configs', '_base_', 'methods', '*_vitb.py')))
# reference rows: (config method, backbone options)
REFERENCES = {
    'backprop_floor': ('lora', dict(peft=dict(lora=dict(rank=1,
                                                        blocks=[0])))),
    'lora_last_half': ('lora', dict(peft_blocks='last_half')),
    'mopeft_last_half': ('mopeft', dict(peft_blocks='last_half')),
    'mopeft_cp': ('mopeft', dict(with_cp=True)),
}
METHODS = ('full_ft', 'decoder_ft', 'backprop_floor') + tuple(
    m for m in BASES
    if m not in ('full_ft', 'decoder_ft', 'frozen')) + tuple(
        r for r in REFERENCES if r != 'backprop_floor')
# Conv-LoRA paper Table 1: trainable share of all parameters (%), decoder
# included.
CONV_LORA_PAPER = {
    'decoder_ft': '0.55',
    'bitfit': '0.62',
    'adapter': '0.61',
    'vpt': '0.62',
    'lora': '0.62',
    'ssf': '0.69',
    'conv_lora': '0.63',
}
# Paper Table 4.5, relative to full fine-tuning (FloodNet): params, training
# time, inference time (%).
PAPER = {
    'full_ft': ('100', '100', '100'),
    'decoder_ft': ('-', '38', '100'),
    'lora': ('0.24', '55', '104'),
    'vpt': ('0.08', '49', '109'),
    'vpt_deep': ('0.17', '54', '114'),
    'adapter': ('0.83', '55', '108'),
    'mopeft': ('1.47', '63', '124'),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=1024, help='input px')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3, help='timed steps')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--arch', default='vit-b')
    parser.add_argument('--methods', nargs='+', default=METHODS)
    parser.add_argument(
        '--dtypes',
        nargs='+',
        default=['fp32'],
        choices=['fp32', 'bf16'],
        help='bf16: every step under bf16 autocast (weights stay fp32)')
    bench.add_mfu_arguments(parser)
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument(
        '--glibc-malloc-defaults',
        action='store_true',
        help='CPU: time with glibc malloc\'s own settings, not those of '
        'our configs\' CPUMallocHook (freed memory kept for reuse)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    return parser.parse_args()


def build(method: str, args):
    """Model, optimizer and a synthetic batch for ``method``'s config."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    import mmseg_mopeft  # noqa: F401
    init_default_scope('mmseg')
    method = method.split('@')[0]
    config, options = REFERENCES.get(method, (method, {}))
    cfg = Config.fromfile(
        osp.join(REPO, f'configs/_base_/methods/{config}_vitb.py'))
    size, batch, device = args.size, args.batch_size, args.device
    cfg.model.backbone.update(
        arch=args.arch, img_size=size, init_cfg=None, **options)
    cfg.model.decode_head.update(init_cfg=None, num_classes=2)
    cfg.model.data_preprocessor.update(
        size=(size, size), test_cfg=dict(size=(size, size)))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    inputs = torch.randn(batch, 3, size, size, device=device)
    samples = []
    for _ in range(batch):
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                pad_shape=(size, size),
                ori_shape=(size, size)))
        seg = torch.zeros(1, size, size, dtype=torch.long, device=device)
        seg[:, :size // 2] = 1
        sample.gt_sem_seg = PixelData(data=seg)
        samples.append(sample)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=1e-4,
        weight_decay=1e-4)
    return model, optimizer, inputs, samples


def train_step(model, optimizer, inputs, samples):
    model.train()
    losses = model.loss(inputs, samples)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def infer(model, optimizer, inputs, samples):
    import torch
    model.eval()
    with torch.no_grad():
        model(inputs, samples, mode='predict')


def autocast(method: str, device: str):
    """bf16 autocast for ``<method>@bf16`` rows, else nothing."""
    import contextlib

    import torch
    if not method.endswith('@bf16'):
        return contextlib.nullcontext()
    return torch.autocast(device.split(':')[0], dtype=torch.bfloat16)


def _sync(device):
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_methods(methods, args) -> dict:
    """Median seconds per training step and per inference, all methods in
    this process, round-robin, so that machine drift hits all alike; with
    ``--mfu`` the FLOPs of one step of each."""
    import torch

    from mmseg_mopeft.engine import count_parameters
    from mmseg_mopeft.models.peft import fold_peft

    if args.threads:
        torch.set_num_threads(args.threads)
    built = {m: build(m, args) for m in methods}
    results = {}
    for method, (model, *_) in built.items():
        trainable, total = count_parameters(model)
        results[method] = dict(
            trainable=trainable,
            encoder_trainable=count_parameters(model.backbone)[0],
            total=total)
    for phase, step in (('train_s', train_step), ('infer_s', infer)):
        if phase == 'infer_s':  # deploy form: what can be folded is
            for model, *_ in built.values():
                fold_peft(model)
        if args.mfu:
            for method, parts in built.items():
                with autocast(method, args.device):
                    results[method][phase.replace('_s', '_flops')] = \
                        bench.count_flops(lambda: step(*parts))
        times = {m: [] for m in methods}
        for round_ in range(args.warmup + args.iters):
            for method, parts in built.items():
                _sync(args.device)
                start = time.perf_counter()
                with autocast(method, args.device):
                    step(*parts)
                _sync(args.device)
                if round_ >= args.warmup:
                    times[method].append(time.perf_counter() - start)
        for method in methods:
            results[method][phase] = statistics.median(times[method])
        print(f'{phase}: done', file=sys.stderr)
    return results


def peak_memory(method: str, args) -> dict:
    """Peak bytes of one training step (runs in a fresh worker process):
    weights and what the step adds, and the whole process (CPU)."""
    parts = build(method, args)

    def step():
        with autocast(method, args.device):
            train_step(*parts)

    return bench.peak_memory(step, args.device, bench.weight_bytes(parts[0]))


def run_worker(method: str, args) -> dict:
    cmd = [sys.executable, osp.abspath(__file__), '--worker', method]
    for key in ('size', 'batch_size', 'device', 'arch', 'threads'):
        value = getattr(args, key)
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f'{method} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(method: str, dtype: str) -> str:
    return method if dtype == 'fp32' else f'{method}@{dtype}'


def table(results, args) -> str:
    reference = _row('full_ft', 'fp32' if 'fp32' in args.dtypes else
                     args.dtypes[0])
    full = results[reference]
    frozen = results.get(reference.replace('full_ft', 'decoder_ft'))
    batch = args.batch_size
    lines = [
        f'SAM {args.arch}, {args.size}x{args.size}, batch {batch}, '
        f'{args.device}, median of {args.iters} rounds after {args.warmup} '
        f'warm-up, methods timed round-robin in one process. x full: to '
        f'{reference}. % of full: share of all parameters (full '
        f'fine-tuning).',
        bench.machine(args.device),
        '',
        '| method | trainable params | % of full | of which encoder | % of '
        'full | train step (s) | img/s | x full | inference (s) | img/s | '
        'x full | x frozen SAM | peak train mem (GiB) | x full | process '
        'peak (GiB) | MoPEFT paper: encoder params % / train % / infer % | '
        'Conv-LoRA paper: params % |' +
        (' train GFLOP | train MFU % | infer MFU % |' if args.mfu else ''),
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
        '---:|---:|---|---:|' + ('---:|---:|---:|' if args.mfu else '')
    ]
    for name, r in results.items():
        x_frozen = f"{r['infer_s'] / frozen['infer_s']:.2f}" if frozen else '-'
        process = r.get('process_bytes')
        line = (
            f"| {name} | {r['trainable']:,} | "
            f"{100 * r['trainable'] / full['total']:.2f} | "
            f"{r['encoder_trainable']:,} | "
            f"{100 * r['encoder_trainable'] / full['total']:.2f} | "
            f"{r['train_s']:.3f} | {batch / r['train_s']:.2f} | "
            f"{r['train_s'] / full['train_s']:.2f} | "
            f"{r['infer_s']:.3f} | {batch / r['infer_s']:.2f} | "
            f"{r['infer_s'] / full['infer_s']:.2f} | "
            f"{x_frozen} | {r['peak_bytes'] / 2**30:.2f} | "
            f"{r['peak_bytes'] / full['peak_bytes']:.2f} | "
            f"{f'{process / 2**30:.2f}' if process else '-'} | "
            f"{' / '.join(PAPER.get(name, ('-', ) * 3))} | "
            f"{CONV_LORA_PAPER.get(name, '-')} |")  # '<m>@bf16': no paper
        if args.mfu:
            line += ''.join(f' {cell} |' for cell in bench.mfu_cells(
                r, args.peak_tflops))
        lines.append(line)
    if args.mfu:
        lines += ['', bench.mfu_note(args.peak_tflops)]
    return '\n'.join(lines)


# issue 12's targets at 1024 px: (row, reference row, figure, at most)
TARGETS = (
    ('mopeft_cp', 'full_ft', 'peak_bytes', 0.40),
    ('mopeft_cp', 'mopeft', 'train_s', 1.35),
    ('mopeft_last_half', 'full_ft', 'train_s', 0.55),
    ('mopeft_last_half', 'full_ft', 'peak_bytes', 0.55),
    ('mopeft@bf16', 'mopeft', 'train_s', 0.50),
)


def targets(results, size: int) -> str:
    """The targets whose rows were measured, with their verdicts (set for
    1024 px: at another size they are only a guide)."""
    lines = []
    for row, ref, figure, limit in TARGETS:
        if row in results and ref in results:
            ratio = results[row][figure] / results[ref][figure]
            verdict = 'met' if ratio <= limit else 'NOT met'
            lines.append(f'- {row} / {ref}, {figure}: {ratio:.2f}x, target '
                         f'<= {limit:.2f}x: {verdict}')
    title = 'Targets (at 1024 px):' if size == 1024 else (
        f'Targets (set for 1024 px; this run is at {size} px, so only a '
        f'guide):')
    # a blank line first: in markdown, a line right after a table is a row
    return '\n'.join(['', '', title] + lines) if lines else ''


def main():
    args = parse_args()
    if args.worker:
        print(json.dumps(peak_memory(args.worker, args)))
        return
    methods = list(dict.fromkeys(['full_ft', *args.methods]))
    methods = [_row(m, dtype) for m in methods for dtype in args.dtypes]
    # before the timing models exist. CPU: a worker process per method, and
    # on Linux a child inherits its parent's peak RSS. CUDA: here, one after
    # another, each model freed before the next is built
    if args.device.startswith('cuda'):
        bench.warm_up_cuda(args.device)
        peaks = {method: peak_memory(method, args) for method in methods}
    else:
        peaks = {method: run_worker(method, args) for method in methods}
        if not args.glibc_malloc_defaults:  # as training with our configs
            from mmseg_mopeft.utils.glibc_malloc import keep_freed_memory
            keep_freed_memory()
    results = time_methods(methods, args)
    for method in methods:
        results[method]['peak_bytes'] = peaks[method]['tensors']
        results[method]['process_bytes'] = peaks[method].get('process')
    print(table(results, args) + targets(results, args.size))


if __name__ == '__main__':
    main()
