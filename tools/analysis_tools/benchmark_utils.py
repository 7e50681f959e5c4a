"""Timing, memory and FLOP arithmetic shared by the benchmark scripts.

Depends on torch only, so it also runs in the separate environment of the
Hugging Face rows (``benchmark_peers.py``).
"""
import ctypes
import os
import platform
import resource
import statistics
import time
from typing import Callable, Dict, List

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)

# NVIDIA's H200 datasheet gives 1,979 bf16 tensor TFLOPS with 2:4 sparsity;
# dense matmuls get half of that.
H200_BF16_DENSE_TFLOPS = 989.5


def _cpu_description(cpuinfo: str = '/proc/cpuinfo') -> str:
    """The CPU's name and generation (x86 family and model) and the ISA
    features that decide fp32 and bf16 matmul speed. Two machines with the
    same name can differ by 2x in our timings, so tables say which ran."""
    fields = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(':')
                fields.setdefault(key.strip(), value.strip())
                if not line.strip():  # the first processor is enough
                    break
    except OSError:
        pass
    name = fields.get('model name') or platform.processor() or 'unknown CPU'
    if 'cpu family' in fields:
        name += (f" (family {fields['cpu family']}, model "
                 f"{fields.get('model', '?')})")
    flags = set(fields.get('flags', '').split())
    if flags:
        features = [label for flag, label in (('avx512f', 'AVX-512'),
                                              ('avx512_bf16', 'AVX512-BF16'),
                                              ('amx_bf16', 'AMX-BF16'))
                    if flag in flags]
        name += ', ' + (', '.join(features) or 'no AVX-512')
        if 'amx_bf16' not in flags:
            name += ', no AMX'
    return f'{name}, {os.cpu_count()} logical CPUs'


def machine(device: str) -> str:
    """One line naming what a benchmark ran on: the device, the CPU, torch
    and its thread count, our fp32 CPU linear layers' backend, whether
    malloc keeps freed memory; on CUDA the GPU and CUDA's version too."""
    import torch

    from mmseg_mopeft.models.utils import onednn_linear
    from mmseg_mopeft.utils import glibc_malloc
    backend = {'onednn': 'oneDNN', 'aten': 'F.linear'}[onednn_linear.BACKEND]
    line = (f'Machine: {_cpu_description()}; torch {torch.__version__}, '
            f'{torch.get_num_threads()} threads, CPU capability '
            f'{torch.backends.cpu.get_cpu_capability()}, our fp32 CPU '
            f'linear layers on {backend}')
    if glibc_malloc.keeping:
        line += ', glibc malloc keeping freed memory (CPUMallocHook)'
    if str(device).startswith('cuda'):
        line += (f'; {torch.cuda.get_device_name(device)}, CUDA '
                 f'{torch.version.cuda}')
    return line + '.'


