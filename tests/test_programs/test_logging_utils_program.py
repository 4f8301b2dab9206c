"""Logging utilities used directly by user code: MMLogger, print_log, MessageHub, HistoryBuffer.

A data-conversion script and a training script share a named logger writing to a file in
append mode; lines in the file and on the console follow the spec's format exactly.
"""

from __future__ import annotations

import logging
import pickle
import re

import numpy as np
import pytest
import torch
from _dist import run_in_processes

from piston.logging import HistoryBuffer, MessageHub, MMLogger, print_log

FILE_LINE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} - (\S+) - (\w+) - (.*)$")
CONSOLE_LINE = re.compile(r"^\d{2}/\d{2} \d{2}:\d{2}:\d{2} - (\S+) - (\w+) - (.*)$")


def test_named_logger_file_and_console(tmp_path, capsys) -> None:
    log_file = tmp_path / "work" / "convert.log"
    logger = MMLogger.get_instance("convert", log_file=str(log_file), log_level="INFO")
    assert logger.instance_name == "convert"
    assert logger.name == "piston"
    assert logger.log_file == str(log_file)
    assert MMLogger.get_current_instance() is logger
    logger.debug("hidden debug")
    logger.info("converted %d images", 3)
    logger.warning("missing label")
    logger.warning("missing label")  # printed once
    print_log("via current", logger="current")
    print_log("via name", logger="convert", level=logging.WARNING)
    print_log("via logger object", logger=logger)
    print_log("silent", logger="silent")
    print_log("plain print")
    logger.error("broken file")

    lines = log_file.read_text().splitlines()
    parsed = [FILE_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(2), m.group(3)) for m in parsed[:5]] == [
        ("INFO", "converted 3 images"),
        ("WARNING", "missing label"),
        ("INFO", "via current"),
        ("WARNING", "via name"),
        ("INFO", "via logger object"),
    ]
    assert all(m.group(1) == "piston" for m in parsed)
    assert "\033[" not in log_file.read_text()
    # ERROR lines carry pathname - funcName - lineno
    err = parsed[5].group(3)
    assert re.fullmatch(
        r".*test_logging_utils_program\.py - test_named_logger_file_and_console - \d+ - "
        r"broken file",
        err,
    ), err
    out = capsys.readouterr().out.splitlines()
    assert "plain print" in out
    console = [CONSOLE_LINE.match(line) for line in out if line != "plain print"]
    assert all(console), out
    assert [m.group(3) for m in console][:2] == ["converted 3 images", "missing label"]
    assert sum("missing label" in line for line in out) == 1

    with pytest.raises(ValueError):
        print_log("x", logger="never_created")
    with pytest.raises(TypeError):
        print_log("x", logger=3)

    # a second script run appends to the same file
    for handler in logger.handlers:
        handler.close()
    direct = MMLogger("direct")  # direct construction does not register an instance
    assert not MMLogger.check_instance_created("direct")
    assert MMLogger.get_current_instance() is logger
    again = MMLogger.get_instance("convert2", log_file=str(log_file), file_mode="a")
    again.info("second run")
    assert direct.name == "piston"
    assert MMLogger.get_current_instance() is again
    assert MMLogger.get_instance("convert") is logger
    assert MMLogger.get_current_instance() is again  # fetching does not make current
    text = log_file.read_text().splitlines()
    assert text[:6] == lines
    assert text[-1].endswith(" - piston - INFO - second run")


def test_debug_level_and_custom_logger_name(tmp_path) -> None:
    log_file = tmp_path / "dbg.log"
    logger = MMLogger.get_instance(
        "dbg", logger_name="mmdet", log_file=str(log_file), log_level=logging.DEBUG
    )
    logger.debug("shape %s", (1, 3))
    logger.setLevel(logging.INFO)
    logger.debug("dropped")
    logger.info("kept")
    names = [FILE_LINE.match(x).group(1, 2, 3) for x in log_file.read_text().splitlines()]
    assert names == [("mmdet", "DEBUG", "shape (1, 3)"), ("mmdet", "INFO", "kept")]
    # single process: no per-rank renaming even at DEBUG
    assert logger.log_file == str(log_file)


