"""Our SAM encoder beside segment_anything's and Hugging Face's.

The SAM ViT encoder (ViT-B by default) in one run, same input and batch for
all rows: a training step (forward, mean squared error of the neck output to
a fixed random target, backward, AdamW step on what trains) and an inference
forward, for

- ``ours_*``: our ``SAMViT``: full fine-tuning, LoRA, MoPEFT, MoPEFT with
  gradient checkpointing (``with_cp=True``) and MoPEFT in the last half of
  the blocks (``peft_blocks='last_half'``), methods as in our configs;
- ``sam_*``: ``segment_anything``'s ``ImageEncoderViT``: full fine-tuning,
  and LoRA r=8 on q and v added the way SAMed does it (a wrapper around each
  block's fused ``qkv`` Linear);
- ``hf_*``: ``transformers``' ``SamVisionEncoder``: full fine-tuning, and
  ``peft`` LoRA r=8 on ``qkv``.

``transformers`` must stay out of our environment (mmpretrain fails to import
beside it), so the ``hf_*`` rows run in ``.venv-peers/``, which this script
creates on first use: it holds transformers and peft and takes torch from the
running environment through a ``.pth`` file. Those rows are timed
round-robin among themselves in that process and sent back as JSON; all
others round-robin in this process. Peak memory: one training step of a
freshly built model, "peak train mem" counting the weights and what the step
adds (``benchmark_utils.peak_memory``): on CPU the growth of the resident
set in a fresh process per row, as a GPU's allocator would count it, with
"process peak" the whole process; on CUDA the growth of allocated memory,
rows one after another in this process. Ratios are to segment_anything in
the same precision.

    python tools/analysis_tools/benchmark_peers.py --size 512 --iters 3
    python tools/analysis_tools/benchmark_peers.py --size 512 --dtype fp32 bf16
    python tools/analysis_tools/benchmark_peers.py --size 512 \
        --rows ours_lora sam_lora --profile ours_lora sam_lora
    python tools/analysis_tools/benchmark_peers.py --device cuda \
        --batch-size 4 --dtype bf16 --mfu
"""
import argparse
import importlib.util
import inspect
import json
import math
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
import benchmark_utils as bench  # noqa: E402

PEERS_VENV = osp.join(REPO, '.venv-peers')
PEERS_PACKAGES = ('transformers==5.23.0', 'peft==0.21.2')
# row -> (encoder, what trains)
ROWS = {
    'ours_full_ft': ('mmseg_mopeft', 'full fine-tuning'),
    'ours_lora': ('mmseg_mopeft', 'LoRA r=8 (q, v)'),
    'ours_mopeft': ('mmseg_mopeft', 'MoPEFT'),
    'ours_mopeft_cp': ('mmseg_mopeft', 'MoPEFT, with_cp'),
    'ours_mopeft_last_half': ('mmseg_mopeft', 'MoPEFT, last half'),
    'sam_full_ft': ('segment_anything', 'full fine-tuning'),
    'sam_lora': ('segment_anything', 'LoRA r=8 (q, v), SAMed-style'),
    'hf_full_ft': ('transformers', 'full fine-tuning'),
    'hf_lora': ('transformers', 'LoRA r=8 (qkv), peft'),
}
REFERENCE = 'sam_full_ft'  # ratios of training steps, inference, memory
LORA_REFERENCE = 'sam_lora'
# SAMViT options the newer rows need: row -> (method config, kwargs)
OURS = {
    'ours_full_ft': (None, {}),
    'ours_lora': ('lora', {}),
    'ours_mopeft': ('mopeft', {}),
    'ours_mopeft_cp': ('mopeft', dict(with_cp=True)),
    'ours_mopeft_last_half': ('mopeft', dict(peft_blocks='last_half')),
}
NOT_AVAILABLE = 'n/a (not available)'
LORA_RANK = 8
WINDOW = 14


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=512, help='input px')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--peers-iters',
        type=int,
        help='timed rounds of the transformers rows, timed in their own '
        'process (default: --iters)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--arch', default='vit-b')
    parser.add_argument(
        '--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    parser.add_argument(
        '--dtype',
        nargs='+',
        default=['fp32'],
        choices=['fp32', 'bf16'],
        help='precisions to run every row in (bf16: autocast)')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument(
        '--no-memory',
        action='store_true',
        help='skip peak memory (on CPU a process per row and precision)')
    parser.add_argument(
        '--memory-jobs',
        type=int,
        default=1,
        help='peak-memory processes run at a time (CPU only: a peak '
        'resident set is per process)')
    bench.add_mfu_arguments(parser)
    parser.add_argument(
        '--profile',
        nargs='+',
        default=[],
        choices=[r for r in ROWS if not r.startswith('hf_')],
        help='print where the training step of these rows spends its time, in '
        'each --dtype')
    parser.add_argument(
        '--json', help='also write the raw figures to this (new) JSON file')
    parser.add_argument(
        '--peers-python',
        help='a Python with transformers and peft for the hf_* rows '
        f'(default: {PEERS_VENV}, created on first use)')
    parser.add_argument('--arch-settings', help=argparse.SUPPRESS)
    parser.add_argument(
        '--worker', choices=['time', 'memory'], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------- models
def arch_settings(args) -> dict:
    """embed_dims, depth, num_heads, global_attn_indexes of ``args.arch``;
    passed on to the hf_* worker, which cannot import mmseg_mopeft."""
    if args.arch_settings:
        return json.loads(args.arch_settings)
    from mmseg_mopeft.models.backbones.sam_vit import ARCH_SETTINGS
    setting = dict(ARCH_SETTINGS[args.arch])
    setting['global_attn_indexes'] = list(setting['global_attn_indexes'])
    return setting


def unavailable(row: str):
    """Why ``row`` cannot run here (e.g. a SAMViT option not there yet),
    else None."""
    if row not in OURS:
        return None
    from mmseg_mopeft.models import SAMViT
    options = inspect.signature(SAMViT).parameters
    missing = [key for key in OURS[row][1] if key not in options]
    return f'SAMViT has no {missing}' if missing else None


def _peft_of(method: str) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO, f'configs/_base_/methods/{method}_vitb.py'))
    return cfg.model.backbone.peft.to_dict()


