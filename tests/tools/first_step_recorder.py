"""A test hook: rank 0 saves the first optimizer step's gradients (after
DDP's averaging), the weights before training and the final weights."""
import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class FirstStepRecorderHook(Hook):

    def __init__(self, out: str):
        self.out = out
        self.grads = self.initial = None

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def before_train(self, runner):
        model = self._model(runner)
        names = {id(p): n for n, p in model.named_parameters()}
        self.initial = {
            k: v.detach().clone()
            for k, v in model.state_dict().items()
        }

        def record(optimizer, args, kwargs):
            if self.grads is None:
                self.grads = {
                    names[id(p)]: p.grad.detach().clone()
                    for group in optimizer.param_groups
                    for p in group['params'] if p.grad is not None
                }

        runner.optim_wrapper.optimizer.register_step_pre_hook(record)

    def after_train(self, runner):
        if not dist.is_initialized() or dist.get_rank() == 0:
            torch.save(
                dict(
                    grads=self.grads,
                    initial=self.initial,
                    weights=self._model(runner).state_dict()), self.out)
