"""Hook priorities.

A hook's priority is an int in ``[0, 100]``; lower values run first. The named levels of
:class:`Priority` are the ones configs use as strings (``priority='VERY_HIGH'``), and
:func:`get_priority` is the single place where an int, a name or an enum member becomes an int.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Priority", "get_priority"]


class Priority(Enum):
    """Named hook priority levels (lower value runs first)."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: int | str | Priority) -> int:
    """Turn a priority given as an int, a level name or a :class:`Priority` into an int.

    Args:
        priority: An int in ``[0, 100]``, a level name (case-insensitive, e.g. ``'normal'``)
            or a :class:`Priority` member.

    Returns:
        The priority value.

    Raises:
        ValueError: An int outside ``[0, 100]``.
        KeyError: A string that names no level.
        TypeError: Any other type.

    Example:
        >>> get_priority('very_high')
        10
    """
    if isinstance(priority, bool):
        raise TypeError(f"priority must be an int, str or Priority, but got a bool: {priority!r}.")
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(
                f"priority must be between 0 and 100, but got {priority}. "
                "Lower values run first; use e.g. 50 (NORMAL)."
            )
        return priority
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, str):
        try:
            return Priority[priority.upper()].value
        except KeyError:
            names = ", ".join(p.name for p in Priority)
            raise KeyError(f"Unknown priority name {priority!r}; choose one of {names}.") from None
    raise TypeError(
        f"priority must be an int, str or Priority, but got {type(priority).__name__}: "
        f"{priority!r}."
    )
