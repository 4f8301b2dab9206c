"""Import cost of piston on top of torch, measured in fresh interpreters.

Each sample is a new ``python`` process that imports torch first and then times
``import piston`` (or ``import piston.runner``) with ``time.perf_counter``; the script prints the
median of ``--repeat`` samples per module (target: ``import piston.runner`` adds <= 0.15 s).

Usage: ``python benchmarks/import_time.py [--repeat 7] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

SNIPPET = (
    "import time, torch; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)
OPTIONAL = ("tensorboard", "torchvision", "matplotlib", "cv2", "yapf", "mlflow", "wandb")


def sample(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def optional_imports(module: str) -> list[str]:
    code = f"import sys, torch; import {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    return [name for name in OPTIONAL if name in loaded]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    result = {}
    for module in ("piston", "piston.runner"):
        times = [sample(module) for _ in range(args.repeat)]
        result[module] = dict(
            median_s=statistics.median(times),
            samples=times,
            optional_packages_imported=optional_imports(module),
        )
        print(
            f"import {module:<14} adds {statistics.median(times):.3f} s over import torch "
            f"(median of {args.repeat}); optional packages imported: "
            f"{result[module]['optional_packages_imported'] or 'none'}"
        )
    print(
        f"target: import piston.runner adds <= 0.15 s -> "
        f"{'met' if result['piston.runner']['median_s'] <= 0.15 else 'missed'}"
    )
    if args.json:
        with open(args.json, "w") as fobj:
            json.dump(result, fobj, indent=2)


if __name__ == "__main__":
    main()
