from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from _logging_sync_spy import SyncSpy

from piston.logging import HistoryBuffer
from piston.logging import history_buffer as hb_module


def test_init_checks_lengths_and_truncates() -> None:
    with pytest.raises(AssertionError, match="equal"):
        HistoryBuffer([1, 2], [1])
    with pytest.warns(UserWarning, match="max_length"):
        buf = HistoryBuffer([1, 2, 3, 4], [1, 1, 1, 1], max_length=2)
    values, counts = buf.data
    np.testing.assert_array_equal(values, [3, 4])
    np.testing.assert_array_equal(counts, [1, 1])


def test_update_keeps_only_max_length() -> None:
    buf = HistoryBuffer(max_length=3)
    for value in range(5):
        buf.update(value)
    np.testing.assert_array_equal(buf.data[0], [2, 3, 4])


def test_update_rejects_non_numbers() -> None:
    buf = HistoryBuffer()
    with pytest.raises(TypeError, match="log_val"):
        buf.update("1.0")
    with pytest.raises(TypeError, match="count"):
        buf.update(1.0, count="2")
    with pytest.raises(TypeError, match="one-element"):
        buf.update(torch.ones(2))


def test_statistics_over_windows() -> None:
    buf = HistoryBuffer()
    for value, count in [(1.0, 1), (2.0, 1), (6.0, 2), (4.0, 1)]:
        buf.update(value, count)
    assert buf.mean() == pytest.approx(13 / 5)
    assert buf.mean(2) == pytest.approx(10 / 3)
    assert buf.max() == 6.0
    assert buf.max(1) == 4.0
    assert buf.min() == 1.0
    assert buf.min(2) == 4.0
    assert buf.current() == 4.0
    assert buf.statistics("mean", window_size=2) == pytest.approx(10 / 3)
    assert buf.statistics("current") == 4.0
    with pytest.raises(TypeError, match="window_size"):
        buf.mean("2")
    # windows longer than the history (and 0, as numpy's values[-0:]) cover everything
    assert buf.mean(100) == buf.mean(None) == buf.mean(0) == pytest.approx(13 / 5)
    assert buf.max(100) == 6.0
    assert buf.min(100) == 1.0


def test_current_of_empty_buffer_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        HistoryBuffer().current()


def test_unknown_statistics_raises_key_error() -> None:
    with pytest.raises(KeyError, match="median"):
        HistoryBuffer([1.0], [1]).statistics("median")


def weighted_last(self: HistoryBuffer, window_size: int = 1) -> float:
    return float(self._log_history[-window_size:].sum())


@pytest.fixture
def registered_weighted_last():
    HistoryBuffer.register_statistics(weighted_last)
    yield
    HistoryBuffer._statistics_methods.pop("weighted_last", None)


@pytest.mark.usefixtures("registered_weighted_last")
def test_register_statistics_dispatch_and_duplicates() -> None:
    buf = HistoryBuffer([1.0, 2.0, 3.0], [1, 1, 1])
    assert buf.statistics("weighted_last", 2) == 5.0
    with pytest.raises(AssertionError, match="already been registered"):
        HistoryBuffer.register_statistics(weighted_last)


@pytest.mark.usefixtures("registered_weighted_last")
def test_custom_statistics_see_pending_tensors() -> None:
    buf = HistoryBuffer()
    buf.update(torch.tensor(1.0))
    buf.update(torch.tensor(2.0))
    assert buf.statistics("weighted_last", 2) == 3.0


