"""Fetch configs and models of installed OpenMMLab-style packages by ``'pkg::path'``.

A package ships its configs and metafiles under ``<package>/.mim``: ``model-index.yml`` lists
metafiles (``Import``), each metafile lists ``Models`` with a ``Config`` path and ``Weights``.
"""

from __future__ import annotations

import importlib
import logging
import os.path as osp
from typing import Any

from piston.registry.registry import MODULE2PACKAGE
from piston.utils import get_installed_path, install_package
from piston.utils._log import log

__all__ = ["get_config", "get_model"]


def _split(cfg_path: str) -> tuple[str, str]:
    package, sep, path = cfg_path.partition("::")
    if not sep or not package or not path:
        raise ValueError(
            f"cfg_path should look like 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py' "
            f"(package::config path), but got {cfg_path!r}"
        )
    return package, path


def _load_yaml(path: str) -> Any:
    import yaml

    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


def _get_cfg_metainfo(package_path: str, cfg_file: str) -> dict:
    """The metafile entry whose ``Config`` (minus its first folder) equals ``cfg_file``."""
    meta_index_path = osp.join(package_path, ".mim", "model-index.yml")
    if not osp.isfile(meta_index_path):
        raise ValueError(f"{meta_index_path} does not exist: the package has no .mim metafiles")
    meta_index = _load_yaml(meta_index_path) or {}
    cfg_dict: dict[str, dict] = {}
    for meta_path in meta_index.get("Import", []):
        cfg_meta = _load_yaml(osp.join(package_path, ".mim", meta_path)) or {}
        for model_cfg in cfg_meta.get("Models", []):
            if "Config" not in model_cfg:
                log(f"There is no `Config` for {model_cfg.get('Name')}", logging.WARNING)
                continue
            cfg_name = model_cfg["Config"].partition("/")[-1]
            cfg_dict.setdefault(cfg_name, model_cfg)  # several weights: keep the first
    if cfg_file not in cfg_dict:
        raise ValueError(f"Expected configs: {sorted(cfg_dict)}, but got {cfg_file}")
    return cfg_dict[cfg_file]


def get_config(cfg_path: str, pretrained: bool = False) -> Any:
    """Load a config shipped with a package, e.g. ``'mmdet::faster_rcnn/x.py'``.

    Args:
        cfg_path: ``'<package>::<config path relative to its configs folder>'``.
        pretrained: Set ``cfg.model_path`` to the weights URL from the package's metafile.

    Returns:
        The :class:`piston.config.Config`.
    """
    from piston.config import Config

    package, rel_path = _split(cfg_path)
    install_package(MODULE2PACKAGE.get(package, package))
    package_path = get_installed_path(package)
    try:
        cfg_meta = _get_cfg_metainfo(package_path, rel_path)
    except ValueError:
        if pretrained:
            raise
        # Base configs have no metafile entry: accept the plain path.
        return Config.fromfile(osp.join(package_path, ".mim", "configs", rel_path))
    cfg = Config.fromfile(osp.join(package_path, ".mim", cfg_meta["Config"]))
    if pretrained:
        if "Weights" not in cfg_meta:
            raise ValueError(
                f"Cannot find `Weights` for {rel_path} in the metafile of {package}; "
                f"use pretrained=False or add the weights URL to the metafile."
            )
        cfg.model_path = cfg_meta["Weights"]
    return cfg


def get_model(cfg_path: str, pretrained: bool = False, **kwargs: Any) -> Any:
    """Build the model of a package config (optionally with its pretrained weights).

    Args:
        cfg_path: ``'<package>::<config path>'`` as for :func:`get_config`.
        pretrained: Load the weights named in the metafile.
        **kwargs: Default arguments for building the model.
    """
    from piston.registry import MODELS, DefaultScope

    package, _ = _split(cfg_path)
    with DefaultScope.overwrite_default_scope(package):
        cfg = get_config(cfg_path, pretrained)
        if "data_preprocessor" in cfg:
            cfg.model.data_preprocessor = cfg.data_preprocessor
        models_module = importlib.import_module(f"{package}.utils")
        models_module.register_all_modules()
        model = MODELS.build(cfg.model, default_args=kwargs)
        if pretrained:
            from piston.runner import load_checkpoint

            load_checkpoint(model, cfg.model_path)
            model._is_init = True  # weights are loaded: init_weights must not overwrite them
        return model
