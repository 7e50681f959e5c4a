"""FLOP counting and FLOP-utilisation arithmetic of the benchmarks (the GPU
figures rely on them; checked here on CPU)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from helpers import REPO
from torch import nn

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import benchmark_utils  # noqa: E402
from benchmark_utils import (count_flops, flop_utilisation,  # noqa: E402
                             mfu_cells, peak_memory, time_round_robin)


def test_count_flops_of_a_training_step_matches_matmul_arithmetic():
    batch, dim_in, dim_out = 4, 32, 16
    model = nn.Linear(dim_in, dim_out)
    x = torch.randn(batch, dim_in, requires_grad=True)

    def step():
        model(x).sum().backward()

    # forward x @ W^T, backward grad_x = g @ W and grad_W = g^T @ x:
    # three (batch x in x out) products of 2 FLOPs per multiply-add
    assert count_flops(step) == 3 * 2 * batch * dim_in * dim_out
    with torch.no_grad():
        assert count_flops(lambda: model(x)) == 2 * batch * dim_in * dim_out


def test_count_flops_includes_cpu_attention():
    b, heads, n_q, n_k, dim = 2, 3, 10, 12, 8
    q = torch.randn(b, heads, n_q, dim, requires_grad=True)
    k = torch.randn(b, heads, n_k, dim, requires_grad=True)
    v = torch.randn(b, heads, n_k, dim, requires_grad=True)
    attention = torch.nn.functional.scaled_dot_product_attention
    with torch.no_grad():
        forward = count_flops(lambda: attention(q, k, v))
    # q @ k^T and weights @ v: two (n_q x dim x n_k) products per head
    assert forward == 2 * 2 * b * heads * n_q * n_k * dim
    # backward: the logits again and four gradient products
    total = count_flops(lambda: attention(q, k, v).sum().backward())
    assert total == forward + 5 * 2 * b * heads * n_q * n_k * dim


# Run as peak_memory asks (in a fresh process): in a long-lived one, such
# as pytest's after a thousand tests, the step's pages once went uncounted.
PEAK_SCRIPT = """
import json, sys
import torch
from torch import nn
sys.path.insert(0, sys.argv[1])
from benchmark_utils import peak_memory, weight_bytes
model = nn.Linear(1000, 500)
held = torch.ones(64, 2**20)  # 256 MiB before the step: not counted
size = 2**28  # bytes the step holds at its peak, then frees
peak = peak_memory(lambda: torch.ones(size // 4).add_(1), 'cpu',
                   weight_bytes(model))
print(json.dumps(dict(peak, weights=weight_bytes(model))))
"""


# Blocks that malloc keeps in its heap when freed, none reused: a 20 MB
# block, freed, makes glibc keep blocks of up to 20 MB; then blocks of 8 to
# 19.5 MB, each freed before the next, larger one, with a small tensor
# allocated after each, so that malloc cannot shrink its heap.
FRAGMENTING_SCRIPT = """
import json, sys
import torch
sys.path.insert(0, sys.argv[1])
from benchmark_utils import _proc_status_bytes, peak_memory


def step():
    del_me = torch.ones(5 * 2**20)
    del del_me
    pins = []
    for i in range(24):
        block = torch.ones((16 + i) * 2**17)
        pins.append(torch.ones(256))
        del block


if sys.argv[2] == 'peak_memory':
    print(json.dumps(peak_memory(step, 'cpu', 0)['tensors']))
else:  # the same measurement with malloc's defaults
    before = _proc_status_bytes('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    step()
    print(json.dumps(_proc_status_bytes('VmHWM') - before))
"""


def _run_fragmenting(how):
    proc = subprocess.run([
        sys.executable, '-c', FRAGMENTING_SCRIPT,
        osp.join(REPO, 'tools', 'analysis_tools'), how
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout) / 2**20


@pytest.mark.skipif(not osp.exists('/proc/self/clear_refs'),
                    reason='CPU peak memory reads Linux /proc')
def test_cpu_peak_memory_counts_live_tensors_not_what_malloc_keeps():
    kept = _run_fragmenting('defaults')
    if kept < 40:  # measured 65 or about 325 MiB here
        pytest.skip(f'this malloc kept {kept:.0f} MiB: nothing to tell apart')
    # live at a time: 20 MiB, then at most 19.5 MiB and 6 KiB of pins
    assert _run_fragmenting('peak_memory') < 24


def test_cpu_peak_memory_refuses_a_malloc_it_cannot_set(monkeypatch):
    monkeypatch.setattr(benchmark_utils, 'return_freed_memory', lambda: False)
    ran = []
    with pytest.raises(RuntimeError, match="glibc's malloc"):
        benchmark_utils.peak_memory(lambda: ran.append(1), 'cpu', 0)
    assert not ran


@pytest.mark.skipif(not osp.exists('/proc/self/clear_refs'),
                    reason='CPU peak memory reads Linux /proc')
def test_cpu_peak_memory_counts_weights_and_what_the_step_adds():
    proc = subprocess.run(
        [sys.executable, '-c', PEAK_SCRIPT,
         osp.join(REPO, 'tools', 'analysis_tools')],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak = json.loads(proc.stdout)
    assert peak['weights'] == 4 * (1000 * 500 + 500)  # float32 Linear
    size, held = 2**28, 2**28
    grown = peak['tensors'] - peak['weights']
    # a few pages the process frees meanwhile may be reused
    assert size - 4 * 2**20 <= grown < size + 32 * 2**20, grown / 2**20
    assert peak['process'] >= held + size


def test_cuda_peak_memory_counts_what_the_step_adds(monkeypatch):
    """On CUDA other models may be resident: only the step's growth of
    allocated memory counts, on top of its own weights (a fake allocator
    here; the CUDA figures rely on this arithmetic)."""
    allocator = dict(allocated=5000, peak=9000)  # 5000 held by others
    cuda = torch.cuda
    monkeypatch.setattr(cuda, 'synchronize', lambda device=None: None)
    monkeypatch.setattr(cuda, 'memory_allocated',
                        lambda device=None: allocator['allocated'])
    monkeypatch.setattr(cuda, 'max_memory_allocated',
                        lambda device=None: allocator['peak'])
    monkeypatch.setattr(
        cuda, 'reset_peak_memory_stats',
        lambda device=None: allocator.update(peak=allocator['allocated']))

    def step():  # holds 300 at its peak and keeps 40 (optimizer state)
        allocator['peak'] = allocator['allocated'] + 300
        allocator['allocated'] += 40

    assert peak_memory(step, 'cuda', weights=120) == dict(tensors=420)


def test_mfu_cells_are_gflop_and_percent_of_peak():
    result = dict(train_flops=3e12, train_s=0.5, infer_flops=1e12,
                  infer_s=0.25)
    # 6 and 4 TFLOP/s on a 12 TFLOP/s device
    assert mfu_cells(result, 12.0) == ['3000.0', '50.0', '33.3']


def test_flop_utilisation_arithmetic():
    # 494.75 TFLOP in 1 s on a 989.5 TFLOP/s GPU is half its peak
    assert flop_utilisation(494.75e12, 1.0, 989.5) == pytest.approx(0.5)
    assert flop_utilisation(3e12, 0.5, 12.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match='peak_tflops=0'):
        flop_utilisation(1e12, 1.0, 0)


def test_round_robin_takes_turns_and_reports_medians():
    calls = []
    medians = time_round_robin(
        dict(a=lambda: calls.append('a'), b=lambda: calls.append('b')),
        warmup=1, iters=2, device='cpu')
    assert calls == ['a', 'b'] * 3
    assert set(medians) == {'a', 'b'} and all(
        t >= 0 for t in medians.values())


ZEN5 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
flags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni

processor\t: 1
model name\t: another name the description must not take
"""
SAPPHIRE_RAPIDS = """processor\t: 0
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8
"""
GRAVITON = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd bf16
"""


@pytest.mark.parametrize('cpuinfo, expected', [
    (ZEN5, 'AMD EPYC (family 26, model 2), AVX-512, AVX512-BF16, no AMX'),
    (SAPPHIRE_RAPIDS, 'Intel(R) Xeon(R) Platinum 8480+ (family 6, model '
     '143), AVX-512, AVX512-BF16, AMX-BF16'),
])
def test_cpu_description_names_generation_and_matmul_features(
        tmp_path, cpuinfo, expected):
    path = tmp_path / 'cpuinfo'
    path.write_text(cpuinfo)
    assert benchmark_utils._cpu_description(str(path)) == \
        f'{expected}, {os.cpu_count()} logical CPUs'


@pytest.mark.parametrize('cpuinfo', [GRAVITON, None])
def test_cpu_description_without_x86_fields_falls_back_to_platform(
        tmp_path, monkeypatch, cpuinfo):
    path = tmp_path / 'cpuinfo'
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    monkeypatch.setattr(benchmark_utils.platform, 'processor',
                        lambda: 'aarch64')
    assert benchmark_utils._cpu_description(str(path)) == \
        f'aarch64, {os.cpu_count()} logical CPUs'


@pytest.mark.parametrize('backend,named', [('onednn', 'oneDNN'),
                                           ('aten', 'F.linear')])
def test_machine_line_names_cpu_torch_threads_and_linear_backend(
        backend, named, monkeypatch):
    from mmseg_mopeft.models.utils import onednn_linear
    from mmseg_mopeft.utils import glibc_malloc
    monkeypatch.setattr(onednn_linear, 'BACKEND', backend)
    monkeypatch.setattr(glibc_malloc, 'keeping', False)
    line = benchmark_utils.machine('cpu')
    assert line.startswith(f'Machine: {benchmark_utils._cpu_description()}')
    assert f'torch {torch.__version__}, {torch.get_num_threads()} threads' \
        in line
    assert line.endswith(f', our fp32 CPU linear layers on {named}.')
    assert 'CUDA' not in line


def test_machine_line_says_when_malloc_keeps_freed_memory(monkeypatch):
    from mmseg_mopeft.utils import glibc_malloc
    monkeypatch.setattr(glibc_malloc, 'keeping', True)
    assert benchmark_utils.machine('cpu').endswith(
        ', glibc malloc keeping freed memory (CPUMallocHook).')


def test_machine_line_on_cuda_names_the_gpu(monkeypatch):
    names = []

    def device_name(device=None):
        names.append(device)
        return 'NVIDIA H200'

    monkeypatch.setattr(torch.cuda, 'get_device_name', device_name)
    monkeypatch.setattr(torch.version, 'cuda', '13.0')
    line = benchmark_utils.machine('cuda:1')
    assert line.endswith('; NVIDIA H200, CUDA 13.0.')
    assert names == ['cuda:1']  # the benchmark's device, not the default