def test_rotating_file_handler(tmp_path) -> None:
    log_file = tmp_path / "rot.log"
    logger = MMLogger.get_instance(
        "rot",
        log_file=str(log_file),
        file_handler_cfg=dict(type="RotatingFileHandler", maxBytes=200, backupCount=2),
    )
    for i in range(10):
        logger.info("line number %d with padding text", i)
    assert (tmp_path / "rot.log.1").exists()
    with pytest.raises(ValueError):
        MMLogger.get_instance(
            "bad", log_file=str(tmp_path / "b.log"), file_handler_cfg=dict(type="Nope")
        )


def _dist_logger(rank: int, world_size: int, work_dir: str) -> None:
    import os

    logger = MMLogger.get_instance(
        "ddp", log_file=os.path.join(work_dir, "run.log"), distributed=True
    )
    logger.info(f"hello from {rank}")
    logger.error(f"err from {rank}") if rank == 1 else None
    name = os.path.basename(logger.log_file)
    assert re.fullmatch(rf"run_(.+@.+_)?device{rank}_rank{rank}\.log", name), name
    plain = MMLogger.get_instance("plain", log_file=os.path.join(work_dir, "plain.log"))
    plain.info(f"plain {rank}")
    for lg in (logger, plain):
        for h in lg.handlers:
            h.flush()


@pytest.mark.distributed
def test_distributed_logger_files(tmp_path) -> None:
    run_in_processes(_dist_logger, 2, str(tmp_path))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "plain.log" in files, files
    assert len(files) == 3, files
    assert (tmp_path / "plain.log").read_text().strip().endswith("plain 0")
    rank1 = next(p for p in tmp_path.iterdir() if p.name.endswith("_rank1.log"))
    assert "hello from 1" in rank1.read_text()
    assert "err from 1" in rank1.read_text()


def test_message_hub_and_history_buffer() -> None:
    hub = MessageHub.get_current_instance()
    assert hub.instance_name == "piston"
    for i in range(1, 6):
        hub.update_scalars({"train/loss": float(i), "train/acc": dict(value=i * 10, count=2)})
    hub.update_scalar("train/lr", torch.tensor(0.1))
    hub.update_scalar("train/np", np.float32(2.5))
    loss = hub.get_scalar("train/loss")
    assert loss.mean(2) == 4.5
    assert loss.current() == 5.0
    assert loss.mean() == 3.0
    assert loss.max(3) == 5.0
    assert loss.min() == 1.0
    values, counts = hub.get_scalar("train/acc").data
    assert values.tolist() == [10, 20, 30, 40, 50]
    assert counts.tolist() == [2] * 5
    assert hub.get_scalar("train/acc").mean(1) == 25.0
    assert hub.get_scalar("train/lr").current() == pytest.approx(0.1)
    with pytest.raises(KeyError):
        hub.get_scalar("train/none")
    with pytest.raises(AssertionError):
        hub.update_scalar("train/bad", torch.ones(2))

    hub.update_info("dataset_meta", {"classes": ["a"]})
    hub.update_info("tmp", 3, resumed=False)
    sd = hub.state_dict()
    assert "tmp" not in sd["runtime_info"]
    assert sd["runtime_info"]["dataset_meta"] == {"classes": ["a"]}
    assert hub.pop_info("tmp") == 3
    assert hub.get_info("tmp", "d") == "d"
    other = MessageHub.get_instance("resumed_hub")
    other.load_state_dict(sd)
    assert other.get_scalar("train/loss").mean() == 3.0
    assert MessageHub.get_current_instance() is other

    @HistoryBuffer.register_statistics
    def weighted_last(self, n: int = 2) -> float:
        values, counts = self.data
        return float((values[-n:] * counts[-n:]).sum())

    buf = HistoryBuffer([1, 2, 3], [1, 1, 2])
    assert buf.statistics("weighted_last") == 8.0
    assert buf.statistics("weighted_last", 3) == 9.0
    with pytest.raises(AssertionError):
        HistoryBuffer.register_statistics(weighted_last)  # duplicate name
    assert pickle.loads(pickle.dumps(buf)).statistics("mean") == pytest.approx(1.5)
    with pytest.raises(KeyError):
        buf.statistics("median")
    with pytest.raises(ValueError):
        HistoryBuffer().current()
    with pytest.raises(TypeError):
        buf.update("1")
    small = HistoryBuffer(max_length=3)
    for v in range(6):
        small.update(v)
    assert small.data[0].tolist() == [3, 4, 5]
