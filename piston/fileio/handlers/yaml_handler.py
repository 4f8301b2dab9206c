"""YAML handler on PyYAML (C loader/dumper when available). PyYAML is imported on first use."""

from __future__ import annotations

from typing import Any

from .base import BaseFileHandler


def _loader_dumper() -> tuple[type, type]:
    import yaml

    try:
        return yaml.CLoader, yaml.CDumper
    except AttributeError:
        return yaml.Loader, yaml.Dumper


class YamlHandler(BaseFileHandler):
    """YAML format: full (non-safe) ``Loader``; ``Dumper`` with PyYAML's defaults."""

    def load_from_fileobj(self, file: Any, **kwargs: Any) -> Any:
        """``yaml.load`` with the full loader."""
        import yaml

        kwargs.setdefault("Loader", _loader_dumper()[0])
        return yaml.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: Any, **kwargs: Any) -> None:
        """``yaml.dump`` into ``file``."""
        import yaml

        kwargs.setdefault("Dumper", _loader_dumper()[1])
        yaml.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        """``yaml.dump`` to a string."""
        import yaml

        kwargs.setdefault("Dumper", _loader_dumper()[1])
        return yaml.dump(obj, **kwargs)
