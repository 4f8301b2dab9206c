"""A spy counting calls of the tensor methods that synchronise with the device."""

from __future__ import annotations

import pytest
import torch


class SyncSpy:
    """Count calls of the tensor methods that synchronise with the device."""

    names = ("item", "tolist", "cpu", "numpy", "__float__", "__int__")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = dict.fromkeys(self.names, 0)
        for name in self.names:
            original = getattr(torch.Tensor, name)

            def spy(tensor, *args, _name=name, _original=original, **kwargs):
                self.calls[_name] += 1
                return _original(tensor, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, spy)

    @property
    def total(self) -> int:
        return sum(self.calls.values())
