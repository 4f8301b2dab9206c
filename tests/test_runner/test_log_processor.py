"""LogProcessor: exact log lines and tags against a real MessageHub filled with known values."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from piston.logging import MessageHub, MMLogger
from piston.registry import LOG_PROCESSORS
from piston.runner.log_processor import LogProcessor

needs_no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason="exact CPU lines have no memory field"
)


def _runner(
    hub,
    *,
    epoch=0,
    it=0,
    max_epochs=12,
    max_iters=1000,
    train_len=1563,
    val_len=313,
    test_len=313,
    built=True,
    logger=None,
):
    return SimpleNamespace(
        message_hub=hub,
        epoch=epoch,
        iter=it,
        max_epochs=max_epochs,
        max_iters=max_iters,
        train_dataloader=range(train_len),
        val_dataloader=range(val_len),
        test_dataloader=range(test_len),
        _train_loop=object() if built else None,
        model=torch.nn.Linear(1, 1),
        logger=logger,
    )


def _fill_train(hub, n=10, tensors=False):
    for _ in range(n):
        hub.update_scalar("train/lr", 0.01)
        hub.update_scalar("train/data_time", 0.0077)
        loss = torch.tensor(2.7734) if tensors else 2.7734
        hub.update_scalar("train/loss", loss)
        hub.update_scalar("train/loss_cls", 1.2)
        hub.update_scalar("train/grad_norm", 5.1234)
        hub.update_scalar("train/time", 0.1414)
    hub.update_info("eta", 3723.9)


def _fill_eval(hub, mode, n=10):
    for _ in range(n):
        hub.update_scalar(f"{mode}/data_time", 0.0047)
        hub.update_scalar(f"{mode}/time", 0.0122)
    hub.update_info("eta", 3.5)


@pytest.fixture
def hub():
    return MessageHub.get_instance("test_log_processor")


def test_registered_in_log_processors():
    proc = LOG_PROCESSORS.build({"type": "LogProcessor", "window_size": 50, "by_epoch": True})
    assert isinstance(proc, LogProcessor)
    assert proc.window_size == 50


@needs_no_cuda
@pytest.mark.parametrize("tensors", [False, True])
def test_train_line_by_epoch_exact(hub, tensors):
    _fill_train(hub, tensors=tensors)
    runner = _runner(hub, epoch=2, it=4000)
    tag, line = LogProcessor().get_log_after_iter(runner, 99, "train")
    assert line == (
        "Epoch(train)  [3][ 100/1563]  lr: 1.0000e-02  eta: 1:02:03  time: 0.1414  "
        "data_time: 0.0077  loss: 2.7734  loss_cls: 1.2000  grad_norm: 5.1234"
    )
    assert list(tag) == [
        "lr",
        "data_time",
        "loss",
        "loss_cls",
        "grad_norm",
        "time",
        "epoch",
        "iter",
    ]
    assert tag["epoch"] == 3
    assert tag["iter"] == 4001
    assert tag["loss"] == pytest.approx(2.7734)
    assert all(type(v) in (int, float) for v in tag.values())


@needs_no_cuda
def test_seed_example_line_prefix(hub):
    """max_epochs=5 pads the epoch to width 4, as in the seed example's log."""
    hub.update_scalar("train/lr", 1e-3)
    hub.update_scalar("train/data_time", 0.0077)
    hub.update_scalar("train/loss", 5.3465)
    hub.update_scalar("train/time", 0.1414)
    hub.update_info("eta", 1103)
    runner = _runner(hub, epoch=0, it=9, max_epochs=5)
    _, line = LogProcessor().get_log_after_iter(runner, 9, "train")
    assert line == (
        "Epoch(train) [1][  10/1563]  lr: 1.0000e-03  eta: 0:18:23  time: 0.1414  "
        "data_time: 0.0077  loss: 5.3465"
    )


