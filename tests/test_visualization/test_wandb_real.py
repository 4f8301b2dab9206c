"""WandbVisBackend against the real ``wandb`` library, offline (``WANDB_MODE=offline``).

A real Runner trains with the backend configured as MMEngine configs write it; the values are
read back from wandb's own run object (``wandb.run.summary`` / ``wandb.run.config``) before the
run finishes, and the offline run folder is checked on disk after it has.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

wandb = pytest.importorskip("wandb")

from piston.hooks import Hook  # noqa: E402
from piston.model import BaseModel  # noqa: E402
from piston.runner import Runner  # noqa: E402
from piston.visualization import WandbVisBackend  # noqa: E402


@pytest.fixture(autouse=True)
def _offline_wandb(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home" / var.lower()))
    yield
    if wandb.run is not None:
        wandb.finish()


class Points(Dataset):
    def __init__(self, n: int = 16) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.x[idx], labels=self.y[idx])


class Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.fc(inputs)
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, labels))
        return logits


class ReadBack(Hook):
    """Copy what wandb holds for the run before the visualizer finishes it (after_run)."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.summary: dict = {}
        self.config: dict = {}
        self.run_dir = ""

    def after_train(self, runner) -> None:
        run = wandb.run
        assert run is not None, "the backend should have started a wandb run"
        self.summary = dict(run.summary)
        self.config = dict(run.config)
        self.run_dir = run.dir


def test_runner_logs_scalars_and_config_to_a_real_offline_wandb_run(tmp_path) -> None:
    reader = ReadBack()
    runner = Runner(
        model=Net(),
        work_dir=str(tmp_path / "work"),
        train_dataloader=dict(
            dataset=Points(),
            batch_size=4,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="default_collate"),
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2), checkpoint=None),
        custom_hooks=[reader],
        visualizer=dict(
            type="Visualizer",
            vis_backends=[
                dict(type="WandbVisBackend", init_kwargs=dict(project="piston-tests", name="r1"))
            ],
        ),
        cfg=dict(model=dict(type="Net"), train_cfg=dict(max_epochs=2), marker="from-cfg"),
    )
    runner.train()
    # The last log line's tag (iteration 8 of 8, epoch 2) is wandb's summary; wandb keeps its
    # own step, so the tag carries ``iter``/``epoch`` rather than ``step``.
    assert reader.summary["iter"] == 8
    assert reader.summary["epoch"] == 2
    assert np.isfinite(reader.summary["loss"])
    assert reader.summary["lr"] == pytest.approx(0.1)
    assert {"time", "data_time"} <= set(reader.summary)
    # The runner's config went to wandb.config through add_config.
    assert reader.config["marker"] == "from-cfg"
    assert reader.config["train_cfg"] == {"max_epochs": 2}
    # wandb.init got the backend's save_dir (<work_dir>/<timestamp>/vis_data) as its dir.
    vis_dir = os.path.join(runner.log_dir, "vis_data")
    assert reader.run_dir.startswith(vis_dir)
    assert wandb.run is None  # the visualizer finished the run after training
    assert glob.glob(os.path.join(vis_dir, "wandb", "offline-run-*", "run-*.wandb"))


def test_backend_images_and_define_metric(tmp_path) -> None:
    backend = WandbVisBackend(
        str(tmp_path),
        init_kwargs=dict(project="piston-tests"),
        define_metric_cfg={"acc": "max"},
    )
    backend.add_scalars({"acc": 0.5, "loss": 1.0})
    backend.add_scalars({"acc": 0.9, "loss": 0.5})
    backend.add_scalars({"acc": 0.7, "loss": 0.2})
    backend.add_image("sample", np.full((8, 8, 3), 200, np.uint8))
    run = backend.experiment.run
    summary = dict(run.summary)
    assert dict(summary["acc"]) == {"max": 0.9}  # define_metric(summary='max') reached wandb
    assert summary["loss"] == 0.2
    run_dir = run.dir
    backend.close()
    assert wandb.run is None
    assert dict(summary["sample"])["_type"] == "image-file"
    assert glob.glob(os.path.join(run_dir, "media", "images", "sample_*.png"))
