"""HistoryBuffer's list-backed storage: amortised appends/trimming with exact ``max_length``
semantics, and the MessageHub fast path keeping validation and ordering."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from piston.logging import HistoryBuffer, MessageHub


def test_max_length_is_exact_for_every_read_while_trimming_is_batched() -> None:
    buf = HistoryBuffer(max_length=5)
    for i in range(1, 41):
        buf.update(float(i), count=i % 3 + 1)
        expected = list(range(max(1, i - 4), i + 1))
        assert len(buf) == len(expected)
        np.testing.assert_array_equal(buf.data[0], expected)
        assert buf.data[1].shape == (len(expected),)
        assert buf.current() == i
        assert buf.max() == i
        assert buf.min() == expected[0]
        counts = [k % 3 + 1 for k in expected]
        assert buf.mean() == pytest.approx(sum(expected) / sum(counts))
    assert buf.mean(2) == pytest.approx((39 + 40) / (39 % 3 + 1 + 40 % 3 + 1))
    assert buf.mean(100) == buf.mean()  # a window past the kept history means all of it
    restored = pickle.loads(pickle.dumps(buf))
    np.testing.assert_array_equal(restored.data[0], [36, 37, 38, 39, 40])
    assert len(restored) == 5


def test_window_statistics_match_numpy_on_mixed_updates() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=200)
    buf = HistoryBuffer()
    for i, value in enumerate(values):
        buf.update(torch.tensor(value) if i % 3 else float(value))
    for window in (1, 7, 10, 200):
        assert buf.mean(window) == np.float64(values[-window:].sum() / window)
        assert buf.max(window) == values[-window:].max()
        assert buf.min(window) == values[-window:].min()
    assert buf.mean() == values.sum() / 200
    with pytest.raises(TypeError, match="window_size"):
        buf.mean(2.5)


def test_long_history_appends_are_not_quadratic() -> None:
    buf = HistoryBuffer(max_length=1000)
    for i in range(50_000):
        buf.update(float(i))
    assert len(buf) == 1000
    assert buf.current() == 49_999.0
    assert len(buf._values) <= 1000 + 1000 // 8  # trimmed in batches, never unbounded


def test_hub_fast_path_keeps_checks_and_update_order() -> None:
    hub = MessageHub.get_instance("fast_path")
    hub.update_scalar("train/x", torch.tensor(1.0))
    hub.update_scalar("train/x", 2.0)  # a float queued behind a pending tensor
    hub.update_scalar("train/x", torch.tensor([3.0]))
    np.testing.assert_array_equal(hub.get_scalar("train/x").data[0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match="exactly one element"):
        hub.update_scalar("train/x", torch.ones(2))
    with pytest.raises(AssertionError, match="resumed"):
        hub.update_scalar("train/x", 1.0, resumed=False)
    with pytest.raises(AssertionError, match="count"):
        hub.update_scalar("train/x", 1.0, count=1.5)
    hub.update_info("eta", 1.0)
    with pytest.raises(AssertionError, match="resumed"):
        hub.update_info("eta", 2.0, resumed=False)
    value = torch.tensor(5.0)
    hub.update_scalar("train/x", value)
    value.add_(1)  # an in-place change after logging is caught when the value is read
    with pytest.warns(UserWarning, match="changed in place"):
        assert hub.get_scalar("train/x").current() == 6.0
