"""``HistoryBuffer.mean`` over a window sums in Python, in numpy's order: bit-identical."""

from __future__ import annotations

import math
import random

import numpy as np

from piston.logging import HistoryBuffer
from piston.logging.history_buffer import _pairwise_sum


def _same(a: float, b: float) -> bool:
    if a != a:  # nan
        return b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_pairwise_sum_is_bit_identical_to_numpy() -> None:
    rng = random.Random(0)
    for _ in range(3000):
        n = rng.randint(1, 600)  # the sequential, blocked and recursive cases
        values = [rng.uniform(-1, 1) * 10 ** rng.randint(-12, 12) for _ in range(n)]
        assert _same(_pairwise_sum(values), float(np.array(values).sum()))


def test_pairwise_sum_edge_values() -> None:
    inf, nan = float("inf"), float("nan")
    for values in (
        [-0.0],
        [-0.0] * 9,
        [-0.0] * 200,
        [0.0, -0.0],
        [inf, 1.0],
        [inf, -inf] * 5,
        [nan, 1.0],
        [1e308] * 12,
    ):
        with np.errstate(all="ignore"):
            expected = float(np.array(values).sum())
        assert _same(_pairwise_sum(values), expected)


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
