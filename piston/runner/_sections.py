"""Errors raised while building one part of a config say which part.

``building('optim_wrapper')`` adds a note (``while building `optim_wrapper` of the config``) to
any exception raised inside it and records the section on the exception (attribute
``piston_config_section``), so that ``piston train`` can point at the config file and at the
``--cfg-options`` that set that part. The innermost section wins: a dataloader built while its
loop is built is reported as the dataloader. The exception itself (type, message, traceback) is
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SECTION_ATTR", "building", "section_of"]

SECTION_ATTR = "piston_config_section"


@contextmanager
def building(section: str) -> Iterator[None]:
    """Name ``section`` in any exception raised by the block (once: the innermost section)."""
    try:
        yield
    except Exception as err:
        if section_of(err) is None:
            setattr(err, SECTION_ATTR, section)
            note = f"while building `{section}` of the config"
            if hasattr(err, "add_note"):  # Python >= 3.11
                err.add_note(note)
            else:
                err.__notes__ = [*getattr(err, "__notes__", []), note]
        raise


def section_of(err: BaseException) -> str | None:
    """The config section recorded on ``err`` by :func:`building`, if any."""
    return getattr(err, SECTION_ATTR, None)