def test_window_mean_and_current(hub):
    for i in range(1, 21):
        hub.update_scalar("train/loss", float(i))
        hub.update_scalar("train/acc", float(i))
    runner = _runner(hub, epoch=0, it=19)
    tag, line = LogProcessor(window_size=10).get_log_after_iter(runner, 19, "train")
    assert tag["loss"] == pytest.approx(15.5)  # mean of 11..20 (matches mean_pattern)
    assert tag["acc"] == 20.0  # current value
    assert line.endswith("loss: 15.5000  acc: 20.0000")


@needs_no_cuda
def test_train_line_by_iter_exact(hub):
    hub.update_scalar("train/lr", 0.01)
    hub.update_scalar("train/data_time", 0.01)
    hub.update_scalar("train/loss", 0.4321)
    hub.update_scalar("train/time", 0.2)
    hub.update_info("eta", 59.0)
    runner = _runner(hub, it=199, max_iters=10000)
    tag, line = LogProcessor(by_epoch=False).get_log_after_iter(runner, 199, "train")
    assert line == (
        "Iter(train) [  200/10000]  lr: 1.0000e-02  eta: 0:00:59  time: 0.2000  "
        "data_time: 0.0100  loss: 0.4321"
    )
    assert "epoch" not in tag
    assert tag["iter"] == 200


@needs_no_cuda
def test_val_iter_line_hides_metrics_and_keeps_trailing_spaces(hub):
    _fill_eval(hub, "val")
    hub.update_scalar("val/accuracy", 35.7)
    runner = _runner(hub, epoch=1, max_epochs=5)
    tag, line = LogProcessor().get_log_after_iter(runner, 9, "val")
    assert line == "Epoch(val) [1][ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  "
    assert tag["epoch"] == 1


@needs_no_cuda
def test_val_iter_line_without_train_loop_is_unpadded_epoch_zero(hub):
    _fill_eval(hub, "val")
    runner = _runner(hub, built=False)
    tag, line = LogProcessor().get_log_after_iter(runner, 9, "val")
    assert line == "Epoch(val)[0][ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  "
    assert tag["iter"] == 0
    assert tag["epoch"] == 0


@needs_no_cuda
def test_test_iter_lines(hub):
    _fill_eval(hub, "test")
    runner = _runner(hub, built=False)
    _, line = LogProcessor().get_log_after_iter(runner, 9, "test")
    assert line == "Epoch(test) [ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  "
    _, line = LogProcessor(by_epoch=False).get_log_after_iter(runner, 9, "test")
    assert line == "Iter(test) [ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  "


@needs_no_cuda
def test_without_eta_time_stays_an_item_and_empty_lr_keeps_two_spaces(hub):
    hub.update_scalar("train/data_time", 0.5)
    hub.update_scalar("train/loss", 1.0)
    hub.update_scalar("train/time", 1.0)
    runner = _runner(hub, epoch=0, max_epochs=5, train_len=100)
    _, line = LogProcessor().get_log_after_iter(runner, 9, "train")
    assert line == "Epoch(train) [1][ 10/100]    data_time: 0.5000  loss: 1.0000  time: 1.0000"


@needs_no_cuda
def test_several_learning_rates_joined_by_one_space(hub):
    hub.update_scalar("train/gen.lr", 0.1)
    hub.update_scalar("train/disc.lr", 0.002)
    hub.update_scalar("train/loss", 1.0)
    runner = _runner(hub, epoch=0, max_epochs=5, train_len=100)
    _, line = LogProcessor(num_digits=2).get_log_after_iter(runner, 9, "train")
    assert line == "Epoch(train) [1][ 10/100]  gen.lr: 1.00e-01 disc.lr: 2.00e-03  loss: 1.00"


def test_log_with_hierarchy_prefixes_tag_not_line(hub):
    _fill_train(hub)
    runner = _runner(hub, epoch=2, it=4000)
    flat_tag, flat_line = LogProcessor().get_log_after_iter(runner, 99, "train")
    tag, line = LogProcessor(log_with_hierarchy=True).get_log_after_iter(runner, 99, "train")
    assert line == flat_line
    assert list(tag) == [
        "train/lr",
        "train/data_time",
        "train/loss",
        "train/loss_cls",
        "train/grad_norm",
        "train/time",
        "epoch",
        "iter",
    ]
    assert tag["train/loss"] == flat_tag["loss"]


