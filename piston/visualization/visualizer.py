"""Visualizer: the run's global entry point that fans records out to its backends.

Design note: the Visualizer owns no storage; ``add_*`` calls are forwarded to every backend, on
rank 0 only. Subclasses (e.g. a downstream ``DetLocalVisualizer``) built through
``get_instance`` are also registered under ``Visualizer`` so that hooks can always reach the
run's visualizer with ``Visualizer.get_current_instance()``. The drawing API (``draw_*``,
``draw_featmap``, ``show``) lives in ``_drawing.DrawingMixin``.
"""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from typing import Any

import numpy as np

from piston.dist import master_only
from piston.registry import VISBACKENDS, VISUALIZERS
from piston.utils.manager import ManagerMixin, _lock
from piston.visualization._base import BaseVisBackend
from piston.visualization._drawing import DrawingMixin

__all__ = ["Visualizer"]


def _requires_save_dir(backend_cls: Any) -> bool:
    try:
        param = inspect.signature(backend_cls).parameters.get("save_dir")
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is inspect.Parameter.empty


def _backend_class(backend_type: Any, scope: str | None) -> Any:
    """The class a backend config names, looked up like ``VISBACKENDS.build`` does: in the
    registry of the default scope (a downstream child registry) and then its parents."""
    if not isinstance(backend_type, str):
        return backend_type
    with VISBACKENDS.switch_scope_and_registry(scope) as registry:
        return registry.get(backend_type)


