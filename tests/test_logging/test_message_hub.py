from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from _logging_sync_spy import SyncSpy

from piston.logging import HistoryBuffer, MessageHub


def test_get_current_instance_creates_default() -> None:
    hub = MessageHub.get_current_instance()
    assert hub.instance_name == "piston"
    run_hub = MessageHub.get_instance("run")
    assert MessageHub.get_current_instance() is run_hub


def test_init_with_initial_dicts() -> None:
    buffer = HistoryBuffer([1.0], [1])
    hub = MessageHub("init", log_scalars={"a": buffer}, runtime_info={"epoch": 2})
    assert hub.get_scalar("a") is buffer
    assert hub.get_info("epoch") == 2
    assert "a" in hub.state_dict()["log_scalars"]
    with pytest.raises(TypeError, match="HistoryBuffer"):
        MessageHub("bad", log_scalars={"a": 1.0})


def test_update_scalar_values_and_errors() -> None:
    hub = MessageHub.get_instance("scalars")
    hub.update_scalar("train/loss", 1.0)
    hub.update_scalar("train/loss", np.array([3.0]), count=1)
    hub.update_scalar("train/loss", np.float32(5.0))
    assert hub.get_scalar("train/loss").mean() == pytest.approx(3.0)
    with pytest.raises(AssertionError, match="one element"):
        hub.update_scalar("x", torch.ones(2))
    with pytest.raises(AssertionError, match="one element"):
        hub.update_scalar("x", np.ones(3))
    with pytest.raises(AssertionError, match="int"):
        hub.update_scalar("x", 1.0, count=1.5)
    with pytest.raises(AssertionError, match="number"):  # spec: otherwise AssertionError
        hub.update_scalar("x", "1.0")
    with pytest.raises(KeyError, match="missing"):
        hub.get_scalar("missing")


def test_update_scalars_accepts_value_count_dicts() -> None:
    hub = MessageHub.get_instance("scalars_dict")
    hub.update_scalars({"a": 1.0, "b": {"value": 4.0, "count": 2}})
    hub.update_scalars({"b": {"value": 2.0}})
    assert hub.get_scalar("a").current() == 1.0
    assert hub.get_scalar("b").mean() == pytest.approx(2.0)  # (4 + 2) / (2 + 1)
    with pytest.raises(AssertionError, match="dict"):
        hub.update_scalars([("a", 1.0)])
    with pytest.raises(AssertionError, match="value"):
        hub.update_scalars({"a": {"count": 1}})


def test_tensor_scalars_are_stored_without_sync(monkeypatch) -> None:
    hub = MessageHub.get_instance("lazy")
    spy = SyncSpy(monkeypatch)
    losses = [0.1 * i for i in range(100)]
    for i, loss in enumerate(losses):
        hub.update_scalar("train/loss", torch.tensor(loss))
        hub.update_scalars({"train/acc": torch.tensor([float(i)]), "train/lr": 0.01})
    assert spy.total == 0
    loss = hub.get_scalar("train/loss")
    assert loss.mean(10) == pytest.approx(np.mean(losses[-10:]))
    assert loss.current() == pytest.approx(losses[-1])
    assert hub.get_scalar("train/acc").max() == 99.0
    assert hub.get_scalar("train/lr").current() == 0.01
    assert spy.calls["tolist"] == 2  # one batched transfer per buffer that held tensors
    assert spy.calls["item"] == 0


def test_resumed_flag_cannot_change() -> None:
    hub = MessageHub.get_instance("flags")
    hub.update_scalar("a", 1.0, resumed=False)
    with pytest.raises(AssertionError, match="resumed"):
        hub.update_scalar("a", 2.0)
    hub.update_info("b", 1)
    with pytest.raises(AssertionError, match="resumed"):
        hub.update_info("b", 2, resumed=False)


