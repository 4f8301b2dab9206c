"""Tracker backends against recording stand-ins of their libraries (none is installed here)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from piston.config import Config
from piston.registry import VISBACKENDS
from piston.visualization import (
    AimVisBackend,
    ClearMLVisBackend,
    DVCLiveVisBackend,
    MLflowVisBackend,
    NeptuneVisBackend,
    WandbVisBackend,
)
from piston.visualization._mlflow import flatten_config


class Recorder:
    """Attribute access returns recording functions; calls land in ``calls``."""

    def __init__(self, calls: list, prefix: str = "", returns: dict | None = None) -> None:
        self._calls, self._prefix, self._returns = calls, prefix, returns or {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        qualified = f"{self._prefix}{name}"

        def record(*args, **kwargs):
            self._calls.append((qualified, args, kwargs))
            return self._returns.get(qualified)

        return record


def _fake_module(monkeypatch, name: str, calls: list, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    recorder = Recorder(calls, returns=attrs.pop("_returns", None))
    module.__getattr__ = recorder.__getattr__  # type: ignore[attr-defined]
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


@pytest.mark.parametrize(
    ("backend_cls", "package"),
    [
        (WandbVisBackend, "wandb"),
        (MLflowVisBackend, "mlflow"),
        (ClearMLVisBackend, "clearml"),
        (NeptuneVisBackend, "neptune"),
        (DVCLiveVisBackend, "dvclive"),
        (AimVisBackend, "aim"),
    ],
)
def test_missing_library_names_pip_install(tmp_path, monkeypatch, backend_cls, package) -> None:
    monkeypatch.setitem(sys.modules, package, None)
    assert VISBACKENDS.get(backend_cls.__name__) is backend_cls
    backend = backend_cls(str(tmp_path))  # building never imports the library
    with pytest.raises(ImportError, match=f"pip install {package}"):
        backend.add_scalar("loss", 1.0)
    backend.close()


def test_wandb_backend_calls(tmp_path, monkeypatch) -> None:
    calls: list = []
    _fake_module(
        monkeypatch,
        "wandb",
        calls,
        config=Recorder(calls, "config."),
        run=Recorder(calls, "run."),
        Image=lambda image: ("Image", image.shape),
    )
    with pytest.raises(ValueError, match="define_metric_cfg"):
        WandbVisBackend(str(tmp_path), define_metric_cfg="acc")
    backend = WandbVisBackend(
        str(tmp_path),
        init_kwargs={"project": "p", "allow_val_change": True},
        define_metric_cfg={"acc": "max"},
        log_code_name="code",
        watch_kwargs={"log": "all"},
    )
    backend.add_scalars({"loss": torch.tensor(0.5)}, step=3)
    backend.add_scalar("acc", np.float64(0.9))
    backend.add_config(Config({"lr": 0.1}))
    backend.add_graph("model", None)
    backend.add_image("img", np.zeros((2, 2, 3), dtype=np.uint8))
    backend.close()
    assert calls == [
        ("init", (), {"project": "p", "allow_val_change": True, "dir": str(tmp_path)}),
        ("define_metric", ("acc",), {"summary": "max"}),
        ("log", ({"loss": 0.5},), {"commit": True}),
        ("log", ({"acc": 0.9},), {"commit": True}),
        ("config.update", ({"lr": 0.1},), {"allow_val_change": True}),
        ("run.log_code", (), {"name": "code"}),
        ("watch", ("model",), {"log": "all"}),
        ("log", ({"img": ("Image", (2, 2, 3))},), {"commit": True}),
        ("join", (), {}),
    ]


def test_mlflow_backend_calls(tmp_path, monkeypatch) -> None:
    calls: list = []
    _fake_module(monkeypatch, "mlflow", calls)
    work_dir = tmp_path / "work"
    (work_dir / "vis").mkdir(parents=True)
    (work_dir / "run.log").write_text("x")
    (work_dir / "vis" / "scalars.json").write_text("{}")
    (work_dir / "model.pth").write_text("x")
    backend = MLflowVisBackend(
        str(tmp_path / "ml"), exp_name="exp", run_name="r1", tags={"t": "1"}, params={"p": 2}
    )
    backend.add_scalars({"loss": torch.tensor(0.25)}, step=4)
    with pytest.raises(AssertionError, match="step"):
        backend.add_scalars({"step": 1})
    cfg = Config({"work_dir": str(work_dir), "model": {"type": "Net", "layers": [{"k": 3}]}})
    backend.add_config(cfg)
    backend.close()
    names = [name for name, _, _ in calls]
    assert names[:6] == [
        "set_tracking_uri",
        "get_experiment_by_name",
        "create_experiment",
        "set_experiment",
        "set_tag",
        "set_tags",
    ]
    assert calls[0][1] == (f"file://{tmp_path / 'ml'}",)
    assert ("log_metrics", ({"loss": 0.25}, 4), {}) in calls
    params = next(
        args[0] for name, args, _ in calls if name == "log_params" and "model.type" in args[0]
    )
    assert params == {"work_dir": str(work_dir), "model.type": "Net", "model.layers.0.k": 3}
    artifacts = sorted(args for name, args, _ in calls if name == "log_artifact")
    assert artifacts == [
        (str(work_dir / "run.log"), None),
        (str(work_dir / "vis" / "scalars.json"), "vis"),
    ]
    assert names[-1] == "end_run"


def test_flatten_config() -> None:
    assert flatten_config({"a": {"b": 1, "c": [{"d": 2}, {"e": 3}]}, "f": [1, 2]}) == {
        "a.b": 1,
        "a.c.0.d": 2,
        "a.c.1.e": 3,
        "f": [1, 2],
    }


def test_aim_backend_calls(tmp_path, monkeypatch) -> None:
    calls: list = []

    class Run(Recorder):
        def __init__(self, **kwargs) -> None:
            super().__init__(calls, "run.")
            calls.append(("Run", (), kwargs))

        def __setitem__(self, key, value) -> None:
            calls.append(("run.__setitem__", (key, value), {}))

    _fake_module(monkeypatch, "aim", calls, Run=Run)
    backend = AimVisBackend(init_kwargs={"experiment": "e"})
    backend.add_scalars({"loss": torch.tensor(1.0), "acc": 0.5}, step=2)
    backend.add_config(Config({"lr": 0.1, "size": (1, 2)}))
    backend.close()
    assert calls == [
        ("Run", (), {"experiment": "e"}),
        ("run.track", (), {"name": "loss", "value": 1.0, "step": 2}),
        ("run.track", (), {"name": "acc", "value": 0.5, "step": 2}),
        ("run.__setitem__", ("hparams", {"lr": 0.1, "size": [1, 2]}), {}),
        ("run.close", (), {}),
    ]


def _work_dir_with_files(tmp_path):
    work_dir = tmp_path / "work"
    (work_dir / "sub").mkdir(parents=True)
    for name in ("cfg.py", "sub/epoch_1.pth", "run.log", "sub/scalars.json"):
        (work_dir / name).write_text("x")
    return work_dir


def test_clearml_backend_calls(tmp_path, monkeypatch) -> None:
    calls: list = []
    logger = Recorder(calls, "logger.")
    task = Recorder(calls, "task.", returns={"task.get_logger": logger})
    _fake_module(monkeypatch, "clearml", calls, Task=Recorder(calls, "Task.", {"Task.init": task}))
    work_dir = _work_dir_with_files(tmp_path)
    backend = ClearMLVisBackend(init_kwargs={"project_name": "p"})
    backend.add_scalars({"loss": torch.tensor(0.5), "acc": 1.0}, step=3)
    with pytest.raises(AssertionError, match="step"):
        backend.add_scalars({"step": 1})
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    backend.add_image("img", image, step=4)
    backend.add_config(Config({"work_dir": str(work_dir), "lr": 0.1}))
    backend.close()
    assert calls[:4] == [
        ("Task.init", (), {"project_name": "p"}),
        ("task.get_logger", (), {}),
        ("logger.report_scalar", (), {"title": "loss", "series": "loss", "value": 0.5,
                                      "iteration": 3}),
        ("logger.report_scalar", (), {"title": "acc", "series": "acc", "value": 1.0,
                                      "iteration": 3}),
    ]  # fmt: skip
    assert calls[4][0] == "logger.report_image"
    assert calls[4][2]["iteration"] == 4
    assert calls[5] == ("task.connect_configuration", ({"work_dir": str(work_dir), "lr": 0.1},), {})
    uploads = sorted(
        kw["artifact_object"] for name, _, kw in calls if name == "task.upload_artifact"
    )
    assert uploads == [str(work_dir / "cfg.py"), str(work_dir / "sub" / "epoch_1.pth")]
    assert calls[-1] == ("task.close", (), {})


def test_neptune_backend_calls(tmp_path, monkeypatch) -> None:
    calls: list = []

    class Run:
        def __getitem__(self, key):
            return Recorder(calls, f"run[{key}].")

        def stop(self) -> None:
            calls.append(("run.stop", (), {}))

    class File:
        @staticmethod
        def from_content(text):
            return ("content", text)

        @staticmethod
        def as_image(image):
            return ("image", image.dtype.name, float(image.max()))

    def init_run(**kwargs):
        calls.append(("init_run", (), kwargs))
        return Run()

    _fake_module(monkeypatch, "neptune", calls, init_run=init_run)
    _fake_module(monkeypatch, "neptune.types", calls, File=File)
    backend = NeptuneVisBackend()
    backend.add_scalars({"loss": torch.tensor(0.25)}, step=2)
    backend.add_config(Config({"lr": 0.1}))
    backend.add_image("img", np.full((2, 2, 3), 255, dtype=np.uint8), step=5)
    backend.close()
    assert calls[0] == ("init_run", (), {"mode": "offline"})  # offline unless told otherwise
    assert calls[1] == ("run[loss].append", (0.25,), {"step": 2})
    assert calls[2][0] == "run[config].upload"
    assert "lr = 0.1" in calls[2][1][0][1]
    assert calls[3] == ("run[images].append", (("image", "float32", 1.0),),
                        {"name": "img", "step": 5})  # fmt: skip
    assert calls[-1] == ("run.stop", (), {})


def test_dvclive_backend_calls_without_git(tmp_path, monkeypatch) -> None:
    calls: list = []

    class Live(Recorder):
        def __init__(self, **kwargs) -> None:
            super().__init__(calls, "live.")
            calls.append(("Live", (), kwargs))

        def __setattr__(self, name, value) -> None:
            if name.startswith("_"):
                object.__setattr__(self, name, value)
            else:
                calls.append(("live.set", (name, value), {}))

    repo = Recorder(calls, "Repo.")
    _fake_module(monkeypatch, "dvclive", calls, Live=Live)
    _fake_module(monkeypatch, "dvc", calls)
    _fake_module(monkeypatch, "dvc.repo", calls, Repo=repo)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable: DVC is set up without SCM
    work_dir = _work_dir_with_files(tmp_path)
    save_dir = str(tmp_path / "dvc_out")
    backend = DVCLiveVisBackend(save_dir)
    backend.add_scalar("loss", torch.tensor(0.5), step=7)
    backend.add_image("img", np.zeros((2, 2, 3), dtype=np.uint8), step=8)
    backend.add_config(Config({"work_dir": str(work_dir)}))
    backend.close()
    assert calls[0] == ("Repo.init", (str(tmp_path),), {"no_scm": True})
    assert calls[1] == ("Live", (), {"dir": save_dir, "save_dvc_exp": True, "cache_images": True})
    assert calls[2:5] == [
        ("live.set", ("step", 7), {}),
        ("live.log_metric", ("loss", 0.5), {}),
        ("live.set", ("step", 8), {}),
    ]
    assert (calls[5][0], calls[5][1][0], calls[5][1][1].shape) == (
        "live.log_image",
        "img.png",
        (2, 2, 3),
    )
    artifacts = sorted(args[0] for name, args, _ in calls if name == "live.log_artifact")
    assert artifacts == [str(work_dir / "cfg.py"), str(work_dir / "sub" / "scalars.json")]
    assert calls[-1] == ("live.end", (), {})
