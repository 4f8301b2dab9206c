"""Deprecated ``file_client_args``: resolved through ``FileClient.infer_client``, with a warning.

fileio.md §6 keeps ``file_client_args=dict(backend='disk')`` from old configs working ("every code
path accepting file_client_args warns"); runner.md §5 gives ``Runner.save_checkpoint`` the
argument and forbids combining it with ``backend_args``. Also: ``load``/``dump`` import from
``piston.fileio.io`` as they do from MMEngine's ``mmengine.fileio.io``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
import torch

from piston.model import BaseModel
from piston.runner import Runner


class _Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x, mode: str = "tensor"):
        out = self.fc(x)
        return {"loss": out.pow(2).mean()} if mode == "loss" else out


def _runner(work_dir: Path) -> Runner:
    return Runner(model=_Net(), work_dir=str(work_dir), default_hooks={})


def test_save_checkpoint_file_client_args_disk_backend(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    out = tmp_path / "ckpts"
    with pytest.warns(DeprecationWarning, match='"file_client_args" will be deprecated'):
        runner.save_checkpoint(str(out), "a.pth", file_client_args=dict(backend="disk"))
    ckpt = torch.load(out / "a.pth", map_location="cpu", weights_only=False)
    assert set(ckpt["state_dict"]) == {"fc.weight", "fc.bias"}
    assert torch.equal(ckpt["state_dict"]["fc.weight"], runner.model.fc.weight.detach())


def test_save_checkpoint_file_client_args_remote_prefix(tmp_path: Path, mem_root: str) -> None:
    """A non-disk client (here fsspec's ``memory://``) receives the bytes through ``put``."""
    import fsspec

    runner = _runner(tmp_path)
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        runner.save_checkpoint(mem_root, "b.pth", file_client_args=dict(prefix="memory"))
    fs = fsspec.filesystem("memory")
    data = fs.cat_file(f"{mem_root}/b.pth")
    ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    assert set(ckpt["state_dict"]) == {"fc.weight", "fc.bias"}
    assert not (tmp_path / "b.pth").exists()


def test_save_checkpoint_backend_args_reach_the_writer(tmp_path: Path) -> None:
    """``backend_args`` choose the writer too, not only the path join: a plain path written
    through ``backend_args=dict(backend='fsspec', protocol='memory')`` lands in memory."""
    import fsspec

    runner = _runner(tmp_path)
    out_dir = str(tmp_path / "in_memory")
    fs = fsspec.filesystem("memory")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # backend_args alone: no warning
            runner.save_checkpoint(
                out_dir, "c.pth", backend_args=dict(backend="fsspec", protocol="memory")
            )
        assert fs.exists(f"{out_dir}/c.pth")
        assert not (tmp_path / "in_memory" / "c.pth").exists()
    finally:
        if fs.exists(out_dir):
            fs.rm(out_dir, recursive=True)


def test_save_checkpoint_both_args_rejected(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    with (
        pytest.warns(DeprecationWarning, match="file_client_args"),
        pytest.raises(ValueError, match="cannot be set at the same time"),
    ):
        runner.save_checkpoint(
            str(tmp_path),
            "d.pth",
            file_client_args=dict(backend="disk"),
            backend_args=dict(backend="local"),
        )
    assert not (tmp_path / "d.pth").exists()


def test_checkpoint_hook_with_old_config_file_client_args(tmp_path: Path) -> None:
    """An MMEngine-era config: ``CheckpointHook(file_client_args=dict(backend='disk'))``."""
    data = [{"x": torch.randn(2)} for _ in range(4)]
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        runner = Runner(
            model=_Net(),
            work_dir=str(tmp_path),
            train_dataloader=dict(
                dataset=data,
                batch_size=2,
                sampler=dict(type="DefaultSampler", shuffle=False),
                collate_fn=dict(type="default_collate"),
            ),
            train_cfg=dict(by_epoch=True, max_epochs=1),
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
            default_hooks=dict(
                checkpoint=dict(
                    type="CheckpointHook", interval=1, file_client_args=dict(backend="disk")
                )
            ),
        )
    with (
        pytest.warns(DeprecationWarning, match="file_client_args"),
        pytest.warns(DeprecationWarning, match='"FileClient" will be deprecated'),
    ):
        runner.train()
    ckpt = torch.load(tmp_path / "epoch_1.pth", map_location="cpu", weights_only=False)
    assert ckpt["meta"]["epoch"] == 1
    assert (tmp_path / "last_checkpoint").read_text().strip().endswith("epoch_1.pth")


def test_load_dump_and_helpers_import_from_fileio_io(tmp_path: Path) -> None:
    import piston
    import piston.fileio as fileio
    from piston.fileio.io import dump, file_handlers, load, register_handler

    assert load is fileio.load is piston.load
    assert dump is fileio.dump is piston.dump
    assert register_handler is fileio.register_handler
    assert {"json", "yaml", "yml", "pickle", "pkl"} <= set(file_handlers)
    dump({"a": 1}, tmp_path / "x.json")
    assert load(tmp_path / "x.json") == {"a": 1}
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        assert load(str(tmp_path / "x.json"), file_client_args=dict(backend="disk")) == {"a": 1}


def test_handler_path_helpers_take_spec_name_and_old_name(tmp_path: Path) -> None:
    """fileio.md §3: ``load_from_path(path, mode='r')``, ``dump_to_path(obj, path, mode='w')``."""
    from piston.fileio import JsonHandler, PickleHandler

    json_h, pkl_h = JsonHandler(), PickleHandler()
    json_h.dump_to_path({"k": [1, 2]}, path=str(tmp_path / "a.json"))
    assert json_h.load_from_path(path=str(tmp_path / "a.json")) == {"k": [1, 2]}
    pkl_h.dump_to_path({"k": 3}, path=str(tmp_path / "a.pkl"))
    assert pkl_h.load_from_path(path=str(tmp_path / "a.pkl")) == {"k": 3}
    # MMEngine's keyword keeps working
    assert json_h.load_from_path(filepath=str(tmp_path / "a.json")) == {"k": [1, 2]}
    pkl_h.dump_to_path({"k": 4}, filepath=str(tmp_path / "b.pkl"))
    assert pkl_h.load_from_path(str(tmp_path / "b.pkl")) == {"k": 4}
    with pytest.raises(TypeError, match="missing 1 required argument: 'path'"):
        json_h.load_from_path()
    with pytest.raises(TypeError, match="both 'path' and 'filepath'"):
        json_h.dump_to_path({}, str(tmp_path / "c.json"), filepath=str(tmp_path / "c.json"))


def test_function_save_checkpoint_accepts_file_client_args(tmp_path: Path, mem_root: str) -> None:
    """``piston.runner.save_checkpoint`` (the function) takes old configs' file_client_args."""
    import fsspec

    from piston.runner import save_checkpoint

    state = {"w": torch.ones(2)}
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        save_checkpoint(state, str(tmp_path / "c.pth"), file_client_args=dict(backend="disk"))
    assert torch.equal(torch.load(tmp_path / "c.pth")["w"], torch.ones(2))
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        save_checkpoint(state, f"{mem_root}/d.pth", file_client_args=dict(prefix="memory"))
    data = fsspec.filesystem("memory").cat_file(f"{mem_root}/d.pth")
    assert torch.equal(torch.load(io.BytesIO(data))["w"], torch.ones(2))
