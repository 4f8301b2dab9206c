from __future__ import annotations

import json
import os

import numpy as np
import pytest

from piston.registry import VISUALIZERS
from piston.visualization import BaseVisBackend, LocalVisBackend, Visualizer


class RecordingBackend(BaseVisBackend):
    """Records every call it receives."""

    def __init__(self, save_dir: str | None = None) -> None:
        super().__init__(save_dir)
        self.calls: list[tuple] = []

    @property
    def experiment(self):
        return self

    def _init_env(self) -> None:
        pass

    def add_config(self, config, **kwargs) -> None:
        self.calls.append(("config", config))

    def add_graph(self, model, data_batch, **kwargs) -> None:
        self.calls.append(("graph", model, data_batch))

    def add_image(self, name, image, step=0, **kwargs) -> None:
        self.calls.append(("image", name, image.shape, step))

    def add_scalar(self, name, value, step=0, **kwargs) -> None:
        self.calls.append(("scalar", name, value, step))

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs) -> None:
        self.calls.append(("scalars", scalar_dict, step, file_path))

    def close(self) -> None:
        self.calls.append(("close",))


def test_build_from_registry_with_save_dir(tmp_path) -> None:
    vis = VISUALIZERS.build(
        {
            "type": "Visualizer",
            "name": "exp",
            "vis_backends": [
                {"type": "LocalVisBackend"},
                {"type": "LocalVisBackend", "name": "b", "scalar_save_file": "b.json"},
            ],
            "save_dir": str(tmp_path),
        }
    )
    assert Visualizer.get_current_instance() is vis
    local = vis.get_backend("LocalVisBackend")
    assert isinstance(local, LocalVisBackend)
    assert isinstance(vis.get_backend("b"), LocalVisBackend)
    assert vis.get_backend("missing") is None
    vis.add_scalars({"loss": 1.0}, step=2)
    assert json.loads((tmp_path / "vis_data" / "scalars.json").read_text()) == {
        "loss": 1.0,
        "step": 2,
    }
    assert (tmp_path / "vis_data" / "b.json").is_file()


def test_backend_config_errors(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="twice"):
        Visualizer(vis_backends=[{"type": "LocalVisBackend"}] * 2, save_dir=str(tmp_path))
    with pytest.raises(TypeError, match="vis_backends"):
        Visualizer(vis_backends="LocalVisBackend")
    with pytest.raises(TypeError, match="vis_backend"):
        Visualizer(vis_backends=[1])


def test_backend_without_save_dir_is_skipped_with_warning(tmp_path) -> None:
    with pytest.warns(UserWarning, match="save_dir is None"):
        vis = Visualizer(vis_backends={"type": "LocalVisBackend"})
    assert vis.get_backend("LocalVisBackend") is None
    explicit = Visualizer(vis_backends={"type": "LocalVisBackend", "save_dir": str(tmp_path)})
    assert explicit.get_backend("LocalVisBackend") is not None


def test_methods_forward_to_every_backend() -> None:
    class OtherBackend(RecordingBackend):
        pass

    first, second = RecordingBackend(), OtherBackend()
    vis = Visualizer(vis_backends=[first, second])
    assert vis.get_backend("OtherBackend") is second
    with pytest.raises(RuntimeError, match="twice"):
        Visualizer(vis_backends=[first, RecordingBackend()])
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    vis.add_config("cfg")
    vis.add_graph("model", "batch")
    vis.add_image("img", image, step=4)
    vis.add_scalar("acc", 0.5, step=1)
    vis.add_scalars({"loss": 0.1}, step=3, file_path="x.json")
    assert vis.add_datasample("sample", image) is None
    vis.close()
    expected = [
        ("config", "cfg"),
        ("graph", "model", "batch"),
        ("image", "img", (2, 3, 3), 4),
        ("scalar", "acc", 0.5, 1),
        ("scalars", {"loss": 0.1}, 3, "x.json"),
        ("close",),
    ]
    assert first.calls == expected
    assert second.calls == expected


def test_subclass_instances_become_current() -> None:
    class TaskVisualizer(Visualizer):
        pass

    base = Visualizer.get_instance("base")
    assert Visualizer.get_current_instance() is base
    task = TaskVisualizer.get_instance("task")
    assert Visualizer.get_current_instance() is task
    assert TaskVisualizer.get_current_instance() is task
    assert Visualizer.get_instance("base") is base
    assert Visualizer.get_current_instance() is task  # fetching does not make it current


def test_dataset_meta_and_image() -> None:
    vis = Visualizer(image=np.full((180, 360, 3), 300.0))
    assert vis.dataset_meta is None
    vis.dataset_meta = {"classes": ("cat", "dog")}
    assert vis.dataset_meta == {"classes": ("cat", "dog")}
    assert (vis.height, vis.width) == (180, 360)
    assert vis._default_font_size == 10
    assert vis.get_image().dtype == np.uint8
    with pytest.raises(AssertionError, match="set_image"):
        Visualizer().get_image()


def test_reset_closes_backends() -> None:
    from piston.utils.manager import _reset_all_instances

    backend = RecordingBackend()
    Visualizer.get_instance("closing", vis_backends=backend)
    _reset_all_instances()
    assert backend.calls == [("close",)]


# Rank-0-only writing in two real processes is checked together with the logger's rank
# awareness (one spawned pair): tests/test_logging/test_logger.py.


def test_child_registry_backend_needing_save_dir_is_skipped(tmp_path) -> None:
    """A downstream backend registered in a child VISBACKENDS is found in its scope."""
    from piston.registry import VISBACKENDS, DefaultScope, Registry

    child = Registry("vis_backend", parent=VISBACKENDS, scope="piston_vis_child_test")

    @child.register_module()
    class ChildBackend(RecordingBackend):
        def __init__(self, save_dir: str) -> None:
            super().__init__(save_dir)

    DefaultScope.get_instance("child_scope", scope_name="piston_vis_child_test")
    with pytest.warns(UserWarning, match="Failed to add ChildBackend"):
        vis = Visualizer(vis_backends=[{"type": "ChildBackend"}])
    assert vis.get_backend("ChildBackend") is None
    vis = Visualizer(vis_backends=[{"type": "ChildBackend"}], save_dir=str(tmp_path))
    backend = vis.get_backend("ChildBackend")
    assert isinstance(backend, ChildBackend)
    assert backend._save_dir == os.path.join(str(tmp_path), "vis_data")
    vis.add_scalars({"loss": 0.5}, step=7)
    assert backend.calls == [("scalars", {"loss": 0.5}, 7, None)]


def test_backend_instance_without_required_save_dir_is_skipped(tmp_path) -> None:
    with pytest.warns(UserWarning, match="Failed to add LocalVisBackend"):
        vis = Visualizer(vis_backends=[LocalVisBackend(None), RecordingBackend()])
    assert list(vis._vis_backends) == ["RecordingBackend"]  # save_dir is optional there
    kept = LocalVisBackend(str(tmp_path))
    assert Visualizer(vis_backends=kept).get_backend("LocalVisBackend") is kept
