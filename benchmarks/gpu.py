"""Every GPU measurement in one go: ResNet-50 on CIFAR-shaped data, plain loop vs piston.

Cases (all in one process, on one CUDA device, each timed after a warm-up and bracketed by
``torch.cuda.synchronize()``; no per-iteration synchronisation inside either side):

* ``seed``: the seed example's configuration: batch 32, fp32, PIL images through the seed's
  transforms, ``num_workers=0``; (a) a hand-written loop and (b) ``Runner`` with the seed's
  hooks (logging every 10 iterations; checkpointing off so no disk time is measured).
* ``tensors``: the same with pre-made tensors already in memory (no PIL, no transforms).
* ``fast``: piston's fast path (``cfg.fast=True``: bf16 AMP, channels_last, cuDNN autotuning,
  pinned memory, persistent workers) against the best-practice plain loop (batch 256, bf16
  autocast, channels_last, cuDNN autotuning, 4 workers, pinned memory, non-blocking copies).
  ``--diagnose`` adds ``fast_prefetch``: the same with the opt-in device prefetcher
  (``cfg.fast=dict(prefetch=True)``), and ``seed_nolog``: the seed case with no log line in the
  timed window (so no host-device synchronisation at all on piston's side).

Data is synthetic (random 32x32 RGB PIL images with int labels), so nothing is downloaded.
Prints images/s and the ratios piston/plain, and writes them to ``--out`` (JSON).
Targets: seed ratio >= 0.98, fast ratio >= 0.95.

Usage: ``python benchmarks/gpu.py [--iters 200] [--warmup 30] [--out gpu_results.json]``.
``--profile DIR`` also runs each side of the seed case once under ``cProfile`` and writes the
functions that took the most time to ``DIR/profile_{plain,piston}.txt`` (where the time goes).
``--smoke`` runs every case on the CPU with a tiny CNN, small batches and a few iterations, to
check the script itself where no GPU is at hand (its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler

NORM = dict(mean=[0.491, 0.482, 0.447], std=[0.202, 0.199, 0.201])


class FakeCIFAR(Dataset):
    """CIFAR-10-like: random 32x32 RGB PIL images and int labels, through a transform."""

    def __init__(self, size: int, transform: Any = None) -> None:
        from PIL import Image

        rng = np.random.default_rng(0)
        self.images = [
            Image.fromarray(a) for a in rng.integers(0, 256, (size, 32, 32, 3), dtype=np.uint8)
        ]
        self.labels = [int(x) for x in rng.integers(0, 10, size)]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int):
        img = self.images[idx]
        return (self.transform(img) if self.transform else img), self.labels[idx]


class TensorBatches(Dataset):
    """Pre-made normalised tensors, one sample per index."""

    def __init__(self, size: int) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 3, 32, 32, generator=gen)
        self.y = torch.randint(0, 10, (size,), generator=gen)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int):
        return self.x[idx], self.y[idx]


def seed_transform() -> Any:
    import torchvision.transforms as T

    return T.Compose(
        [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(**NORM)]
    )


def resnet50() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    if SMOKE:  # a tiny stand-in so that the CPU smoke test takes seconds
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(8, 10),
        )
    return torchvision.models.resnet50()


def infinite(loader: DataLoader):
    while True:
        yield from loader


# ----------------------------------------------------------------------------- plain loops
DEVICE = "cuda"
SMOKE = False


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def plain_loop(loader: DataLoader, iters: int, warmup: int, fast: bool = False) -> float:
    # The seed loop leaves cuDNN at torch's default; the best-practice loop autotunes (as
    # piston's fast path does through ``env_cfg.cudnn_benchmark``).
    torch.backends.cudnn.benchmark = fast
    model = resnet50().to(DEVICE)
    if fast:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model.train()
    batches = infinite(loader)
    start = 0.0
    for i in range(warmup + iters):
        if i == warmup:
            sync()
            start = time.perf_counter()
        imgs, labels = next(batches)
        imgs = imgs.to(DEVICE, non_blocking=fast)
        labels = labels.to(DEVICE, non_blocking=fast)
        if fast:
            imgs = imgs.contiguous(memory_format=torch.channels_last)
        with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=fast):
            loss = F.cross_entropy(model(imgs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sync()
    return iters * loader.batch_size / (time.perf_counter() - start)


# ----------------------------------------------------------------------------- piston
def _piston_parts():
    from piston.hooks import Hook
    from piston.model import BaseModel

    class MMResNet50(BaseModel):  # the seed example's model
        def __init__(self) -> None:
            super().__init__()
            self.resnet = resnet50()

        def forward(self, imgs, labels, mode):
            x = self.resnet(imgs)
            if mode == "loss":
                return {"loss": F.cross_entropy(x, labels)}
            return x, labels

    class Clock(Hook):
        priority = "LOWEST"

        def __init__(self, warmup: int) -> None:
            self.warmup = warmup
            self.start = self.end = 0.0

        # Start where the plain loop starts: after iteration ``warmup - 1`` has finished and
        # before the batch of iteration ``warmup`` is fetched (LOWEST: after every other hook).
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            if runner.iter == self.warmup - 1:
                sync()
                self.start = time.perf_counter()

        def after_train(self, runner) -> None:
            sync()
            self.end = time.perf_counter()

    return MMResNet50, Clock


def piston_loop(
    train_dataloader: Any,
    batch_size: int,
    iters: int,
    warmup: int,
    work_dir: str,
    fast: bool = False,
    prefetch: bool = False,
    log_interval: int = 10,
) -> float:
    from piston.runner import Runner

    model_cls, clock_cls = _piston_parts()
    clock = clock_cls(warmup)
    kwargs: dict[str, Any] = dict(
        model=model_cls(),
        work_dir=work_dir,
        train_dataloader=train_dataloader,
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=1e-3, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=warmup + iters, val_interval=10**9),
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=log_interval)),
        custom_hooks=[clock],
        log_processor=dict(by_epoch=False),
        log_level="WARNING",
        randomness=dict(seed=0),
    )
    if fast:  # what `cfg.fast=True` / `piston train --fast` does to a config
        from piston.runner._fast import apply_fast_cfg

        apply_fast_cfg(kwargs)
    fast_cfg: Any = dict(prefetch=True) if fast and prefetch else fast
    runner = Runner(**kwargs, cfg=dict(fast=fast_cfg))
    runner.train()
    return iters * batch_size / (clock.end - clock.start)


def profile(out_dir: str, plain_fn, piston_fn) -> None:
    """Run each side once under cProfile; write the top functions by own and by total time."""
    import cProfile
    import io
    import pstats

    os.makedirs(out_dir, exist_ok=True)
    for name, fn in (("plain", plain_fn), ("piston", piston_fn)):
        prof = cProfile.Profile()
        prof.enable()
        img_s = fn()
        prof.disable()
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text)
        text.write(f"{name}: {img_s:.1f} img/s under cProfile\n")
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats("piston|gpu.py", 40)
        with open(os.path.join(out_dir, f"profile_{name}.txt"), "w") as fobj:
            fobj.write(text.getvalue())
        print(f"profile {name}: {img_s:.1f} img/s under cProfile", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="A/B alternations per case")
    parser.add_argument(
        "--fast-rounds", type=int, default=5, help="A/B alternations for the (noisier) fast case"
    )
    parser.add_argument("--out", default="gpu_results.json")
    parser.add_argument("--size", type=int, default=10_000, help="synthetic dataset size")
    parser.add_argument(
        "--device", default="cuda", help="'cpu' only for a smoke test of the script"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny CPU run that checks the script end to end"
    )
    parser.add_argument(
        "--cases", default="seed,tensors,fast", help="comma-separated subset of the cases to run"
    )
    parser.add_argument("--profile", metavar="DIR", help="also profile the seed case (cProfile)")
    parser.add_argument(
        "--diagnose", action="store_true", help="also the fast path with device prefetching"
    )
    args = parser.parse_args()
    if args.warmup < 1:
        parser.error("--warmup must be at least 1")
    global DEVICE, SMOKE
    DEVICE = args.device
    seed_batch, fast_batch, fast_workers = 32, 256, 4
    if args.smoke:
        SMOKE, DEVICE = True, "cpu"
        args.iters, args.warmup, args.rounds, args.fast_rounds, args.size = 3, 1, 1, 1, 96
        seed_batch, fast_batch, fast_workers = 8, 16, 2
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu.py needs a CUDA device")
    logging.disable(logging.INFO)
    results: dict[str, Any] = dict(
        device=torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu",
        smoke=SMOKE,
        torch=torch.__version__,
        python=platform.python_version(),
        iters=args.iters,
        warmup=args.warmup,
        cases={},
    )
    seed_data = FakeCIFAR(args.size, seed_transform())
    tensor_data = TensorBatches(args.size)
    tmp = tempfile.mkdtemp()

    wanted = set(args.cases.split(","))

    def case(name: str, plain_fn, piston_fn, rounds: int = args.rounds) -> None:
        base = name.split("_")[0]  # fast_prefetch and seed_nolog go with fast and seed
        if base not in wanted:
            return
        plain, piston = [], []
        for r in range(rounds):
            # A-B then B-A, so that a drift of the machine's speed cancels out.
            if r % 2 == 0:
                plain.append(plain_fn())
                piston.append(piston_fn(os.path.join(tmp, f"{name}{r}")))
            else:
                piston.append(piston_fn(os.path.join(tmp, f"{name}{r}")))
                plain.append(plain_fn())
            print(
                f"{name} round {r}: plain {plain[-1]:8.1f} img/s  piston {piston[-1]:8.1f} img/s",
                flush=True,
            )
        p, q = float(np.median(plain)), float(np.median(piston))
        paired = float(np.median([b / a for a, b in zip(plain, piston)]))
        results["cases"][name] = dict(
            plain_img_s=p,
            piston_img_s=q,
            ratio=q / p,
            paired_ratio=paired,
            plain_all=plain,
            piston_all=piston,
        )
        print(
            f"{name}: ratio piston/plain = {q / p:.3f} (median of per-round ratios {paired:.3f})",
            flush=True,
        )
        with open(args.out, "w") as fobj:  # after every case, so a cut-off run keeps its figures
            json.dump(results, fobj, indent=2)

    seed_loader = DataLoader(seed_data, batch_size=seed_batch, shuffle=True, num_workers=0)
    case(
        "seed",
        lambda: plain_loop(seed_loader, args.iters, args.warmup),
        lambda wd: piston_loop(seed_loader, seed_batch, args.iters, args.warmup, wd),
    )
    tensor_loader = DataLoader(tensor_data, batch_size=seed_batch, shuffle=True, num_workers=0)
    case(
        "tensors",
        lambda: plain_loop(tensor_loader, args.iters, args.warmup),
        lambda wd: piston_loop(tensor_loader, seed_batch, args.iters, args.warmup, wd),
    )
    fast_iters = args.iters
    # One endless pass for the plain loop too (piston uses InfiniteSampler), so neither side
    # pays for restarting its workers at an epoch boundary inside the timed window.
    fast_sampler = RandomSampler(seed_data, num_samples=(args.warmup + fast_iters + 8) * fast_batch)
    fast_plain_loader = DataLoader(
        seed_data,
        batch_size=fast_batch,
        sampler=fast_sampler,
        num_workers=fast_workers,
        pin_memory=True,
        persistent_workers=True,
        prefetch_factor=4,
        drop_last=True,
    )
    fast_cfg = dict(
        batch_size=fast_batch,
        num_workers=fast_workers,
        drop_last=True,
        dataset=seed_data,
        sampler=dict(type="InfiniteSampler", shuffle=True),
        collate_fn=dict(type="default_collate"),
    )
    case(
        "fast",
        lambda: plain_loop(fast_plain_loader, fast_iters, args.warmup, fast=True),
        lambda wd: piston_loop(fast_cfg, fast_batch, fast_iters, args.warmup, wd, fast=True),
        rounds=args.fast_rounds,
    )
    if args.diagnose:
        case(
            "fast_prefetch",
            lambda: plain_loop(fast_plain_loader, fast_iters, args.warmup, fast=True),
            lambda wd: piston_loop(
                fast_cfg, fast_batch, fast_iters, args.warmup, wd, fast=True, prefetch=True
            ),
            rounds=min(3, args.fast_rounds),
        )
        nolog = 10**9  # no log line (and no read of a logged tensor) inside the timed window
        case(
            "seed_nolog",
            lambda: plain_loop(seed_loader, args.iters, args.warmup),
            lambda wd: piston_loop(
                seed_loader, seed_batch, args.iters, args.warmup, wd, log_interval=nolog
            ),
        )
    if args.profile:
        profile(
            args.profile,
            lambda: plain_loop(seed_loader, args.iters, args.warmup),
            lambda: piston_loop(seed_loader, seed_batch, args.iters, args.warmup, f"{tmp}/prof"),
        )
    results["targets"] = dict(seed=0.98, fast=0.95)
    with open(args.out, "w") as fobj:
        json.dump(results, fobj, indent=2)
    print(json.dumps({k: round(v["ratio"], 3) for k, v in results["cases"].items()}))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
