from __future__ import annotations

__version__ = "0.1.0"
version_info = (0, 1, 0)

