from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from piston.config import Config
from piston.registry import VISBACKENDS
from piston.visualization import (
    BaseVisBackend,
    LocalVisBackend,
    TensorboardVisBackend,
    force_init_env,
)
from piston.visualization._base import to_plain


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_backends_are_registered() -> None:
    assert VISBACKENDS.get("LocalVisBackend") is LocalVisBackend
    assert VISBACKENDS.get("TensorboardVisBackend") is TensorboardVisBackend


def test_force_init_env_runs_once() -> None:
    class Counting(BaseVisBackend):
        calls = 0

        @property
        def experiment(self):
            return self

        def _init_env(self) -> None:
            Counting.calls += 1

        @force_init_env
        def add_scalar(self, name, value, step=0, **kwargs):
            return value

    backend = Counting("unused")
    assert Counting.calls == 0
    assert backend.add_scalar("a", 1) == 1
    assert backend.add_scalar("a", 2) == 2
    assert Counting.calls == 1


def test_to_plain_converts_tensors_and_numpy() -> None:
    value = {"a": torch.tensor(1.5), "b": np.float32(2.0), "c": [np.int64(3), torch.ones(2)]}
    assert to_plain(value) == {"a": 1.5, "b": 2.0, "c": [3, [1.0, 1.0]]}


def test_local_backend_checks_file_names(tmp_path) -> None:
    with pytest.raises(AssertionError, match=r"\.py"):
        LocalVisBackend(str(tmp_path), config_save_file="config.txt")
    with pytest.raises(AssertionError, match=r"\.json"):
        LocalVisBackend(str(tmp_path), scalar_save_file="scalars.txt")


def test_local_backend_is_lazy_and_writes_json_lines(tmp_path) -> None:
    save_dir = tmp_path / "vis_data"
    backend = LocalVisBackend(str(save_dir))
    assert not save_dir.exists()
    assert backend.experiment is backend
    assert save_dir.is_dir()

    backend.add_scalars(
        {"lr": 0.001, "data_time": 0.0077, "loss": 5.3465, "time": 0.1414, "epoch": 1,
         "iter": 10, "memory": 392},
        step=10,
        file_path="20220822_155156.json",
    )  # fmt: skip
    backend.add_scalars(
        {"accuracy": torch.tensor(35.7, dtype=torch.float64), "data_time": np.float64(0.0047)},
        step=1,
    )
    backend.add_scalars({"loss": 0.1, "step": 99}, step=5)  # an explicit step is kept
    backend.add_scalar("val/acc", torch.tensor(0.25), step=3)
    lines = (save_dir / "scalars.json").read_text().splitlines()
    assert lines[0] == (
        '{"lr": 0.001, "data_time": 0.0077, "loss": 5.3465, "time": 0.1414, "epoch": 1, '
        '"iter": 10, "memory": 392, "step": 10}'
    )
    assert json.loads(lines[1]) == {"accuracy": 35.7, "data_time": 0.0047, "step": 1}
    assert json.loads(lines[2]) == {"loss": 0.1, "step": 99}
    assert json.loads(lines[3]) == {"val/acc": 0.25, "step": 3}
    assert (save_dir / "20220822_155156.json").read_text().splitlines() == lines[:1]

    with pytest.raises(AssertionError, match=r"\.json"):
        backend.add_scalars({"a": 1}, file_path="extra.txt")
    with pytest.raises(AssertionError, match="differ"):
        backend.add_scalars({"a": 1}, file_path="scalars.json")


def test_local_backend_does_not_mutate_input(tmp_path) -> None:
    backend = LocalVisBackend(str(tmp_path))
    scalars = {"loss": torch.tensor(1.0)}
    backend.add_scalars(scalars, step=1)
    assert set(scalars) == {"loss"}
    assert isinstance(scalars["loss"], torch.Tensor)


def test_local_backend_config_and_images(tmp_path) -> None:
    from PIL import Image

    backend = LocalVisBackend(str(tmp_path), img_save_dir="imgs", config_save_file="cfg.py")
    backend.add_config(Config({"model": {"type": "Net", "depth": 3}}))
    assert Config.fromfile(str(tmp_path / "cfg.py")).model.depth == 3
    with pytest.raises(AssertionError, match="Config"):
        backend.add_config({"a": 1})

    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[..., 0] = 200  # red in RGB
    image[1, 2] = (10, 20, 30)
    backend.add_image("sample", image, step=7)
    saved = np.asarray(Image.open(tmp_path / "imgs" / "sample_7.png").convert("RGB"))
    np.testing.assert_array_equal(saved, image)
    with pytest.raises(AssertionError, match="uint8"):
        backend.add_image("bad", image.astype(np.float32))


def test_tensorboard_backend_writes_a_readable_event_file(tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    backend = TensorboardVisBackend(str(tmp_path / "tb"))
    assert not (tmp_path / "tb").exists()  # nothing happens before the first write
    backend.add_scalars({"loss": torch.tensor(0.5), "lr": 0.01}, step=1)
    backend.add_scalars({"loss": np.float32(0.25), "lr": np.array(0.02)}, step=2)
    backend.add_scalar("val/acc", 75, step=1)
    image = np.full((8, 8, 3), 128, dtype=np.uint8)
    backend.add_image("sample", image, step=3)
    backend.add_config(Config({"lr": 0.01}))
    with pytest.warns(UserWarning, match="Skip it: note"):
        backend.add_scalar("note", "text", step=1)
    with pytest.raises(AssertionError, match="step"):
        backend.add_scalars({"loss": 1.0, "step": 3})
    backend.close()

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    tags = events.Tags()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(1, 0.5), (2, 0.25)]
    assert [e.value for e in events.Scalars("lr")] == pytest.approx([0.01, 0.02])
    assert [(e.step, e.value) for e in events.Scalars("val/acc")] == [(1, 75.0)]
    assert "note" not in tags["scalars"]
    assert [(e.step, e.width, e.height) for e in events.Images("sample")] == [(3, 8, 8)]
    assert "config/text_summary" in tags["tensors"]
    text = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "lr = 0.01" in text


def test_tensorboard_backend_missing_package_hint(tmp_path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    backend = TensorboardVisBackend(str(tmp_path))
    with pytest.raises(ImportError, match="pip install tensorboard"):
        backend.add_scalar("a", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backend.close()  # closing a backend that never started is fine
