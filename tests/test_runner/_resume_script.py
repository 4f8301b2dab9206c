"""Training script run as a subprocess by ``test_exact_resume.py``.

Usage: ``python _resume_script.py MODE WORK_DIR OUT [--kill-after N] [--resume]``

MODE ``epoch``: epoch-based loop over a plain ``DataLoader(shuffle=True)`` (a RandomSampler,
like the seed example) with checkpoints every 3 iterations. MODE ``iter``: iteration-based
loop built from a dataloader dict with ``DefaultSampler``, checkpoints every 4 iterations.
The model has dropout so the RNG state matters. ``--kill-after N`` SIGKILLs the process right
after the checkpoint of iteration N is written.
"""

from __future__ import annotations

import os
import signal
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from piston.hooks import Hook
from piston.model import BaseModel
from piston.runner import Runner


class Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x, y, mode="tensor"):
        logits = self.fc2(self.drop(F.relu(self.fc1(x))))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, y)}
        return logits, y


class KillAfter(Hook):
    priority = "LOWEST"  # after CheckpointHook (VERY_LOW) has written its file

    def __init__(self, n: int) -> None:
        self.n = n

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.n:
            os.kill(os.getpid(), signal.SIGKILL)


def dataset() -> TensorDataset:
    gen = torch.Generator().manual_seed(123)
    x = torch.randn(40, 6, generator=gen)
    y = torch.randint(0, 3, (40,), generator=gen)
    return TensorDataset(x, y)


def main() -> None:
    mode, work_dir, out = sys.argv[1:4]
    kill_after = (
        int(sys.argv[sys.argv.index("--kill-after") + 1]) if "--kill-after" in sys.argv else None
    )
    resume = "--resume" in sys.argv
    torch.manual_seed(0)
    model = Net()
    custom_hooks = [KillAfter(kill_after)] if kill_after else None
    if mode == "epoch":
        train_dataloader = DataLoader(dataset(), batch_size=8, shuffle=True)  # 5 iters / epoch
        train_cfg = {"by_epoch": True, "max_epochs": 3}
        checkpoint = {"type": "CheckpointHook", "interval": 3, "by_epoch": False}
    else:
        train_dataloader = {
            "batch_size": 8,
            "dataset": dataset(),
            "sampler": {"type": "DefaultSampler", "shuffle": True},
            "collate_fn": {"type": "default_collate"},
        }
        train_cfg = {"by_epoch": False, "max_iters": 14}
        checkpoint = {"type": "CheckpointHook", "interval": 4, "by_epoch": False}
    runner = Runner(
        model=model,
        work_dir=work_dir,
        train_dataloader=train_dataloader,
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}},
        param_scheduler={"type": "MultiStepLR", "milestones": [7], "gamma": 0.5, "by_epoch": False},
        train_cfg=train_cfg,
        default_hooks={"checkpoint": checkpoint, "logger": {"type": "LoggerHook", "interval": 2}},
        custom_hooks=custom_hooks,
        randomness={"seed": 7},
        resume=resume,
    )
    runner.train()
    torch.save(runner.model.state_dict(), out)


if __name__ == "__main__":
    main()