@VISUALIZERS.register_module()
class Visualizer(DrawingMixin, ManagerMixin):
    """Forward configs, scalars and images to visualization backends.

    Args:
        name: Instance name.
        image: Image to draw on (RGB), see ``set_image``.
        vis_backends: A backend (config dict or instance) or a list of them.
        save_dir: Backends get ``save_dir=<save_dir>/vis_data`` unless their config sets one.
        fig_save_cfg: Matplotlib figure options for saving.
        fig_show_cfg: Matplotlib figure options for showing.

    Example:
        >>> vis = Visualizer.get_instance(
        ...     'demo', vis_backends=[dict(type='LocalVisBackend')], save_dir='work_dir')
        >>> vis.add_scalars({'loss': 0.1}, step=1)
    """

    def __init__(
        self,
        name: str = "visualizer",
        image: np.ndarray | None = None,
        vis_backends: dict | BaseVisBackend | list | None = None,
        save_dir: str | None = None,
        fig_save_cfg: dict = {"frameon": False},  # noqa: B006 - MMEngine's default; copied
        fig_show_cfg: dict = {"frameon": False},  # noqa: B006
    ) -> None:
        super().__init__(name)
        self._dataset_meta: dict | None = None
        self._vis_backends: dict[str, BaseVisBackend] = {}
        self.fig_save_cfg = dict(fig_save_cfg)
        self.fig_show_cfg = dict(fig_show_cfg)
        if save_dir is not None:
            save_dir = os.path.join(save_dir, "vis_data")
        if vis_backends is not None:
            self._build_backends(vis_backends, save_dir)
        if image is not None:
            self.set_image(image)

    def _build_backends(self, vis_backends: Any, save_dir: str | None) -> None:
        if isinstance(vis_backends, (dict, BaseVisBackend)):
            vis_backends = [vis_backends]
        if not isinstance(vis_backends, (list, tuple)):
            raise TypeError(
                "vis_backends must be a dict, a BaseVisBackend or a list of them, but got "
                f"{type(vis_backends)}."
            )
        for item in vis_backends:
            name = None
            if isinstance(item, dict):
                cfg = copy.copy(item)
                name = cfg.pop("name", None)
                if save_dir is not None:
                    cfg.setdefault("save_dir", save_dir)
                backend_type = cfg.get("type")
                backend_cls = _backend_class(backend_type, cfg.get("_scope_"))
                if cfg.get("save_dir") is None and _requires_save_dir(backend_cls):
                    warnings.warn(
                        f"Failed to add {backend_type}, since save_dir is None but it needs one. "
                        "Pass save_dir to the Visualizer or to the backend config."
                    )
                    continue
                backend = VISBACKENDS.build(cfg)
            elif isinstance(item, BaseVisBackend):
                if getattr(item, "_save_dir", None) is None and _requires_save_dir(type(item)):
                    warnings.warn(
                        f"Failed to add {type(item).__name__}, since save_dir is None but it "
                        "needs one. Build the backend with a save_dir."
                    )
                    continue
                backend = item
            else:
                raise TypeError(
                    f"each vis_backend must be a dict or a BaseVisBackend, but got {type(item)}."
                )
            name = name or type(backend).__name__
            if name in self._vis_backends:
                raise RuntimeError(
                    f"vis_backend name {name!r} is used twice; give the backends distinct "
                    "`name` keys."
                )
            self._vis_backends[name] = backend

    @classmethod
    def get_instance(cls, name: str, **kwargs: Any) -> Visualizer:
        """Like ``ManagerMixin.get_instance``; a new instance of a subclass also becomes
        ``Visualizer``'s current instance."""
        with _lock:
            created = not cls.check_instance_created(name)
            instance = super().get_instance(name, **kwargs)
            if created and cls is not Visualizer:
                Visualizer._instance_dict[name] = instance
                Visualizer._instance_dict.move_to_end(name)
        return instance

    # ------------------------------------------------------------------ properties
    @property
    @master_only
    def dataset_meta(self) -> dict | None:
        """Meta information of the dataset (set by the loops)."""
        return self._dataset_meta

    @dataset_meta.setter
    @master_only
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta

    def get_backend(self, name: str) -> BaseVisBackend | None:
        """The backend registered under ``name`` (class name unless the config set one)."""
        return self._vis_backends.get(name)

    # ------------------------------------------------------------------ forwarding
    @master_only
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config in every backend."""
        for backend in self._vis_backends.values():
            backend.add_config(config, **kwargs)

    @master_only
    def add_graph(self, model: Any, data_batch: Any, **kwargs: Any) -> None:
        """Record the model graph in every backend."""
        for backend in self._vis_backends.values():
            backend.add_graph(model, data_batch, **kwargs)

    @master_only
    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        """Record an RGB uint8 image in every backend."""
        for backend in self._vis_backends.values():
            backend.add_image(name, image, step)

    @master_only
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar in every backend."""
        for backend in self._vis_backends.values():
            backend.add_scalar(name, value, step, **kwargs)

    @master_only
    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Record several scalars in every backend."""
        for backend in self._vis_backends.values():
            backend.add_scalars(scalar_dict, step, file_path, **kwargs)

    @master_only
    def add_datasample(
        self,
        name: str,
        image: np.ndarray,
        data_sample: Any = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        step: int = 0,
    ) -> None:
        """Draw a data sample; a hook point for task-specific subclasses (no-op here)."""

    def close(self) -> None:
        """Close every backend (on every rank)."""
        for backend in self._vis_backends.values():
            backend.close()

    def _on_reset(self) -> None:
        self.close()

    # ------------------------------------------------------------------ image
    @master_only
    def set_image(self, image: np.ndarray) -> None:
        """Set the image to draw on (stored as uint8); sets ``width``, ``height`` and the
        default font size."""
        if image is None:
            raise AssertionError("image must not be None.")
        image = np.asarray(image).astype("uint8")
        self._image = image
        self.height, self.width = image.shape[:2]
        self._default_font_size = max(np.sqrt(self.height * self.width) // 90, 10)

    @master_only
    def get_image(self) -> np.ndarray:
        """A copy of the current image (RGB uint8, ``(H, W, 3)``): later drawing does not
        change an image already returned, as with MMEngine's canvas rendering."""
        if getattr(self, "_image", None) is None:
            raise AssertionError("Please set an image with `set_image` first.")
        return self._canvas().copy()
