"""Seeding helpers exported from ``piston.runner``.

``set_random_seed`` seeds every RNG a training run touches (Python, NumPy, torch CPU and every
accelerator) once, off the per-iteration path. ``capture_rng_state``/``restore_rng_state`` are
what exact resume uses: the states travel in checkpoints as plain containers (tuples, lists,
tensors) so ``torch.load(weights_only=True)`` can read them back.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "set_random_seed"]


def set_random_seed(
    seed: int | None = None, deterministic: bool = False, diff_rank_seed: bool = False
) -> int:
    """Seed Python, NumPy, torch and all CUDA devices.

    Args:
        seed: Seed to use. ``None`` draws one with ``sync_random_seed()`` so that every rank
            shares it.
        deterministic: Turn on cuDNN determinism and ``torch.use_deterministic_algorithms``.
        diff_rank_seed: Add the global rank to the seed so ranks draw different numbers.

    Returns:
        The seed actually used.
    """
    from piston.dist import get_rank, sync_random_seed

    if seed is None:
        seed = sync_random_seed()
    if diff_rank_seed:
        seed = seed + get_rank()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        if torch.backends.cudnn.benchmark:
            from piston.logging import print_log

            print_log(
                "torch.backends.cudnn.benchmark is going to be set as `False` to cause "
                "cuDNN to deterministically select an algorithm",
                logger="current",
                level=30,
            )
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)
    return seed


def capture_rng_state() -> dict[str, Any]:
    """Return the current Python, NumPy and torch (CPU and CUDA) RNG states.

    NumPy's state is stored as a plain tuple whose key array is a torch tensor, so the whole
    dict loads with ``torch.load(weights_only=True)``.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (
            kind,
            torch.from_numpy(keys.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore the RNG states captured by :func:`capture_rng_state`.

    The states may come back on a GPU (a checkpoint loaded with ``map_location='cuda'``); the RNG
    setters take host tensors, so every one is moved to the CPU first.
    """
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        keys = keys.cpu().numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
        np.random.set_state((kind, keys.astype(np.uint32), pos, has_gauss, cached))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
