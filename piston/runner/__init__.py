"""piston.runner: the Runner, its loops, checkpoint helpers, AMP and priorities.

Importing this package registers the Runner and FlexibleRunner in ``RUNNERS``, the four loops
in ``LOOPS`` and ``LogProcessor`` in ``LOG_PROCESSORS``. The strategies FlexibleRunner uses live
in ``piston._strategy`` and are imported when a FlexibleRunner is built.
"""

from __future__ import annotations

from .activation_checkpointing import turn_on_activation_checkpointing
from .amp import autocast
from .checkpoint import (
    CheckpointLoader,
    find_latest_checkpoint,
    get_deprecated_model_names,
    get_external_models,
    get_mmcls_models,
    get_state_dict,
    get_torchvision_models,
    load_checkpoint,
    load_state_dict,
    save_checkpoint,
    weights_to_cpu,
)
from .flexible_runner import FlexibleRunner
from .log_processor import LogProcessor
from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
from .priority import Priority, get_priority
from .runner import Runner
from .utils import set_random_seed

__all__ = [
    "BaseLoop",
    "CheckpointLoader",
    "EpochBasedTrainLoop",
    "FlexibleRunner",
    "IterBasedTrainLoop",
    "LogProcessor",
    "Priority",
    "Runner",
    "TestLoop",
    "ValLoop",
    "autocast",
    "find_latest_checkpoint",
    "get_deprecated_model_names",
    "get_external_models",
    "get_mmcls_models",
    "get_priority",
    "get_state_dict",
    "get_torchvision_models",
    "load_checkpoint",
    "load_state_dict",
    "save_checkpoint",
    "set_random_seed",
    "turn_on_activation_checkpointing",
    "weights_to_cpu",
]
