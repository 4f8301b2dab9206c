"""LoggerHook: writes the log lines and scalar records, and uploads the logs after the run.

Design note: on the per-iteration path the hook only evaluates two modulo tests; the message
hub is read (and its lazily stored tensors converted) only when a line is actually written,
every ``interval`` iterations.
"""

from __future__ import annotations

import logging
import os
import os.path as osp
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["LoggerHook"]


def _check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, but got {type(value).__name__}: {value!r}.")
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, but got {value}.")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, but got {type(value).__name__}: {value!r}.")


def _json_ready(value: Any) -> Any:
    """Tensors/arrays -> lists, numpy scalars -> numbers; None for unsupported values."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return None


@HOOKS.register_module()
class LoggerHook(Hook):
    """Log training/validation/test progress through the runner's logger and visualizer.

    Args:
        interval: Log every ``interval`` iterations.
        ignore_last: Skip the last, incomplete interval of an epoch (it is still logged when
            the whole epoch is shorter than ``interval``).
        interval_exp_name: Log ``Exp name: ...`` every ``interval_exp_name`` iterations.
        out_dir: Where to upload the text logs after the run (any fileio backend); the last
            component of ``work_dir`` is appended to it.
        out_suffix: Suffixes of the files under ``log_dir`` to upload.
        keep_local: Keep the local log files after uploading them.
        file_client_args: Deprecated, use ``backend_args``.
        log_metric_by_epoch: Record validation scalars with ``step = epoch`` (else ``iter``).
        backend_args: Arguments of the file backend of ``out_dir``.
    """

    priority = "BELOW_NORMAL"

    def __init__(
        self,
        interval: int = 10,
        ignore_last: bool = True,
        interval_exp_name: int = 1000,
        out_dir: str | Path | None = None,
        out_suffix: str | Sequence[str] = (".json", ".log", ".py", "yaml"),
        keep_local: bool = True,
        file_client_args: dict | None = None,
        log_metric_by_epoch: bool = True,
        backend_args: dict | None = None,
    ) -> None:
        _check_positive_int("interval", interval)
        _check_positive_int("interval_exp_name", interval_exp_name)
        _check_bool("ignore_last", ignore_last)
        _check_bool("keep_local", keep_local)
        if out_dir is not None and not isinstance(out_dir, (str, Path)):
            raise TypeError(f"out_dir must be a str, a Path or None, but got {out_dir!r}.")
        if file_client_args is not None:
            warnings.warn(
                '"file_client_args" will be deprecated in future. Please use "backend_args" '
                "instead.",
                DeprecationWarning,
            )
            if out_dir is None:
                raise ValueError("file_client_args should be None when out_dir is not set.")
            if backend_args is not None:
                raise ValueError(
                    '"file_client_args" and "backend_args" cannot be set at the same time; '
                    'use "backend_args" only.'
                )
        if isinstance(out_suffix, str):
            out_suffix = (out_suffix,)
        elif not (isinstance(out_suffix, Sequence) and all(isinstance(s, str) for s in out_suffix)):
            raise TypeError(f"out_suffix must be a str or a sequence of str, got {out_suffix!r}.")
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.out_suffix = tuple(out_suffix)
        self.keep_local = keep_local
        self.file_client_args = file_client_args
        self.log_metric_by_epoch = log_metric_by_epoch
        self.backend_args = backend_args
        self._out_dir_cfg = None if out_dir is None else str(out_dir)
        self.out_dir: str | None = self._out_dir_cfg
        self._resolved_out_dir: str | None = None  # ``out_dir`` as before_run last resolved it
        self.json_log_path: str | None = None
        self.file_backend = None

    # ------------------------------------------------------------------ stages
    def before_run(self, runner) -> None:
        """Resolve ``out_dir`` and the name of the JSON scalar file.

        ``out_dir`` is resolved from the configured value each run (so a second run does not
        append the work_dir name twice); a value assigned to ``hook.out_dir`` by the user
        replaces the configured one.
        """
        if self.out_dir != self._resolved_out_dir:  # first run, or set by the user
            self._out_dir_cfg = None if self.out_dir is None else str(self.out_dir)
        if self._out_dir_cfg is not None:
            self.file_backend = self._get_backend()
            basename = osp.basename(str(runner.work_dir).rstrip(osp.sep))
            self.out_dir = self.file_backend.join_path(self._out_dir_cfg, basename)
            self._resolved_out_dir = self.out_dir
            runner.logger.info(
                f"Text logs will be saved to {self.out_dir} by {type(self.file_backend).__name__}"
                " after the training process."
            )
        self.json_log_path = f"{runner.timestamp}.json"

    def _train_length(self, runner) -> int | None:
        """``len(runner.train_dataloader)``, computed once per dataloader and epoch (it runs
        every iteration; ``len`` of an iterable dataset raises, which is slow)."""
        dataloader, epoch = runner.train_dataloader, runner.epoch
        cached = self.__dict__.get("_length_cache")
        if cached is not None and cached[0] is dataloader and cached[1] == epoch:
            return cached[2]
        length = _len_or_none(dataloader)
        self._length_cache = (dataloader, epoch, length)
        return length

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Log ``Exp name`` and, every ``interval`` iterations, the train line and scalars."""
        length = self._train_length(runner)  # None for iterable datasets
        end_of_epoch = length is not None and batch_idx + 1 == length
        if end_of_epoch or self.every_n_train_iters(runner, self.interval_exp_name):
            runner.logger.info(f"Exp name: {runner.experiment_name}")
        if not (
            self.every_n_inner_iters(batch_idx, self.interval)
            or (end_of_epoch and (not self.ignore_last or length <= self.interval))
        ):
            return
        tag, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "train")
        runner.logger.info(log_str)
        runner.visualizer.add_scalars(tag, step=runner.iter + 1, file_path=self.json_log_path)

    def after_val_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | None = None,
    ) -> None:
        """Log the validation progress every ``interval`` batches."""
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "val")
            runner.logger.info(log_str)

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | None = None,
    ) -> None:
        """Log the test progress every ``interval`` batches."""
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "test")
            runner.logger.info(log_str)

    def after_val_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        """Log the validation results and record them as scalars."""
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.val_dataloader), "val"
        )
        runner.logger.info(log_str)
        training = _train_loop_built(runner)
        if self.log_metric_by_epoch:
            step = runner.epoch if training else 0
        else:
            step = runner.iter if training else 0
        runner.visualizer.add_scalars(tag, step=step, file_path=self.json_log_path)

    def after_test_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        """Log the test results and dump them to ``log_dir/<timestamp>.json``."""
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), "test", with_non_scalar=True
        )
        runner.logger.info(log_str)
        from piston.fileio import dump

        record = {k: v for k, v in ((k, _json_ready(v)) for k, v in tag.items()) if v is not None}
        json_name = self.json_log_path or f"{runner.timestamp}.json"
        dump(record, osp.join(runner.log_dir, json_name))

    def after_run(self, runner) -> None:
        """Close the visualizer and upload the logs to ``out_dir``."""
        runner.visualizer.close()
        if self.out_dir is None or self.file_backend is None:
            return
        log_dir = str(runner._log_dir)  # the semi-private name hooks rely on (runner.md §2)
        uploaded = []
        for name in sorted(_files_with_suffix(log_dir, self.out_suffix)):
            local_path = osp.join(log_dir, name)
            out_path = self.file_backend.join_path(self.out_dir, name)
            with open(local_path, encoding="utf-8") as f:
                self.file_backend.put_text(f.read(), out_path)
            uploaded.append(local_path)
            runner.logger.info(f"The file {local_path} has been uploaded to {out_path}.")
            if not self.keep_local:
                runner.logger.info(
                    f"{local_path} was removed due to the `self.keep_local=False`. You can "
                    f"check the uploaded copy at {out_path}."
                )
        if not self.keep_local:
            for handler in runner.logger.handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.close()
            for path in uploaded:
                os.remove(path)

    # ------------------------------------------------------------------ helpers
    def _get_backend(self):
        if self.file_client_args is not None:
            from piston.fileio import FileClient

            return FileClient.infer_client(self.file_client_args, self._out_dir_cfg)
        from piston.fileio import get_file_backend

        return get_file_backend(self._out_dir_cfg, backend_args=self.backend_args)


def _len_or_none(dataloader) -> int | None:
    try:
        return len(dataloader)
    except TypeError:
        return None


def _train_loop_built(runner) -> bool:
    loop = getattr(runner, "_train_loop", None)
    return loop is not None and not isinstance(loop, dict)


def _files_with_suffix(root: str, suffixes: tuple[str, ...]):
    """Relative paths of the non-hidden files under ``root`` whose name ends with a suffix."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if not filename.startswith(".") and filename.endswith(suffixes):
                yield osp.relpath(osp.join(dirpath, filename), root)
