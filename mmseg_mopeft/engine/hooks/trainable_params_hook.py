from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


def count_parameters(model):
    """(trainable, total) parameter counts of a model."""
    total = trainable = 0
    for param in model.parameters():
        total += param.numel()
        if param.requires_grad:
            trainable += param.numel()
    return trainable, total


@HOOKS.register_module()
class TrainableParamsHook(Hook):
    """Log how many parameters train, overall and per top-level module.

    The share is of all the model's parameters, PEFT modules included (the
    benchmark's "% of full" divides by the model without them instead).
    """

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        trainable, total = count_parameters(model)
        parts = ', '.join(
            f'{name}: {count_parameters(child)[0]:,}'
            for name, child in model.named_children()
            if count_parameters(child)[1])
        runner.logger.info(
            f'Trainable parameters: {trainable:,} of {total:,} '
            f'({100 * trainable / max(total, 1):.2f}% of all parameters); '
            f'{parts}')
