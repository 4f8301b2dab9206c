"""``DefaultScope``: the scope whose registries resolve unscoped ``type`` strings.

The Runner creates one per experiment (``default_scope='mmdet'``); building
``dict(type='RetinaNet')`` through any piston root registry then searches mmdet's child first.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Generator
from contextlib import contextmanager

from piston.utils.manager import ManagerMixin, _lock

__all__ = ["DefaultScope"]

_overwrite_counter = itertools.count()


class DefaultScope(ManagerMixin):
    """A named global instance holding the current default scope.

    Args:
        name: Instance name.
        scope_name: The scope, e.g. ``'piston'`` or ``'mmdet'``.

    Example:
        >>> scope = DefaultScope.get_instance('task', scope_name='piston')
        >>> DefaultScope.get_current_instance().scope_name
        'piston'
    """

    def __init__(self, name: str, scope_name: str) -> None:
        super().__init__(name)
        if not isinstance(scope_name, str):
            raise AssertionError(f"scope_name should be a str, but got {type(scope_name)}")
        self._scope_name = scope_name

    @property
    def scope_name(self) -> str:
        """The scope held by this instance."""
        return self._scope_name

    @classmethod
    def get_current_instance(cls) -> DefaultScope | None:  # type: ignore[override]
        """The most recently created instance, or ``None`` when there is none."""
        with _lock:
            if not cls._instance_dict:
                return None
            return super().get_current_instance()

    @classmethod
    @contextmanager
    def overwrite_default_scope(cls, scope_name: str | None) -> Generator[None, None, None]:
        """Make ``scope_name`` the current default scope inside the ``with`` block.

        ``None`` leaves everything unchanged. On exit the instances are restored exactly as
        they were before the block.
        """
        if scope_name is None:
            yield
            return
        with _lock:
            snapshot = cls._instance_dict.copy()
            name = f"overwrite-{time.time()}-{next(_overwrite_counter)}"
            cls.get_instance(name, scope_name=scope_name)
        try:
            yield
        finally:
            with _lock:
                cls._instance_dict.clear()
                cls._instance_dict.update(snapshot)
