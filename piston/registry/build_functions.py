"""Build functions: turn ``dict(type=..., **kwargs)`` configs into objects.

Design: this is the edge where configs become objects, so it reports problems well. An unknown
``type`` names the registry, the scope searched and the closest registered names; an error
raised while constructing an object is re-raised with the same exception type and a prefix
naming the class and its module. The caller's config is never mutated.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import logging
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from piston.utils._log import log
from piston.utils.manager import ManagerMixin

if TYPE_CHECKING:
    from .registry import Registry

__all__ = [
    "build_from_cfg",
    "build_model_from_cfg",
    "build_optimizer_from_cfg",
    "build_runner_from_cfg",
    "build_scheduler_from_cfg",
]


def _is_config(cfg: Any) -> bool:
    """Whether ``cfg`` is a ``piston.config.Config`` (or a subclass), without importing it."""
    config_module = sys.modules.get("piston.config")
    config_cls = getattr(config_module, "Config", None)
    return isinstance(config_cls, type) and isinstance(cfg, config_cls)


def _as_mapping(cfg: Any) -> Any:
    """A ``Config`` is not a Mapping itself: use the ConfigDict it wraps."""
    if isinstance(cfg, Mapping):
        return cfg
    if _is_config(cfg):
        inner = getattr(cfg, "_cfg_dict", None)
        return inner if isinstance(inner, Mapping) else cfg.to_dict()
    return cfg


def _shallow_copy(cfg: Any) -> Any:
    """Copy ``cfg`` keeping its type; a ``Config`` also gets its own top-level dict."""
    if isinstance(cfg, Mapping):
        return cfg.copy()
    args = copy.copy(cfg)
    inner = getattr(cfg, "_cfg_dict", None)
    if isinstance(inner, Mapping):
        object.__setattr__(args, "_cfg_dict", inner.copy())
    return args


def _check_cfg(cfg: Any, registry: Any, default_args: Any) -> None:
    from .registry import Registry

    if not isinstance(cfg, Mapping):
        raise TypeError(f"cfg should be a dict, ConfigDict or Config, but got {type(cfg)}")
    if not isinstance(registry, Registry):
        raise TypeError(f"registry must be a piston.Registry object, but got {type(registry)}")
    if not (default_args is None or isinstance(default_args, Mapping)):
        raise TypeError(
            f"default_args should be a dict, ConfigDict, Config or None, but got "
            f"{type(default_args)}"
        )
    if "type" not in cfg and (default_args is None or "type" not in default_args):
        typo = difflib.get_close_matches("type", [k for k in cfg if isinstance(k, str)], 1, 0.5)
        hint = f" (Is the key {typo[0]!r} a misspelt 'type'?)" if typo else ""
        raise KeyError(
            f'`cfg` or `default_args` must contain the key "type", but got {dict(cfg)} '
            f"(default_args: {None if default_args is None else dict(default_args)}). Add "
            f"type='<registered name>' to this config of the {registry.scope}::{registry.name} "
            f"registry.{hint}"
        )


def _merge_args(cfg: Mapping, default_args: Mapping | None) -> dict:
    args = dict(cfg)  # shallow copy: nested values are passed through, never mutated here
    if default_args is not None:
        for key, value in default_args.items():
            args.setdefault(key, value)
    return args


def _scope_hint(obj_type: str, registry: Registry) -> str:
    """Why a ``'scope.Name'`` type may not resolve: its package is missing or unknown."""
    import importlib.util

    from .registry import MODULE2PACKAGE

    scope, _ = registry.split_scope_key(obj_type)
    if scope is None or registry.root._search_child(scope) is not None:
        return ""
    try:
        installed = importlib.util.find_spec(scope) is not None
    except (ImportError, ValueError):
        installed = False
    if installed:
        return ""
    if scope in MODULE2PACKAGE:
        return f" {scope} is not installed: pip install {MODULE2PACKAGE[scope]}."
    return f" {scope!r} is neither the scope of a registry in this tree nor an importable module."


def _unknown_type_error(obj_type: str, registry: Registry) -> KeyError:
    hint = _scope_hint(obj_type, registry)
    closest = registry.closest_names(obj_type)
    if closest:
        hint += f" Did you mean {', '.join(repr(name) for name in closest)}?"
    return KeyError(
        f"{obj_type} is not in the {registry.scope}::{registry.name} registry. Please check "
        f"whether the value of `{obj_type}` is correct or it was registered as expected "
        f"(the module defining it must be imported, e.g. through `custom_imports`).{hint}"
    )


def _resolve_type(obj_type: Any, registry: Registry) -> Any:
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise _unknown_type_error(obj_type, registry)
        return obj_cls
    if callable(obj_type):
        return obj_type
    raise TypeError(f"type must be a str or valid type, but got {type(obj_type)}")


def _where(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or "<unknown>"
    return "/".join(module.split(".")) + ".py"


def _reraise_with_context(exc: Exception, obj_cls: Any) -> None:
    """Re-raise ``exc`` as the same type with the failing class named in front of it.

    Exception types whose constructor does not take a single message keep their identity and
    get the context as a note instead.
    """
    kind = "class" if inspect.isclass(obj_cls) else "function"
    detail = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc
    if isinstance(exc, TypeError):
        detail = f"{detail}{_argument_hint(exc, obj_cls)}"
    message = f"{kind} `{getattr(obj_cls, '__name__', obj_cls)}` in {_where(obj_cls)}: {detail}"
    new_exc = None
    if len(exc.args) <= 1:  # e.g. OSError(errno, strerror, filename) keeps its fields
        try:
            new_exc = type(exc)(message)
        except Exception:
            new_exc = None
    if new_exc is None or new_exc.args != (message,):
        exc.add_note(message)
        raise exc
    raise new_exc.with_traceback(exc.__traceback__) from None


_UNEXPECTED_RE = re.compile(r"unexpected keyword argument '(\w+)'")


def _argument_hint(exc: TypeError, obj_cls: Any) -> str:
    """For ``unexpected keyword argument 'x'`` raised by ``obj_cls`` itself: what it accepts."""
    match = _UNEXPECTED_RE.search(str(exc))
    if match is None:
        return ""
    try:
        params = inspect.signature(obj_cls).parameters
    except (TypeError, ValueError):
        return ""
    name = match.group(1)
    kinds = {p.kind for p in params.values()}
    if name in params or inspect.Parameter.VAR_KEYWORD in kinds:
        return ""  # raised by something the object called, not by its own signature
    accepted = [
        p.name
        for p in params.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    ]
    close = difflib.get_close_matches(name, accepted, 1, 0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f".{hint} Accepted arguments: {', '.join(accepted) or 'none'}"


def _call(obj_cls: Any, args: dict) -> Any:
    try:
        if inspect.isclass(obj_cls) and issubclass(obj_cls, ManagerMixin):
            return obj_cls.get_instance(**args)
        return obj_cls(**args)
    except Exception as exc:
        _reraise_with_context(exc, obj_cls)
        raise  # unreachable: keeps type checkers happy


def build_from_cfg(cfg: Mapping, registry: Registry, default_args: Mapping | None = None) -> Any:
    """Build an object from a config dict.

    Args:
        cfg: Config with a ``type`` key: a registered name (``'scope.Name'`` allowed), a
            dotted import path, a class or a function. Other keys are passed as kwargs;
            ``_scope_`` switches the default scope while building.
        registry: Registry to look ``type`` up in.
        default_args: Defaults for missing keys of ``cfg``.

    Returns:
        The built object; a registered function is called and its result returned; a
        ``ManagerMixin`` class is built with ``get_instance``.

    Raises:
        TypeError: Bad ``cfg``/``registry``/``default_args``/``type``.
        KeyError: No ``type``, or ``type`` not registered (the message names the registry,
            the scope and the closest names).
    """
    cfg, default_args = _as_mapping(cfg), _as_mapping(default_args)
    _check_cfg(cfg, registry, default_args)
    args = _merge_args(cfg, default_args)
    scope = args.pop("_scope_", None)
    with registry.switch_scope_and_registry(scope) as registry:
        obj_type = args.pop("type")
        obj_cls = _resolve_type(obj_type, registry)
        obj = _call(obj_cls, args)
        log(
            f"An `{getattr(obj_cls, '__name__', obj_cls)}` instance is built from registry, "
            f"and its implementation can be found in {getattr(obj_cls, '__module__', '?')}",
            logging.DEBUG,
        )
        return obj


def build_model_from_cfg(
    cfg: Mapping | list, registry: Registry, default_args: Mapping | None = None
) -> Any:
    """Build a model; a list of configs becomes a ``piston.model.Sequential`` of them."""
    if isinstance(cfg, list):
        from piston.model import Sequential

        return Sequential(*(build_from_cfg(item, registry, default_args) for item in cfg))
    return build_from_cfg(cfg, registry, default_args)


def build_runner_from_cfg(cfg: Mapping, registry: Registry) -> Any:
    """Build a runner with ``runner_cls.from_cfg(cfg)``; class from ``cfg.runner_type``."""
    from .registry import Registry

    if not (isinstance(cfg, Mapping) or isinstance(_as_mapping(cfg), Mapping)):
        raise TypeError(f"cfg should be a dict, ConfigDict or Config, but got {type(cfg)}")
    if not isinstance(registry, Registry):
        raise TypeError(f"registry must be a piston.Registry object, but got {type(registry)}")
    args = _shallow_copy(cfg)
    scope = args.pop("_scope_", None)
    with registry.switch_scope_and_registry(scope) as registry:
        runner_type = args.get("runner_type", "Runner")
        runner_cls = _resolve_type(runner_type, registry)
        try:
            runner = runner_cls.from_cfg(args)
        except Exception as exc:
            _reraise_with_context(exc, runner_cls)
            raise
        log(
            f"An `{runner_cls.__name__}` instance is built from registry, its implementation "
            f"can be found in {runner_cls.__module__}",
            logging.DEBUG,
        )
        return runner


def build_scheduler_from_cfg(
    cfg: Mapping, registry: Registry, default_args: Mapping | None = None
) -> Any:
    """Build a parameter scheduler; ``convert_to_iter_based=True`` converts epochs to iters.

    ``default_args`` carries ``optimizer`` and ``epoch_length`` from the runner.
    """
    cfg, default_args = _as_mapping(cfg), _as_mapping(default_args)
    _check_cfg(cfg, registry, default_args)
    args = _merge_args(cfg, default_args)
    scope = args.pop("_scope_", None)
    with registry.switch_scope_and_registry(scope) as registry:
        convert_to_iter = args.pop("convert_to_iter_based", False)
        if convert_to_iter:
            if not args.get("by_epoch", True):
                raise AssertionError(
                    "Only epoch-based parameter schedulers can be converted to iter-based "
                    f"(convert_to_iter_based=True needs by_epoch=True), got {dict(cfg)}"
                )
            if args.get("epoch_length") is None:
                raise AssertionError(
                    "`epoch_length` must be given to convert an epoch-based scheduler to "
                    f"iter-based, got {dict(cfg)}"
                )
            scheduler_cls = _resolve_type(args.pop("type"), registry)
            try:
                return scheduler_cls.build_iter_from_epoch(**args)
            except Exception as exc:
                _reraise_with_context(exc, scheduler_cls)
                raise
        args.pop("epoch_length", None)
        return build_from_cfg(args, registry)


def _torch_at_least(major: int, minor: int) -> bool:
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    from piston.utils.version_utils import digit_version

    return digit_version(torch.__version__)[:2] >= (major, minor)


def build_optimizer_from_cfg(
    cfg: Mapping, registry: Registry, default_args: Mapping | None = None
) -> Any:
    """Same as :func:`build_from_cfg`, with a note on torch's ``Adafactor`` name."""
    if isinstance(cfg, Mapping) and cfg.get("type") == "Adafactor" and _torch_at_least(2, 5):
        log(
            "`type='Adafactor'` refers to the transformers implementation when installed; "
            "torch's own is registered as `TorchAdafactor`.",
            logging.INFO,
        )
    try:
        return build_from_cfg(cfg, registry, default_args)
    except KeyError as err:
        name = cfg.get("type") if isinstance(cfg, Mapping) else None
        if not isinstance(name, str):
            raise
        from piston.optim.optimizer.builder import optional_optimizer_hint

        hint = optional_optimizer_hint(name)
        if hint is None:
            raise
        raise KeyError(f"{name} is not in the optimizer registry. {hint}") from err