def build_ours(row: str, args):
    from mmseg_mopeft.models import SAMViT
    method, options = OURS[row]
    kwargs = dict(arch=args.arch, img_size=args.size, **options)
    if method is not None:
        kwargs.update(frozen=True, peft=_peft_of(method))
    model = SAMViT(**kwargs)
    return model, lambda x: model(x)[-1]


def _samed_lora_class():
    from torch import nn

    class SAMedLoRAQKV(nn.Module):
        """LoRA the way SAMed adds it to segment_anything: the block's fused
        qkv Linear is wrapped, and rank-r products ``B_q A_q x`` and
        ``B_v A_v x`` are added to the q and v thirds of its output."""

        def __init__(self, qkv: nn.Linear, rank: int):
            super().__init__()
            dim = qkv.in_features
            self.qkv = qkv
            self.a_q = nn.Linear(dim, rank, bias=False)
            self.b_q = nn.Linear(rank, dim, bias=False)
            self.a_v = nn.Linear(dim, rank, bias=False)
            self.b_v = nn.Linear(rank, dim, bias=False)
            for a in (self.a_q, self.a_v):
                nn.init.kaiming_uniform_(a.weight, a=math.sqrt(5))
            nn.init.zeros_(self.b_q.weight)
            nn.init.zeros_(self.b_v.weight)

        def forward(self, x):
            qkv = self.qkv(x)
            dim = self.qkv.in_features
            qkv[..., :dim] += self.b_q(self.a_q(x))
            qkv[..., -dim:] += self.b_v(self.a_v(x))
            return qkv

    return SAMedLoRAQKV


def add_samed_lora(encoder, rank: int = LORA_RANK):
    """Freeze a segment_anything ``ImageEncoderViT`` and wrap every block's
    qkv projection with SAMed-style LoRA (the only trainable parameters)."""
    wrapper = _samed_lora_class()
    encoder.requires_grad_(False)
    for block in encoder.blocks:
        block.attn.qkv = wrapper(block.attn.qkv, rank)
    return encoder


def build_sam(row: str, args):
    from mmseg_mopeft.testing import build_reference_sam
    setting = arch_settings(args)
    encoder = build_reference_sam(
        setting, img_size=args.size, window_size=WINDOW,
        randomize=False).image_encoder
    if row == 'sam_lora':
        add_samed_lora(encoder)
    return encoder, encoder


def build_hf(row: str, args):
    from transformers import SamVisionConfig
    from transformers.models.sam.modeling_sam import SamVisionEncoder
    setting = arch_settings(args)
    config = SamVisionConfig(
        hidden_size=setting['embed_dims'],
        num_hidden_layers=setting['depth'],
        num_attention_heads=setting['num_heads'],
        global_attn_indexes=setting['global_attn_indexes'],
        image_size=args.size,
        window_size=WINDOW,
        output_channels=256)
    model = SamVisionEncoder(config)
    if row == 'hf_lora':
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(
            model,
            LoraConfig(
                r=LORA_RANK,
                lora_alpha=LORA_RANK,
                lora_dropout=0.0,
                target_modules=['qkv']))
    return model, lambda x: model(pixel_values=x).last_hidden_state


