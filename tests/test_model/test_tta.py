from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from piston.model import BaseModel, BaseTTAModel
from piston.registry import MODELS


class Doubler(BaseModel):
    def forward(self, inputs, data_samples=None, mode="tensor"):
        return [float(x) * 2 for x in inputs]


class MeanTTA(BaseTTAModel):
    def merge_preds(self, data_samples_list):
        return [sum(preds) / len(preds) for preds in data_samples_list]


def test_tta_splits_dict_batches_and_merges():
    tta = MeanTTA(module=Doubler())
    # 2 augmentations x 3 samples
    data = {"inputs": [torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 4.0, 5.0])]}
    assert tta.test_step(data) == [4.0, 6.0, 8.0]


def test_tta_splits_sequence_batches():
    class PairModel(BaseModel):
        def forward(self, a, b, mode="tensor"):
            return [(x, y) for x, y in zip(a, b)]

    class Collect(BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return [list(preds) for preds in data_samples_list]

    tta = Collect(module=PairModel())
    data = [[[1, 2], [3, 4]], [["a", "b"], ["c", "d"]]]  # (inputs, labels) x 2 augs
    assert tta.test_step(data) == [[(1, "a"), (3, "c")], [(2, "b"), (4, "d")]]


def test_tta_builds_module_from_config():
    MODELS.register_module(module=Doubler, force=True)
    try:
        tta = MeanTTA(
            module={"type": "Doubler"}, data_preprocessor={"type": "BaseDataPreprocessor"}
        )
        assert isinstance(tta.module, Doubler)
    finally:
        MODELS.module_dict.pop("Doubler", None)


def test_tta_errors():
    with pytest.raises(TypeError):
        MeanTTA(module="Doubler")
    with pytest.raises(AssertionError, match="test_step"):
        MeanTTA(module=nn.Linear(1, 1))
    with pytest.raises(TypeError):
        MeanTTA(module=Doubler()).test_step(torch.ones(1))
    assert MODELS.get("BaseTTAModel") is BaseTTAModel


def test_merge_preds_is_abstract():
    class NoMerge(BaseTTAModel):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoMerge(module=Doubler())
