"""CheckpointHook: periodic, last and best checkpoints.

Design note: everything the hook must remember across a resume (``keep_ckpt_ids``,
``last_ckpt``, ``best_score[_<k>]``, ``best_ckpt[_<k>]``) lives in the message hub's runtime
info, which the runner saves inside every checkpoint; the hook re-reads it in ``before_train``.
Files go through the fileio backend of ``out_dir``, so any backend works. Rank 0 alone writes
(``Runner.save_checkpoint`` is rank-0 only) and deletes.
"""

from __future__ import annotations

import hashlib
import math
import os.path as osp
import pickle
import warnings
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from piston.dist import is_main_process
from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["CheckpointHook"]

_RULES = {"greater": lambda x, y: x > y, "less": lambda x, y: x < y}
_INIT_VALUES = {"greater": -math.inf, "less": math.inf}


def infer_rule(key: str, greater_keys: Sequence[str], less_keys: Sequence[str]) -> str:
    """``'greater'`` or ``'less'`` for a metric name, matched case-insensitively.

    Exact matches win over substring matches; greater keys win over less keys.

    Raises:
        ValueError: No key matches.
    """
    key_lc = key.lower()
    greater = [k.lower() for k in greater_keys]
    less = [k.lower() for k in less_keys]
    if key_lc in greater:
        return "greater"
    if key_lc in less:
        return "less"
    if any(k in key_lc for k in greater):
        return "greater"
    if any(k in key_lc for k in less):
        return "less"
    raise ValueError(
        f"Cannot infer the rule for key {key!r}, thus a specific rule must be specified "
        "(rule='greater' or rule='less')."
    )


