"""``LabelData``: classification labels and scores, plus one-hot helpers."""

from __future__ import annotations

import torch

from .base_data_element import BaseDataElement


class LabelData(BaseDataElement):
    """Data element for classification labels or scores (no extra field checks)."""

    @staticmethod
    def onehot_to_label(onehot: torch.Tensor) -> torch.Tensor:
        """Indices of the ones of a 1-D one-hot (0/1) tensor.

        Raises:
            ValueError: ``onehot`` is not 1-D or holds values other than 0 and 1.

        Example:
            >>> LabelData.onehot_to_label(torch.tensor([0, 1, 1]))
            tensor([1, 2])
        """
        if not isinstance(onehot, torch.Tensor):
            raise AssertionError(f"onehot should be a Tensor, but got {type(onehot).__name__}")
        if onehot.ndim == 1 and bool(((onehot == 0) | (onehot == 1)).all()):
            return onehot.nonzero().squeeze(-1)
        raise ValueError(
            f"input is not one-hot and can not convert to label: got shape "
            f"{tuple(onehot.shape)}; expected a 1-D tensor of 0s and 1s"
        )

    @staticmethod
    def label_to_onehot(label: torch.Tensor, num_classes: int) -> torch.Tensor:
        """A ``num_classes``-long tensor (dtype/device of ``label``) with ones at ``label``.

        Raises:
            AssertionError: a label is not below ``num_classes``.

        Example:
            >>> LabelData.label_to_onehot(torch.tensor([1, 3]), num_classes=4)
            tensor([0, 1, 0, 1])
        """
        if not isinstance(label, torch.Tensor):
            raise AssertionError(f"label should be a Tensor, but got {type(label).__name__}")
        onehot = label.new_zeros((num_classes,))
        if label.numel() > 0 and int(label.max()) >= num_classes:
            raise AssertionError(
                f"the max label {int(label.max())} must be less than num_classes={num_classes}"
            )
        onehot[label] = 1
        return onehot
