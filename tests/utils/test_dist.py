"""Loss normalisers summed over ranks; the gloo teardown check.

The two-process behaviour is tested end to end in
tests/tools/test_dist_train.py."""
import torch

from mmseg_mopeft.utils.dist import global_avg_factor, gloo_worker_threads


def test_global_avg_factor_in_one_process_is_the_count():
    count = torch.tensor(3.5, requires_grad=True)
    factor = global_avg_factor(count)
    assert factor.item() == 3.5 and not factor.requires_grad
    assert global_avg_factor(torch.tensor(0.), min_total=1).item() == 1.0
    assert global_avg_factor(torch.tensor(4)).dtype == torch.float32
    assert count.item() == 3.5  # the input is not reduced in place


def test_no_gloo_threads_without_a_process_group():
    assert gloo_worker_threads() == 0
