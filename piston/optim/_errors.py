"""Argument errors shared by the optim package.

MMEngine checks several optimizer and scheduler arguments with ``assert``, so code written for it
may catch ``AssertionError``; piston's style guide asks for ``ValueError`` on user mistakes. An
:class:`OptimArgumentError` is both, so either ``except`` clause keeps working and the check
survives ``python -O``.
"""

from __future__ import annotations

__all__ = ["OptimArgumentError", "OptimTypeError"]


class OptimArgumentError(ValueError, AssertionError):
    """A bad optimizer, wrapper or scheduler argument (a ``ValueError`` and an ``AssertionError``)."""


class OptimTypeError(TypeError, AssertionError):
    """An argument of the wrong type where MMEngine asserts (a ``TypeError`` and an ``AssertionError``)."""
