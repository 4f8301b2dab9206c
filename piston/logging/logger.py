"""MMLogger and print_log.

Design note: ``MMLogger`` is a ``logging.Logger`` that lives outside the ``logging`` hierarchy
(records reach only its own handlers) and a ``ManagerMixin`` (instances by name; the Runner's
logger is the "current" one that ``print_log(..., logger='current')`` writes to). Rank
awareness reads ``torch.distributed`` only if it is already imported, so importing
``piston.logging`` never imports torch.
"""

from __future__ import annotations

import inspect
import logging
import logging.handlers
import os
import sys
from getpass import getuser
from socket import gethostname
from typing import Any, TextIO

from piston.utils.manager import ManagerMixin

__all__ = ["MMLogger", "print_log"]

_CONSOLE_DATEFMT = "%m/%d %H:%M:%S"
_FILE_DATEFMT = "%Y/%m/%d %H:%M:%S"
_ANSI = {"green": 32, "white": 37, "yellow": 33, "red": 31}
_LEVEL_STYLE = {  # level -> (color, blink)
    logging.DEBUG: ("green", False),
    logging.INFO: ("white", False),
    logging.WARNING: ("yellow", True),
    logging.ERROR: ("red", True),
    logging.CRITICAL: ("red", True),
}


def _dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of the default group, ``(0, 1)`` when torch is not set up."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _host_info() -> str:
    try:
        return f"{getuser()}@{gethostname()}"
    except Exception:
        return ""


def _device_id() -> int:
    """The accelerator index of this process, from the launcher's environment."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        ids = [item.strip() for item in visible.split(",") if item.strip()]
        if local_rank < len(ids) and ids[local_rank].isdigit():
            return int(ids[local_rank])
    return local_rank


def _to_level(level: int | str) -> int:
    if isinstance(level, str):
        value = logging.getLevelName(level.upper())
        if not isinstance(value, int):
            raise ValueError(
                f"Unknown log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL."
            )
        return value
    if isinstance(level, int):
        return level
    raise TypeError(f"log_level must be an int or str, but got {type(level)}: {level!r}.")


def _is_tty(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except Exception:
        return False


class _Formatter(logging.Formatter):
    """The spec's record format; the level word is coloured and underlined when ``color``."""

    def __init__(self, datefmt: str, color: bool = False) -> None:
        super().__init__(datefmt=datefmt)
        self._formatters: dict[int, logging.Formatter] = {}
        for level, (color_name, blink) in _LEVEL_STYLE.items():
            word = logging.getLevelName(level)
            if color:
                attrs = "\033[4m" + ("\033[5m" if blink else "")
                word = f"\033[{_ANSI[color_name]}m{attrs}{word}\033[0m"
            if level >= logging.ERROR:
                fmt = (
                    f"%(asctime)s - %(name)s - {word} - %(pathname)s - %(funcName)s - "
                    "%(lineno)d - %(message)s"
                )
            else:
                fmt = f"%(asctime)s - %(name)s - {word} - %(message)s"
            self._formatters[level] = logging.Formatter(fmt, datefmt)
        self._fallback = logging.Formatter(
            "%(asctime)s - %(name)s - %(levelname)s - %(message)s", datefmt
        )

    def format(self, record: logging.LogRecord) -> str:
        return self._formatters.get(record.levelno, self._fallback).format(record)


class _FilterDuplicateWarning(logging.Filter):
    """Let each distinct WARNING message through once."""

    def __init__(self, name: str = "piston") -> None:
        super().__init__(name)
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def _build_file_handler(
    log_file: str, file_mode: str, file_handler_cfg: dict | None
) -> logging.FileHandler:
    if file_handler_cfg is None:
        return logging.FileHandler(log_file, file_mode)
    cfg = dict(file_handler_cfg)
    type_name = cfg.pop("type", "FileHandler")
    if type_name == "FileHandler":
        handler_cls: Any = logging.FileHandler
    else:
        handler_cls = getattr(logging.handlers, str(type_name), None)
    if not (isinstance(handler_cls, type) and issubclass(handler_cls, logging.FileHandler)):
        raise ValueError(
            f"file_handler_cfg type {type_name!r} is not a FileHandler class of "
            "logging.handlers; use e.g. 'FileHandler', 'RotatingFileHandler' or "
            "'TimedRotatingFileHandler'."
        )
    cfg.setdefault("filename", log_file)
    if "mode" in inspect.signature(handler_cls).parameters:
        cfg.setdefault("mode", file_mode)
    return handler_cls(**cfg)


