"""``_base_ = 'pkg::path/to/cfg.py'``: configs shipped inside an installed OpenMMLab package."""

from __future__ import annotations

import importlib.util
import os.path as osp

from piston.registry.registry import MODULE2PACKAGE as PKG2PROJECT  # import name → pip name


class UnknownPackageError(ModuleNotFoundError, ValueError):
    """``pkg::path`` names a package that is not a known OpenMMLab scope.

    A ``ModuleNotFoundError`` (the spec: the package must be known and installed) that is also a
    ``ValueError`` (the value of ``_base_`` is wrong).
    """


def _from_model_index(mim_dir: str, rel: str) -> str | None:
    index = osp.join(mim_dir, "model-index.yml")
    if not osp.isfile(index):
        return None
    from piston.fileio import load

    name = osp.splitext(rel)[0]
    for metafile in (load(index) or {}).get("Import", []):
        meta_path = osp.join(mim_dir, metafile)
        if not osp.isfile(meta_path):
            continue
        for model in (load(meta_path) or {}).get("Models", []):
            config = model.get("Config", "")
            if model.get("Name") == osp.basename(name) or config.endswith(rel):
                return osp.join(mim_dir, config)
    return None


def resolve_package_base(spec: str, filename: str) -> str:
    """Path of the config ``pkg::rel/path.py`` requested by ``filename``."""
    package, rel = spec.split("::", 1)
    if package not in PKG2PROJECT:
        raise UnknownPackageError(
            f"{spec!r} in {filename}: {package!r} is not a known package scope; "
            f"known: {sorted(PKG2PROJECT)}",
            name=package,
        )
    module_spec = importlib.util.find_spec(package)
    if module_spec is None or module_spec.origin is None:
        raise ModuleNotFoundError(
            f"{spec!r} in {filename} needs {package}: pip install {PKG2PROJECT[package]}"
        )
    mim_dir = osp.join(osp.dirname(module_spec.origin), ".mim")
    path = _from_model_index(mim_dir, rel) or osp.join(mim_dir, "configs", rel)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"base config {spec!r} requested by {filename} was not found: looked for {path}"
        )
    return path