def _as_number(value: Any) -> Any:
    """A metric value as a Python number when it is a one-element tensor or array."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (np.ndarray, np.generic)) and value.size == 1:
        return value.item()
    return value


class _ArgValueError(ValueError, AssertionError):
    """A bad argument value. Also an ``AssertionError``, which MMEngine raised for it."""


class _ArgTypeError(TypeError, AssertionError):
    """A bad argument type. Also an ``AssertionError``, which MMEngine raised for it."""


def _str_list(name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        if len(set(value)) != len(value):
            raise _ArgValueError(
                f'Found duplicate elements in "{name}": {value!r}; give each key once.'
            )
        return list(value)
    raise _ArgTypeError(
        f'"{name}" should be a str or sequence of str or None, but got {type(value).__name__}: '
        f"{value!r}."
    )


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save checkpoints periodically, at the end of training and when a metric improves.

    Args:
        interval: Save every ``interval`` epochs (or iterations); ``-1`` disables periodic
            saving (``save_last`` still applies).
        by_epoch: Count ``interval`` in epochs (else iterations).
        save_optimizer: Include the optimizer state.
        save_param_scheduler: Include the scheduler states.
        out_dir: Root folder on any fileio backend; defaults to ``work_dir``. When given, the
            last component of ``work_dir`` is appended.
        max_keep_ckpts: Keep only the newest ``max_keep_ckpts`` periodic checkpoints (-1: all).
        save_last: Always save at the last epoch/iteration.
        save_best: Metric name(s) whose best value is kept as ``best_<k>_<filename>``;
            ``'auto'`` uses the first metric.
        rule: ``'greater'``/``'less'`` per metric (inferred from the name when None).
        greater_keys: Names treated as greater-is-better when inferring a rule; given, they
            replace ``_default_greater_keys``.
        less_keys: Names treated as less-is-better; given, they replace ``_default_less_keys``.
        file_client_args: Deprecated, use ``backend_args``.
        filename_tmpl: Checkpoint file name template; defaults to ``epoch_{}.pth`` or
            ``iter_{}.pth``.
        backend_args: Arguments of the file backend of ``out_dir``.
        published_keys: If set, after training the last and best checkpoints are also
            published with only these keys, as ``<stem>-<sha256[:8]>.pth``.
        save_begin: First epoch/iteration at which periodic saving may happen.
        **kwargs: Forwarded to ``runner.save_checkpoint``.
    """

    priority = "VERY_LOW"
    _default_greater_keys = [
        "acc",
        "top",
        "AR@",
        "auc",
        "precision",
        "mAP",
        "mDice",
        "mIoU",
        "mAcc",
        "aAcc",
    ]
    _default_less_keys = ["loss"]
    rule_map = _RULES
    init_value_map = _INIT_VALUES

    def __init__(
        self,
        interval: int = -1,
        by_epoch: bool = True,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        out_dir: str | Path | None = None,
        max_keep_ckpts: int = -1,
        save_last: bool = True,
        save_best: str | list[str] | None = None,
        rule: str | list[str] | None = None,
        greater_keys: Sequence[str] | None = None,
        less_keys: Sequence[str] | None = None,
        file_client_args: dict | None = None,
        filename_tmpl: str | None = None,
        backend_args: dict | None = None,
        published_keys: str | list[str] | None = None,
        save_begin: int = 0,
        **kwargs: Any,
    ) -> None:
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self._out_dir_cfg = None if out_dir is None else str(out_dir)
        self.out_dir: str | None = self._out_dir_cfg
        self._resolved_out_dir: Any = None  # ``out_dir`` as before_train last resolved it
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.args = kwargs
        if file_client_args is not None:
            warnings.warn(
                '"file_client_args" will be deprecated in future. Please use "backend_args" '
                "instead.",
                DeprecationWarning,
            )
            if backend_args is not None:
                raise ValueError(
                    '"file_client_args" and "backend_args" cannot be set at the same time; '
                    'use "backend_args" only.'
                )
        self.file_client_args = file_client_args
        self.backend_args = backend_args
        if filename_tmpl is None:
            filename_tmpl = "epoch_{}.pth" if by_epoch else "iter_{}.pth"
        self.filename_tmpl = filename_tmpl
        if save_begin < 0:
            raise ValueError(f"save_begin should not be less than 0, but got {save_begin}.")
        self.save_begin = save_begin

        self.save_best = _str_list("save_best", save_best)
        if self.save_best is not None and "auto" in self.save_best and len(self.save_best) > 1:
            raise _ArgValueError(
                'Only support one "auto" in "save_best" list: \'auto\' must be the only key, '
                f"but got {self.save_best}."
            )
        rule_ok = isinstance(rule, list) and all(isinstance(r, str) for r in rule)
        if not (rule is None or isinstance(rule, str) or rule_ok):
            raise _ArgTypeError(
                f'"rule" should be a str or list of str or None, but got {rule!r}; use '
                "'greater' or 'less' (one per save_best key, or one for all)."
            )
        rules = rule if isinstance(rule, list) else [rule]
        if self.save_best is not None and len(rules) not in (1, len(self.save_best)):
            raise _ArgValueError(
                'Number of "rule" must be 1 or the same as number of "save_best", but got '
                f"{len(rules)}. (rule={rule!r}, save_best={self.save_best!r})"
            )
        self.greater_keys = self._key_list("greater_keys", greater_keys, self._default_greater_keys)
        self.less_keys = self._key_list("less_keys", less_keys, self._default_less_keys)
        self.is_better_than: dict[str, Any] = {}
        self.key_indicators: list[str] = []
        self.rules: list[str | None] = []
        if self.save_best is not None:
            self._init_rule(rules, self.save_best)
        self.best_ckpt_path: str | None = None
        self.best_ckpt_path_dict: dict[str, str | None] = {}
        self.published_keys = _str_list("published_keys", published_keys)
        self.last_ckpt: str | None = None
        self.keep_ckpt_ids: deque = deque()
        self.file_backend = None

    @staticmethod
    def _key_list(name: str, keys: Any, default: list[str]) -> Sequence[str]:
        """The given keys (a str becomes a 1-tuple, as in MMEngine) or the defaults."""
        if keys is None:
            return list(default)
        if isinstance(keys, str):
            keys = (keys,)
        if not (isinstance(keys, (list, tuple)) and all(isinstance(k, str) for k in keys)):
            raise _ArgTypeError(f'"{name}" should be a str or sequence of str, but got {keys!r}.')
        return keys

    def _init_rule(self, rules: list[str | None], key_indicators: list[str]) -> None:
        if len(rules) == 1:
            rules = rules * len(key_indicators)
        self.rules = []
        for rule, key in zip(rules, key_indicators):
            if rule is not None and rule not in self.rule_map:
                raise KeyError(f"rule must be 'greater', 'less' or None, but got {rule!r}.")
            if rule is None and key != "auto":
                rule = infer_rule(key, self.greater_keys, self.less_keys)
            if rule is not None:
                self.is_better_than[key] = self.rule_map[rule]
            self.rules.append(rule)
        self.key_indicators = list(key_indicators)

    # ------------------------------------------------------------------ stages
    def before_train(self, runner) -> None:
        """Resolve ``out_dir`` and restore the resumable state from the message hub."""
        if self.out_dir != self._resolved_out_dir:  # first run, or set by the user since
            self._out_dir_cfg = None if self.out_dir is None else str(self.out_dir)
        work_dir = str(runner.work_dir)
        self.file_backend = self._get_backend(self._out_dir_cfg or work_dir)
        if self._out_dir_cfg is None or self._out_dir_cfg == work_dir:
            self.out_dir = runner.work_dir  # as given (MMEngine compares it with work_dir)
        else:
            basename = osp.basename(work_dir.rstrip(osp.sep))
            self.out_dir = self.file_backend.join_path(self._out_dir_cfg, basename)
        self._resolved_out_dir = self.out_dir
        runner.logger.info(f"Checkpoints will be saved to {self.out_dir}.")

        info = runner.message_hub.runtime_info
        self.last_ckpt = info.get("last_ckpt")
        if self.save_best is not None:
            if len(self.key_indicators) == 1:
                self.best_ckpt_path = info.get("best_ckpt")
            else:
                self.best_ckpt_path_dict = {
                    key: info.get(f"best_ckpt_{key}") for key in self.key_indicators
                }
        if self.max_keep_ckpts > 0:
            keep_ids = list(info.get("keep_ckpt_ids", []))
            while len(keep_ids) > self.max_keep_ckpts:
                self._remove(self._ckpt_path(keep_ids.pop(0)))
            self.keep_ckpt_ids = deque(keep_ids, self.max_keep_ckpts)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

    def after_train_epoch(self, runner) -> None:
        """Save every ``interval`` epochs and at the last epoch."""
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_epoch(runner)
        ):
            runner.logger.info(f"Saving checkpoint at {runner.epoch + 1} epochs")
            self._save_checkpoint(runner)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Save every ``interval`` iterations and at the last iteration."""
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_iter(runner)
        ):
            runner.logger.info(f"Saving checkpoint at {runner.iter + 1} iterations")
            self._save_checkpoint(runner)

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Save a best checkpoint for each improved ``save_best`` metric.

        Empty ``metrics`` only log a warning (whether or not ``save_best`` is set).
        """
        if not metrics:
            runner.logger.warning(
                "Since `metrics` is an empty dict, the behavior to save the best checkpoint "
                "will be skipped in this evaluation."
            )
            return
        if self.save_best is None or self.file_backend is None:
            return  # nothing to track, or validation outside training
        self._save_best_checkpoint(runner, metrics)

    def after_train(self, runner) -> None:
        """Publish the last and best checkpoints when ``published_keys`` is set."""
        if self.published_keys is None:
            return
        paths = []
        if self.save_last and self.last_ckpt is not None:
            paths.append(self.last_ckpt)
        paths.append(self.best_ckpt_path)
        paths.extend(self.best_ckpt_path_dict.values())
        for path in paths:
            if path is not None:
                self._publish_model(runner, str(path))

    # ------------------------------------------------------------------ saving
    def _save_checkpoint(self, runner) -> None:
        """Save the periodic checkpoint of the epoch/iteration just finished.

        The one entry point of both periodic stages (MMEngine's name), so a subclass that
        overrides it changes every periodic save.
        """
        if self.by_epoch:
            step = runner.epoch + 1
            meta = {"epoch": step, "iter": runner.iter}
        else:
            step = runner.iter + 1
            meta = {"epoch": runner.epoch, "iter": step}
        self._save_checkpoint_with_step(runner, step, meta)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                self._remove(self._ckpt_path(self.keep_ckpt_ids.popleft()))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self._ckpt_path(step)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if is_main_process():
            from piston.runner.checkpoint import write_text_atomic

            # Written (atomically) after the checkpoint is complete, so it always names a
            # whole file.
            write_text_atomic(self.last_ckpt, osp.join(runner.work_dir, "last_checkpoint"))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        if self.by_epoch:
            cur_type, cur_time = "epoch", runner.epoch
        else:
            cur_type, cur_time = "iter", runner.iter
        ckpt_filename = self.filename_tmpl.format(cur_time)
        meta = {"epoch": runner.epoch, "iter": runner.iter}
        if "auto" in self.key_indicators:
            self._init_rule(self.rules, [next(iter(metrics))])
        single = len(self.key_indicators) == 1
        hub = runner.message_hub
        updated = False
        for key, rule in zip(self.key_indicators, self.rules):
            if key not in metrics:
                raise KeyError(
                    f"save_best metric {key!r} is not among the evaluation results "
                    f"{sorted(metrics)}; set CheckpointHook(save_best=...) to one of them."
                )
            score = _as_number(metrics[key])
            score_key = "best_score" if single else f"best_score_{key}"
            best = hub.get_info(score_key, self.init_value_map[rule])
            if score is None or not self.is_better_than[key](score, best):
                continue
            updated = True
            hub.update_info(score_key, score)
            previous = self.best_ckpt_path if single else self.best_ckpt_path_dict.get(key)
            if previous and self._remove(previous):
                runner.logger.info(f"The previous best checkpoint {previous} is removed")
            best_name = f"best_{key}_{ckpt_filename}".replace("/", "_")
            best_path = self.file_backend.join_path(self.out_dir, best_name)
            if single:
                self.best_ckpt_path = best_path
                hub.update_info("best_ckpt", best_path)
            else:
                self.best_ckpt_path_dict[key] = best_path
                hub.update_info(f"best_ckpt_{key}", best_path)
            runner.save_checkpoint(
                self.out_dir,
                filename=best_name,
                file_client_args=self.file_client_args,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False,
                backend_args=self.backend_args,
            )
            runner.logger.info(
                f"The best checkpoint with {score:0.4f} {key} at {cur_time} {cur_type} "
                f"is saved to {best_name}."
            )
        # Re-save this step's periodic checkpoint so that its message hub records the new best
        # (otherwise a resume from it would not know the best file and could not replace it).
        if updated and self.last_ckpt is not None and self.last_ckpt == self._ckpt_path(cur_time):
            self._save_checkpoint_with_step(runner, cur_time, meta)

    def _publish_model(self, runner, ckpt_path: str) -> None:
        if not is_main_process():
            return
        from piston.runner import CheckpointLoader, save_checkpoint

        checkpoint = CheckpointLoader.load_checkpoint(ckpt_path, map_location="cpu")
        removed = [key for key in list(checkpoint) if key not in self.published_keys]
        for key in removed:
            checkpoint.pop(key)
        if removed:
            runner.logger.info(
                f"Key {removed} will be removed because they are not in published_keys."
            )
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f"-{sha[:8]}.pth"
        save_checkpoint(checkpoint, final_path)
        runner.logger.info(f"The checkpoint ({ckpt_path}) is published to {final_path}.")

    # ------------------------------------------------------------------ files
    def _get_backend(self, path: str):
        if self.file_client_args is not None:
            from piston.fileio import FileClient

            return FileClient.infer_client(self.file_client_args, path)
        from piston.fileio import get_file_backend

        return get_file_backend(path, backend_args=self.backend_args)

    def _ckpt_path(self, step: int) -> str:
        return self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))

    def _remove(self, path: str) -> bool:
        """Delete a checkpoint file or folder on rank 0; whether something was removed."""
        if not is_main_process():
            return False
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
            return True
        if self.file_backend.isdir(path):
            self.file_backend.rmtree(path)
            return True
        return False
