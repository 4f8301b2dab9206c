"""``set_random_seed``: seed every RNG piston and PyTorch use, optionally deterministically."""

from __future__ import annotations

import logging
import os
import random

import numpy as np
import torch

from piston.utils._log import log

__all__ = ["set_random_seed"]


def set_random_seed(
    seed: int | None = None, deterministic: bool = False, diff_rank_seed: bool = False
) -> int:
    """Seed ``random``, NumPy, torch and every CUDA (or MUSA) device.

    Args:
        seed: The seed. ``None`` draws one with ``piston.dist.sync_random_seed`` (identical on
            all ranks).
        deterministic: Also make cuDNN deterministic (``benchmark=False``) and turn on
            ``torch.use_deterministic_algorithms``.
        diff_rank_seed: Add the rank to the seed, so every process gets a different stream.

    Returns:
        The seed actually used.
    """
    if seed is None:
        from piston.dist import sync_random_seed

        seed = sync_random_seed()
    if diff_rank_seed:
        from piston.dist import get_rank

        seed += get_rank()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    musa = getattr(torch, "musa", None)
    if musa is not None and getattr(musa, "is_available", lambda: False)():
        musa.manual_seed_all(seed)
    if deterministic:
        if torch.backends.cudnn.benchmark:
            log(
                "torch.backends.cudnn.benchmark is going to be set as `False` to cause cuDNN "
                "to deterministically select an algorithm",
                logging.WARNING,
            )
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        # Deterministic cuBLAS needs a fixed workspace; respect a value set by the user.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    return seed
