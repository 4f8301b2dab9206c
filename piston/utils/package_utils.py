"""Helpers to query and install Python packages."""

from __future__ import annotations

import importlib.util
import os.path as osp
import sys
from importlib import metadata

__all__ = [
    "PackageNotInstalledError",
    "call_command",
    "get_installed_path",
    "install_package",
    "is_installed",
]


class PackageNotInstalledError(metadata.PackageNotFoundError, RuntimeError):
    """Raised by :func:`get_installed_path`; catchable as ``RuntimeError`` or ``ImportError``."""

    def __str__(self) -> str:
        return f"{self.args[0]} is not installed; install it with `pip install {self.args[0]}`"


def is_installed(package: str) -> bool:
    """Whether ``package`` (a distribution or module name) is installed."""
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        pass
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None  # namespace packages do not count


def _top_level_of(package: str) -> str | None:
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    top_level = dist.read_text("top_level.txt")
    names = [name.strip() for name in (top_level or "").splitlines() if name.strip()]
    if not names:
        return None
    # PyYAML lists ``_yaml`` (a private shim) before ``yaml``: prefer the module named like the
    # distribution, then the first public one.
    normalized = package.lower().replace("-", "_")
    for name in names:
        if name.lower() == normalized:
            return name
    return next((name for name in names if not name.startswith("_")), names[0])


def get_installed_path(package: str) -> str:
    """Folder where ``package`` is installed (e.g. ``.../site-packages/torch``).

    Raises:
        PackageNotInstalledError: If the package is not installed (a ``RuntimeError`` and an
            ``importlib.metadata.PackageNotFoundError``).
    """
    candidates = [package]
    top_level = _top_level_of(package)
    if top_level and top_level != package:
        candidates.insert(0, top_level)
    for name in candidates:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            return next(iter(spec.submodule_search_locations))
        if spec.origin:
            return osp.dirname(spec.origin)
    raise PackageNotInstalledError(package)


def call_command(cmd: list[str]) -> None:
    """Run ``cmd``; a non-zero exit raises ``subprocess.CalledProcessError``."""
    import subprocess

    subprocess.check_call(cmd)


def install_package(package: str) -> None:
    """``python -m pip install package`` if it is not installed yet."""
    if not is_installed(package):
        call_command([sys.executable, "-m", "pip", "install", package])
