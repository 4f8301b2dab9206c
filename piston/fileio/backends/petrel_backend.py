"""MMEngine-style module path ``piston.fileio.backends.petrel_backend`` (the class lives in ``optional``)."""

from __future__ import annotations

from .optional import PetrelBackend

__all__ = ["PetrelBackend"]
