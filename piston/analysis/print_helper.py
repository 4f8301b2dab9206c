"""Human-readable reports: parameter counts, complexity tables and annotated model reprs."""

from __future__ import annotations

from collections import defaultdict

from torch import nn

from .jit_analysis import ActivationAnalyzer, FlopAnalyzer

__all__ = [
    "complexity_stats_str",
    "complexity_stats_table",
    "parameter_count",
    "parameter_count_table",
]


def parameter_count(model: nn.Module) -> defaultdict[str, int]:
    """Number of parameters per module prefix; ``''`` holds the total.

    Example:
        >>> parameter_count(nn.Linear(2, 3))['']
        9
    """
    result: defaultdict[str, int] = defaultdict(int)
    for name, param in model.named_parameters():
        size = param.numel()
        parts = name.split(".")
        for depth in range(len(parts) + 1):
            result[".".join(parts[:depth])] += size
    return result


def _format_size(x: float, sig_figs: int = 3, hide_zero: bool = False) -> str:
    """``1234567 -> '1.23M'`` with K/M/G/T/P suffixes and ``sig_figs`` significant figures."""
    if hide_zero and x == 0:
        return ""

    def fmt(value: float) -> str:
        return f"{value:.{sig_figs}g}"

    for threshold, divisor, suffix in (
        (1e14, 1e15, "P"),
        (1e11, 1e12, "T"),
        (1e8, 1e9, "G"),
        (1e5, 1e6, "M"),
        (1e2, 1e3, "K"),
    ):
        if abs(x) > threshold:
            return fmt(x / divisor) + suffix
    return str(x)


def _render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"]
    lines.append("|" + "|".join(":" + "-" * (w + 1) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


def _walk(model: nn.Module, max_depth: int) -> list[tuple[str, int]]:
    """Module names (depth-first) up to ``max_depth`` levels below the root."""
    names = []
    for name, _ in model.named_modules():
        depth = 0 if name == "" else name.count(".") + 1
        if depth <= max_depth:
            names.append((name, depth))
    return names


def parameter_count_table(model: nn.Module, max_depth: int = 3) -> str:
    """A table of parameter counts per module (and shapes of leaf parameters)."""
    counts = parameter_count(model)
    shapes = {name: tuple(param.shape) for name, param in model.named_parameters()}
    rows: list[list[str]] = []
    for name, depth in _walk(model, max_depth):
        if counts.get(name, 0) == 0:
            continue
        rows.append([" " * depth + (name or "model"), _format_size(counts[name])])
        prefix = f"{name}." if name else ""
        for param_name, shape in shapes.items():
            rest = param_name[len(prefix) :] if param_name.startswith(prefix) else None
            if rest is not None and "." not in rest and depth + 1 <= max_depth:
                rows.append([" " * (depth + 1) + param_name, str(shape)])
    return _render_table(["name", "#elements or shape"], rows)


def complexity_stats_table(
    flops: FlopAnalyzer,
    max_depth: int = 3,
    activations: ActivationAnalyzer | None = None,
    show_param_shapes: bool = True,
) -> str:
    """A table of parameters, FLOPs (and activations) per module up to ``max_depth``."""
    model: nn.Module = flops._model
    params = parameter_count(model)
    flop_counts = flops.by_module()
    act_counts = activations.by_module() if activations is not None else None
    shapes = {name: tuple(param.shape) for name, param in model.named_parameters()}
    headers = ["module", "#parameters or shape", "#flops"]
    if act_counts is not None:
        headers.append("#activations")
    rows: list[list[str]] = []
    for name, depth in _walk(model, max_depth):
        if params.get(name, 0) == 0 and flop_counts.get(name, 0) == 0:
            continue
        row = [
            " " * depth + (name or "model"),
            _format_size(params.get(name, 0)),
            _format_size(flop_counts.get(name, 0), hide_zero=True),
        ]
        if act_counts is not None:
            row.append(_format_size(act_counts.get(name, 0), hide_zero=True))
        rows.append(row)
        if show_param_shapes and depth + 1 <= max_depth:
            prefix = f"{name}." if name else ""
            for param_name, shape in shapes.items():
                rest = param_name[len(prefix) :] if param_name.startswith(prefix) else None
                if rest is not None and "." not in rest:
                    extra = [""] * (len(headers) - 2)
                    rows.append([" " * (depth + 1) + rest, str(shape), *extra])
    return _render_table(headers, rows)


def complexity_stats_str(flops: FlopAnalyzer, activations: ActivationAnalyzer | None = None) -> str:
    """The model's repr with ``#params``, ``#flops`` (and ``#acts``) added to every module."""
    model: nn.Module = flops._model
    params = parameter_count(model)
    flop_counts = flops.by_module()
    act_counts = activations.by_module() if activations is not None else None
    names = {module: name for name, module in model.named_modules()}

    def stats(name: str) -> str:
        parts = [
            f"#params: {_format_size(params.get(name, 0))}",
            f"#flops: {_format_size(flop_counts.get(name, 0))}",
        ]
        if act_counts is not None:
            parts.append(f"#acts: {_format_size(act_counts.get(name, 0))}")
        return ", ".join(parts)

    def render(module: nn.Module) -> str:
        name = names.get(module, "")
        extra = module.extra_repr()
        child_lines = []
        for child_name, child in module.named_children():
            child_repr = render(child).replace("\n", "\n  ")
            child_lines.append(f"({child_name}): {child_repr}")
        head = f"{type(module).__name__}(\n  {stats(name)}"
        lines = []
        if extra:
            lines.extend(extra.split("\n"))
        lines.extend(child_lines)
        body = "".join(f"\n  {line}" for line in lines)
        return f"{head}{body}\n)"

    return render(model)
