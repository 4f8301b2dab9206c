from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _dist import run_in_processes

from piston.logging import MMLogger, print_log
from piston.utils.manager import _reset_all_instances

FILE_LINE = r"\d\d\d\d/\d\d/\d\d \d\d:\d\d:\d\d - piston - {level} - {rest}"
CONSOLE_LINE = r"\d\d/\d\d \d\d:\d\d:\d\d - piston - {level} - {rest}"


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_instance_name_and_logger_name() -> None:
    logger = MMLogger.get_instance("exp", logger_name="custom")
    assert logger.instance_name == "exp"
    assert logger.name == "custom"
    assert logger.level == logging.NOTSET
    assert MMLogger.get_current_instance() is logger


def test_current_instance_defaults_to_piston() -> None:
    logger = MMLogger.get_current_instance()
    assert logger.instance_name == "piston"
    assert logger.name == "piston"


def test_console_and_file_record_format(tmp_path, capsys) -> None:
    log_file = tmp_path / "sub" / "run.log"
    logger = MMLogger.get_instance("fmt", log_file=str(log_file))
    assert logger.log_file == str(log_file)
    logger.info("hello world")
    logger.error("it broke")
    lines = _lines(log_file)
    assert re.fullmatch(FILE_LINE.format(level="INFO", rest="hello world"), lines[0])
    error_rest = rf"{re.escape(__file__)} - test_console_and_file_record_format - \d+ - it broke"
    assert re.fullmatch(FILE_LINE.format(level="ERROR", rest=error_rest), lines[1])
    console = capsys.readouterr().out.splitlines()
    assert re.fullmatch(CONSOLE_LINE.format(level="INFO", rest="hello world"), console[0])
    assert "\033[" not in "".join(console)  # no colour when stdout is not a terminal


