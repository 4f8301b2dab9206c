"""``get_metric_value``: find one metric in an evaluation result by (short) name."""

from __future__ import annotations

from typing import Any

__all__ = ["get_metric_value"]


def get_metric_value(indicator: str, metrics: dict) -> Any:
    """Return ``metrics[indicator]``, matching a bare name against the last ``/`` part.

    Args:
        indicator: ``'accuracy'`` matches ``'val/accuracy'``; ``'val/accuracy'`` must match
            exactly.
        metrics: Evaluation results.

    Raises:
        ValueError: No key or several keys match.
    """
    if "/" in indicator:
        if indicator in metrics:
            return metrics[indicator]
        raise ValueError(
            f'The indicator "{indicator}" can not match any metric in {list(metrics.keys())}'
        )
    matched = [key for key in metrics if key.split("/")[-1] == indicator]
    if not matched:
        raise ValueError(
            f'The indicator "{indicator}" can not match any metric in {list(metrics.keys())}'
        )
    if len(matched) > 1:
        raise ValueError(
            f'The indicator "{indicator}" is ambiguous as it matches multiple metrics '
            f"{matched}; give the full name with its prefix."
        )
    return metrics[matched[0]]
