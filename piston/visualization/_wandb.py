"""WandbVisBackend: Weights & Biases runs; ``wandb`` is imported on the first write."""

from __future__ import annotations

import os
from typing import Any

from piston.registry import VISBACKENDS
from piston.visualization._base import BaseVisBackend, force_init_env, require, to_plain

__all__ = ["WandbVisBackend"]


@VISBACKENDS.register_module()
class WandbVisBackend(BaseVisBackend):
    """Log to a wandb run.

    Args:
        save_dir: Default ``dir`` of ``wandb.init``.
        init_kwargs: Keyword arguments of ``wandb.init``.
        define_metric_cfg: ``{metric: summary}`` or a list of ``wandb.define_metric`` kwargs.
        commit: ``commit`` argument of ``wandb.log``.
        log_code_name: Name of the code artifact logged with the config.
        watch_kwargs: Keyword arguments of ``wandb.watch`` (used by ``add_graph``).
    """

    def __init__(
        self,
        save_dir: str,
        init_kwargs: dict | None = None,
        define_metric_cfg: dict | list | None = None,
        commit: bool | None = True,
        log_code_name: str | None = None,
        watch_kwargs: dict | None = None,
    ) -> None:
        super().__init__(save_dir)
        if define_metric_cfg is not None and not isinstance(define_metric_cfg, (dict, list)):
            raise ValueError(
                "define_metric_cfg should be a dict {metric: summary} or a list of "
                f"wandb.define_metric kwargs, but got {type(define_metric_cfg)}."
            )
        self._init_kwargs = init_kwargs
        self._define_metric_cfg = define_metric_cfg
        self._commit = commit
        self._log_code_name = log_code_name
        self._watch_kwargs = watch_kwargs if watch_kwargs is not None else {}

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        wandb = require("wandb", "wandb", "WandbVisBackend")
        init_kwargs = dict(self._init_kwargs or {})
        init_kwargs.setdefault("dir", self._save_dir)
        wandb.init(**init_kwargs)
        if isinstance(self._define_metric_cfg, dict):
            for metric, summary in self._define_metric_cfg.items():
                wandb.define_metric(metric, summary=summary)
        elif isinstance(self._define_metric_cfg, list):
            for metric_cfg in self._define_metric_cfg:
                wandb.define_metric(**metric_cfg)
        self._wandb = wandb

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The ``wandb`` module (its current run is ``experiment.run``)."""
        return self._wandb

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Update ``wandb.config`` with the config and log the code."""
        allow_change = (self._init_kwargs or {}).get("allow_val_change", False)
        self._wandb.config.update(config.to_dict(), allow_val_change=allow_change)
        self._wandb.run.log_code(name=self._log_code_name)

    @force_init_env
    def add_graph(self, model: Any, data_batch: Any, **kwargs: Any) -> None:
        """Watch the model's gradients and parameters."""
        self._wandb.watch(model, **self._watch_kwargs)

    @force_init_env
    def add_image(self, name: str, image: Any, step: int = 0, **kwargs: Any) -> None:
        """Log an RGB image."""
        self._wandb.log({name: self._wandb.Image(image)}, commit=self._commit)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Log one scalar (wandb keeps its own step)."""
        self._wandb.log({name: to_plain(value)}, commit=self._commit)

    @force_init_env
    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Log several scalars in one record."""
        self._wandb.log(to_plain(scalar_dict), commit=self._commit)

    def close(self) -> None:
        """Finish the run."""
        if hasattr(self, "_wandb"):
            self._wandb.join()
