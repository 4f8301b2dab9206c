"""``Registry``: string names -> classes/functions, organised as a tree of scopes.

Design: a registry is a flat ``dict`` plus a link to its parent and a dict of children keyed by
scope (``mmdet``'s ``MODELS`` is a child of piston's ``MODELS``). A lookup ``'scope.Name'``
routes through the tree; an unscoped name looks locally, then up the parents. Modules that
register into a registry are imported lazily from its ``locations`` on the first lookup, so
``import piston.registry`` stays cheap. When nothing matches, the key is tried as a dotted
import path (``'torch.optim.SGD'``).
"""

from __future__ import annotations

import difflib
import logging
import sys
from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from piston.utils._log import log
from piston.utils.misc import get_object_from_string, is_seq_of

from .default_scope import DefaultScope

__all__ = ["Registry"]

# OpenMMLab scopes whose registries may lack `locations`: fall back to
# `<scope>.utils.register_all_modules(False)`. Value: the pip package name.
MODULE2PACKAGE = {
    "mmcls": "mmcls",
    "mmdet": "mmdet",
    "mmdet3d": "mmdet3d",
    "mmseg": "mmsegmentation",
    "mmaction": "mmaction2",
    "mmtrack": "mmtrack",
    "mmpose": "mmpose",
    "mmedit": "mmedit",
    "mmocr": "mmocr",
    "mmgen": "mmgen",
    "mmfewshot": "mmfewshot",
    "mmrazor": "mmrazor",
    "mmflow": "mmflow",
    "mmhuman3d": "mmhuman3d",
    "mmrotate": "mmrotate",
    "mmselfsup": "mmselfsup",
    "mmyolo": "mmyolo",
    "mmpretrain": "mmpretrain",
    "mmagic": "mmagic",
}


def _close_matches(key: str, names: list[str], n: int) -> list[str]:
    """Names close to ``key``, best first, comparing the parts after the last dot (any case)."""
    by_leaf: dict[str, str] = {}
    for name in names:
        by_leaf.setdefault(name.rpartition(".")[2].lower(), name)
    leaf = key.rpartition(".")[2].lower()
    matches = difflib.get_close_matches(leaf, list(by_leaf), n=n, cutoff=0.6)
    return [by_leaf[match] for match in matches]


def _is_missing_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    missing = exc.name or ""
    return bool(missing) and (module_name == missing or module_name.startswith(missing + "."))


