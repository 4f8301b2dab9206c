"""Global named instances shared across a process (``MMLogger``, ``MessageHub``, ...).

Design: every class created by :class:`ManagerMeta` owns an ordered ``_instance_dict``
(name -> instance). Creation goes through one process-wide re-entrant lock, so threads asking
for the same name get one instance. The metaclass also remembers every class it created, which
lets the test suite drop all instances at once with :func:`_reset_all_instances`.
"""

from __future__ import annotations

import inspect
import threading
import warnings
import weakref
from collections import OrderedDict
from typing import Any, TypeVar

__all__ = ["ManagerMeta", "ManagerMixin"]

_lock = threading.RLock()
_T = TypeVar("_T", bound="ManagerMixin")

# Every class built by ManagerMeta, so that instances can be reset globally.
_managed_classes: weakref.WeakSet[type] = weakref.WeakSet()


def _accepts_name(cls: type) -> bool:
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # builtin __init__ without a signature
        return False
    param = params.get("name")
    return param is not None and param.kind not in (
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
    )


class ManagerMeta(type):
    """Metaclass giving each class its own ordered registry of named instances.

    Raises:
        AssertionError: At class creation, if ``__init__`` has no ``name`` argument.
    """

    def __init__(cls, *args: Any) -> None:
        super().__init__(*args)
        cls._instance_dict = OrderedDict()
        if not _accepts_name(cls):
            raise AssertionError(
                f"{cls.__name__}.__init__ must accept a `name` argument, because "
                f"{cls.__name__} uses ManagerMeta and instances are created with "
                f"{cls.__name__}.get_instance(name, **kwargs)."
            )
        _managed_classes.add(cls)


class ManagerMixin(metaclass=ManagerMeta):
    """Mixin for classes whose instances are fetched globally by name.

    Args:
        name: Name of the instance; a non-empty string.

    Example:
        >>> class Hub(ManagerMixin):
        ...     def __init__(self, name):
        ...         super().__init__(name)
        >>> Hub.get_instance('a') is Hub.get_instance('a')
        True
    """

    def __init__(self, name: str = "", **kwargs: Any) -> None:
        if not (isinstance(name, str) and name):
            raise AssertionError(
                f"name of {type(self).__name__} must be a non-empty str, but got {name!r}"
            )
        self._instance_name = name

    @classmethod
    def get_instance(cls: type[_T], name: str, **kwargs: Any) -> _T:
        """Return the instance called ``name``, creating it with ``cls(name=name, **kwargs)``.

        If it already exists, ``kwargs`` are ignored with a warning.
        """
        with _lock:
            instance_dict = cls._instance_dict
            if name not in instance_dict:
                instance_dict[name] = cls(name=name, **kwargs)
            elif kwargs:
                warnings.warn(
                    f"{cls.__name__} instance named {name!r} has already been created; "
                    f"the arguments {sorted(kwargs)} are ignored.",
                    stacklevel=2,
                )
            return instance_dict[name]

    @classmethod
    def get_current_instance(cls: type[_T]) -> _T:
        """Return the most recently created instance.

        Raises:
            RuntimeError: If no instance has been created with ``get_instance``.
        """
        with _lock:
            if not cls._instance_dict:
                raise RuntimeError(
                    f"Before calling {cls.__name__}.get_current_instance(), create an "
                    f"instance with {cls.__name__}.get_instance(name, ...)."
                )
            return next(reversed(cls._instance_dict.values()))

    @classmethod
    def check_instance_created(cls, name: str) -> bool:
        """Whether an instance called ``name`` exists."""
        return name in cls._instance_dict

    @property
    def instance_name(self) -> str:
        """Name given to this instance at creation."""
        return self._instance_name


def _reset_all_instances() -> None:
    """Drop every instance of every ManagerMixin class (used by the test suite).

    An instance whose class defines ``_on_reset()`` (e.g. a logger closing its file handlers)
    gets that call before it is dropped. Errors in ``_on_reset`` are reported as warnings.
    """
    with _lock:
        instances: dict[int, Any] = {}  # one instance may sit in several classes' dicts
        for cls in list(_managed_classes):
            instance_dict = cls.__dict__.get("_instance_dict")
            if instance_dict is None:
                continue
            for instance in instance_dict.values():
                instances.setdefault(id(instance), instance)
            instance_dict.clear()
        for instance in instances.values():
            on_reset = getattr(instance, "_on_reset", None)
            if callable(on_reset):
                try:
                    on_reset()
                except Exception as exc:
                    warnings.warn(
                        f"{type(instance).__name__}._on_reset() failed: {exc!r}", stacklevel=2
                    )
