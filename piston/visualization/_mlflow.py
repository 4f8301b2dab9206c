"""MLflowVisBackend: an MLflow run; ``mlflow`` is imported on the first write.

Design note: the default tracking URI is a local file store (``file://<abs save_dir>``).
MLflow 3.x refuses file stores unless ``MLFLOW_ALLOW_FILE_STORE`` is true, so for a local
URI the backend sets that variable when the user has not set it (an explicit value, true or
false, is left alone). MLflow itself exports ``MLFLOW_TRACKING_URI`` and
``MLFLOW_EXPERIMENT_ID`` when the URI and experiment are set.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlparse

from piston.logging import print_log
from piston.registry import VISBACKENDS
from piston.visualization._base import BaseVisBackend, force_init_env, require, to_plain

__all__ = ["MLflowVisBackend", "flatten_config"]

_FILE_STORE_ENV = "MLFLOW_ALLOW_FILE_STORE"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _allow_local_file_store(uri: str) -> None:
    """Let MLflow (3.x refuses file stores by default) use a local ``uri``, unless told not to."""
    if urlparse(uri).scheme in ("", "file") and _FILE_STORE_ENV not in os.environ:
        os.environ[_FILE_STORE_ENV] = "true"
        print_log(
            f"MLflowVisBackend: tracking URI {uri!r} is a local file store; set "
            f"{_FILE_STORE_ENV}=true so that MLflow accepts it (set it to false beforehand, "
            "or pass a database tracking_uri such as 'sqlite:///mlflow.db', to opt out).",
            logger="current",
            level=logging.INFO,
        )


def flatten_config(cfg: Any, parent_key: str = "", sep: str = ".") -> dict[str, Any]:
    """Flatten nested dicts (and lists of dicts, by index) into ``{'a.b.0.c': value}``."""
    items: dict[str, Any] = {}
    pairs = cfg.items() if isinstance(cfg, dict) else enumerate(cfg)
    for key, value in pairs:
        name = f"{parent_key}{sep}{key}" if parent_key else str(key)
        if isinstance(value, dict) or (
            isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value)
        ):
            items.update(flatten_config(value, name, sep))
        else:
            items[name] = value
    return items


def _files_with_suffix(root: str, suffixes: tuple[str, ...]) -> list[str]:
    found = []
    for folder, _, names in os.walk(root):
        found += [os.path.join(folder, n) for n in sorted(names) if n.endswith(suffixes)]
    return found


@VISBACKENDS.register_module()
class MLflowVisBackend(BaseVisBackend):
    """Log to MLflow.

    Args:
        save_dir: Tracking directory (tracking URI ``file://<abs save_dir>`` by default).
        exp_name: Experiment name (``'Default'`` if None), created if missing.
        run_name: Run name tag.
        tags: Run tags.
        params: Run parameters.
        tracking_uri: Tracking server URI.
        artifact_suffix: Files of ``cfg.work_dir`` uploaded as artifacts on ``close``.
        tracked_config_keys: Top-level config keys to log as params (all if None).
        artifact_location: Artifact location of a newly created experiment.
    """

    def __init__(
        self,
        save_dir: str,
        exp_name: str | None = None,
        run_name: str | None = None,
        tags: dict | None = None,
        params: dict | None = None,
        tracking_uri: str | None = None,
        artifact_suffix: tuple | str = (".json", ".log", ".py", "yaml"),
        tracked_config_keys: dict | None = None,
        artifact_location: str | None = None,
    ) -> None:
        super().__init__(save_dir)
        self._exp_name = exp_name
        self._run_name = run_name
        self._tags = tags
        self._params = params
        self._tracking_uri = tracking_uri
        self._artifact_suffix = (
            (artifact_suffix,) if isinstance(artifact_suffix, str) else tuple(artifact_suffix)
        )
        self._tracked_config_keys = tracked_config_keys
        self._artifact_location = artifact_location
        self.cfg: Any = None

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        mlflow = require("mlflow", "mlflow", "MLflowVisBackend")
        uri = self._tracking_uri or f"file://{os.path.abspath(self._save_dir)}"
        _allow_local_file_store(uri)
        mlflow.set_tracking_uri(uri)
        exp_name = self._exp_name or "Default"
        if mlflow.get_experiment_by_name(exp_name) is None:
            mlflow.create_experiment(exp_name, artifact_location=self._artifact_location)
        mlflow.set_experiment(exp_name)
        if self._run_name is not None:
            mlflow.set_tag("mlflow.runName", self._run_name)
        if self._tags is not None:
            mlflow.set_tags(self._tags)
        if self._params is not None:
            mlflow.log_params(self._params)
        self._mlflow = mlflow

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The ``mlflow`` module."""
        return self._mlflow

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Log the flattened config (or its tracked keys) as params and ``config.py`` as text."""
        self.cfg = config
        cfg_dict = config.to_dict()
        if self._tracked_config_keys is not None:
            cfg_dict = {k: v for k, v in cfg_dict.items() if k in self._tracked_config_keys}
        self._mlflow.log_params(flatten_config(cfg_dict))
        self._mlflow.log_text(config.pretty_text, "config.py")

    @force_init_env
    def add_image(self, name: str, image: Any, step: int = 0, **kwargs: Any) -> None:
        """Log an RGB image as the artifact ``name`` (``.png`` appended if it has no image suffix)."""
        if not name.lower().endswith(_IMAGE_SUFFIXES):
            name = f"{name}.png"  # MLflow picks the image format from the file suffix
        self._mlflow.log_image(image, name)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Log one metric at ``step``."""
        self._mlflow.log_metric(name, to_plain(value), step)

    @force_init_env
    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Log several metrics at ``step``."""
        if "step" in scalar_dict:
            raise AssertionError("Please set it directly with the `step` argument.")
        self._mlflow.log_metrics(to_plain(scalar_dict), step)

    def close(self) -> None:
        """Upload the work_dir files with ``artifact_suffix`` and end the run.

        Closing twice (e.g. ``LoggerHook.after_run`` and then the Visualizer's reset) does
        nothing the second time; a write after ``close`` sets up a new run.
        """
        if not hasattr(self, "_mlflow"):
            return
        work_dir = getattr(self.cfg, "work_dir", None) if self.cfg is not None else None
        if work_dir and os.path.isdir(work_dir):
            for path in _files_with_suffix(work_dir, self._artifact_suffix):
                folder = os.path.relpath(os.path.dirname(path), work_dir)
                self._mlflow.log_artifact(path, None if folder == "." else folder)
        self._mlflow.end_run()
        del self._mlflow  # a second close must not upload again into a new, auto-started run
        self._env_initialized = False