def test_custom_cfg_adds_and_overrides(hub):
    for i in range(1, 31):
        hub.update_scalar("train/loss", float(i))
    runner = _runner(hub, epoch=0, it=29, max_epochs=5, train_len=100)
    proc = LogProcessor(
        window_size=10,
        custom_cfg=[
            {
                "data_src": "loss",
                "method_name": "mean",
                "window_size": "global",
                "log_name": "loss_g",
            },
            {
                "data_src": "loss",
                "method_name": "mean",
                "window_size": "epoch",
                "log_name": "loss_e",
            },
            {"data_src": "loss", "method_name": "max"},
            {"data_src": "missing", "method_name": "mean", "window_size": 3, "log_name": "ignored"},
        ],
    )
    tag, line = proc.get_log_after_iter(runner, 19, "train")
    assert tag["loss"] == 30.0  # overridden in place by max over everything
    assert tag["loss_g"] == pytest.approx(15.5)  # window runner.iter + 1 = 30
    assert tag["loss_e"] == pytest.approx(20.5)  # window batch_idx + 1 = 20
    assert "ignored" not in tag
    assert line.endswith("loss: 30.0000  loss_g: 15.5000  loss_e: 20.5000")


_MEAN = {"method_name": "mean"}


@pytest.mark.parametrize(
    "custom_cfg, by_epoch, error, match",
    [
        (
            [
                {"data_src": "loss", "window_size": 10, **_MEAN},
                {"data_src": "loss", "window_size": 20, **_MEAN},
            ],
            True,
            AssertionError,
            "log name 'loss'",
        ),
        (
            [
                {"data_src": "loss", "log_name": "a", "window_size": 10, **_MEAN},
                {"data_src": "time", "log_name": "a", "window_size": 20, **_MEAN},
            ],
            True,
            AssertionError,
            "log name 'a'",
        ),
        (
            [{"data_src": "loss", "window_size": "epoch", **_MEAN}],
            False,
            AssertionError,
            "by_epoch",
        ),
        ([{"data_src": "loss", "window_size": "weekly", **_MEAN}], True, TypeError, "weekly"),
        ([{"data_src": "loss", "window_size": 1.5, **_MEAN}], True, TypeError, "1.5"),
        (
            [{"data_src": "loss", "method_name": "current", "window_size": 10}],
            True,
            AssertionError,
            "takes no window_size",
        ),
        ([_MEAN], True, AssertionError, "data_src"),
        ([{"data_src": "loss", "window_size": 3}], True, AssertionError, "method_name"),
    ],
)
def test_custom_cfg_validation(custom_cfg, by_epoch, error, match):
    with pytest.raises(error, match=match):
        LogProcessor(by_epoch=by_epoch, custom_cfg=custom_cfg)


def test_epoch_window_allowed_when_by_epoch():
    processor = LogProcessor(
        custom_cfg=[{"data_src": "loss", "method_name": "mean", "window_size": "epoch"}]
    )
    assert processor.custom_cfg[0]["window_size"] == "epoch"


def test_val_epoch_line_averages_time_over_this_evaluation(hub):
    # An earlier evaluation left slower timings in the same buffers.
    for _ in range(50):
        hub.update_scalar("val/data_time", 1.0)
        hub.update_scalar("val/time", 1.0)
    _fill_eval(hub, "val", n=313)
    hub.update_scalar("val/accuracy", torch.tensor(35.7))
    runner = _runner(hub, epoch=1, max_epochs=5)
    tag, line = LogProcessor().get_log_after_epoch(runner, 313, "val")
    assert line == "Epoch(val) [1][313/313]    accuracy: 35.7000  data_time: 0.0047  time: 0.0122"
    assert list(tag) == ["accuracy", "data_time", "time"]
    assert tag["accuracy"] == pytest.approx(35.7)


