"""The scope ``mmseg_mopeft``: empty child registries of mmseg's.

mmengine finds a project by its scope name: ``DefaultScope``, and
``MMSegInferencer(name, scope='mmseg_mopeft')``, which reads the model index
(``model-index.yml`` beside ``configs/`` in a checkout, ``.mim/`` in an
installed package). Our modules register into mmseg's registries; these
children only make the scope known and look everything up in mmseg (and,
through it, mmengine and mmcv).
"""
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import Registry
from mmseg import registry as mmseg_registry

SCOPE = 'mmseg_mopeft'
# module -> pip package; mmengine asserts the scope is listed here before it
# reads a model index
MODULE2PACKAGE.setdefault(SCOPE, 'mmseg_mopeft')


def _child(parent: Registry) -> Registry:
    return Registry(
        parent.name,
        parent=parent,
        scope=SCOPE,
        locations=list(parent._locations) + [SCOPE])


DATASETS = _child(mmseg_registry.DATASETS)
DATA_SAMPLERS = _child(mmseg_registry.DATA_SAMPLERS)
EVALUATOR = _child(mmseg_registry.EVALUATOR)
HOOKS = _child(mmseg_registry.HOOKS)
INFERENCERS = _child(mmseg_registry.INFERENCERS)
LOG_PROCESSORS = _child(mmseg_registry.LOG_PROCESSORS)
LOOPS = _child(mmseg_registry.LOOPS)
METRICS = _child(mmseg_registry.METRICS)
MODEL_WRAPPERS = _child(mmseg_registry.MODEL_WRAPPERS)
MODELS = _child(mmseg_registry.MODELS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    mmseg_registry.OPTIM_WRAPPER_CONSTRUCTORS)
OPTIM_WRAPPERS = _child(mmseg_registry.OPTIM_WRAPPERS)
OPTIMIZERS = _child(mmseg_registry.OPTIMIZERS)
PARAM_SCHEDULERS = _child(mmseg_registry.PARAM_SCHEDULERS)
RUNNER_CONSTRUCTORS = _child(mmseg_registry.RUNNER_CONSTRUCTORS)
RUNNERS = _child(mmseg_registry.RUNNERS)
TASK_UTILS = _child(mmseg_registry.TASK_UTILS)
TRANSFORMS = _child(mmseg_registry.TRANSFORMS)
VISBACKENDS = _child(mmseg_registry.VISBACKENDS)
VISUALIZERS = _child(mmseg_registry.VISUALIZERS)
WEIGHT_INITIALIZERS = _child(mmseg_registry.WEIGHT_INITIALIZERS)
