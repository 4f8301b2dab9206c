"""mmseg/mmpretrain-style modules built from ``BaseModule`` containers with layered init_cfgs.

A ``Sequential`` stem, a ``ModuleList`` of stages (each its own ``init_cfg``) and a
``ModuleDict`` of heads; the outer init_cfg list mixes ``layer=`` and ``override=``. The
program checks the resulting weights, who wins when a child has its own init_cfg, the
per-parameter summary written to the runner's log file, and the repr.
"""

from __future__ import annotations

import glob
import math
from pathlib import Path

import torch
import torch.nn as nn

from piston.logging import MMLogger
from piston.model import (
    BaseModel,
    BaseModule,
    ModuleDict,
    ModuleList,
    Sequential,
    bias_init_with_prob,
    constant_init,
    initialize,
)
from piston.runner import Runner


class MyConv(nn.Conv2d):
    """A conv subclass: ``layer='Conv2d'`` matches it through its direct base class."""


class Stage(BaseModule):
    def __init__(self, ch: int, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv = MyConv(ch, ch, 1)
        self.norm = nn.BatchNorm2d(ch)


class Net(BaseModel):
    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.stem = Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.stages = ModuleList(
            [
                Stage(4),
                Stage(4, init_cfg=dict(type="Constant", layer="Conv2d", val=0.5, bias=0.25)),
            ]
        )
        self.heads = ModuleDict(
            dict(cls=nn.Linear(4, 3), reg=nn.Linear(4, 2)),
            init_cfg=dict(type="Uniform", layer="Linear", a=2.0, b=3.0),
        )

    def forward(self, inputs, data_samples=None, mode="tensor"):
        x = self.stem(torch.stack(inputs))
        for stage in self.stages:
            x = stage.norm(stage.conv(x))
        feat = x.mean((2, 3))
        out = self.heads["cls"](feat)
        if mode == "loss":
            return dict(loss=out.pow(2).mean())
        return [out]


INIT_CFG = [
    dict(type="Kaiming", layer="Conv2d", mode="fan_out", nonlinearity="relu"),
    dict(type="Constant", layer=["BatchNorm2d", "_BatchNorm"], val=1, bias=0),
    dict(type="Xavier", layer="Linear", distribution="uniform", gain=1.0),
    dict(
        type="Normal",
        std=0.01,
        override=[
            dict(name="stem", type="Constant", val=0.0, bias=-1.0),
        ],
    ),
]


def test_layered_init_cfg(tmp_path) -> None:
    torch.manual_seed(0)
    model = Net(init_cfg=INIT_CFG)
    assert "init_cfg=" in repr(model)
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.rand(3, 6, 6)) for _ in range(2)],
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.0)),
    )
    runner.train()  # calls model.init_weights()
    m = runner.model
    assert m.is_init
    # override wins over the layer rule for the stem conv
    assert torch.all(m.stem[0].weight == 0)
    assert torch.all(m.stem[0].bias == -1)
    # stage 0 had no init_cfg: Kaiming from the parent reached MyConv through its base class
    w0 = m.stages[0].conv.weight
    assert w0.std() > 0.05
    assert torch.all(m.stages[0].conv.bias == 0)
    # stage 1's own init_cfg runs after the parent's and wins
    assert torch.all(m.stages[1].conv.weight == 0.5)
    assert torch.all(m.stages[1].conv.bias == 0.25)
    # BatchNorm by the parent's Constant
    assert torch.all(m.stages[0].norm.weight == 1)
    assert torch.all(m.stages[1].norm.bias == 0)
    # ModuleDict's own Uniform overrides the parent's Xavier on both heads
    for head in m.heads.values():
        assert head.weight.min() >= 2.0
        assert head.weight.max() <= 3.0
        assert torch.all(head.bias == 0)

    # the per-parameter summary goes to the log file, not to the terminal
    log = Path(glob.glob(str(tmp_path / "*" / "*.log"))[0]).read_text()
    assert "stem.0.weight - torch.Size([4, 3, 3, 3]):" in log
    assert "stages.1.conv.weight - torch.Size([4, 4, 1, 1]):" in log
    assert "heads.cls.weight - torch.Size([3, 4]):" in log
    block = log.split("stages.1.conv.weight - torch.Size([4, 4, 1, 1]):")[1].split("\n")[1]
    assert "ConstantInit" in block
    assert "val=0.5" in block


def test_init_weights_twice_and_functional(capsys) -> None:
    MMLogger.get_instance("init_twice", logger_name="piston")
    seq = Sequential(nn.Linear(2, 2), init_cfg=dict(type="Constant", layer="Linear", val=3.0))
    seq.init_weights()
    assert torch.all(seq[0].weight == 3.0)
    with torch.no_grad():
        seq[0].weight.fill_(7.0)
    capsys.readouterr()
    seq.init_weights()
    assert torch.all(seq[0].weight == 7.0)  # nothing re-initialised
    out = capsys.readouterr().out
    assert "WARNING - init_weights of Sequential has been called more than once" in out

    # bias_prob (as RetinaNet's cls head uses it) and TruncNormal with bounds
    retina = nn.Module()
    retina.retina_reg = nn.Conv2d(4, 4, 3)
    retina.retina_cls = nn.Conv2d(4, 9, 3)
    initialize(
        retina,
        dict(
            type="Normal",
            layer="Conv2d",
            std=0.01,
            override=dict(type="Normal", name="retina_cls", std=0.01, bias_prob=0.01),
        ),
    )
    torch.testing.assert_close(retina.retina_cls.bias, torch.full((9,), -math.log(99.0)))
    assert torch.all(retina.retina_reg.bias == 0)
    assert retina.retina_reg.weight.std() < 0.05
    # without ``layer`` and ``override`` an initializer touches nothing
    head = nn.Conv2d(4, 9, 3)
    before = head.weight.detach().clone()
    initialize(head, dict(type="Constant", val=5.0))
    assert torch.equal(head.weight, before)
    assert abs(bias_init_with_prob(0.01) + math.log(99.0)) < 1e-9
    lin = nn.Linear(50, 50)
    initialize(lin, dict(type="TruncNormal", layer="Linear", std=1.0, a=-0.5, b=0.5, bias=2))
    assert lin.weight.abs().max() <= 0.5
    assert torch.all(lin.bias == 2)
    # an override with only ``name`` reuses the outer rule on that child
    net = nn.Sequential()
    net.add_module("a", nn.Linear(2, 2))
    net.add_module("b", nn.Conv2d(1, 1, 1))
    initialize(net, dict(type="Constant", val=4.0, layer="Linear", override=dict(name="b")))
    assert torch.all(net.a.weight == 4.0)
    assert torch.all(net.b.weight == 4.0)
    constant_init(nn.Linear(2, 2, bias=False), 1.0)  # missing bias is skipped
