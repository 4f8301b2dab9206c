"""LocalVisBackend: scalars as JSON lines, the config and images under ``save_dir``.

Design note: a scalar file is opened (append mode) on its first record and kept open for the
backend's lifetime, unbuffered; each record is encoded once to bytes and written with one
``write`` system call per file, so a crash loses nothing and concurrent appenders (``O_APPEND``)
never interleave within a line (no text layer, buffer or ``flush`` in between).
Opening and closing the file on every record cost more than formatting the whole log line.
``close()`` closes the files; a pickled or copied backend reopens them on its next record.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from piston.registry import VISBACKENDS
from piston.visualization._base import BaseVisBackend, force_init_env, to_plain

__all__ = ["LocalVisBackend"]


def _write_png(path: str, image: np.ndarray) -> None:
    """Write an RGB (or grey) uint8 image with OpenCV if installed, else with Pillow."""
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        bgr = image[..., ::-1] if image.ndim == 3 and image.shape[-1] == 3 else image
        cv2.imwrite(path, np.ascontiguousarray(bgr))
        return
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "LocalVisBackend.add_image needs OpenCV or Pillow: "
            "pip install opencv-python-headless (or pillow)."
        ) from exc
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    Image.fromarray(np.ascontiguousarray(image)).save(path)


@VISBACKENDS.register_module()
class LocalVisBackend(BaseVisBackend):
    """Write scalars, the config and images to local files.

    Args:
        save_dir: Root directory (the Runner passes ``<log_dir>/vis_data``).
        img_save_dir: Image folder under ``save_dir``.
        config_save_file: Config file name under ``save_dir`` (``.py``).
        scalar_save_file: Scalar file name under ``save_dir`` (``.json``, one object a line).

    Example:
        >>> backend = LocalVisBackend('work_dir/vis_data')
        >>> backend.add_scalars({'loss': 0.5}, step=10)  # {"loss": 0.5, "step": 10}
    """

    def __init__(
        self,
        save_dir: str,
        img_save_dir: str = "vis_image",
        config_save_file: str = "config.py",
        scalar_save_file: str = "scalars.json",
    ) -> None:
        if not config_save_file.endswith(".py"):
            raise AssertionError(
                f"config_save_file must end with '.py', but got {config_save_file!r}."
            )
        if not scalar_save_file.endswith(".json"):
            raise AssertionError(
                f"scalar_save_file must end with '.json', but got {scalar_save_file!r}."
            )
        super().__init__(save_dir)
        self._img_save_dir = img_save_dir
        self._config_save_file = config_save_file
        self._scalar_save_file = scalar_save_file
        self._files: dict[str, Any] = {}  # path -> open text file (append mode)
        self._extra_paths: dict[str, str] = {}  # add_scalars file_path -> checked full path
        self._encode = json.JSONEncoder().encode

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        self._img_save_dir = os.path.join(self._save_dir, self._img_save_dir)
        self._config_save_file = os.path.join(self._save_dir, self._config_save_file)
        self._scalar_save_file = os.path.join(self._save_dir, self._scalar_save_file)

    @property
    @force_init_env
    def experiment(self) -> LocalVisBackend:
        """The backend itself."""
        return self

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Dump ``config`` (a ``piston.config.Config``) to ``<save_dir>/config.py``."""
        from piston.config import Config

        if not isinstance(config, Config):
            raise AssertionError(f"config must be a piston Config, but got {type(config)}.")
        config.dump(self._config_save_file)

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Save an RGB uint8 image as ``vis_image/<name>_<step>.png``."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise AssertionError(
                f"image must be a uint8 numpy array, but got "
                f"{getattr(image, 'dtype', type(image))}."
            )
        path = os.path.join(self._img_save_dir, f"{name}_{step}.png")
        # a name such as 'val/pred' saves under a sub folder instead of failing to open the file
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_png(path, image)

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Append ``{"<name>": value, "step": step}`` to the scalar file."""
        self._dump({name: to_plain(value), "step": step}, self._scalar_save_file)

    @force_init_env
    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Append ``scalar_dict`` (plus ``step``) as one JSON line to the scalar file.

        Args:
            scalar_dict: Values may be numbers, numpy values or tensors (converted here).
            step: Added as ``step`` unless ``scalar_dict`` has one.
            file_path: Another ``.json`` file under ``save_dir`` that gets the same line.
        """
        if not isinstance(scalar_dict, dict):
            raise AssertionError(f"scalar_dict must be a dict, but got {type(scalar_dict)}.")
        record = to_plain(scalar_dict)
        record.setdefault("step", step)
        line = (self._encode(record) + "\n").encode()  # encoded once for both files
        if file_path is not None:
            extra = self._extra_paths.get(file_path)
            if extra is None:
                extra = self._extra_paths[file_path] = self._check_extra_path(file_path)
            self._write_line(line, extra)
        self._write_line(line, self._scalar_save_file)

    def _check_extra_path(self, file_path: str) -> str:
        """``save_dir/file_path``, checked once per name (``add_scalars`` runs every log)."""
        if not file_path.endswith(".json"):
            raise AssertionError(f"file_path must end with '.json', but got {file_path!r}.")
        extra = os.path.join(self._save_dir, file_path)
        if os.path.abspath(extra) == os.path.abspath(self._scalar_save_file):
            raise AssertionError(
                f"file_path {file_path!r} must differ from the scalar file "
                f"{os.path.basename(self._scalar_save_file)!r}."
            )
        return extra

    def _dump(self, record: dict, path: str) -> None:
        """Append ``record`` as one JSON line to ``path`` (kept open), flushed at once."""
        self._write_line((self._encode(record) + "\n").encode(), path)

    def _write_line(self, line: bytes, path: str) -> None:
        """Append the UTF-8 ``line`` to ``path`` with one unbuffered write."""
        fobj = self._files.get(path)
        if fobj is None or fobj.closed:
            fobj = self._files[path] = open(path, "ab", buffering=0)  # noqa: SIM115
        written = fobj.write(line)
        while written is not None and written < len(line):  # short writes (rare) finish here
            line = line[written:]
            written = fobj.write(line)

    def close(self) -> None:
        """Close the scalar files (a later record reopens them)."""
        files, self._files = self._files, {}
        for fobj in files.values():
            fobj.close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_files"] = {}
        state.pop("_encode", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._encode = json.JSONEncoder().encode
