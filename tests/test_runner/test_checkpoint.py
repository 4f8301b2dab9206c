"""Checkpoint helpers: atomic writes, safe loading, URL schemes, state-dict utilities."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from piston.runner import (
    CheckpointLoader,
    find_latest_checkpoint,
    get_state_dict,
    load_checkpoint,
    load_state_dict,
    save_checkpoint,
    weights_to_cpu,
)
from piston.runner.checkpoint import _load_checkpoint


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.fc = nn.Linear(4, 2)


def test_save_and_load_roundtrip_with_weights_only(tmp_path) -> None:
    from piston.logging import MessageHub

    hub = MessageHub("ckpt-test")
    hub.update_scalar("train/loss", torch.tensor(2.0))
    hub.update_scalar("train/loss", 1.0)
    hub.update_info("epoch", 3)
    net = Net()
    path = str(tmp_path / "ckpt.pth")
    save_checkpoint({"state_dict": net.state_dict(), "message_hub": hub.state_dict()}, path)
    loaded = _load_checkpoint(path, map_location="cpu")  # weights_only=True by default
    assert torch.equal(loaded["state_dict"]["fc.weight"], net.fc.weight)
    restored = MessageHub("ckpt-test-2")
    restored.load_state_dict(loaded["message_hub"])
    assert float(restored.get_scalar("train/loss").mean()) == 1.5
    assert restored.get_info("epoch") == 3
    # No temporary files are left behind.
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pth"]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_untrusted_pickle_is_refused_by_default(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "evil.pth")
    torch.save({"state_dict": {}, "x": _Evil()}, path)
    with pytest.raises(RuntimeError, match="weights_only=True"):
        _load_checkpoint(path)
    # explicit opt-in still works
    monkeypatch.setattr(os, "system", lambda cmd: 0)
    assert _load_checkpoint(path, weights_only=False)["x"] == 0


def test_corrupt_checkpoint_gives_clear_error(tmp_path) -> None:
    path = tmp_path / "corrupt.pth"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(RuntimeError, match="corrupt or not a torch checkpoint"):
        _load_checkpoint(str(path))


def test_missing_checkpoint_gives_file_not_found(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="can not be found"):
        load_checkpoint(Net(), str(tmp_path / "nope.pth"))


def test_interrupted_write_keeps_previous_checkpoint(tmp_path) -> None:
    """A process killed in the middle of writing leaves the old file intact and loadable."""
    path = tmp_path / "latest.pth"
    save_checkpoint({"state_dict": {"w": torch.ones(3)}}, str(path))
    script = textwrap.dedent(
        f"""
        import os, signal, torch
        import piston.runner.checkpoint as ck
        calls = []
        def dying_write(fobj, chunk):
            fobj.write(chunk[: len(chunk) // 2])
            fobj.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        ck._write_chunk = dying_write
        ck.save_checkpoint({{"state_dict": {{"w": torch.zeros(1 << 16)}}}}, {str(path)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    loaded = _load_checkpoint(str(path))
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(3))


def test_find_latest_checkpoint(tmp_path) -> None:
    assert find_latest_checkpoint(str(tmp_path)) is None
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_3.pth"))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / "epoch_3.pth")


def test_load_checkpoint_revise_keys_and_strict(tmp_path) -> None:
    src = Net()
    state = OrderedDict((f"module.{k}", v) for k, v in src.state_dict().items())
    path = str(tmp_path / "wrapped.pth")
    save_checkpoint({"state_dict": state}, path)
    dst = Net()
    load_checkpoint(dst, path)
    assert torch.equal(dst.fc.weight, src.fc.weight)
    # revise_keys that do not strip the prefix leave every key unexpected → strict error
    with pytest.raises(RuntimeError, match="do not match exactly"):
        load_checkpoint(Net(), path, strict=True, revise_keys=[])


def test_load_state_dict_ignores_num_batches_tracked_and_unwraps() -> None:
    from piston.model import MMDistributedDataParallel  # noqa: F401 - registers wrappers

    src = Net()
    state = {k: v for k, v in src.state_dict().items() if "num_batches_tracked" not in k}
    dst = Net()
    load_state_dict(dst, state, strict=True)  # no error for the missing counter
    assert torch.equal(dst.block.conv.weight, src.block.conv.weight)


def test_get_state_dict_unwraps_wrappers_and_weights_to_cpu() -> None:
    from torch.nn.parallel import DataParallel

    net = Net()
    net.block = DataParallel(net.block)  # a registered model wrapper at an inner level
    state = get_state_dict(net)
    assert "block.conv.weight" in state
    assert "block.module.conv.weight" not in state
    cpu = weights_to_cpu(state)
    assert hasattr(cpu, "_metadata")
    assert all(v.device.type == "cpu" for v in cpu.values())


def test_fsspec_url_scheme(tmp_path) -> None:
    net = Net()
    url = "memory://piston-test/ckpt.pth"
    save_checkpoint({"state_dict": net.state_dict()}, url)
    loaded = _load_checkpoint(url)
    assert torch.equal(loaded["state_dict"]["fc.bias"], net.fc.bias)


def test_torchvision_scheme_uses_the_hub_cache(tmp_path, monkeypatch) -> None:
    """``torchvision://name.weights`` resolves to the weight URL and loads the cached file."""
    from piston.runner import get_torchvision_models

    urls = get_torchvision_models()
    url = urls["resnet18.imagenet1k_v1"]
    assert urls["resnet18"] == url
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save({"fc.weight": torch.full((2, 2), 7.0)}, cache / os.path.basename(url))
    loaded = CheckpointLoader.load_checkpoint("torchvision://resnet18.imagenet1k_v1")
    assert torch.equal(loaded["fc.weight"], torch.full((2, 2), 7.0))


def test_torchvision_bare_name_means_the_original_imagenet_weights() -> None:
    """``torchvision://resnet50`` (every mmdet/mmseg backbone config) is the V1 checkpoint that
    configs were tuned with, not torchvision's newer DEFAULT (V2); ``.default`` reaches that."""
    import torchvision.models as tv_models

    from piston.runner import get_torchvision_models

    urls = get_torchvision_models()
    weights = tv_models.get_model_weights("resnet50")
    assert urls["resnet50"] == weights.IMAGENET1K_V1.url
    assert urls["resnet50.default"] == weights.DEFAULT.url != urls["resnet50"]
    assert urls["resnet50.imagenet1k_v2"] == weights.IMAGENET1K_V2.url


def test_register_scheme_longest_prefix_and_duplicates() -> None:
    def load_from_foo(filename, map_location, weights_only=None):
        return {"from": "foo", "name": filename}

    def load_from_foobar(filename, map_location, weights_only=None):
        return {"from": "foobar"}

    CheckpointLoader.register_scheme("foo://", load_from_foo)
    CheckpointLoader.register_scheme("foo://bar", load_from_foobar)
    try:
        assert CheckpointLoader.load_checkpoint("foo://x")["from"] == "foo"
        assert CheckpointLoader.load_checkpoint("foo://bar/x")["from"] == "foobar"
        with pytest.raises(KeyError, match="already registered"):
            CheckpointLoader.register_scheme("foo://", load_from_foo)
        CheckpointLoader.register_scheme("foo://", load_from_foo, force=True)
    finally:
        CheckpointLoader._schemes.pop("foo://", None)
        CheckpointLoader._schemes.pop("foo://bar", None)


def test_save_checkpoint_rejects_both_client_and_backend_args(tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot be set at the same time"):
        save_checkpoint({}, str(tmp_path / "x.pth"), file_client_args={}, backend_args={})


def _mmengine_style_checkpoint(path) -> Net:
    """A checkpoint pickled the way MMEngine writes one: its HistoryBuffer inside message_hub."""
    import sys
    import types

    import numpy as np

    class HistoryBuffer:  # MMEngine's attribute layout
        def __init__(self) -> None:
            self.max_length = 1000000
            self._log_history = np.array([0.5, 0.25])
            self._count_history = np.array([1, 1])

    HistoryBuffer.__module__ = "mmengine.logging.history_buffer"
    HistoryBuffer.__qualname__ = "HistoryBuffer"
    names = ("mmengine", "mmengine.logging", "mmengine.logging.history_buffer")
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    sys.modules[names[-1]].HistoryBuffer = HistoryBuffer
    try:
        net = Net()
        torch.save(
            {
                "meta": {"epoch": 1, "iter": 3, "mmengine_version": "0.10.4", "cfg": "a = 1\n"},
                "state_dict": net.state_dict(),
                "message_hub": {
                    "log_scalars": {"train/loss": HistoryBuffer()},
                    "runtime_info": {"epoch": 0, "iter": 2},
                    "resumed_keys": {"train/loss": True},
                },
            },
            path,
        )
    finally:
        for name in names:
            del sys.modules[name]
    return net


@pytest.mark.parametrize("weights_only", [True, False])
def test_checkpoint_written_by_mmengine_loads_without_mmengine(tmp_path, weights_only) -> None:
    """spec README: pickled ``mmengine.*`` classes are read as their piston twins."""
    from piston.logging import HistoryBuffer

    path = tmp_path / "mmengine_epoch_1.pth"
    net = _mmengine_style_checkpoint(path)
    loaded = CheckpointLoader.load_checkpoint(str(path), weights_only=weights_only)
    buffer = loaded["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == 0.25
    assert torch.equal(loaded["state_dict"]["fc.weight"], net.fc.weight)
