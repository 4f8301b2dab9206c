"""Per-iteration CPU overhead of piston's Runner against a hand-written training loop.

A tiny MLP (32→64→10, batch 32, one thread, in-memory batches) is trained for ``--iters``
iterations (a) by a plain loop and (b) by ``Runner`` with its default hooks (logging every 10
iterations, no checkpoint), alternating A-B and B-A ``--rounds`` times in one process. Both read the
same pre-made batches through the same ``DataLoader(batch_size=None)``. Each side is timed over
its steady state (from iteration ``--warmup`` to the end). Prints the per-iteration times and
the median ratio B/A (target: ≤ 1.03).

``--calibrate`` also times a fixed piece of pure-Python bookkeeping on its own and inside the
plain loop: between the model's kernels it costs several times more than alone (caches and
branch predictors are cold), which is why every microsecond the engine spends per iteration
counts more here than a micro-benchmark of it suggests.

``--breakdown`` also runs the Runner with groups of default hooks switched off (no logger; no
logger and no timer; no default hooks at all), to show where the per-iteration time goes.

Usage: ``python benchmarks/overhead.py [--iters 2000] [--rounds 5] [--calibrate] [--breakdown]
[--json F]``
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import timeit

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class Batches(Dataset):
    metainfo = dict(name="in-memory batches")  # what the Runner hands to the visualizer

    def __init__(self, num: int, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.items = [
            (torch.randn(32, 32, generator=gen), torch.randint(0, 10, (32,), generator=gen))
            for _ in range(num)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int):
        return self.items[idx]


def make_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))


def python_work(table: dict, items: list) -> None:
    """A fixed piece of pure-Python bookkeeping (dict and list updates), for ``--calibrate``."""
    for k in range(40):
        table[k] = k
        items.append(k)
    items.clear()


def plain_loop(loader: DataLoader, warmup: int, extra: bool = False) -> float:
    table: dict = {}
    items: list = []
    model = make_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    start = 0.0
    for i, (x, y) in enumerate(loader):
        if i == warmup:
            start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if extra:
            python_work(table, items)
    return (time.perf_counter() - start) / (len(loader) - warmup)


DEFAULT_HOOKS = ("runtime_info", "timer", "logger", "param_scheduler", "checkpoint", "sampler_seed")
BREAKDOWN = {
    "no logger": ("logger",),
    "no logger, no timer": ("logger", "timer"),
    "no default hooks": DEFAULT_HOOKS,
}


def piston_loop(loader: DataLoader, warmup: int, work_dir: str, off: tuple = ()) -> float:
    from piston.hooks import Hook
    from piston.model import BaseModel
    from piston.runner import Runner

    class Net(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = make_mlp()

        def forward(self, x, y, mode="tensor"):
            out = self.mlp(x)
            if mode == "loss":
                return {"loss": F.cross_entropy(out, y)}
            return out

    class Clock(Hook):
        priority = "LOWEST"

        def __init__(self) -> None:
            self.start = self.end = 0.0

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            if batch_idx == warmup:
                self.start = time.perf_counter()

        def after_train(self, runner) -> None:
            self.end = time.perf_counter()

    clock = Clock()
    default_hooks: dict = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=10))
    default_hooks.update(dict.fromkeys(off))
    runner = Runner(
        model=Net(),
        work_dir=work_dir,
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=default_hooks,
        custom_hooks=[clock],
        log_level="WARNING",
        randomness=dict(seed=0),
    )
    runner.train()
    return (clock.end - clock.start) / (len(loader) - warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="also measure what a fixed piece of pure-Python work costs inside this loop "
        "compared with the same work timed on its own",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time the Runner with groups of default hooks switched off",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.disable(logging.INFO)
    loader = DataLoader(Batches(args.iters), batch_size=None, shuffle=False)
    plain, runner, ratios = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        piston_loop(loader, args.warmup, f"{tmp}/warm")  # imports and first-run costs
        for r in range(args.rounds):
            # A-B then B-A: a drift of the machine's speed over the run cancels out.
            if r % 2 == 0:
                a = plain_loop(loader, args.warmup)
                b = piston_loop(loader, args.warmup, f"{tmp}/r{r}")
            else:
                b = piston_loop(loader, args.warmup, f"{tmp}/r{r}")
                a = plain_loop(loader, args.warmup)
            plain.append(a)
            runner.append(b)
            ratios.append(b / a)
            print(
                f"round {r}: plain {a * 1e6:8.1f} us/iter  piston {b * 1e6:8.1f} us/iter  ratio {b / a:.3f}"
            )
    result = dict(
        plain_us_per_iter=statistics.median(plain) * 1e6,
        piston_us_per_iter=statistics.median(runner) * 1e6,
        median_ratio=statistics.median(ratios),
        target=1.03,
    )
    print(
        f"median: plain {result['plain_us_per_iter']:.1f} us/iter, piston "
        f"{result['piston_us_per_iter']:.1f} us/iter, ratio B/A {result['median_ratio']:.3f} "
        f"(target <= 1.03)"
    )
    if args.calibrate:
        table: dict = {}
        items: list = []
        alone = min(timeit.repeat(lambda: python_work(table, items), number=10000, repeat=5))
        alone = alone / 10000
        base, loaded = [], []
        for _ in range(args.rounds):
            base.append(plain_loop(loader, args.warmup))
            loaded.append(plain_loop(loader, args.warmup, extra=True))
        in_loop = statistics.median(loaded) - statistics.median(base)
        result.update(python_work_alone_us=alone * 1e6, python_work_in_loop_us=in_loop * 1e6)
        print(
            f"calibration: {alone * 1e6:.2f} us of pure-Python work timed alone costs "
            f"{in_loop * 1e6:.2f} us per iteration inside the training loop "
            f"({in_loop / alone:.1f}x)"
        )
    if args.breakdown:
        # Each round times the plain loop next to every variant; the medians of the per-round
        # differences cancel the machine's drift between rounds.
        deltas: dict[str, list[float]] = {name: [] for name in ("all hooks", *BREAKDOWN)}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                a = plain_loop(loader, args.warmup)
                deltas["all hooks"].append(piston_loop(loader, args.warmup, f"{tmp}/{r}") - a)
                for name, off in BREAKDOWN.items():
                    b = piston_loop(loader, args.warmup, f"{tmp}/{r}{name}", off)
                    deltas[name].append(b - a)
        result["breakdown_us_over_plain"] = {}
        print("breakdown: median per-round time over the plain loop")
        for name, values in deltas.items():
            delta = statistics.median(values) * 1e6
            result["breakdown_us_over_plain"][name] = delta
            print(f"  {name:22s} +{delta:6.1f} us/iter")
    if args.json:
        with open(args.json, "w") as fobj:
            json.dump(result, fobj, indent=2)


if __name__ == "__main__":
    main()
