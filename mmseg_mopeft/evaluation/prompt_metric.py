from typing import Sequence

from mmseg.registry import METRICS

from .mess_metric import MESSIoUMetric


@METRICS.register_module()
class PromptIoUMetric(MESSIoUMetric):
    """``MESSIoUMetric`` of one of a model's several predictions.

    ``PromptedSAM`` stores one prediction per test mode
    (``pred_peft_on_oracle_point``, ...); one metric per mode, each with its
    ``prefix`` (e.g. ``peft_on/oracle_point``), reports them side by side in
    one test run.

    Args:
        pred_key: Data-sample field to score instead of ``pred_sem_seg``.
    """

    def __init__(self, pred_key: str = 'pred_sem_seg', **kwargs):
        super().__init__(**kwargs)
        self.pred_key = pred_key

    def process(self, data_batch: dict, data_samples: Sequence[dict]):
        renamed = []
        for sample in data_samples:
            if self.pred_key not in sample:
                found = sorted(k for k in sample if k.startswith('pred_'))
                raise KeyError(
                    f'PromptIoUMetric(prefix={self.prefix!r}): the model '
                    f'output has no {self.pred_key!r} (it has {found}); the '
                    f"model's test_modes and the evaluator must agree")
            renamed.append(dict(sample, pred_sem_seg=sample[self.pred_key]))
        super().process(data_batch, renamed)
