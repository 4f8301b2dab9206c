"""``ColossalAIStrategy`` (strategy.md §7, P2): registered, with its spec signature.

Design note: ``colossalai`` is optional and not a dependency of piston. Constructing the
strategy checks for it first and raises an ImportError saying how to install it; the Booster
integration itself is not implemented yet (NotImplementedError).
"""

from __future__ import annotations

from typing import Any

from piston.registry import STRATEGIES

from .deepspeed import _NOT_IMPLEMENTED, _PendingStrategy, require_package

__all__ = ["ColossalAIStrategy"]


@STRATEGIES.register_module()
class ColossalAIStrategy(_PendingStrategy):
    """Train with a ColossalAI ``Booster`` (needs ``colossalai``; not implemented in piston yet)."""

    def __init__(
        self,
        *,
        config: str | dict | None = None,
        mixed_precision: str | dict | None = None,
        plugin: str | dict = "gemini",
        model_wrapper: dict | None = None,
        **kwargs: Any,
    ) -> None:
        require_package("colossalai", type(self).__name__, "colossalai")
        raise NotImplementedError(f"ColossalAIStrategy {_NOT_IMPLEMENTED}")