def test_epoch_lines_for_test_and_by_iter(hub):
    _fill_eval(hub, "test", n=313)
    hub.update_scalar("test/accuracy", 90)
    runner = _runner(hub, built=False)
    _, line = LogProcessor().get_log_after_epoch(runner, 313, "test")
    assert line == "Epoch(test) [313/313]    accuracy: 90.0000  data_time: 0.0047  time: 0.0122"
    _, line = LogProcessor(by_epoch=False).get_log_after_epoch(runner, 313, "test")
    assert line.startswith("Iter(test) [313/313]    accuracy: 90.0000")


def test_epoch_line_non_scalar_metrics(hub):
    _fill_eval(hub, "val", n=4)
    hub.update_scalar("val/accuracy", 50.0)
    hub.update_info("val/confusion", np.array([[1, 2], [3, 4]]))
    hub.update_info("val/note", "ok")
    runner = _runner(hub, epoch=1, val_len=4)
    tag, line = LogProcessor().get_log_after_epoch(runner, 4, "val")
    assert line == (
        "Epoch(val) [1][4/4]    accuracy: 50.0000  confusion: \n[[1 2]\n [3 4]]\n  note: ok  "
        "data_time: 0.0047  time: 0.0122"
    )
    assert "confusion" not in tag
    tag, _ = LogProcessor().get_log_after_epoch(runner, 4, "val", with_non_scalar=True)
    assert list(tag) == ["accuracy", "confusion", "note", "data_time", "time"]
    tag, _ = LogProcessor(log_with_hierarchy=True).get_log_after_epoch(
        runner, 4, "val", with_non_scalar=True
    )
    assert list(tag) == ["val/accuracy", "val/confusion", "val/note", "val/data_time", "val/time"]


def test_epoch_log_rejects_train_mode(hub):
    with pytest.raises(AssertionError, match="val"):
        LogProcessor().get_log_after_epoch(_runner(hub), 10, "train")


def test_custom_time_window_is_respected_after_epoch(hub):
    for value in (1.0, 2.0, 3.0, 4.0):
        hub.update_scalar("val/time", value)
        hub.update_scalar("val/data_time", 0.0)
    proc = LogProcessor(custom_cfg=[{"data_src": "time", "method_name": "max"}])
    tag, _ = proc.get_log_after_epoch(_runner(hub, val_len=2), 2, "val")
    assert tag["time"] == 4.0
    assert tag["data_time"] == 0.0


def _meter(samples, iter_time, data_time, iters):
    from piston.hooks.iter_timer_hook import ThroughputMeter

    meter = ThroughputMeter()
    for _ in range(iters):
        meter.add(samples, iter_time, data_time)
    return meter


def test_throughput_fields_are_on_by_default_and_can_be_turned_off(hub, tmp_path):
    log_file = tmp_path / "run.log"
    logger = MMLogger.get_instance("lp_throughput", log_file=str(log_file))
    hub.update_scalar("train/loss", 1.0)
    hub.update_info("throughput_meter", _meter(32, 0.1, 0.01, 10), resumed=False)
    runner = _runner(hub, epoch=0, max_epochs=5, train_len=100, logger=logger)
    _, plain = LogProcessor(log_throughput=False).get_log_after_iter(runner, 9, "train")
    assert plain.endswith("loss: 1.0000")
    hub.get_info("throughput_meter").add(32, 0.1, 0.01)
    tag, line = LogProcessor().get_log_after_iter(runner, 10, "train")
    assert line.endswith("loss: 1.0000  throughput: 320.0000  data_wait: 0.1000")
    assert "throughput" not in tag  # records keep the spec's keys
    assert "WARNING" not in log_file.read_text()


