"""BaseTTAModel: run a model on every augmented view of a batch and merge the predictions.

Design note: a TTA pipeline yields, per sample, one entry per augmentation; after collation
the batch holds ``num_augs`` entries per key (dict) or per position (list/tuple).
``test_step`` splits it into ``num_augs`` ordinary batches, runs the wrapped model's
``test_step`` on each and hands ``merge_preds`` a list over samples of lists over augmentations.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
import torch.nn as nn

from piston.registry import MODELS

from .base_model import BaseModel

__all__ = ["BaseTTAModel"]


@MODELS.register_module()
class BaseTTAModel(BaseModel):
    """Wrap a model for test-time augmentation.

    Args:
        module: The model (or its config, built with ``MODELS``); must have ``test_step``.
        data_preprocessor: Put into ``module``'s config when ``module`` is a dict.
    """

    def __init__(
        self,
        module: dict | nn.Module,
        data_preprocessor: dict | nn.Module | None = None,
    ) -> None:
        super().__init__()
        if isinstance(module, nn.Module):
            self.module = module
        elif isinstance(module, dict):
            if data_preprocessor is not None:
                module["data_preprocessor"] = data_preprocessor
            self.module = MODELS.build(module)
        else:
            raise TypeError(
                "The type of module should be a `nn.Module` instance or a dict, "
                f"but got {type(module)}"
            )
        if not hasattr(self.module, "test_step"):
            raise AssertionError(
                "Model wrapped by BaseTTAModel must implement `test_step`, "
                f"but {type(self.module).__name__} does not"
            )

    @abstractmethod
    def merge_preds(self, data_samples_list: list[list]) -> list:
        """Merge per-augmentation predictions: one list per sample -> one prediction each."""

    def test_step(self, data: dict | list | tuple) -> list:
        """Run ``self.module.test_step`` once per augmentation and merge the results."""
        if isinstance(data, dict):
            num_augs = len(data[next(iter(data))])
            views: list = [{key: value[i] for key, value in data.items()} for i in range(num_augs)]
        elif isinstance(data, (list, tuple)):
            num_augs = len(data[0])
            views = [[item[i] for item in data] for i in range(num_augs)]
        else:
            raise TypeError(
                f"data given by dataLoader should be a dict, tuple or a list, but got {type(data)}"
            )
        predictions = [self.module.test_step(view) for view in views]
        return self.merge_preds(list(zip(*predictions)))

    def forward(
        self, inputs: torch.Tensor, data_samples: list | None = None, mode: str = "tensor"
    ) -> Any:
        """Placeholder: TTA models are only driven through ``test_step``."""