def test_levels_are_coloured_on_a_terminal(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.delenv("NO_COLOR", raising=False)
    logger = MMLogger.get_instance("color", log_level="DEBUG")
    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    out = stream.getvalue()
    assert "\033[32m\033[4mDEBUG\033[0m" in out
    assert "\033[37m\033[4mINFO\033[0m" in out
    assert "\033[33m\033[4m\033[5mWARNING\033[0m" in out


def test_log_level_filters_and_duplicate_warnings_once(tmp_path, capsys) -> None:
    log_file = tmp_path / "run.log"
    logger = MMLogger.get_instance("lvl", log_file=str(log_file), log_level="WARNING")
    logger.info("hidden")
    logger.warning("twice")
    logger.warning("twice")
    logger.warning("other")
    text = log_file.read_text()
    assert "hidden" not in text
    assert text.count("twice") == 1
    assert "other" in text
    assert capsys.readouterr().out.count("twice") == 1
    with pytest.raises(ValueError, match="log level"):
        MMLogger("bad", log_level="LOUD")


def test_records_do_not_propagate_to_root() -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        MMLogger.get_instance("isolated").warning("not for root")
    finally:
        logging.getLogger().removeHandler(handler)
    assert seen == []


def test_file_mode_and_handler_cfg(tmp_path) -> None:
    log_file = tmp_path / "a.log"
    log_file.write_text("old line\n")
    logger = MMLogger.get_instance("append", log_file=str(log_file), file_mode="a")
    logger.info("new line")
    assert _lines(log_file)[0] == "old line"
    rotating = MMLogger.get_instance(
        "rotating",
        log_file=str(tmp_path / "r.log"),
        file_handler_cfg={"type": "RotatingFileHandler", "maxBytes": 1024, "backupCount": 1},
    )
    assert any(isinstance(h, logging.handlers.RotatingFileHandler) for h in rotating.handlers)
    with pytest.raises(ValueError, match="FileHandler"):
        MMLogger("unknown", log_file=str(tmp_path / "u.log"), file_handler_cfg={"type": "Nope"})


def test_set_level_clears_caches(tmp_path) -> None:
    log_file = tmp_path / "run.log"
    logger = MMLogger.get_instance("setlevel", log_file=str(log_file))
    assert logger.isEnabledFor(logging.INFO)  # fills the level cache
    logger.setLevel(logging.ERROR)
    assert not logger.isEnabledFor(logging.INFO)
    logger.info("filtered by the logger level")
    assert "filtered" not in log_file.read_text()


def test_reset_closes_file_handlers(tmp_path) -> None:
    logger = MMLogger.get_instance("reset", log_file=str(tmp_path / "run.log"))
    file_handler = next(h for h in logger.handlers if isinstance(h, logging.FileHandler))
    _reset_all_instances()
    assert file_handler.stream is None
    assert logger.handlers == []
    assert not MMLogger.check_instance_created("reset")


def test_print_log_logger_forms(tmp_path, capsys) -> None:
    print_log("plain print")
    assert capsys.readouterr().out == "plain print\n"
    print_log("silent", logger="silent")
    assert capsys.readouterr().out == ""

    log_file = tmp_path / "run.log"
    MMLogger.get_instance("named", log_file=str(log_file))
    print_log("by name", logger="named", level=logging.WARNING)
    print_log("current", logger="current")
    std_logger = logging.getLogger("piston-test-std")
    records: list[str] = []
    std_logger.addHandler(
        type("H", (logging.Handler,), {"emit": lambda s, r: records.append(r.msg)})()
    )
    print_log("std", logger=std_logger, level=logging.ERROR)
    text = log_file.read_text()
    assert " - WARNING - by name" in text
    assert " - INFO - current" in text
    assert records == ["std"]
    with pytest.raises(ValueError, match="not been created"):
        print_log("x", logger="never-created")
    with pytest.raises(TypeError, match="logger"):
        print_log("x", logger=1)


def test_import_does_not_import_torch() -> None:
    code = "import sys, piston.logging; sys.exit('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "piston.logging imported torch"


def _check_rank_aware_logging(rank: int, world_size: int, tmp_dir: str) -> None:
    import io as _io
    import sys as _sys

    stream = _io.StringIO()
    _sys.stdout = stream
    base = os.path.join(tmp_dir, "plain.log")
    logger = MMLogger.get_instance("plain", log_file=base)
    logger.info(f"info from {rank}")
    print_log(f"current from {rank}", logger="current")
    logger.error(f"error from {rank}")
    out = stream.getvalue()
    assert (f"info from {rank}" in out) == (rank == 0)
    assert (f"current from {rank}" in out) == (rank == 0)
    assert f"error from {rank}" in out
    # per-rank files with distributed=True, and with DEBUG level alone
    dist_logger = MMLogger.get_instance(
        "dist", log_file=os.path.join(tmp_dir, "dist.log"), distributed=True
    )
    dist_logger.info(f"rank {rank} writes")
    name = os.path.basename(dist_logger.log_file)
    assert re.fullmatch(rf"dist(_.+@.+)?_device{rank}_rank{rank}\.log", name), name
    debug_logger = MMLogger.get_instance(
        "debug", log_file=os.path.join(tmp_dir, "debug.log"), log_level="DEBUG"
    )
    debug_logger.debug(f"debug {rank}")
    name = os.path.basename(debug_logger.log_file)
    assert re.fullmatch(rf"debug(_.+@.+)?_device{rank}_rank{rank}\.log", name), name
    for handler in [*logger.handlers, *dist_logger.handlers, *debug_logger.handlers]:
        handler.close()
    _check_visualizer_rank_zero_only(rank, tmp_dir)


def _check_visualizer_rank_zero_only(rank: int, tmp_dir: str) -> None:
    """The Visualizer's master_only methods, checked in the same spawned pair (spawns cost)."""
    from piston.visualization import Visualizer

    save_dir = os.path.join(tmp_dir, f"vis_rank{rank}")
    vis = Visualizer.get_instance(
        "dist", vis_backends={"type": "LocalVisBackend"}, save_dir=save_dir
    )
    vis.dataset_meta = {"classes": ["a"]}
    assert vis.dataset_meta == ({"classes": ["a"]} if rank == 0 else None)
    vis.add_scalars({"loss": 1.0}, step=1)
    vis.add_scalar("acc", 2.0)
    vis.close()


@pytest.mark.distributed
def test_logger_and_visualizer_are_rank_aware(tmp_path) -> None:
    run_in_processes(_check_rank_aware_logging, 2, str(tmp_path))
    assert "info from 0" in (tmp_path / "plain.log").read_text()
    assert "from 1" not in (tmp_path / "plain.log").read_text()
    per_rank = sorted(p.name for p in tmp_path.glob("dist_*.log"))
    assert len(per_rank) == 2
    assert "rank 1 writes" in next(tmp_path.glob("dist_*_rank1.log")).read_text()
    assert "debug 1" in next(tmp_path.glob("debug_*_rank1.log")).read_text()
    assert not (tmp_path / "debug.log").exists()
    scalars = tmp_path / "vis_rank0" / "vis_data" / "scalars.json"
    assert scalars.read_text().splitlines() == [
        '{"loss": 1.0, "step": 1}',
        '{"acc": 2.0, "step": 0}',
    ]
    assert not (tmp_path / "vis_rank1").exists()


def test_per_rank_file_names_and_fallback_without_user(tmp_path, monkeypatch) -> None:
    import piston.logging.logger as logger_mod

    monkeypatch.setattr(logger_mod, "_dist_info", lambda: (1, 2))  # rank 1 of 2
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    # distributed=True: a file on every rank, named after user, host, device and rank
    logger = MMLogger("dist_named", log_file=str(tmp_path / "run.log"), distributed=True)
    name = Path(logger.log_file).name
    assert re.fullmatch(r"run_.+@.+_device6_rank1\.log", name), name
    console = [h for h in logger.handlers if not isinstance(h, logging.FileHandler)]
    assert [h.level for h in console] == [logging.ERROR]  # non-zero ranks print errors only
    logger.info("kept")
    assert _lines(Path(logger.log_file))[-1].endswith(" - piston - INFO - kept")

    def no_user() -> str:
        raise KeyError("no user")

    monkeypatch.setattr(logger_mod, "getuser", no_user)
    fallback = MMLogger("dist_anonymous", log_file=str(tmp_path / "run.log"), log_level="DEBUG")
    assert Path(fallback.log_file).name == "run_device6_rank1.log"
    assert any(isinstance(h, logging.FileHandler) for h in fallback.handlers)
    # INFO and not distributed: only rank 0 writes the file
    plain = MMLogger("dist_plain", log_file=str(tmp_path / "plain.log"))
    assert not any(isinstance(h, logging.FileHandler) for h in plain.handlers)
    assert not (tmp_path / "plain.log").exists()