def test_runtime_info_api() -> None:
    hub = MessageHub.get_instance("info")
    hub.update_info("epoch", 3)
    hub.update_info_dict({"iter": 10, "max_iters": 20})
    assert hub.get_info("iter") == 10
    assert hub.get_info("nothing", "default") == "default"
    assert hub.pop_info("max_iters") == 20
    assert hub.pop_info("max_iters", -1) == -1
    assert list(hub.runtime_info) == ["epoch", "iter"]
    assert isinstance(hub.log_scalars, OrderedDict)
    with pytest.raises(AssertionError, match="dict"):
        hub.update_info_dict([("a", 1)])


def _assert_plain(obj) -> None:
    """Only containers, numbers, strings and HistoryBuffers (which pickle as plain lists)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert isinstance(key, str)
            _assert_plain(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _assert_plain(value)
    elif isinstance(obj, HistoryBuffer):
        _assert_plain(obj.__getstate__())
    else:
        assert isinstance(obj, (int, float, str, bool, type(None))), type(obj)


def test_state_dict_holds_buffer_copies_and_loads_with_weights_only(tmp_path) -> None:
    hub = MessageHub.get_instance("ckpt")
    for i in range(5):
        hub.update_scalar("train/loss", torch.tensor(float(i)))
    hub.update_scalar("train/time", 0.5, resumed=False)
    hub.update_info("epoch", 2)
    hub.update_info("best_score", np.float64(0.75))
    hub.update_info("keep_ckpt_ids", [np.int64(1), 2])
    hub.update_info("scratch", object(), resumed=False)
    state = hub.state_dict()
    assert list(state) == ["log_scalars", "runtime_info", "resumed_keys"]
    # spec: {'log_scalars': {k: deepcopy(buffer)}, ...} with only the resumed keys
    saved = state["log_scalars"]["train/loss"]
    assert isinstance(saved, HistoryBuffer)
    assert saved is not hub.get_scalar("train/loss")
    assert saved.mean(2) == pytest.approx(3.5)
    hub.update_scalar("train/loss", 100.0)
    assert saved.current() == 4.0  # a copy, not the live buffer
    _assert_plain(state)
    assert list(state["log_scalars"]) == ["train/loss"]
    assert list(state["runtime_info"]) == ["epoch", "best_score", "keep_ckpt_ids"]
    assert state["resumed_keys"]["train/time"] is False

    path = tmp_path / "hub.pth"
    torch.save({"message_hub": state}, path)
    with torch.serialization.safe_globals([HistoryBuffer]):
        loaded = torch.load(path, weights_only=True)["message_hub"]
    new_hub = MessageHub.get_instance("resumed")
    new_hub.load_state_dict(loaded)
    buffer = new_hub.get_scalar("train/loss")
    np.testing.assert_array_equal(buffer.data[0], [0.0, 1.0, 2.0, 3.0, 4.0])
    assert new_hub.get_info("epoch") == 2
    assert new_hub.get_info("best_score") == 0.75
    assert new_hub.get_info("keep_ckpt_ids") == [1, 2]
    assert new_hub.state_dict()["resumed_keys"]["train/loss"] is True


def test_load_state_dict_accepts_plain_buffers_of_older_checkpoints() -> None:
    hub = MessageHub.get_instance("plain")
    plain = {"log_history": [1.0, 3.0], "count_history": [1, 1], "max_length": 10}
    hub.load_state_dict(
        {"log_scalars": {"a": plain}, "runtime_info": {}, "resumed_keys": {"a": True}}
    )
    assert hub.get_scalar("a").mean() == 2.0
    assert hub.get_scalar("a").max_length == 10


def test_load_state_dict_mmengine_form_and_warnings() -> None:
    hub = MessageHub.get_instance("legacy")
    buffer = HistoryBuffer([1.0, 2.0], [1, 1])
    state = {
        "log_scalars": {"train/loss": buffer, "bad": 3.0},
        "runtime_info": {"iter": 7},
        "resumed_keys": {"train/loss": True, "iter": True, "ghost": True},
    }
    hub.load_state_dict(state)
    assert hub.get_scalar("train/loss") is not buffer
    assert hub.get_scalar("train/loss").current() == 2.0
    assert "bad" not in hub.log_scalars
    assert "ghost" not in hub.state_dict()["resumed_keys"]
    with pytest.raises(AssertionError, match="resumed_keys"):
        hub.load_state_dict({"log_scalars": {}, "runtime_info": {}})


def test_load_state_dict_from_message_hub() -> None:
    source = MessageHub.get_instance("source")
    source.update_scalar("a", 1.0)
    source.update_info("epoch", 1, resumed=False)
    target = MessageHub.get_instance("target")
    target.load_state_dict(source)
    assert target.get_scalar("a").current() == 1.0
    assert target.get_info("epoch") == 1
    assert target.get_scalar("a") is not source.get_scalar("a")
    assert "epoch" not in target.state_dict()["runtime_info"]


def test_message_hub_pickles_and_deep_copies() -> None:
    hub = MessageHub.get_instance("pickled")
    hub.update_scalar("a", torch.tensor(2.0))
    for clone in (pickle.loads(pickle.dumps(hub)), copy.deepcopy(hub)):
        assert clone.get_scalar("a").current() == 2.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_scalars_never_synchronise_on_update() -> None:
    hub = MessageHub.get_instance("cuda")
    losses = torch.arange(20, dtype=torch.float32, device="cuda") / 10
    torch.cuda.set_sync_debug_mode("error")  # any host-device sync now raises
    try:
        for loss in losses:
            hub.update_scalar("train/loss", loss * 1)
            hub.update_scalars({"train/grad_norm": loss + 1})
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert hub.get_scalar("train/loss").mean(10) == pytest.approx(1.45)
    assert hub.get_scalar("train/grad_norm").current() == pytest.approx(2.9)


def test_load_state_dict_is_silent_about_keys_that_are_never_saved(monkeypatch) -> None:
    """A key updated with ``resumed=False`` is listed in ``resumed_keys`` but not saved."""
    import piston.logging.message_hub as hub_module

    warned: list[str] = []
    monkeypatch.setattr(hub_module, "_warn", warned.append)
    source = MessageHub.get_instance("saver")
    source.update_info("throughput_meter", object(), resumed=False)
    source.update_scalar("train/loss", 1.0)
    state = source.state_dict()
    assert state["resumed_keys"]["throughput_meter"] is False
    target = MessageHub.get_instance("loader")
    target.load_state_dict(state)
    assert warned == []
    assert target.get_scalar("train/loss").current() == 1.0
    state["resumed_keys"]["ghost"] = True  # a saved key that is missing still warns
    target.load_state_dict(state)
    assert len(warned) == 1
    assert "ghost" in warned[0]


def test_rejected_scalar_leaves_no_resumed_key() -> None:
    hub = MessageHub.get_instance("rejects")
    with pytest.raises(AssertionError, match="exactly one element"):
        hub.update_scalar("train/bad", torch.ones(2))
    assert "train/bad" not in hub.state_dict()["resumed_keys"]
    assert "train/bad" not in hub.log_scalars


def test_uncopyable_info_is_kept_by_reference_with_a_warning(tmp_path) -> None:
    import threading

    from piston.logging import MMLogger

    log_file = tmp_path / "hub.log"
    MMLogger.get_instance("hub_warn", log_file=str(log_file))  # the current logger
    hub = MessageHub.get_instance("uncopyable")
    lock = threading.Lock()  # cannot be deep-copied
    hub.update_info("lock", lock)
    hub.update_info("epoch", 3)
    state = hub.state_dict()
    assert state["runtime_info"]["lock"] is lock
    assert state["runtime_info"]["epoch"] == 3
    other = MessageHub.get_instance("uncopyable_target")
    other.load_state_dict(state)
    assert other.get_info("lock") is lock
    text = log_file.read_text()
    assert "WARNING" in text
    assert "'lock' in MessageHub cannot be deep-copied" in text
