"""piston's root registries (scope ``'piston'``).

Downstream packages create child registries with ``parent=<root>``. Each root registry lazily
imports the piston package that fills it (``locations``) on its first lookup.
"""

from __future__ import annotations

from .build_functions import (
    build_model_from_cfg,
    build_optimizer_from_cfg,
    build_runner_from_cfg,
    build_scheduler_from_cfg,
)
from .registry import Registry

__all__ = [
    "DATASETS",
    "DATA_SAMPLERS",
    "EVALUATOR",
    "FUNCTIONS",
    "HOOKS",
    "INFERENCERS",
    "LOG_PROCESSORS",
    "LOOPS",
    "METRICS",
    "MODELS",
    "MODEL_WRAPPERS",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "RUNNERS",
    "RUNNER_CONSTRUCTORS",
    "STRATEGIES",
    "TASK_UTILS",
    "TRANSFORMS",
    "VISBACKENDS",
    "VISUALIZERS",
    "WEIGHT_INITIALIZERS",
]

_SCOPE = "piston"

# Runners and their construction.
RUNNERS = Registry(
    "runner", build_func=build_runner_from_cfg, scope=_SCOPE, locations=["piston.runner"]
)
RUNNER_CONSTRUCTORS = Registry("runner constructor", scope=_SCOPE, locations=[])
LOOPS = Registry("loop", scope=_SCOPE, locations=["piston.runner"])
HOOKS = Registry("hook", scope=_SCOPE, locations=["piston.hooks"])
STRATEGIES = Registry("strategy", scope=_SCOPE, locations=["piston._strategy"])
LOG_PROCESSORS = Registry("log_processor", scope=_SCOPE, locations=["piston.runner"])

# Data.
DATASETS = Registry("dataset", scope=_SCOPE, locations=["piston.dataset"])
DATA_SAMPLERS = Registry("data sampler", scope=_SCOPE, locations=["piston.dataset"])
TRANSFORMS = Registry("transform", scope=_SCOPE, locations=["piston.dataset"])
FUNCTIONS = Registry("function", scope=_SCOPE, locations=["piston.dataset"])

# Models.
MODELS = Registry(
    "model", build_func=build_model_from_cfg, scope=_SCOPE, locations=["piston.model"]
)
MODEL_WRAPPERS = Registry("model_wrapper", scope=_SCOPE, locations=["piston.model"])
WEIGHT_INITIALIZERS = Registry("weight initializer", scope=_SCOPE, locations=["piston.model"])

# Optimization.
OPTIMIZERS = Registry(
    "optimizer", build_func=build_optimizer_from_cfg, scope=_SCOPE, locations=["piston.optim"]
)
OPTIM_WRAPPERS = Registry("optim_wrapper", scope=_SCOPE, locations=["piston.optim"])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    "optimizer wrapper constructor", scope=_SCOPE, locations=["piston.optim"]
)
PARAM_SCHEDULERS = Registry(
    "parameter scheduler",
    build_func=build_scheduler_from_cfg,
    scope=_SCOPE,
    locations=["piston.optim"],
)

# Evaluation.
METRICS = Registry("metric", scope=_SCOPE, locations=["piston.evaluator"])
EVALUATOR = Registry("evaluator", scope=_SCOPE, locations=["piston.evaluator"])
TASK_UTILS = Registry("task util", scope=_SCOPE, locations=[])

# Visualization.
VISUALIZERS = Registry("visualizer", scope=_SCOPE, locations=["piston.visualization"])
VISBACKENDS = Registry("vis_backend", scope=_SCOPE, locations=["piston.visualization"])

# Inference.
INFERENCERS = Registry("inferencer", scope=_SCOPE, locations=[])
