"""piston._strategy: how ``FlexibleRunner`` builds, wraps and checkpoints the model.

Importing this package registers every strategy in ``STRATEGIES``. torch's FSDP and the
optional DeepSpeed/ColossalAI packages are imported only when a strategy uses them.
"""

from __future__ import annotations

from .base import BaseStrategy
from .colossalai import ColossalAIStrategy
from .deepspeed import DeepSpeedStrategy
from .distributed import DDPStrategy
from .fsdp import FSDPStrategy
from .single_device import SingleDeviceStrategy

__all__ = [
    "BaseStrategy",
    "ColossalAIStrategy",
    "DDPStrategy",
    "DeepSpeedStrategy",
    "FSDPStrategy",
    "SingleDeviceStrategy",
]
