"""``pavi://`` checkpoints (runner.md §5, P2) against a small stand-in for the ``pavi`` client:
its model cloud is a local folder, with the client calls piston makes (``modelcloud.get``,
``Folder().create_training_model``, ``create_file``, ``download``, ``NodeNotFoundError``)."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch
import torch.nn as nn

from piston.runner import CheckpointLoader, Runner, load_checkpoint, save_checkpoint
from test_runner._toy import ToyModel

FAKE_PAVI = {
    "pavi/__init__.py": "",
    "pavi/exception.py": "class NodeNotFoundError(Exception):\n    pass\n",
    "pavi/modelcloud.py": """
        import os, shutil
        from .exception import NodeNotFoundError

        ROOT = os.environ["FAKE_PAVI_ROOT"]
        CREATED = []

        class _Node:
            def __init__(self, path):
                self.path, self.name = path, os.path.basename(path)

            def download(self, local):
                shutil.copyfile(os.path.join(ROOT, self.path), local)

            def create_file(self, local, name):
                shutil.copyfile(local, os.path.join(ROOT, self.path, name))

        class Folder:
            def create_training_model(self, path):
                CREATED.append(path)
                os.makedirs(os.path.join(ROOT, path))
                return _Node(path)

        def get(path):
            if not os.path.exists(os.path.join(ROOT, path)):
                raise NodeNotFoundError(path)
            return _Node(path)
    """,
}


@pytest.fixture
def fake_pavi(tmp_path, monkeypatch):
    for name, text in FAKE_PAVI.items():
        path = tmp_path / "site" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    monkeypatch.setenv("FAKE_PAVI_ROOT", str(cloud))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for mod in [m for m in sys.modules if m == "pavi" or m.startswith("pavi.")]:
        monkeypatch.delitem(sys.modules, mod)
    yield cloud
    for mod in [m for m in sys.modules if m == "pavi" or m.startswith("pavi.")]:
        del sys.modules[mod]


def test_save_and_load_through_the_model_cloud(fake_pavi) -> None:
    model = nn.Linear(2, 2)
    save_checkpoint({"state_dict": model.state_dict()}, "pavi://proj/exp/first.pth")
    import pavi.modelcloud

    assert pavi.modelcloud.CREATED == ["proj/exp"]  # the training model was created once
    save_checkpoint({"state_dict": model.state_dict()}, "pavi://proj/exp/second.pth")
    assert pavi.modelcloud.CREATED == ["proj/exp"]
    assert sorted(p.name for p in (fake_pavi / "proj" / "exp").iterdir()) == [
        "first.pth",
        "second.pth",
    ]
    assert CheckpointLoader._get_checkpoint_loader("pavi://proj/exp/first.pth").__name__ == (
        "load_from_pavi"
    )
    other = nn.Linear(2, 2)
    load_checkpoint(other, "pavi://proj/exp/second.pth", strict=True)
    assert torch.equal(other.weight, model.weight)
    with pytest.raises(ValueError, match="should be None"):
        save_checkpoint({}, "pavi://proj/exp/x.pth", backend_args={"backend": "local"})


def test_runner_save_checkpoint_to_a_pavi_out_dir(fake_pavi, tmp_path) -> None:
    runner = Runner(ToyModel(), work_dir=str(tmp_path / "work"))
    runner.save_checkpoint("pavi://proj/run/", "manual.pth", save_optimizer=False)
    checkpoint = torch.load(fake_pavi / "proj" / "run" / "manual.pth", weights_only=True)
    assert set(checkpoint["state_dict"]) == {"linear.weight", "linear.bias"}
    assert checkpoint["meta"]["epoch"] == 1


def test_missing_pavi_package_is_a_clear_import_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pavi", None)  # import pavi -> ImportError
    with pytest.raises(ImportError, match="pavi:// checkpoints need the `pavi` package"):
        save_checkpoint({}, "pavi://proj/x.pth")
    with pytest.raises(ImportError, match="`pavi` package"):
        load_checkpoint(nn.Linear(1, 1), "pavi://proj/x.pth")