class Registry:
    """A mapping from names to classes or functions that can build objects from configs.

    Args:
        name: Registry name, e.g. ``'model'``.
        build_func: Function building an object from a config. Defaults to the parent's, or
            to :func:`piston.registry.build_from_cfg` for a root registry.
        parent: Parent registry; this registry becomes ``parent.children[scope]``.
        scope: Scope of the registry. Defaults to the top-level package of the module that
            creates it.
        locations: Modules imported on the first lookup so that they register their classes.

    Example:
        >>> MODELS = Registry('model', scope='demo')
        >>> @MODELS.register_module()
        ... class Net:
        ...     pass
        >>> MODELS.get('Net') is Net
        True
    """

    def __init__(
        self,
        name: str,
        build_func: Callable | None = None,
        parent: Registry | None = None,
        scope: str | None = None,
        locations: list = [],  # noqa: B006  (spec'd default; copied below, never mutated)
    ) -> None:
        from .build_functions import build_from_cfg

        self._name = name
        self._module_dict: dict[str, Any] = {}
        self._children: dict[str, Registry] = {}
        self._locations = list(locations or [])
        self._imported = False

        if scope is not None:
            if not isinstance(scope, str):
                raise AssertionError(f"scope must be a str, but got {type(scope)}")
            self._scope = scope
        else:
            self._scope = self.infer_scope()

        self.parent: Registry | None = None
        if parent is not None:
            if not isinstance(parent, Registry):
                raise AssertionError(f"parent must be a Registry, but got {type(parent)}")
            parent._add_child(self)
            self.parent = parent

        if build_func is not None:
            self.build_func = build_func
        elif self.parent is not None:
            self.build_func = self.parent.build_func
        else:
            self.build_func = build_from_cfg

    # ------------------------------------------------------------------ dunder / properties
    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]

    def __repr__(self) -> str:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Registry of {self._name}")
        table.add_column("Names", justify="left", style="cyan")
        table.add_column("Objects", justify="left", style="green")
        for name, obj in sorted(self._module_dict.items()):
            table.add_row(name, str(obj))
        console = Console(width=120, color_system=None, record=True)
        with console.capture() as capture:
            console.print(table, end="")
        return capture.get()

    @property
    def name(self) -> str:
        return self._name

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def module_dict(self) -> dict[str, Any]:
        return self._module_dict

    @property
    def children(self) -> dict[str, Registry]:
        return self._children

    @property
    def root(self) -> Registry:
        return self._get_root_registry()

    # ------------------------------------------------------------------ scope helpers
    @staticmethod
    def infer_scope() -> str:
        """Scope from the top-level package of the module creating the registry.

        Falls back to ``'piston'`` with a warning when the caller is not a module that can be
        found in ``sys.modules`` (an interactive session, ``python -c``, a notebook, code run
        with ``exec`` under a made-up ``__name__``). A script run as ``python train.py`` gives
        ``'__main__'``.
        """
        # frame 0: infer_scope, 1: Registry.__init__ (maybe a subclass's), 2+: the caller.
        frame = sys._getframe(1)
        while (
            frame is not None
            and frame.f_code.co_name == "__init__"
            and (isinstance(frame.f_locals.get("self"), Registry))
        ):
            frame = frame.f_back  # type: ignore[assignment]
        module_name = frame.f_globals.get("__name__") if frame is not None else None
        module = sys.modules.get(module_name) if isinstance(module_name, str) else None
        if module_name == "__main__" and not getattr(module, "__file__", None):
            # Interactive session, `python -c` or a notebook: there is no package to name.
            module = None
        if module is None or not module_name:
            log(
                'set scope as "piston" when scope can not be inferred. You can silence this '
                'warning by passing a "scope" argument to Registry like '
                '`Registry(name, scope="toy")`',
                logging.WARNING,
            )
            return "piston"
        return module_name.split(".")[0]

    @staticmethod
    def split_scope_key(key: str) -> tuple[str | None, str]:
        """Split ``'scope.Name'`` at the first dot; ``'Name'`` gives ``(None, 'Name')``."""
        split_index = key.find(".")
        if split_index != -1:
            return key[:split_index], key[split_index + 1 :]
        return None, key

    def _get_root_registry(self) -> Registry:
        root = self
        while root.parent is not None:
            root = root.parent
        return root

    def _search_child(self, scope: str) -> Registry | None:
        """Depth-first search of this subtree for the registry with ``scope``."""
        if self._scope == scope:
            return self
        for child in self._children.values():
            found = child._search_child(scope)
            if found is not None:
                return found
        return None

    def _add_child(self, registry: Registry) -> None:
        if not isinstance(registry, Registry):
            raise AssertionError(f"child must be a Registry, but got {type(registry)}")
        if registry.scope in self._children:
            raise AssertionError(
                f"scope {registry.scope} exists in {self._name} registry; a registry can have "
                f"only one child per scope"
            )
        self._children[registry.scope] = registry

    @contextmanager
    def switch_scope_and_registry(self, scope: str | None) -> Generator[Registry, None, None]:
        """Temporarily set the default scope and yield the registry of that scope.

        Args:
            scope: Scope to switch to; ``None`` keeps the current default scope.

        Yields:
            The registry in this tree whose scope is the current default scope, or ``self``.
        """
        with DefaultScope.overwrite_default_scope(scope):
            default_scope = DefaultScope.get_current_instance()
            if default_scope is None:
                yield self
                return
            scope_name = default_scope.scope_name
            try:
                import_module(f"{scope_name}.registry")
            except (ImportError, AttributeError):
                if scope_name in MODULE2PACKAGE:
                    log(
                        f"{scope_name} is not installed and its modules will not be "
                        f"registered. To use modules defined in {scope_name}, install it with "
                        f"`pip install {MODULE2PACKAGE[scope_name]}`.",
                        logging.WARNING,
                    )
                else:
                    log(
                        f"Failed to import `{scope_name}.registry`; make sure the registry "
                        f"of scope {scope_name!r} is imported or its modules are registered.",
                        logging.WARNING,
                    )
            registry = self._get_root_registry()._search_child(scope_name)
            if registry is None:
                log(
                    f'Failed to search registry with scope "{scope_name}" in the '
                    f'"{self._name}" registry tree. As a workaround, the current '
                    f'"{self._name}" registry in "{self._scope}" is used to build instance. '
                    f"This may cause unexpected failure when running the built modules. "
                    f"Please check whether {scope_name!r} is a correct scope, or whether "
                    f"the registry is initialized.",
                    logging.WARNING,
                )
                registry = self
            yield registry

    # ------------------------------------------------------------------ lazy import
    def import_from_location(self) -> None:
        """Import the modules in ``locations`` (once) so that they register their classes.

        A location whose module does not exist is skipped (logged at DEBUG level); an error
        raised while importing an existing module propagates.
        """
        if self._imported:
            return
        self._imported = True  # set first: a location may call `get` while it imports
        try:
            if not self._locations and self._scope in MODULE2PACKAGE:
                self._register_openmmlab_modules()
            for location in self._locations:
                try:
                    import_module(location)
                except ModuleNotFoundError as exc:
                    if not _is_missing_module(exc, location):
                        raise
                    log(
                        f"Location {location!r} of the {self._scope}::{self._name} registry "
                        f"does not exist and is skipped.",
                        logging.DEBUG,
                    )
        except BaseException:
            self._imported = False
            raise

    def _register_openmmlab_modules(self) -> None:
        log(
            f'The "{self._name}" registry in {self._scope} did not set import location. '
            f"Fallback to call `{self._scope}.utils.register_all_modules` instead.",
            logging.DEBUG,
        )
        try:
            module = import_module(f"{self._scope}.utils")
        except (ImportError, AttributeError):
            log(
                f"{self._scope} is not installed and its modules will not be registered. "
                f"To use modules defined in {self._scope}, install it with "
                f"`pip install {MODULE2PACKAGE[self._scope]}`.",
                logging.WARNING,
            )
            return
        module.register_all_modules(False)

    # ------------------------------------------------------------------ lookup
    def get(self, key: str) -> Any:
        """Return the class or function registered as ``key`` (``'Name'`` or ``'scope.Name'``).

        Args:
            key: Registered name, optionally prefixed by a scope, or a dotted import path.

        Returns:
            The object, or ``None`` if nothing matches.

        Raises:
            TypeError: If ``key`` is not a str.
            RuntimeError: If importing ``key`` as a dotted path raises.
        """
        if not isinstance(key, str):
            raise TypeError(f"The key argument of `Registry.get` must be a str, got {type(key)}")
        scope, real_key = self.split_scope_key(key)
        self.import_from_location()

        obj = None
        if scope is None or scope == self._scope:
            registry: Registry | None = self
            while registry is not None:
                if registry is not self:
                    registry.import_from_location()
                if real_key in registry._module_dict:
                    obj = registry._module_dict[real_key]
                    break
                if scope is not None:
                    break
                registry = registry.parent
        else:
            try:
                import_module(f"{scope}.registry")
            except Exception:
                pass  # the scope may not be a package; that is fine
            root = self._get_root_registry()
            if scope in self._children:
                obj = self._children[scope].get(real_key)
            elif scope == root._scope or scope in root._children:
                obj = root.get(key)

        if obj is None and "." in key:
            try:
                obj = get_object_from_string(key)
            except Exception as exc:
                raise RuntimeError(f"Failed to get {key}") from exc

        return obj

    def _names_for_hint(self) -> list[str]:
        """Names a lookup of an unscoped key could mean: here, the parents, then the tree.

        Names of registries outside this one's parent chain carry their scope
        (``'mmdet.RetinaNet'``), since that is how such a name must be written.
        """
        names: list[str] = []
        chain: list[Registry] = []
        registry: Registry | None = self
        while registry is not None:
            chain.append(registry)
            names.extend(registry._module_dict)
            registry = registry.parent

        def _visit(node: Registry) -> None:
            if node not in chain:
                names.extend(f"{node._scope}.{name}" for name in node._module_dict)
            for child in node._children.values():
                _visit(child)

        _visit(chain[-1])
        return names

    def closest_names(self, key: str, n: int = 3) -> list[str]:
        """Up to ``n`` names close to ``key``: registered ones, or attributes of a dotted path.

        An unscoped key is compared with the names of this registry, its parents and (scoped)
        the other registries of the tree; ``'scope.Name'`` with the names of that scope's
        registry; ``'package.module.Nme'`` with the attributes of the importable module.
        """
        scope, _ = self.split_scope_key(key)
        if scope is None:
            return _close_matches(key, list(dict.fromkeys(self._names_for_hint())), n)
        target = self._get_root_registry()._search_child(scope)
        if target is not None:
            names = [f"{scope}.{name}" for name in target._names_for_hint()]
            return _close_matches(key, names, n)
        module_name, _, attr = key.rpartition(".")
        try:
            module = import_module(module_name)
        except Exception:
            return []
        names = [f"{module_name}.{name}" for name in dir(module) if not name.startswith("_")]
        return _close_matches(key, names, n) if attr else []

    def build(self, cfg: dict, *args: Any, **kwargs: Any) -> Any:
        """Build an object from ``cfg`` with this registry's ``build_func``."""
        return self.build_func(cfg, *args, **kwargs, registry=self)

    # ------------------------------------------------------------------ registration
    def _register_module(
        self, module: Any, module_name: str | Iterable[str] | None = None, force: bool = False
    ) -> None:
        if not callable(module):
            raise TypeError(f"module must be a class or a function, but got {type(module)}")
        if module_name is None:
            module_name = getattr(module, "__name__", None)
            if module_name is None:
                raise TypeError(f"{module!r} has no __name__; register it with an explicit `name=`")
        names = [module_name] if isinstance(module_name, str) else list(module_name)
        for name in names:
            if not force and name in self._module_dict:
                existing = self._module_dict[name]
                raise KeyError(
                    f"{name} is already registered in {self._name} at "
                    f"{getattr(existing, '__module__', existing)}. Pass `force=True` to "
                    f"override it, or register it under another name."
                )
            self._module_dict[name] = module

    def register_module(
        self,
        name: str | list[str] | None = None,
        force: bool = False,
        module: Any = None,
    ) -> Any:
        """Register a class or function, as a decorator or a direct call.

        Args:
            name: Name(s) to register under; defaults to ``module.__name__``.
            force: Override an existing entry of the same name.
            module: The object to register (call form). ``None`` → return a decorator.

        Example:
            >>> REG = Registry('demo', scope='demo')
            >>> @REG.register_module(name=['A', 'Alias'])
            ... class A:
            ...     pass
            >>> REG.get('Alias') is A
            True
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a boolean, but got {type(force)}")
        if not (name is None or isinstance(name, str) or is_seq_of(name, str)):
            hint = ""
            if callable(name):
                hint = (
                    f". To register {getattr(name, '__name__', name)!r}, call the decorator with "
                    f"parentheses, `@REGISTRY.register_module()`, or pass `module=` (registry "
                    f"{self._scope}::{self._name})"
                )
            raise TypeError(
                f"name must be None, an instance of str, or a sequence of str, but got "
                f"{type(name)}{hint}"
            )
        if module is not None:
            self._register_module(module=module, module_name=name, force=force)
            return module

        def _register(module: Any) -> Any:
            self._register_module(module=module, module_name=name, force=force)
            return module

        return _register
