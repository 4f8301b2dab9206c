"""Logging core: ``MMLogger``, ``print_log``, ``MessageHub`` and ``HistoryBuffer``.

Importing this package does not import torch; tensors logged to ``MessageHub`` are recognised
lazily (see ``history_buffer``).
"""

from __future__ import annotations

from piston.logging.history_buffer import HistoryBuffer
from piston.logging.logger import MMLogger, print_log
from piston.logging.message_hub import MessageHub

__all__ = ["HistoryBuffer", "MMLogger", "MessageHub", "print_log"]
