"""piston.evaluator: Evaluator, BaseMetric, DumpResults, get_metric_value.

Importing this package registers ``Evaluator`` in EVALUATOR and ``DumpResults`` in METRICS.
"""

from __future__ import annotations

from .evaluator import Evaluator
from .metric import BaseMetric, DumpResults
from .utils import get_metric_value

__all__ = ["BaseMetric", "DumpResults", "Evaluator", "get_metric_value"]
