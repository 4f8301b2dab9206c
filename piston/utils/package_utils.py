"""Helpers to query and install Python packages."""

from __future__ import annotations

import importlib.util
import os.path as osp
import sys

__all__ = ["call_command", "get_installed_path", "install_package", "is_installed"]


def is_installed(package: str) -> bool:
    """Whether ``package`` (a distribution or module name) is installed."""
    from importlib import metadata

    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        pass
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _top_level_of(package: str) -> str | None:
    from importlib import metadata

    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    top_level = dist.read_text("top_level.txt")
    if top_level:
        return top_level.split("\n")[0].strip() or None
    return None


def get_installed_path(package: str) -> str:
    """Folder where ``package`` is installed (e.g. ``.../site-packages/torch``).

    Raises:
        RuntimeError: If the package is not installed.
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
    raise RuntimeError(f"{package} is not installed")


def call_command(cmd: list[str]) -> None:
    """Run ``cmd``; a non-zero exit raises ``subprocess.CalledProcessError``."""
    import subprocess

    subprocess.check_call(cmd)


def install_package(package: str) -> None:
    """``python -m pip install package`` if it is not installed yet."""
    if not is_installed(package):
        call_command([sys.executable, "-m", "pip", "install", package])
