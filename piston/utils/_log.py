"""Log through ``piston.logging.print_log`` when it is importable, else through stdlib logging.

Foundation modules (registry, utils) sit below ``piston.logging`` in the import graph, so they
import it lazily, on the first message only.
"""

from __future__ import annotations

import logging

__all__ = ["log"]


def log(msg: str, level: int = logging.INFO) -> None:
    """Emit ``msg`` at ``level`` through the current ``MMLogger`` (or the ``piston`` logger)."""
    try:
        from piston.logging import print_log
    except ImportError:
        logging.getLogger("piston").log(level, msg)
        return
    print_log(msg, logger="current", level=level)
