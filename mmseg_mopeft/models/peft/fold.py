"""Fold PEFT methods into the frozen weights for inference."""
from dataclasses import dataclass, field
from typing import Dict, List

from torch import nn


@dataclass
class FoldReport:
    """What ``fold_peft`` did, per ``'<module>.blocks.<i>.<method>'``."""
    folded: List[str] = field(default_factory=list)
    kept: Dict[str, str] = field(default_factory=dict)  # name -> why

    @property
    def complete(self) -> bool:
        return not self.kept

    def __str__(self) -> str:
        lines = [f'folded {len(self.folded)} method instance(s)']
        lines += [f'cannot fold {name}: {why}' for name, why in
                  self.kept.items()]
        return '\n'.join(lines)


def fold_peft(model: nn.Module) -> FoldReport:
    """Fold every foldable method of every SAMViT block in ``model`` in place
    (ungated LoRA and SSF into the q/k/v, projection, MLP and norm weights,
    BitFit trivially, prefix MLPs into their vectors) and detach what was
    absorbed. Outputs stay equal; the report says what could not be folded
    (gated methods, Conv-LoRA, adapters) and why."""
    report = FoldReport()
    for module_name, module in model.named_modules():
        if getattr(module, 'tuner', None) is None:
            continue
        folded, kept = module.tuner.fold(module)
        report.folded += [f'{module_name}.{n}' for n in folded]
        report.kept.update({f'{module_name}.{n}': why
                            for n, why in kept.items()})
        if not module.tuner.methods:
            module.tuner = None
    return report
