"""Overhead of ``OptimWrapper.update_params`` against a hand-written training step.

A (hand-written): ``loss.backward(); optimizer.step(); optimizer.zero_grad()``.
B (piston):       ``optim_wrapper.update_params(loss)``.

Both train identical copies of a small MLP on the same batches. Within one process the two
variants alternate step by step (A B, then B A, ...), so that drift in machine load hits both
equally, over several rounds. Each round prints the median per-step time of A and of B; the
result is the MEDIAN over rounds of the B/A ratio (target: within 2 %).

Usage::

    python benchmarks/optim_step.py [--rounds 15] [--steps 200] [--device cpu|cuda]
        [--width 256] [--clip-grad] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from piston.optim import OptimWrapper


def _model(width: int, device: str) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, 10),
    ).to(device)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


Step = Callable[[torch.Tensor, torch.Tensor], None]


def _timed(step: Step, x: torch.Tensor, y: torch.Tensor, device: str) -> float:
    _sync(device)
    start = time.perf_counter()
    step(x, y)
    _sync(device)
    return time.perf_counter() - start


def _round(step_a: Step, step_b: Step, batches: list, device: str) -> tuple[float, float]:
    """Median seconds per step of A and of B, interleaved step by step."""
    times_a, times_b = [], []
    for i, (x, y) in enumerate(batches):
        if i % 2 == 0:
            times_a.append(_timed(step_a, x, y, device))
            times_b.append(_timed(step_b, x, y, device))
        else:
            times_b.append(_timed(step_b, x, y, device))
            times_a.append(_timed(step_a, x, y, device))
    return statistics.median(times_a), statistics.median(times_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--clip-grad", action="store_true", help="clip by norm in both variants")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = args.device

    model_a, model_b = _model(args.width, device), _model(args.width, device)
    optimizer = torch.optim.SGD(model_a.parameters(), lr=1e-3, momentum=0.9)
    clip = {"max_norm": 10.0} if args.clip_grad else None
    wrapper = OptimWrapper(
        torch.optim.SGD(model_b.parameters(), lr=1e-3, momentum=0.9), clip_grad=clip
    )
    loss_fn = nn.CrossEntropyLoss()

    def hand_written(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = loss_fn(model_a(x), y)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(
                [p for p in model_a.parameters() if p.grad is not None], **clip
            )
        optimizer.step()
        optimizer.zero_grad()

    def piston_step(x: torch.Tensor, y: torch.Tensor) -> None:
        wrapper.update_params(loss_fn(model_b(x), y))

    generator = torch.Generator().manual_seed(1)
    batches = [
        (
            torch.randn(args.batch_size, args.width, generator=generator).to(device),
            torch.randint(0, 10, (args.batch_size,), generator=generator).to(device),
        )
        for _ in range(args.steps)
    ]
    _round(hand_written, piston_step, batches[:20], device)  # warm-up both paths

    print(
        f"device={device} threads={args.threads} width={args.width} bs={args.batch_size} "
        f"steps/round={args.steps} clip_grad={bool(clip)}"
    )
    print(f"{'round':>5} {'hand us/step':>13} {'piston us/step':>15} {'ratio':>7}")
    ratios = []
    for round_idx in range(args.rounds):
        hand, ours = _round(hand_written, piston_step, batches, device)
        ratios.append(ours / hand)
        print(f"{round_idx:>5} {hand * 1e6:>13.1f} {ours * 1e6:>15.1f} {ours / hand:>7.4f}")
    median = statistics.median(ratios)
    print(f"MEDIAN ratio piston/hand-written: {median:.4f} ({(median - 1) * 100:+.2f} %)")


if __name__ == "__main__":
    main()