def sync(device: str) -> None:
    """Wait for queued GPU work, so that wall-clock times are complete."""
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def time_round_robin(tasks: Dict[str, Callable[[], None]], warmup: int,
                     iters: int, device: str) -> Dict[str, float]:
    """Median seconds of each task. The tasks take turns, one call each per
    round, so that machine drift (other processes, clocks) hits all alike;
    the first ``warmup`` rounds are not timed."""
    times = {name: [] for name in tasks}
    for round_ in range(warmup + iters):
        for name, task in tasks.items():
            sync(device)
            start = time.perf_counter()
            task()
            sync(device)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _proc_status_bytes(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024  # reported in kB
    raise KeyError(field)


def return_freed_memory() -> bool:
    """Have glibc's malloc give blocks of 128 KiB and more back to the OS
    when they are freed. By default, each freed block raises that threshold
    (up to 32 MB), and later blocks below it stay in malloc's heap once
    freed: the resident set then also counts what freed tensors left
    behind and nothing reused. False where malloc is not glibc's."""
    try:
        return ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1
    except (OSError, AttributeError):
        return False


def peak_memory(task: Callable[[], None], device: str,
                weights: int) -> Dict[str, int]:
    """Peak bytes while running ``task`` once.

    ``tensors``: ``weights`` (the model's parameter and buffer bytes) plus
    what the step adds at its peak (activations, gradients, optimizer
    state, workspace). On CUDA that is the growth of allocated memory, so
    steps can be measured one after another in one process (call
    ``warm_up_cuda`` first). On CPU it is how far the resident set grew,
    with freed blocks returned to the OS (``return_freed_memory``), so that
    it counts live tensors as a GPU's allocator does; ``process`` is the
    process's peak resident set, interpreter and libraries included
    (Linux). Call it in a fresh process.
    """
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        task()
        torch.cuda.synchronize(device)
        step_peak = torch.cuda.max_memory_allocated(device) - before
        return dict(tensors=weights + step_peak)
    if not return_freed_memory():  # its figure would count freed blocks
        raise RuntimeError('CPU peak memory needs glibc\'s malloc (mallopt '
                           'M_MMAP_THRESHOLD); skip the memory measurement')
    before = _proc_status_bytes('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # restart the peak resident set (VmHWM) from here
    task()
    step_peak = _proc_status_bytes('VmHWM') - before
    process = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(tensors=weights + step_peak, process=process)


def warm_up_cuda(device: str) -> None:
    """Run a matmul forward and backward in fp32 and in bf16, so that cuBLAS
    has allocated its workspaces before any step is measured: none then
    counts them, and each counts what it alone adds."""
    import torch
    weight = torch.ones(64, 64, device=device, requires_grad=True)
    for dtype in (torch.float32, torch.bfloat16):
        with torch.autocast('cuda', dtype=dtype,
                            enabled=dtype != torch.float32):
            (weight @ weight).sum().backward()
    torch.cuda.synchronize(device)


def weight_bytes(model) -> int:
    """Bytes of a model's parameters and buffers."""
    return sum(t.numel() * t.element_size()
               for t in [*model.parameters(), *model.buffers()])


def _cpu_attention_formulas() -> dict:
    """torch's counter knows the GPU attention kernels only; the CPU ones
    take the same leading (grad_out,) query, key, value arguments."""
    import torch
    from torch.utils import flop_counter
    aten = torch.ops.aten

    def forward(query, key, value, *args, out_shape=None, **kwargs):
        return flop_counter.sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None,
                 **kwargs):
        return flop_counter.sdpa_backward_flop_count(grad_out, query, key,
                                                     value)

    return {
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
    }


def count_flops(task: Callable[[], None]) -> int:
    """FLOPs that torch's FLOP counter sees while running ``task`` once
    (matmuls, convolutions, attention; a multiply-add counts 2)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(
            display=False,
            custom_mapping=_cpu_attention_formulas()) as counter:
        task()
    return counter.get_total_flops()


def flop_utilisation(flops: float, seconds: float,
                     peak_tflops: float) -> float:
    """Model FLOP utilisation: achieved FLOP/s over the device's peak
    (``peak_tflops`` in 1e12 FLOP/s), as a fraction."""
    if seconds <= 0 or peak_tflops <= 0:
        raise ValueError(f'seconds={seconds} and peak_tflops={peak_tflops} '
                         f'must be positive')
    return flops / seconds / (peak_tflops * 1e12)


def add_mfu_arguments(parser) -> None:
    """``--mfu`` and ``--peak-tflops``, alike in every benchmark."""
    parser.add_argument(
        '--mfu',
        action='store_true',
        help='count FLOPs per step (torch FLOP counter) and report model '
        'FLOP utilisation against --peak-tflops')
    parser.add_argument(
        '--peak-tflops',
        type=float,
        default=H200_BF16_DENSE_TFLOPS,
        help='the device peak for --mfu, 1e12 FLOP/s (default: H200, '
        'dense bf16)')


def mfu_note(peak_tflops: float) -> str:
    """The table footnote for the MFU columns."""
    return (f"MFU: FLOPs per step from torch's FLOP counter / step time / "
            f'peak {peak_tflops:g} TFLOP/s. The counter counts the FLOPs '
            f"that ran: with_cp's recomputed forward; where gradients flow "
            f'through our attention, on a GPU its dot product widened to '
            f"carry SAM's position bias (3x the width in global blocks at "
            f'1024 px), on a CPU its logits recomputed in the backward pass. '
            f'Rows that compute the same model differently differ in FLOPs: '
            f'compare their times.')


def mfu_cells(result: dict, peak_tflops: float) -> List[str]:
    """Table cells: GFLOP per training step, then training and inference
    FLOP utilisation in %, from ``{train,infer}_{flops,s}``."""
    cells = [f"{result['train_flops'] / 1e9:.1f}"]
    for phase in ('train', 'infer'):
        used = flop_utilisation(result[f'{phase}_flops'],
                                result[f'{phase}_s'], peak_tflops)
        cells.append(f'{100 * used:.1f}')
    return cells
