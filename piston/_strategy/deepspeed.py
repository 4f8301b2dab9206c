"""``DeepSpeedStrategy`` (strategy.md §6, P2): registered, with its spec signature.

Design note: ``deepspeed`` is optional and not a dependency of piston. Constructing the
strategy checks for it first and raises an ImportError saying how to install it; the
DeepSpeed engine integration itself is not implemented yet (NotImplementedError).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from piston.registry import STRATEGIES

from .base import BaseStrategy

__all__ = ["DeepSpeedStrategy", "require_package"]

_NOT_IMPLEMENTED = "is not implemented in piston yet; use DDPStrategy or FSDPStrategy."


def require_package(package: str, strategy: str, extra: str) -> None:
    """Raise an ImportError naming ``package`` and the pip extra when it is not installed."""
    if importlib.util.find_spec(package) is None:
        raise ImportError(
            f"{strategy} requires the optional package `{package}`, which is not installed. "
            f"Install it with `pip install {package}` (or `pip install 'piston[{extra}]'`)."
        )


class _PendingStrategy(BaseStrategy):
    """Base of the strategies whose integration is not written yet: every entry point raises."""

    def _pending(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} {_NOT_IMPLEMENTED}")

    prepare = load_checkpoint = resume = save_checkpoint = _pending


@STRATEGIES.register_module()
class DeepSpeedStrategy(_PendingStrategy):
    """Train with a DeepSpeed engine (needs ``deepspeed``; not implemented in piston yet)."""

    def __init__(
        self,
        *,
        config: str | dict | None = None,
        zero_optimization: dict | None = None,
        gradient_clipping: float | None = None,
        fp16: dict | None = None,
        inputs_to_half: list[int | str] | None = None,
        bf16: dict | None = None,
        amp: dict | None = None,
        activation_checkpointing: dict | None = None,
        aio: dict | None = None,
        train_micro_batch_size_per_gpu: int | None = None,
        gradient_accumulation_steps: int | None = None,
        steps_per_print: int = 10000000000000,
        exclude_frozen_parameters: bool | None = None,
        **kwargs: Any,
    ) -> None:
        require_package("deepspeed", type(self).__name__, "deepspeed")
        raise NotImplementedError(
            "DeepSpeedStrategy is not implemented in piston yet; use DDPStrategy or FSDPStrategy."
        )
