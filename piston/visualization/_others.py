"""ClearML, Neptune, DVCLive and Aim backends (P2); each imports its library on first write."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import numpy as np

from piston.registry import VISBACKENDS
from piston.visualization._base import BaseVisBackend, force_init_env, require, to_plain

__all__ = ["AimVisBackend", "ClearMLVisBackend", "DVCLiveVisBackend", "NeptuneVisBackend"]


def _work_dir_files(config: Any, suffixes: tuple[str, ...]) -> list[str]:
    work_dir = getattr(config, "work_dir", None) if config is not None else None
    if not work_dir or not os.path.isdir(work_dir):
        return []
    found = []
    for folder, _, names in os.walk(work_dir):
        found += [os.path.join(folder, n) for n in sorted(names) if n.endswith(suffixes)]
    return found


def _inside_git_work_tree() -> bool:
    """Whether the working directory is in a git work tree (False when git is not installed)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], capture_output=True, check=False
        )
    except OSError:
        return False
    return result.returncode == 0


class _ScalarsByItem(BaseVisBackend):
    """Shared ``add_scalars``: no ``step`` key allowed, each item through ``add_scalar``."""

    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Record every item of ``scalar_dict`` at ``step``."""
        if "step" in scalar_dict:
            raise AssertionError("Please set it directly with the `step` argument.")
        for key, value in scalar_dict.items():
            self.add_scalar(key, value, step)


@VISBACKENDS.register_module()
class ClearMLVisBackend(_ScalarsByItem):
    """Log to a ClearML task (``Task.init(**init_kwargs)``)."""

    def __init__(
        self,
        save_dir: str | None = None,
        init_kwargs: dict | None = None,
        artifact_suffix: tuple | str = (".py", ".pth"),
    ) -> None:
        super().__init__(save_dir)
        self._init_kwargs = init_kwargs
        self._artifact_suffix = (
            (artifact_suffix,) if isinstance(artifact_suffix, str) else tuple(artifact_suffix)
        )
        self.cfg: Any = None

    def _init_env(self) -> None:
        clearml = require("clearml", "clearml", "ClearMLVisBackend")
        self._task = clearml.Task.init(**(self._init_kwargs or {}))
        self._logger = self._task.get_logger()

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The ClearML task."""
        return self._task

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Connect the config to the task."""
        self.cfg = config
        self._task.connect_configuration(config.to_dict())

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Report an RGB image."""
        self._logger.report_image(title=name, series=name, iteration=step, image=image)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Report one scalar."""
        self._logger.report_scalar(title=name, series=name, value=to_plain(value), iteration=step)

    def close(self) -> None:
        """Upload matching work_dir files and close the task."""
        if not hasattr(self, "_task"):
            return
        for path in _work_dir_files(self.cfg, self._artifact_suffix):
            self._task.upload_artifact(name=os.path.basename(path), artifact_object=path)
        self._task.close()


@VISBACKENDS.register_module()
class NeptuneVisBackend(_ScalarsByItem):
    """Log to a Neptune run (``neptune.init_run``; offline unless ``init_kwargs`` say else)."""

    def __init__(self, save_dir: str | None = None, init_kwargs: dict | None = None) -> None:
        super().__init__(save_dir)
        self._init_kwargs = init_kwargs

    def _init_env(self) -> None:
        neptune = require("neptune", "neptune", "NeptuneVisBackend")
        init_kwargs = self._init_kwargs if self._init_kwargs is not None else {"mode": "offline"}
        self._neptune = neptune.init_run(**init_kwargs)

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The Neptune run."""
        return self._neptune

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Upload the config text."""
        from neptune.types import File

        self._neptune["config"].upload(File.from_content(config.pretty_text))

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Append an image scaled to [0, 1]."""
        from neptune.types import File

        scaled = image.astype(np.float32) / 255.0
        self._neptune["images"].append(File.as_image(scaled), name=name, step=step)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Append one scalar."""
        self._neptune[name].append(to_plain(value), step=step)

    def close(self) -> None:
        """Stop the run."""
        if hasattr(self, "_neptune"):
            self._neptune.stop()


@VISBACKENDS.register_module()
class DVCLiveVisBackend(_ScalarsByItem):
    """Log with dvclive ``Live`` (``dir=save_dir``, DVC experiment, cached images)."""

    def __init__(
        self,
        save_dir: str,
        artifact_suffix: tuple | str = (".json", ".py", "yaml"),
        init_kwargs: dict | None = None,
    ) -> None:
        super().__init__(save_dir)
        self._artifact_suffix = (
            (artifact_suffix,) if isinstance(artifact_suffix, str) else tuple(artifact_suffix)
        )
        self._init_kwargs = init_kwargs
        self.cfg: Any = None

    def _init_env(self) -> None:
        dvclive = require("dvclive", "dvclive", "DVCLiveVisBackend")
        os.makedirs(self._save_dir, exist_ok=True)
        if not _inside_git_work_tree() and not os.path.isdir(".dvc"):
            repo = require("dvc.repo", "dvc", "DVCLiveVisBackend")
            repo.Repo.init(os.getcwd(), no_scm=True)  # DVC without git, as dvclive needs one
        kwargs = {"dir": self._save_dir, "save_dvc_exp": True, "cache_images": True}
        kwargs.update(self._init_kwargs or {})
        self._dvclive = dvclive.Live(**kwargs)

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The dvclive ``Live`` object."""
        return self._dvclive

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Log the config as params."""
        self.cfg = config
        self._dvclive.log_params(to_plain(config.to_dict()))

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Log ``<name>.png``."""
        self._dvclive.step = step
        self._dvclive.log_image(f"{name}.png", image)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Log one metric at ``step``."""
        self._dvclive.step = step
        self._dvclive.log_metric(name, to_plain(value))

    def close(self) -> None:
        """Log matching work_dir files as artifacts and end the experiment."""
        if not hasattr(self, "_dvclive"):
            return
        for path in _work_dir_files(self.cfg, self._artifact_suffix):
            self._dvclive.log_artifact(path)
        self._dvclive.end()


@VISBACKENDS.register_module()
class AimVisBackend(_ScalarsByItem):
    """Track with an Aim ``Run(**init_kwargs)``."""

    def __init__(self, save_dir: str | None = None, init_kwargs: dict | None = None) -> None:
        super().__init__(save_dir)
        self._init_kwargs = init_kwargs

    def _init_env(self) -> None:
        aim = require("aim", "aim", "AimVisBackend")
        self._run = aim.Run(**(self._init_kwargs or {}))

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The Aim run."""
        return self._run

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Store the config as the run's ``hparams``."""
        self._run["hparams"] = to_plain(config.to_dict())

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Track an image."""
        from aim import Image

        self._run.track(name=name, value=Image(image), step=step)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Track one scalar."""
        self._run.track(name=name, value=to_plain(value), step=step)

    def close(self) -> None:
        """Close the run."""
        if hasattr(self, "_run"):
            self._run.close()
