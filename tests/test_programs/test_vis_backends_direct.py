"""A standalone Visualizer with LocalVisBackend + TensorboardVisBackend, used the way analysis
scripts use it outside a Runner: configs, scalars of many types, images, a graph."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import torch.nn as nn

from piston.config import Config
from piston.visualization import LocalVisBackend, TensorboardVisBackend, Visualizer


def test_local_and_tensorboard_records(tmp_path) -> None:
    cfg = Config(dict(model=dict(type="ResNet", depth=18), optim=dict(lr=0.01)))
    vis = Visualizer.get_instance(
        "analysis",
        vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")],
        save_dir=str(tmp_path / "work"),
    )
    assert isinstance(vis.get_backend("LocalVisBackend"), LocalVisBackend)
    assert isinstance(vis.get_backend("TensorboardVisBackend"), TensorboardVisBackend)
    vis_dir = tmp_path / "work" / "vis_data"
    assert not vis_dir.exists()  # backends set up lazily

    vis.add_config(cfg)
    vis.add_graph(nn.Linear(2, 2), torch.zeros(1, 2))
    vis.add_scalar("loss", torch.tensor(0.25), step=1)
    vis.add_scalar("lr", np.float64(0.01), step=1)
    vis.add_scalars({"acc": 90, "mAP": torch.tensor(0.5)}, step=2)
    vis.add_scalars({"acc": 91}, step=3, file_path="val.json")
    img = np.zeros((10, 12, 3), dtype=np.uint8)
    img[..., 0] = 255
    vis.add_image("pred", img, step=4)
    vis.add_image("pred", img)  # default step 0
    vis.add_image("val/pred", img, step=5)  # hooks that name images per split
    vis.add_scalar("fp32", np.float32(0.5), step=5)
    vis.close()

    assert Config.fromfile(str(vis_dir / "config.py")).model == dict(type="ResNet", depth=18)
    records = [json.loads(line) for line in (vis_dir / "scalars.json").read_text().splitlines()]
    assert records == [
        {"loss": 0.25, "step": 1},
        {"lr": 0.01, "step": 1},
        {"acc": 90, "mAP": 0.5, "step": 2},
        {"acc": 91, "step": 3},
        {"fp32": 0.5, "step": 5},
    ]
    assert [json.loads(x) for x in (vis_dir / "val.json").read_text().splitlines()] == [
        {"acc": 91, "step": 3}
    ]
    assert sorted(os.listdir(vis_dir / "vis_image")) == ["pred_0.png", "pred_4.png", "val"]
    assert os.listdir(vis_dir / "vis_image" / "val") == ["pred_5.png"]
    from PIL import Image

    with Image.open(vis_dir / "vis_image" / "pred_4.png") as png:
        pixels = np.asarray(png.convert("RGB"))
    assert pixels.shape == (10, 12, 3)
    assert tuple(pixels[3, 3]) == (255, 0, 0)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(vis_dir))
    acc.Reload()
    tags = acc.Tags()
    assert {"loss", "lr", "acc", "mAP"} <= set(tags["scalars"])
    assert [(e.step, round(e.value, 4)) for e in acc.Scalars("acc")] == [(2, 90.0), (3, 91.0)]
    assert [e.step for e in acc.Scalars("loss")] == [1]
    assert "pred" in tags["images"]
    assert sorted(e.step for e in acc.Images("pred")) == [0, 4]
    first = acc.Images("pred")[0]
    assert (first.width, first.height) == (12, 10)
    assert any(t.startswith("config") for t in tags["tensors"])
    text = acc.Tensors(next(t for t in tags["tensors"] if t.startswith("config")))[0]
    assert b"ResNet" in text.tensor_proto.string_val[0]


def test_backend_argument_errors(tmp_path) -> None:
    vis = Visualizer(
        name="errs", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path)
    )
    with pytest.raises(AssertionError):
        vis.add_image("bad", np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(AssertionError, match="json"):
        vis.add_scalars({"a": 1}, file_path="val.txt")
    with pytest.raises(AssertionError):
        vis.add_scalars({"a": 1}, file_path="scalars.json")
    with pytest.raises(AssertionError):
        LocalVisBackend(str(tmp_path), config_save_file="config.yaml")
    with pytest.raises(AssertionError):
        LocalVisBackend(str(tmp_path), scalar_save_file="scalars.txt")
    with pytest.raises(TypeError):
        Visualizer(name="t", vis_backends="LocalVisBackend", save_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match="name"):
        Visualizer(
            name="dup",
            vis_backends=[dict(type="LocalVisBackend"), dict(type="LocalVisBackend")],
            save_dir=str(tmp_path),
        )
    with pytest.warns(UserWarning, match="save_dir"):
        nosave = Visualizer(name="nosave", vis_backends=[dict(type="LocalVisBackend")])
    assert nosave.get_backend("LocalVisBackend") is None
    nosave.add_scalars({"a": 1})  # nothing to forward to: a no-op
    tb = TensorboardVisBackend(str(tmp_path / "tb"))
    with pytest.warns(UserWarning, match="Skip it: s"):
        tb.add_scalar("s", "not a number")
    with pytest.raises(AssertionError):
        tb.add_scalars({"a": 1, "step": 2})
    tb.close()
