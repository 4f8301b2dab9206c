from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from piston.logging import MMLogger
from piston.model import BaseModule, ModuleDict, ModuleList, Sequential


class Leaf(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.fc = nn.Linear(2, 2)


class CustomInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def init_weights(self):
        nn.init.constant_(self.fc.weight, 9)


class Top(BaseModule):
    def __init__(self, init_cfg=None, child_cfg=None):
        super().__init__(init_cfg)
        self.child = Leaf(child_cfg)
        self.custom = CustomInit()
        self.conv = nn.Conv2d(1, 1, 1)


def test_init_cfg_deep_copied_and_is_init():
    cfg = {"type": "Constant", "layer": "Linear", "val": 1}
    module = Leaf(cfg)
    cfg["val"] = 5
    assert module.init_cfg["val"] == 1
    assert module.is_init is False
    module.init_weights()
    assert module.is_init is True
    assert torch.all(module.fc.weight == 1)
    module.is_init = False
    assert module.is_init is False


def test_children_initialised_after_parent_cfg():
    top = Top(
        init_cfg={"type": "Constant", "layer": ["Linear", "Conv2d"], "val": 1},
        child_cfg={"type": "Constant", "layer": "Linear", "val": 2},
    )
    top.init_weights()
    assert torch.all(top.conv.weight == 1)
    assert torch.all(top.child.fc.weight == 2)  # child's own cfg runs after the parent's
    assert torch.all(top.custom.fc.weight == 9)  # plain module's init_weights is called
    assert not hasattr(top, "_params_init_info")  # removed after the top-level call


def test_pretrained_runs_last(tmp_path):
    src = Top()
    nn.init.constant_(src.child.fc.weight, 0.5)
    nn.init.constant_(src.custom.fc.weight, 0.5)
    path = str(tmp_path / "w.pth")
    torch.save(src.state_dict(), path)
    top = Top(
        init_cfg=[
            {"type": "Pretrained", "checkpoint": path},
            {"type": "Constant", "layer": "Linear", "val": 3},
        ],
        child_cfg={"type": "Constant", "layer": "Linear", "val": 2},
    )
    top.init_weights()
    assert torch.all(top.child.fc.weight == 0.5)
    assert torch.all(top.custom.fc.weight == 0.5)


def test_second_call_warns_and_does_nothing(tmp_path):
    log_file = tmp_path / "warn.log"
    MMLogger.get_instance("second_call", log_file=str(log_file))
    module = Leaf({"type": "Constant", "layer": "Linear", "val": 1})
    module.init_weights()
    nn.init.constant_(module.fc.weight, 4)
    module.init_weights()
    assert torch.all(module.fc.weight == 4)
    text = log_file.read_text()
    assert "WARNING - init_weights of Leaf has been called more than once." in text


def test_init_log_written_to_file_handler(tmp_path):
    log_file = tmp_path / "run.log"
    MMLogger.get_instance("init_log_test", log_file=str(log_file))
    top = Top(init_cfg={"type": "Constant", "layer": "Conv2d", "val": 1})
    top.init_weights()
    for handler in MMLogger.get_current_instance().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "Name of parameter - Initialization information" in text
    assert "conv.weight - torch.Size([1, 1, 1, 1]): \nConstantInit: val=1, bias=0" in text
    assert "custom.fc.weight" in text
    assert "Initialized by user-defined `init_weights` in CustomInit" in text
    assert "child.fc.bias" in text
    assert "The value is the same before and after" in text


def test_init_log_goes_to_info_without_file_handler(capsys):
    MMLogger.get_instance("init_log_console")
    Leaf({"type": "Constant", "layer": "Linear", "val": 1}).init_weights()
    out = capsys.readouterr().out
    assert "INFO - \nfc.weight - torch.Size([2, 2]): \nConstantInit: val=1, bias=0" in out


def test_repr_shows_init_cfg():
    assert "init_cfg={'type': 'Constant'" in repr(Leaf({"type": "Constant", "val": 1}))
    assert "init_cfg" not in repr(Leaf())


def test_containers():
    cfg = {"type": "Constant", "layer": "Linear", "val": 6}
    seq = Sequential(nn.Linear(1, 1), nn.Linear(1, 1), init_cfg=cfg)
    seq.init_weights()
    assert all(torch.all(m.weight == 6) for m in seq)
    assert len(seq) == 2
    assert seq(torch.ones(1, 1)).shape == (1, 1)

    mlist = ModuleList([nn.Linear(1, 1)], init_cfg=cfg)
    mlist.append(Leaf({"type": "Constant", "layer": "Linear", "val": 2}))
    mlist.init_weights()
    assert torch.all(mlist[0].weight == 6)
    assert torch.all(mlist[1].fc.weight == 2)

    mdict = ModuleDict({"a": nn.Linear(1, 1)}, init_cfg=cfg)
    mdict.init_weights()
    assert torch.all(mdict["a"].weight == 6)
    assert ModuleList().init_cfg is None
    assert len(ModuleDict()) == 0


@pytest.mark.parametrize("container", [ModuleList, ModuleDict])
def test_empty_container_init_weights(container):
    module = container()
    module.init_weights()
    assert module.is_init


def test_child_replacing_its_layer_during_init_is_logged(capsys):
    class Rebuilds(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def init_weights(self):
            self.fc = nn.Linear(2, 2)  # a new parameter appears mid-init

    class Holder(BaseModule):
        def __init__(self):
            super().__init__()
            self.rebuilds = Rebuilds()

    MMLogger.get_instance("init_replaced_console")
    holder = Holder()
    holder.init_weights()  # used to crash with KeyError('init_info') in the init log
    out = capsys.readouterr().out
    assert "rebuilds.fc.weight - torch.Size([2, 2]): \nInitialized by user-defined" in out
    assert holder.is_init


def test_failed_init_leaves_no_stale_records(tmp_path):
    module = Leaf([{"type": "Pretrained", "checkpoint": str(tmp_path / "missing.pth")}])
    with pytest.raises(FileNotFoundError):
        module.init_weights()
    assert not any(hasattr(m, "_params_init_info") for m in module.modules())
    assert module.is_init is False
    module.init_cfg = {"type": "Constant", "layer": "Linear", "val": 2}
    module.init_weights()  # a retry is a fresh top-level call again
    assert torch.all(module.fc.weight == 2)
    assert not any(hasattr(m, "_params_init_info") for m in module.modules())