class MMLogger(logging.Logger, ManagerMixin):
    """A rank-aware logger with a console handler and an optional file handler.

    Args:
        name: ManagerMixin instance name (the Runner uses the experiment name).
        logger_name: The ``logging`` name printed in records.
        log_file: Path of the log file; None for console only.
        log_level: Level of the handlers (the logger itself is NOTSET).
        file_mode: Mode the log file is opened with.
        distributed: Write a file on every rank (with a rank-specific name).
        file_handler_cfg: ``dict(type=<FileHandler class of logging.handlers>, ...)``.
    """

    def __init__(
        self,
        name: str,
        logger_name: str = "piston",
        log_file: str | None = None,
        log_level: int | str = "INFO",
        file_mode: str = "w",
        distributed: bool = False,
        file_handler_cfg: dict | None = None,
    ) -> None:
        logging.Logger.__init__(self, logger_name)
        ManagerMixin.__init__(self, name)
        level = _to_level(log_level)
        rank, world_size = _dist_info()

        console = logging.StreamHandler(stream=sys.stdout)
        console.setFormatter(_Formatter(_CONSOLE_DATEFMT, color=_is_tty(sys.stdout)))
        console.setLevel(level if rank == 0 else logging.ERROR)
        console.addFilter(_FilterDuplicateWarning(logger_name))
        self.handlers.append(console)

        if log_file is not None:
            per_rank = (level <= logging.DEBUG or distributed) and world_size > 1
            if per_rank:
                stem, ext = os.path.splitext(os.path.basename(log_file))
                host = _host_info()
                tag = f"_{host}" if host else ""
                log_file = os.path.join(
                    os.path.dirname(log_file), f"{stem}{tag}_device{_device_id()}_rank{rank}{ext}"
                )
            if rank == 0 or per_rank:
                if os.path.dirname(log_file):
                    os.makedirs(os.path.dirname(log_file), exist_ok=True)
                handler = _build_file_handler(log_file, file_mode, file_handler_cfg)
                handler.setFormatter(_Formatter(_FILE_DATEFMT, color=False))
                handler.setLevel(level)
                handler.addFilter(_FilterDuplicateWarning(logger_name))
                self.handlers.append(handler)
        self._log_file = log_file

    @property
    def log_file(self) -> str | None:
        """Path of the log file (rank-specific when per-rank files are written)."""
        return self._log_file

    @classmethod
    def get_current_instance(cls) -> MMLogger:
        """The most recently created MMLogger; an instance ``'piston'`` is created if none."""
        try:
            return super().get_current_instance()
        except RuntimeError:
            return cls.get_instance("piston")

    def callHandlers(self, record: logging.LogRecord) -> None:
        """Pass ``record`` to this logger's own handlers only (no propagation)."""
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def setLevel(self, level: int | str) -> None:
        """Set the logger's level and clear the level caches of every MMLogger."""
        self.level = logging._checkLevel(level)  # type: ignore[attr-defined]
        for logger in list(MMLogger._instance_dict.values()):
            logger._cache.clear()
        self._cache.clear()

    def _on_reset(self) -> None:
        """Close and drop the handlers (called when global instances are reset)."""
        for handler in list(self.handlers):
            if isinstance(handler, logging.FileHandler):
                handler.close()
            self.removeHandler(handler)


def print_log(
    msg: Any, logger: logging.Logger | str | None = None, level: int = logging.INFO
) -> None:
    """Print ``msg`` through a logger.

    Args:
        msg: The message.
        logger: None -> ``print``; a ``logging.Logger`` -> ``logger.log``; ``'silent'`` ->
            nothing; ``'current'`` -> the current ``MMLogger``; another str -> the MMLogger
            instance of that name (ValueError if it was not created).
        level: Logging level.
    """
    if logger is None:
        print(msg)
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == "silent":
        pass
    elif logger == "current":
        MMLogger.get_current_instance().log(level, msg)
    elif isinstance(logger, str):
        if not MMLogger.check_instance_created(logger):
            raise ValueError(
                f"MMLogger: {logger} has not been created! Create it with "
                f"MMLogger.get_instance({logger!r}) or pass logger='current'."
            )
        MMLogger.get_instance(logger).log(level, msg)
    else:
        raise TypeError(
            "logger should be either a logging.Logger object, str, 'silent', 'current' or "
            f"None, but got {type(logger)}."
        )