def build(row: str, args):
    """(module, forward: images -> (B, 256, H/16, W/16)) for ``row``."""
    if row.startswith('ours_'):
        return build_ours(row, args)
    if row.startswith('sam_'):
        return build_sam(row, args)
    return build_hf(row, args)


# ------------------------------------------------------------ measuring
def _mixed_precision():
    """Our autocast switch (``mmseg_mopeft.engine.optimizers.autocast``),
    loaded from its file: the hf_* worker cannot import mmseg_mopeft."""
    path = osp.join(REPO, 'mmseg_mopeft', 'engine', 'optimizers',
                    'autocast.py')
    spec = importlib.util.spec_from_file_location('_autocast', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mixed_precision


def make_steps(row: str, precisions, args):
    """Trainable parameter count, per precision (train step, inference)
    closures (the precisions share one model and optimizer), and the
    model's weight bytes."""
    import torch
    import torch.nn.functional as F
    mixed_precision = _mixed_precision()
    torch.manual_seed(0)
    model, forward = build(row, args)
    model = model.to(args.device)
    size, batch = args.size, args.batch_size
    x = torch.randn(batch, 3, size, size, device=args.device)
    target = torch.randn(
        batch, 256, size // 16, size // 16, device=args.device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4)

    def steps(precision):

        def train():
            model.train()
            with mixed_precision(args.device, precision):
                out = forward(x)
            loss = F.mse_loss(out.float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        def infer():
            model.eval()
            with torch.no_grad(), mixed_precision(args.device, precision):
                forward(x)

        return train, infer

    return (sum(p.numel() for p in params),
            {p: steps(p) for p in precisions}, bench.weight_bytes(model))


def measure(rows, args) -> dict:
    """Per (row, precision): trainable params, median train/inference
    seconds (all round-robin in this process), FLOPs with ``--mfu``."""
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    results, trains, infers = {}, {}, {}
    for row in rows:
        trainable, steps, _ = make_steps(row, args.dtype, args)
        for precision, (train, infer) in steps.items():
            key = f'{row}/{precision}'
            trains[key], infers[key] = train, infer
            results[key] = dict(trainable=trainable)
            if args.mfu:
                results[key].update(
                    train_flops=bench.count_flops(train),
                    infer_flops=bench.count_flops(infer))
    for phase, tasks in (('train_s', trains), ('infer_s', infers)):
        times = bench.time_round_robin(tasks, args.warmup, args.iters,
                                       args.device)
        for key, seconds in times.items():
            results[key][phase] = seconds
        print(f'{phase}: done ({", ".join(rows)})', file=sys.stderr)
    return results


def memory(row: str, precision: str, args) -> dict:
    _, steps, weights = make_steps(row, [precision], args)
    return bench.peak_memory(steps[precision][0], args.device, weights)


def profile(row: str, precision: str, args) -> str:
    """Top operators (self time) of ``row``'s training step in
    ``precision``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    _, steps, _ = make_steps(row, [precision], args)
    train = steps[precision][0]
    train()  # warm-up
    activities = [ProfilerActivity.CPU]
    if args.device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    with torch_profile(activities=activities) as prof:
        train()
    key = ('self_cuda_time_total'
           if args.device.startswith('cuda') else 'self_cpu_time_total')
    return prof.key_averages().table(sort_by=key, row_limit=15)


# -------------------------------------------------------------- workers
def _run(cmd, what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f'{what} failed ({" ".join(cmd[:3])} ...):\n'
                           f'{proc.stdout[-2000:]}{proc.stderr[-4000:]}')
    return proc.stdout


def peers_python(args) -> str:
    """The Python for the hf_* rows: ``--peers-python``, or ``.venv-peers``,
    created (or completed) here on first use."""
    if args.peers_python:
        return args.peers_python
    python = osp.join(PEERS_VENV, 'bin', 'python')
    stamp = osp.join(PEERS_VENV, '.installed')
    wanted = ' '.join(PEERS_PACKAGES)
    if osp.isfile(stamp) and open(stamp).read().strip() == wanted:
        return python
    import torch
    print(f'Setting up {PEERS_VENV} ({wanted}) ...', file=sys.stderr)
    if not osp.isfile(python):
        _run([sys.executable, '-m', 'venv', PEERS_VENV], 'creating the venv')
    site = _run([
        python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
        '["purelib"])'
    ], 'locating site-packages').strip()
    # torch (5 GB) is shared, not installed twice; pip sees it and keeps it
    with open(osp.join(site, 'benchmark_peers_torch.pth'), 'w') as f:
        f.write(osp.dirname(osp.dirname(torch.__file__)) + '\n')
    _run([python, '-m', 'pip', 'install', '-q', *PEERS_PACKAGES],
         f'pip install {wanted} into {PEERS_VENV}')
    with open(stamp, 'w') as f:
        f.write(wanted + '\n')
    return python


def _worker_cmd(python: str, args, *extra) -> list:
    cmd = [python, osp.abspath(__file__), '--arch-settings',
           json.dumps(arch_settings(args))]
    for key in ('size', 'batch_size', 'iters', 'warmup', 'device', 'arch',
                'threads'):
        value = getattr(args, key)
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    if args.mfu:
        cmd.append('--mfu')
    return cmd + list(extra)


def _python_for(row: str, args) -> str:
    return peers_python(args) if row.startswith('hf_') else sys.executable


def run_memory_worker(row: str, precision: str, args) -> dict:
    cmd = _worker_cmd(
        _python_for(row, args), args, '--worker', 'memory', '--rows', row,
        '--dtype', precision)
    return json.loads(_run(cmd, f'{row} ({precision}) memory'))


def run_time_worker(rows, args) -> dict:
    cmd = _worker_cmd(
        _python_for(rows[0], args), args, '--worker', 'time', '--rows',
        *rows, '--dtype', *args.dtype)
    if args.peers_iters:  # the worker's --iters: the last one counts
        cmd += ['--iters', str(args.peers_iters)]
    return json.loads(_run(cmd, f'{", ".join(rows)} timing'))


def worker(args):
    if args.worker == 'memory':
        print(json.dumps(memory(args.rows[0], args.dtype[0], args)))
        return
    rows = [r for r in args.rows if r.startswith('hf_')]
    results = measure(rows, args)
    import peft
    import transformers
    for row in rows:  # which attention the hf rows ran
        model, _ = build_hf(row, args)
        for precision in args.dtype:
            results[f'{row}/{precision}']['note'] = (
                f'transformers {transformers.__version__}, peft '
                f'{peft.__version__}, attention: '
                f'{model.config._attn_implementation}')
    print(json.dumps(results))


# ---------------------------------------------------------------- table
def _gib(value) -> str:
    return f'{value / 2**30:.2f}' if value else '-'


def _ratio(value, reference) -> str:
    return f'{value / reference:.2f}' if value and reference else '-'


def table(results: dict, args) -> str:
    mfu = args.mfu
    peers_iters = (f', {args.peers_iters} round'
                   f"{'s' if args.peers_iters > 1 else ''}"
                   if args.peers_iters else '')
    lines = [
        f'SAM {args.arch} encoder, {args.size}x{args.size}, batch '
        f'{args.batch_size}, {args.device}, median of {args.iters} '
        f'rounds after {args.warmup} warm-up; rows timed round-robin in one '
        f'process (transformers rows in their own{peers_iters}). Ratios: to '
        f'segment_anything in the same precision; "x fp32": the row in '
        f'bf16 over the row in fp32.',
        bench.machine(args.device), ''
    ]
    head = ('| encoder | trains | precision | trainable params | train step '
            '(s) | img/s | x SA full FT | x SAMed LoRA | x fp32 | inference '
            '(s) | img/s | x SA inference | x fp32 | peak train mem (GiB) | '
            'x SA full FT | process peak (GiB) |')
    rule = '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|' \
        '---:|---:|---:|'
    if mfu:
        head += ' train GFLOP | train MFU % | infer MFU % |'
        rule += '---:|---:|---:|'
    lines += [head, rule]
    batch = args.batch_size
    for row in args.rows:
        encoder, trains = ROWS[row]
        for precision in args.dtype:
            r = results[f'{row}/{precision}']
            cells = [encoder, trains, precision]
            if 'unavailable' in r:
                lines.append('| ' + ' | '.join(cells) +
                             f' | {NOT_AVAILABLE}: {r["unavailable"]} |')
                continue
            ref = results[f'{REFERENCE}/{precision}']
            lora = results.get(f'{LORA_REFERENCE}/{precision}', {})
            fp32 = results.get(f'{row}/fp32', {}) \
                if precision != 'fp32' else {}
            peak, ref_peak = r.get('peak_bytes'), ref.get('peak_bytes')
            cells += [
                f"{r['trainable']:,}", f"{r['train_s']:.3f}",
                f"{batch / r['train_s']:.2f}",
                _ratio(r['train_s'], ref['train_s']),
                _ratio(r['train_s'], lora.get('train_s')),
                _ratio(r['train_s'], fp32.get('train_s')),
                f"{r['infer_s']:.3f}", f"{batch / r['infer_s']:.2f}",
                _ratio(r['infer_s'], ref['infer_s']),
                _ratio(r['infer_s'], fp32.get('infer_s')),
                _gib(peak),
                _ratio(peak, ref_peak),
                _gib(r.get('process_bytes'))
            ]
            if mfu:
                cells += bench.mfu_cells(r, args.peak_tflops)
            lines.append('| ' + ' | '.join(cells) + ' |')
    notes = sorted({r['note'] for r in results.values() if 'note' in r})
    if mfu:
        notes.append(bench.mfu_note(args.peak_tflops))
    return '\n'.join(lines + [''] + notes + targets(results, args))


# issue 12's targets: (label, row, reference row, phase, at most)
TARGETS = (
    ('our inference / segment_anything inference', 'ours_full_ft',
     REFERENCE, 'infer_s', 0.70),
    ('our LoRA step / SAMed-style LoRA step', 'ours_lora', LORA_REFERENCE,
     'train_s', 0.80),
    ('MoPEFT step / SAMed-style LoRA step', 'ours_mopeft', LORA_REFERENCE,
     'train_s', 1.00),
)


def targets(results: dict, args) -> list:
    lines = ['', 'Targets:']
    for precision in args.dtype:
        for label, row, ref, phase, limit in TARGETS:
            r = results.get(f'{row}/{precision}', {})
            q = results.get(f'{ref}/{precision}', {})
            if phase in r and phase in q:
                ratio = r[phase] / q[phase]
                lines.append(f'- {label} ({precision}): {ratio:.2f}x, '
                             f'target <= {limit:.2f}x: '
                             f"{'met' if ratio <= limit else 'NOT met'}")
    r = results.get('ours_mopeft/bf16', {})
    q = results.get('ours_mopeft/fp32', {})
    if 'train_s' in r and 'train_s' in q:
        ratio = r['train_s'] / q['train_s']
        verdict = 'met' if ratio <= 0.5 else 'NOT met'
        lines.append(f'- MoPEFT step bf16 / fp32: {ratio:.2f}x, target <= '
                     f'0.50x (at 1024 px): {verdict}')
    return lines if len(lines) > 2 else []


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    if args.json:  # workers may run where mmseg_mopeft is not installed
        from mmseg_mopeft.utils.new_files import refuse_existing
        refuse_existing(args.json, option='--json')
    # every ratio needs the reference
    args.rows = list(dict.fromkeys([REFERENCE, *args.rows]))
    results = {}
    runnable = []
    for row in args.rows:
        reason = unavailable(row)
        if reason:
            for precision in args.dtype:
                results[f'{row}/{precision}'] = dict(unavailable=reason)
        else:
            runnable.append(row)
    here = [r for r in runnable if not r.startswith('hf_')]
    peers = [r for r in runnable if r.startswith('hf_')]
    peaks = {}
    if not args.no_memory:
        # before the timing models exist. CPU: a worker process per row and
        # precision (on Linux a child starts with its parent's peak resident
        # set). CUDA: here, one after another, a fresh model each; the
        # transformers rows still in their own environment
        jobs = [(row, precision) for row in runnable
                for precision in args.dtype]
        if args.device.startswith('cuda'):
            # in this thread, where the warm-up ran: cuBLAS keeps its
            # handles and workspaces per thread
            bench.warm_up_cuda(args.device)
            found = [
                run_memory_worker(*job, args) if job[0].startswith('hf_')
                else memory(*job, args) for job in jobs
            ]
        else:
            with ThreadPoolExecutor(max(1, args.memory_jobs)) as pool:
                found = list(
                    pool.map(lambda job: run_memory_worker(*job, args),
                             jobs))
        peaks = {f'{r}/{p}': peak for (r, p), peak in zip(jobs, found)}
    for row in args.profile:
        for precision in args.dtype:
            print(f'Training step profile of {row} ({args.device}, '
                  f'{precision}):\n{profile(row, precision, args)}\n')
    results.update(measure(here, args))
    if peers:
        results.update(run_time_worker(peers, args))
    for key, peak in peaks.items():
        results[key]['peak_bytes'] = peak['tensors']
        results[key]['process_bytes'] = peak.get('process')
    print(table(results, args))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    args=vars(args),
                    machine=bench.machine(args.device),
                    results=results),
                f,
                indent=1)


if __name__ == '__main__':
    main()
