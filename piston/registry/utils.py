"""Registry utilities: default-scope initialisation and registry statistics."""

from __future__ import annotations

import datetime
import json
import logging
import os
from importlib import import_module
from typing import Any

from piston.utils._log import log

from .default_scope import DefaultScope
from .registry import Registry

__all__ = ["count_registered_modules", "init_default_scope", "traverse_registry_tree"]

# piston packages that fill the root registries when imported.
_PISTON_PACKAGES = (
    "piston.dataset",
    "piston.evaluator",
    "piston.hooks",
    "piston.model",
    "piston.optim",
    "piston.runner",
    "piston.visualization",
)


def traverse_registry_tree(registry: Registry, verbose: bool = True) -> list[dict[str, Any]]:
    """Describe every registry in the tree of ``registry`` (depth-first from the root).

    Args:
        registry: Any registry of the tree.
        verbose: Log the number of modules found in each registry.

    Returns:
        One dict per registry: ``num_modules``, ``scope`` and, per source folder (module path
        without its last part, joined by ``/``), the names registered from it.
    """
    modules_info: list[dict[str, Any]] = []

    def _visit(node: Registry) -> None:
        info: dict[str, Any] = {"num_modules": len(node.module_dict), "scope": node.scope}
        for name, obj in node.module_dict.items():
            module = getattr(obj, "__module__", None) or ""
            folder = "/".join(module.split(".")[:-1])
            info.setdefault(folder, []).append(name)
        if verbose:
            log(
                f"Find {len(node.module_dict)} modules in {node.scope}'s '{node.name}' registry",
                logging.INFO,
            )
        modules_info.append(info)
        for child in node.children.values():
            _visit(child)

    _visit(registry.root)
    return modules_info


def count_registered_modules(save_path: str | None = None, verbose: bool = True) -> dict:
    """Import every piston package and list what each root registry holds.

    Args:
        save_path: Folder to write ``modules_statistic_results.json`` into.
        verbose: Log per-registry counts.

    Returns:
        ``{'scan_date': 'YYYY-mm-dd HH:MM:SS', 'registries': {VARIABLE: tree_info}}``.
    """
    from . import root

    for package in _PISTON_PACKAGES:
        try:
            import_module(package)
        except ModuleNotFoundError as exc:
            if exc.name != package:
                raise
    registries_info = {
        var: traverse_registry_tree(value, verbose)
        for var, value in sorted(vars(root).items())
        if isinstance(value, Registry)
    }
    scan_data = {
        "scan_date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "registries": registries_info,
    }
    if verbose:
        log(f"Finish registry analysis, got: {scan_data}", logging.INFO)
    if save_path is not None:
        os.makedirs(save_path, exist_ok=True)
        json_path = os.path.join(save_path, "modules_statistic_results.json")
        with open(json_path, "w", encoding="utf-8") as file:
            json.dump(scan_data, file, indent=2)
        if verbose:
            log(f"Result has been saved to {json_path}", logging.INFO)
    return scan_data


def init_default_scope(scope: str) -> None:
    """Make ``scope`` the default scope, creating a ``DefaultScope`` instance if needed.

    If the current default scope differs from ``scope``, warn and create a new instance named
    ``<scope>-<datetime>``.
    """
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(scope):
        DefaultScope.get_instance(scope, scope_name=scope)
        return
    if current.scope_name != scope:
        log(
            f"The current default scope {current.scope_name!r} is not {scope!r}; "
            f"`init_default_scope` will force set the current default scope to {scope!r}.",
            logging.WARNING,
        )
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        DefaultScope.get_instance(f"{scope}-{stamp}", scope_name=scope)
