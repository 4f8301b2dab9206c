"""``HistoryBuffer.mean`` over a window is numpy's ``sum(values) / sum(counts)``, exactly."""

from __future__ import annotations

import random

import numpy as np

from piston.logging import HistoryBuffer


def test_windowed_mean_matches_numpy_exactly() -> None:
    rng = random.Random(1)
    for _ in range(300):
        buf = HistoryBuffer()
        n = rng.randint(1, 300)
        window = rng.randint(1, n)
        values = [rng.uniform(-5, 5) for _ in range(n)]
        counts = [rng.randint(1, 4) for _ in range(n)]
        for value, count in zip(values, counts):
            buf.update(value, count)
        sums = np.array([values[-window:], [float(c) for c in counts[-window:]]]).sum(axis=1)
        mean = buf.mean(window)
        assert type(mean) is np.float64
        assert mean == sums[0] / sums[1]


def test_windowed_mean_of_zero_counts_keeps_numpy_semantics() -> None:
    buf = HistoryBuffer()
    buf.update(1.0, 0)
    buf.update(2.0, 0)
    with np.errstate(all="ignore"):
        assert np.isinf(buf.mean(2))  # 3 / 0 -> inf, as numpy (no ZeroDivisionError)
