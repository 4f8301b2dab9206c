"""Start-up cost: wall time from process start to the end of the first training iteration.

(a) ``piston train configs/digits_cnn.py`` (through ``piston.cli.main`` in a fresh process) and
(b) a hand-written loop training the same CNN on the same bundled digits file, each in a fresh
``python`` process; a child prints ``time.time()`` when its first iteration has finished and
exits. Median of ``--repeat`` runs, alternating A/B.

Usage: ``python benchmarks/startup.py [--repeat 3] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "digits_cnn.py")

PISTON_CHILD = """
import os, sys, time
from piston.hooks import Hook
from piston.registry import HOOKS

@HOOKS.register_module()
class StopAfterFirstIter(Hook):
    priority = "LOWEST"
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        print("FIRST_ITER_DONE", time.time(), flush=True)
        os._exit(0)

from piston.cli import main
main(["train", sys.argv[1], "--work-dir", sys.argv[2], "--cfg-options",
      "default_hooks.stopper.type=StopAfterFirstIter"])
"""

PLAIN_CHILD = """
import os, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
arrays = np.load(sys.argv[1])
x = torch.from_numpy(arrays["images"][:-297]).float().div_(16)[:, None]
y = torch.from_numpy(arrays["labels"][:-297]).long()
torch.manual_seed(0)
w = 16
model = nn.Sequential(
    nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
    nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
    nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(2 * w * 16, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
for imgs, labels in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True):
    loss = F.cross_entropy(model(imgs), labels)
    opt.zero_grad(); loss.backward(); opt.step()
    print("FIRST_ITER_DONE", time.time(), flush=True)
    os._exit(0)
"""


def run_child(code: str, *args: str) -> float:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_ITER_DONE"):
            return float(line.split()[1]) - start
    raise RuntimeError(
        f"child did not finish its first iteration:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    from piston.dataset.digits import DIGITS_FILE

    piston_times, plain_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            plain_times.append(run_child(PLAIN_CHILD, DIGITS_FILE))
            piston_times.append(run_child(PISTON_CHILD, CONFIG, os.path.join(tmp, f"wd{r}")))
            print(f"run {r}: plain {plain_times[-1]:.2f} s  piston {piston_times[-1]:.2f} s")
    result = dict(
        plain_s=statistics.median(plain_times),
        piston_s=statistics.median(piston_times),
        ratio=statistics.median(piston_times) / statistics.median(plain_times),
    )
    print(
        f"median time to the end of the first iteration: plain {result['plain_s']:.2f} s, "
        f"piston {result['piston_s']:.2f} s (ratio {result['ratio']:.2f})"
    )
    if args.json:
        with open(args.json, "w") as fobj:
            json.dump(result, fobj, indent=2)


if __name__ == "__main__":
    main()
