"""MLflowVisBackend against the real ``mlflow`` library and a local tracking store, offline.

Everything the backend writes is read back through MLflow's own client
(``MlflowClient(uri).get_run / get_metric_history / list_artifacts``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

mlflow = pytest.importorskip("mlflow")

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.tracking import _tracking_service as _ts  # noqa: E402
from mlflow.tracking import fluent as _fluent  # noqa: E402

from piston.config import Config  # noqa: E402
from piston.model import BaseModel  # noqa: E402
from piston.runner import Runner  # noqa: E402
from piston.visualization import MLflowVisBackend  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_mlflow(monkeypatch):
    """Start without an opt-in or active run; end runs and restore MLflow's globals after."""
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    previous_uri = _ts.utils._tracking_uri
    monkeypatch.setattr(_fluent, "_active_experiment_id", None)
    assert mlflow.active_run() is None
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(previous_uri)


def _only_run(client: MlflowClient, exp_name: str):
    experiment = client.get_experiment_by_name(exp_name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    return runs[0]


def _artifact_files(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    files = []
    for info in client.list_artifacts(run_id, path):
        files += _artifact_files(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(files)


def _history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_run_params_metrics_and_artifacts_read_back(tmp_path) -> None:
    work_dir = tmp_path / "work"
    (work_dir / "vis").mkdir(parents=True)
    (work_dir / "run.log").write_text("log line\n")
    (work_dir / "vis" / "scalars.json").write_text("{}")
    (work_dir / "model.pth").write_text("not uploaded")
    save_dir = tmp_path / "mlruns"
    backend = MLflowVisBackend(
        str(save_dir), exp_name="exp", run_name="r1", tags={"team": "cv"}, params={"seed": 7}
    )
    backend.add_scalar("lr", np.float32(0.5), step=1)
    backend.add_scalar("lr", torch.tensor(0.25), step=3)
    backend.add_scalars({"loss": torch.tensor(1.5), "acc": 2}, step=1)
    backend.add_scalars({"loss": 0.75}, step=3)
    with pytest.raises(AssertionError, match="step"):
        backend.add_scalars({"step": 4, "loss": 0.1})
    many = {f"k{i}": i for i in range(120)}  # more than one MLflow batch (100 params)
    cfg = Config(
        {
            "work_dir": str(work_dir),
            "model": {"type": "Net", "layers": [{"k": 3}, {"k": 5}], "sizes": [1, 2]},
            **many,
        }
    )
    backend.add_config(cfg)
    run_id = mlflow.active_run().info.run_id
    assert backend.experiment is mlflow
    backend.close()
    assert mlflow.active_run() is None

    # The default tracking URI is the file store under save_dir, opted in for MLflow 3.x.
    assert os.environ["MLFLOW_ALLOW_FILE_STORE"] == "true"
    assert mlflow.get_tracking_uri() == f"file://{save_dir}"
    client = MlflowClient(f"file://{save_dir}")
    run = _only_run(client, "exp")
    assert run.info.run_id == run_id
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "r1"
    assert run.data.tags["mlflow.runName"] == "r1"
    assert run.data.tags["team"] == "cv"
    expected_params = {
        "seed": "7",
        "work_dir": str(work_dir),
        "model.type": "Net",
        "model.layers.0.k": "3",
        "model.layers.1.k": "5",
        "model.sizes": "[1, 2]",
        **{key: str(value) for key, value in many.items()},
    }
    assert run.data.params == expected_params
    assert _history(client, run_id, "lr") == [(1, 0.5), (3, 0.25)]
    assert _history(client, run_id, "loss") == [(1, 1.5), (3, 0.75)]
    assert _history(client, run_id, "acc") == [(1, 2.0)]
    assert run.data.metrics == {"lr": 0.25, "loss": 0.75, "acc": 2.0}
    assert _artifact_files(client, run_id) == ["config.py", "run.log", "vis/scalars.json"]
    local = client.download_artifacts(run_id, "config.py", str(tmp_path / "dl"))
    with open(local) as f:
        assert f.read() == cfg.pretty_text
    local = client.download_artifacts(run_id, "vis/scalars.json", str(tmp_path / "dl"))
    with open(local) as f:
        assert f.read() == "{}"


def test_tracked_config_keys_default_experiment_and_plain_path_uri(tmp_path) -> None:
    store = tmp_path / "store"  # a plain directory path is a local file store too
    backend = MLflowVisBackend(
        str(tmp_path / "unused"),
        tracking_uri=str(store),
        tracked_config_keys={"model": None, "lr": None},
    )
    cfg = Config({"model": {"type": "Net", "depth": 2}, "lr": 0.1, "work_dir": "w", "seed": 1})
    backend.add_config(cfg)
    backend.add_scalars({"loss": 1.0}, step=2)
    backend.close()
    assert not (tmp_path / "unused" / "0").exists()  # nothing in save_dir's default store
    client = MlflowClient(str(store))
    run = _only_run(client, "Default")
    assert run.data.params == {"model.type": "Net", "model.depth": "2", "lr": "0.1"}
    assert _history(client, run.info.run_id, "loss") == [(2, 1.0)]
    assert _artifact_files(client, run.info.run_id) == ["config.py"]  # no work_dir on disk


def test_existing_experiment_reused_and_artifact_location(tmp_path) -> None:
    uri = f"file://{tmp_path / 'store'}"
    artifacts = tmp_path / "artifacts"
    for name in ("first", "second"):
        backend = MLflowVisBackend(
            str(tmp_path), exp_name="shared", run_name=name, tracking_uri=uri,
            artifact_location=str(artifacts),
        )  # fmt: skip
        backend.add_scalar("loss", 1.0, step=1)
        backend.add_config(Config({"name": name}))
        backend.close()
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("shared")
    assert experiment.artifact_location.rstrip("/").endswith(str(artifacts))
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [r.info.run_name for r in runs] == ["first", "second"]
    assert [r.data.params for r in runs] == [{"name": "first"}, {"name": "second"}]
    for run in runs:  # config.py of each run lies under the chosen artifact location
        assert (artifacts / run.info.run_id / "artifacts" / "config.py").is_file()


def test_add_image_names_get_an_image_suffix(tmp_path) -> None:
    backend = MLflowVisBackend(str(tmp_path / "ml"))
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    image[..., 0] = 255
    backend.add_image("val_img", image, step=1)  # no suffix: stored as val_img.png
    backend.add_image("demo.jpg", image, step=1)
    run_id = mlflow.active_run().info.run_id
    backend.close()
    client = MlflowClient(f"file://{tmp_path / 'ml'}")
    assert _artifact_files(client, run_id) == ["demo.jpg", "val_img.png"]
    from PIL import Image

    local = client.download_artifacts(run_id, "val_img.png", str(tmp_path / "dl"))
    with Image.open(local) as img:
        assert np.array_equal(np.asarray(img), image)


def test_explicit_file_store_opt_out_is_respected(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "false")
    backend = MLflowVisBackend(str(tmp_path / "ml"))
    with pytest.raises(MlflowException, match="MLFLOW_ALLOW_FILE_STORE"):
        backend.add_scalar("loss", 1.0)
    assert os.environ["MLFLOW_ALLOW_FILE_STORE"] == "false"


def test_second_close_is_a_no_op_and_a_later_write_starts_a_new_run(tmp_path) -> None:
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    (work_dir / "run.log").write_text("x")
    uri = f"file://{tmp_path / 'store'}"
    backend = MLflowVisBackend(str(tmp_path), exp_name="e", run_name="r", tracking_uri=uri)
    backend.add_config(Config({"work_dir": str(work_dir)}))
    backend.add_scalar("loss", 1.0, step=1)
    backend.close()
    # LoggerHook.after_run and the Visualizer's reset both close: the second must neither
    # upload run.log again (into an auto-started run) nor touch the default tracking store.
    mlflow.set_tracking_uri(f"file://{tmp_path / 'elsewhere'}")
    backend.close()
    assert mlflow.active_run() is None
    assert not (tmp_path / "elsewhere").exists()
    client = MlflowClient(uri)
    first = _only_run(client, "e")
    assert first.info.status == "FINISHED"
    assert _artifact_files(client, first.info.run_id) == ["config.py", "run.log"]

    backend.add_scalar("loss", 0.5, step=2)  # a write after close sets up a fresh run
    backend.close()
    experiment = client.get_experiment_by_name("e")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [r.info.run_name for r in runs] == ["r", "r"]
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert _history(client, runs[1].info.run_id, "loss") == [(2, 0.5)]


def test_close_without_writes_touches_nothing(tmp_path) -> None:
    backend = MLflowVisBackend(str(tmp_path / "ml"))
    backend.close()
    assert not (tmp_path / "ml").exists()
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    assert mlflow.active_run() is None


# ------------------------------------------------------------------------ with a Runner
class _TinyModel(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, labels)}
        return logits


class _TinyDataset(Dataset):
    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.data = torch.randn(8, 2, generator=gen)
        self.label = (self.data[:, 0] > 0).long()

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, idx):
        return {"inputs": self.data[idx], "labels": self.label[idx]}


def test_runner_logs_loss_and_lr_per_iteration(tmp_path) -> None:
    uri = f"file://{tmp_path / 'store'}"
    work_dir = tmp_path / "work"
    runner = Runner(
        model=_TinyModel(),
        work_dir=str(work_dir),
        train_dataloader={
            "batch_size": 2,
            "num_workers": 0,
            "dataset": _TinyDataset(),
            "sampler": {"type": "DefaultSampler", "shuffle": False},
            "collate_fn": {"type": "default_collate"},
        },
        train_cfg={"by_epoch": False, "max_iters": 4},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1}},
        default_hooks={"logger": {"type": "LoggerHook", "interval": 1}, "checkpoint": None},
        visualizer={
            "type": "Visualizer",
            "vis_backends": [
                {"type": "MLflowVisBackend", "tracking_uri": uri, "exp_name": "runner"}
            ],
        },
        cfg={"work_dir": str(work_dir), "experiment": "tiny", "optim": {"lr": 0.1}},
        randomness={"seed": 1},
    )
    runner.train()
    assert mlflow.active_run() is None  # LoggerHook.after_run closed the visualizer

    client = MlflowClient(uri)
    run = _only_run(client, "runner")
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert [step for step, _ in _history(client, run_id, "lr")] == [1, 2, 3, 4]
    assert [value for _, value in _history(client, run_id, "lr")] == [pytest.approx(0.1)] * 4
    losses = _history(client, run_id, "loss")
    assert [step for step, _ in losses] == [1, 2, 3, 4]
    assert all(np.isfinite(value) and value > 0 for _, value in losses)
    assert run.data.params["experiment"] == "tiny"
    assert run.data.params["optim.lr"] == "0.1"
    artifacts = _artifact_files(client, run_id)
    assert "config.py" in artifacts
    assert any(path.endswith(".log") for path in artifacts)  # the run log from work_dir
