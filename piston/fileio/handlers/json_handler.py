"""JSON handler: sets, ranges and numpy values are converted to JSON types."""

from __future__ import annotations

import json
from typing import Any

from .base import BaseFileHandler


def set_default(obj: Any) -> Any:
    """``json`` default converter: set/range → list, ndarray → list, numpy scalar → scalar."""
    if isinstance(obj, (set, range)):
        return list(obj)
    if type(obj).__module__ == "numpy":
        import numpy as np

        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
    raise TypeError(f"{type(obj)} is unsupported for json dump")


class JsonHandler(BaseFileHandler):
    """JSON format."""

    def load_from_fileobj(self, file: Any, **kwargs: Any) -> Any:
        """``json.load``."""
        return json.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: Any, **kwargs: Any) -> None:
        """``json.dump`` with :func:`set_default`."""
        kwargs.setdefault("default", set_default)
        json.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        """``json.dumps`` with :func:`set_default`."""
        kwargs.setdefault("default", set_default)
        return json.dumps(obj, **kwargs)