@pytest.mark.usefixtures("registered_weighted_last")
def test_pickle_round_trip_carries_custom_statistics() -> None:
    buf = HistoryBuffer([1.0, 2.0], [1, 1])
    buf.update(torch.tensor(3.0), 2)
    payload = pickle.dumps(buf)
    HistoryBuffer._statistics_methods.pop("weighted_last")
    restored = pickle.loads(payload)
    np.testing.assert_array_equal(restored.data[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(restored.data[1], [1, 1, 2])
    assert restored.statistics("weighted_last", 2) == 5.0


@pytest.mark.usefixtures("registered_weighted_last")
def test_pickle_is_weights_only_loadable(tmp_path) -> None:
    """Checkpoints hold buffers (MessageHub.state_dict), so their pickle must be plain data."""
    buf = HistoryBuffer([1.0, 2.0], [1, 2], max_length=5)
    torch.save({"buf": buf}, tmp_path / "buf.pth")
    HistoryBuffer._statistics_methods.pop("weighted_last")
    with torch.serialization.safe_globals([HistoryBuffer]):
        restored = torch.load(tmp_path / "buf.pth", weights_only=True)["buf"]
    assert restored.max_length == 5
    np.testing.assert_array_equal(restored.data[1], [1, 2])
    assert restored.mean() == pytest.approx(1.0)
    assert restored.statistics("weighted_last", 1) == 2.0  # resolved from the loaded module


def test_tensor_updates_do_not_sync_and_reads_batch_once(monkeypatch) -> None:
    spy = SyncSpy(monkeypatch)
    buf = HistoryBuffer()
    values = [float(i) for i in range(50)]
    for value in values:
        buf.update(torch.tensor(value, requires_grad=True) * 1)
    assert spy.total == 0
    assert len(buf) == 50
    assert buf.mean(10) == pytest.approx(np.mean(values[-10:]))
    # one batched conversion for all 50 queued values
    assert spy.calls["tolist"] == 1
    assert spy.total == 1
    assert buf.max() == 49.0
    assert buf.min(5) == 45.0
    assert buf.current() == 49.0
    assert spy.total == 1  # cached after the first read


def test_mixed_numbers_and_tensors_keep_update_order() -> None:
    buf = HistoryBuffer()
    buf.update(1.0)
    buf.update(torch.tensor(2, dtype=torch.int64))
    buf.update(3.0)
    buf.update(torch.tensor([4.5], dtype=torch.float16))
    buf.update(np.float32(5.0))
    np.testing.assert_array_equal(buf.data[0], [1.0, 2.0, 3.0, 4.5, 5.0])


def test_tensor_changed_in_place_after_logging_is_caught_then_copied() -> None:
    buf = HistoryBuffer()
    value = torch.tensor(1.0)
    buf.update(value)  # queued without a copy (no kernel launch per logged value)
    value.add_(10)  # a running accumulator: changed in place after it was logged
    with pytest.warns(UserWarning, match="changed in place after it was logged"):
        assert buf.current() == 11.0
    buf.update(value)  # from now on this buffer copies: a true snapshot
    value.add_(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert buf.current() == 11.0
    assert buf.data[0].tolist() == [11.0, 11.0]


def test_untouched_tensors_are_queued_without_a_copy() -> None:
    buf = HistoryBuffer()
    value = torch.tensor(2.0)
    buf.update(value)
    assert buf._pending[0] is value
    grad = torch.tensor(3.0, requires_grad=True) * 1
    buf.update(grad)  # detached, sharing storage
    assert not buf._pending[1].requires_grad
    assert buf._pending[1].data_ptr() == grad.data_ptr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert buf.data[0].tolist() == [2.0, 3.0]


def test_inference_mode_tensors_are_accepted() -> None:
    buf = HistoryBuffer()
    with torch.inference_mode():
        value = torch.tensor(4.0)
    buf.update(value)
    assert buf.current() == 4.0


def test_pending_queue_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(hb_module, "_MAX_PENDING", 8)
    buf = HistoryBuffer()
    for i in range(20):
        buf.update(torch.tensor(float(i)))
    assert len(buf._pending) <= 8
    np.testing.assert_array_equal(buf.data[0], np.arange(20.0))


def test_setstate_accepts_mmengine_pickled_state() -> None:
    """MMEngine pickles the instance __dict__: numpy arrays and no statistics entry."""
    buf = HistoryBuffer.__new__(HistoryBuffer)
    buf.__setstate__(
        {"max_length": 3, "_log_history": np.array([1.0, 5.0]), "_count_history": np.array([1, 1])}
    )
    assert buf.max_length == 3
    assert buf.mean() == 3.0
    buf.update(7.0)
    buf.update(9.0)
    np.testing.assert_array_equal(buf.data[0], [5.0, 7.0, 9.0])


def test_numpy_integer_windows_work_like_ints() -> None:
    buf = HistoryBuffer([1.0, 2.0, 6.0, 4.0], [1, 1, 2, 1])
    assert buf.mean(np.int64(2)) == buf.mean(2) == pytest.approx(10 / 3)
    assert buf.max(np.int32(3)) == 6.0
    assert buf.min(np.int64(2)) == 4.0
    assert buf.mean(np.int64(100)) == pytest.approx(13 / 5)
    with pytest.raises(TypeError, match="window_size"):
        buf.mean(True)


def test_numpy_counts_are_accepted() -> None:
    buf = HistoryBuffer()
    buf.update(2.0, np.int64(3))
    buf.update(np.float32(4.0), np.float64(1.0))
    values, counts = buf.data
    assert list(values) == [2.0, 4.0]
    assert list(counts) == [3.0, 1.0]
    assert buf.mean() == pytest.approx(6 / 4)
    with pytest.raises(TypeError, match="count"):
        buf.update(1.0, np.array([1, 2]))
