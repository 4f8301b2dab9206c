"""Mid-epoch resume of a plain ``DataLoader`` whose dataset draws random numbers per sample.

A run stopped mid-epoch (a hook raises right after a checkpoint) and resumed must end with the
uninterrupted run's weights bit for bit. Without workers the resumed loader skips the consumed
indices (nothing is loaded twice). With workers it must load and discard the consumed batches:
each worker's RNG stream advances with every sample it loads, so skipping them would change the
augmentation of every later sample (see ``piston/runner/_resume.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from piston.hooks import Hook
from piston.model import BaseModel
from piston.runner import Runner

N_SAMPLES, BATCH, STOP_AFTER = 24, 4, 8  # 6 iterations / epoch; stop 2 batches into epoch 1


class NoisyDataset(Dataset):
    """``x[i] + noise`` drawn from the loading process's torch RNG; logs each load to a file."""

    def __init__(self, log: Path) -> None:
        gen = torch.Generator().manual_seed(3)
        self.x = torch.randn(N_SAMPLES, 6, generator=gen)
        self.y = torch.randint(0, 3, (N_SAMPLES,), generator=gen)
        self.log = log

    def __len__(self) -> int:
        return N_SAMPLES

    def __getitem__(self, i: int):
        with open(self.log, "a") as f:
            f.write(f"{i}\n")
        return self.x[i] + 0.5 * torch.randn(6), self.y[i]


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


class _Stop(Exception):
    pass


class StopAfter(Hook):
    priority = "LOWEST"  # after CheckpointHook (VERY_LOW) has written its file

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == STOP_AFTER:
            raise _Stop


def _train(
    work_dir: Path, log: Path, num_workers: int, *, stop: bool = False, resume: bool = False
):
    torch.manual_seed(0)
    loader = DataLoader(NoisyDataset(log), batch_size=BATCH, shuffle=True, num_workers=num_workers)
    runner = Runner(
        model=Net(),
        work_dir=str(work_dir),
        experiment_name=f"{work_dir.name}_{'resume' if resume else 'run'}",
        train_dataloader=loader,
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}},
        train_cfg={"by_epoch": True, "max_epochs": 2},
        default_hooks={
            "checkpoint": {"type": "CheckpointHook", "interval": STOP_AFTER, "by_epoch": False},
            "logger": {"type": "LoggerHook", "interval": 100},
        },
        custom_hooks=[StopAfter()] if stop else None,
        randomness={"seed": 7},
        resume=resume,
    )
    runner.train()
    return runner.model.state_dict()


def _loads(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_stopped_run_resumes_bit_identical(tmp_path, num_workers) -> None:
    expected = _train(tmp_path / "full", tmp_path / "full.log", num_workers)
    broken, log = tmp_path / "broken", tmp_path / "broken.log"
    with pytest.raises(_Stop):
        _train(broken, log, num_workers, stop=True)
    assert (broken / "last_checkpoint").read_text() == str(broken / f"iter_{STOP_AFTER}.pth")
    before = _loads(log)
    log.unlink()
    actual = _train(broken, log, num_workers, resume=True)
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    resumed = _loads(log)
    remaining = N_SAMPLES - (STOP_AFTER - N_SAMPLES // BATCH) * BATCH
    if num_workers == 0:
        # Consumed indices are skipped in the sampler: only the rest of epoch 1 is loaded.
        consumed = set(before[N_SAMPLES:])
        assert len(consumed) == N_SAMPLES - remaining
        assert sorted(resumed) == sorted(set(range(N_SAMPLES)) - consumed)
    else:
        # Workers: the consumed batches are loaded (and discarded) once more, so the workers'
        # RNG streams stand where they stood in the uninterrupted run.
        assert sorted(resumed) == list(range(N_SAMPLES))
        logs = "".join(p.read_text() for p in broken.rglob("*.log"))
        assert "loading and discarding 2 batches because DataLoader workers" in logs
