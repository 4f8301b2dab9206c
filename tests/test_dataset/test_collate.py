from __future__ import annotations

import random
import warnings
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch

from piston.dataset import COLLATE_FUNCTIONS, default_collate, pseudo_collate, worker_init_fn
from piston.registry import FUNCTIONS
from piston.structures import BaseDataElement

Point = namedtuple("Point", ["x", "y"])


def _samples() -> list[dict]:
    return [
        {
            "inputs": torch.full((3, 2, 2), float(i)),
            "data_samples": BaseDataElement(i=i),
            "name": f"s{i}",
        }
        for i in range(2)
    ]


def test_collate_functions_registered() -> None:
    assert COLLATE_FUNCTIONS is FUNCTIONS
    assert FUNCTIONS.get("pseudo_collate") is pseudo_collate
    assert FUNCTIONS.get("default_collate") is default_collate


def test_pseudo_collate_keeps_tensors_unstacked() -> None:
    batch = pseudo_collate(_samples())
    assert set(batch) == {"inputs", "data_samples", "name"}
    assert isinstance(batch["inputs"], list)
    assert [t[0, 0, 0].item() for t in batch["inputs"]] == [0.0, 1.0]
    assert [d.i for d in batch["data_samples"]] == [0, 1]
    assert batch["name"] == ["s0", "s1"]


def test_pseudo_collate_sequences_and_namedtuples() -> None:
    assert pseudo_collate(["a", "b"]) == ["a", "b"]
    imgs, labels = pseudo_collate([(torch.ones(2), 1), (torch.zeros(3), 2)])
    assert [t.shape[0] for t in imgs] == [2, 3]
    assert list(labels) == [1, 2]
    out = pseudo_collate([Point(1, "a"), Point(2, "b")])
    assert isinstance(out, Point)
    assert list(out.x) == [1, 2]
    nested = pseudo_collate([[1, [2, 3]], [4, [5, 6]]])
    assert isinstance(nested, list)
    assert list(nested[0]) == [1, 4]
    ordered = pseudo_collate([OrderedDict(a=1), OrderedDict(a=2)])
    assert isinstance(ordered, OrderedDict)


def test_collate_unequal_sequence_lengths_is_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="same length"):
        pseudo_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match="same length"):
        default_collate([[1, 2], [1]])


def test_default_collate_stacks_tensors_but_keeps_elements_and_strings() -> None:
    batch = default_collate(_samples())
    assert batch["inputs"].shape == (2, 3, 2, 2)
    assert [d.i for d in batch["data_samples"]] == [0, 1]
    assert batch["name"] == ["s0", "s1"]


def test_default_collate_tuple_batch_is_list_of_stacked_columns() -> None:
    batch = default_collate([(torch.ones(1, 8, 8), 3), (torch.zeros(1, 8, 8), 5)])
    assert isinstance(batch, list)
    imgs, labels = batch
    assert imgs.shape == (2, 1, 8, 8)
    assert torch.equal(labels, torch.tensor([3, 5]))
    arrays = default_collate([np.zeros(2), np.ones(2)])
    assert isinstance(arrays, torch.Tensor)
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(point, Point)
    assert torch.equal(point.x, torch.tensor([1, 3]))


def test_worker_init_fn_seeds_every_library() -> None:
    worker_init_fn(worker_id=1, num_workers=4, rank=2, seed=100)  # 4 * 2 + 1 + 100 = 109
    drawn = (np.random.rand(), random.random(), torch.rand(1).item())
    np.random.seed(109)
    random.seed(109)
    torch.manual_seed(109)
    assert drawn == (np.random.rand(), random.random(), torch.rand(1).item())


def test_worker_init_fn_silences_warnings_except_worker_zero() -> None:
    with warnings.catch_warnings():
        worker_init_fn(0, 2, 0, 0, disable_subprocess_warning=True)
        with pytest.warns(UserWarning, match="still shown"):
            warnings.warn("still shown", UserWarning)
        worker_init_fn(1, 2, 0, 0, disable_subprocess_warning=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("hidden", UserWarning)
        assert not caught


def test_collate_nested_mappings_bytes_and_sequence_fallback() -> None:
    batch = [
        {"meta": {"ids": [i, i + 1], "raw": b"x", "arr": np.full(2, i)}, "r": range(2)}
        for i in range(2)
    ]
    pseudo = pseudo_collate(batch)
    assert pseudo["meta"]["raw"] == [b"x", b"x"]
    assert pseudo["meta"]["ids"] == [(0, 1), (1, 2)]  # columns of the transposed lists
    assert [a.tolist() for a in pseudo["meta"]["arr"]] == [[0, 0], [1, 1]]
    assert pseudo["r"] == [(0, 0), (1, 1)]  # range() cannot be rebuilt: plain list
    stacked = default_collate(batch)
    assert stacked["meta"]["raw"] == [b"x", b"x"]
    assert [t.tolist() for t in stacked["meta"]["ids"]] == [[0, 1], [1, 2]]
    assert stacked["meta"]["arr"].tolist() == [[0, 0], [1, 1]]
    assert [t.tolist() for t in stacked["r"]] == [[0, 0], [1, 1]]
