"""Model complexity analysis: FLOPs, activations and parameter counts."""

from __future__ import annotations

from .complexity_analysis import activation_count, flop_count, get_model_complexity_info
from .jit_analysis import ActivationAnalyzer, FlopAnalyzer, JitModelAnalysis
from .print_helper import (
    complexity_stats_str,
    complexity_stats_table,
    parameter_count,
    parameter_count_table,
)

__all__ = [
    "ActivationAnalyzer",
    "FlopAnalyzer",
    "JitModelAnalysis",
    "activation_count",
    "complexity_stats_str",
    "complexity_stats_table",
    "flop_count",
    "get_model_complexity_info",
    "parameter_count",
    "parameter_count_table",
]