def test_data_wait_hint_is_logged_once(hub, tmp_path):
    log_file = tmp_path / "run.log"
    logger = MMLogger.get_instance("lp_hint", log_file=str(log_file))
    hub.update_scalar("train/loss", 1.0)
    meter = _meter(8, 0.3, 0.2, 10)
    hub.update_info("throughput_meter", meter, resumed=False)
    runner = _runner(hub, epoch=0, max_epochs=5, train_len=100, logger=logger)
    proc = LogProcessor()
    proc.get_log_after_iter(runner, 9, "train")
    for _ in range(10):
        meter.add(8, 0.3, 0.2)
    proc.get_log_after_iter(runner, 19, "train")
    text = log_file.read_text()
    assert text.count("WARNING") == 1
    assert "Waiting for data took 67% of the iteration time" in text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_memory_field_on_cuda(hub):
    gc.collect()
    base = torch.cuda.memory_allocated() // 2**20  # what earlier tests still hold
    torch.cuda.reset_peak_memory_stats()
    block = torch.empty(64 * 2**20, dtype=torch.uint8, device="cuda")  # 64 MB
    del block  # gone, but still the peak since the reset
    _fill_eval(hub, "val")
    runner = _runner(hub, epoch=1, max_epochs=5)
    tag, line = LogProcessor().get_log_after_iter(runner, 9, "val")
    assert tag["memory"] >= base + 64
    assert line == (
        "Epoch(val) [1][ 10/313]    eta: 0:00:03  time: 0.0122  data_time: 0.0047  "
        f"memory: {tag['memory']}  "
    )
    tag2, _ = LogProcessor().get_log_after_iter(runner, 9, "val")
    assert tag2["memory"] < base + 64  # the peak counter was reset after the first reading


def test_no_data_wait_hint_for_negligible_waits(hub, tmp_path):
    log_file = tmp_path / "run.log"
    logger = MMLogger.get_instance("lp_tiny", log_file=str(log_file))
    hub.update_scalar("train/loss", 1.0)
    hub.update_info("throughput_meter", _meter(8, 0.001, 0.0009, 10), resumed=False)
    runner = _runner(hub, epoch=0, max_epochs=5, train_len=100, logger=logger)
    LogProcessor().get_log_after_iter(runner, 9, "train")
    assert "WARNING" not in log_file.read_text()


def test_mmengine_helper_names_are_used_and_overridable(hub):
    """MMEngine's helper names exist with its signatures, and the line is built through them
    (subclasses written for MMEngine override them)."""
    runner = _runner(hub, epoch=2, it=41)
    proc = LogProcessor()
    assert proc._get_epoch(runner, "train") == 3
    assert proc._get_epoch(runner, "val") == 2
    assert proc._get_epoch(_runner(hub, built=False), "val") == 0
    with pytest.raises(ValueError, match="'train' or 'val'"):
        proc._get_epoch(runner, "test")
    assert proc._get_iter(runner, 9) == 10
    assert LogProcessor(by_epoch=False)._get_iter(runner, 9) == 42
    assert proc._get_dataloader_size(runner, "val") == 313
    cfg = [
        dict(data_src="loss", method_name="mean", window_size="epoch"),
        dict(data_src="loss", method_name="mean", window_size="global", log_name="g"),
    ]
    parsed = LogProcessor(custom_cfg=cfg)._parse_windows_size(runner, 4)
    assert [c["window_size"] for c in parsed] == [5, 42]
    assert cfg[0]["window_size"] == "epoch"  # the configured entries are not modified
    bad = [dict(data_src="loss", method_name="mean", window_size="bad")]
    with pytest.raises(TypeError, match="window_size"):
        proc._parse_windows_size(runner, 4, bad)

    hub.update_scalar("train/loss", 1.0)
    assert list(proc._collect_scalars([], runner, "train", reserve_prefix=True)) == ["train/loss"]

    class FixedEpoch(LogProcessor):
        def _get_epoch(self, runner, mode):
            return 7

    _fill_eval(hub, "val")
    _, line = FixedEpoch().get_log_after_epoch(runner, 313, "val")
    assert line.startswith("Epoch(val) [7][313/313]    ")
