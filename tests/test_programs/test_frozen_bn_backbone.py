"""A detection-style backbone with frozen (eval-mode) BatchNorm, trained with
``efficient_conv_bn_eval=['backbone']`` in the config as mmdet configs enable it: the conv
weights still train, the BN statistics stay fixed, and the results match a plain run."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.config import Config
from piston.model import BaseModel, BaseModule
from piston.registry import MODELS
from piston.runner import Runner


class Backbone(BaseModule):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self.modules():  # norm_eval=True, as ResNet(norm_eval=True)
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self


@MODELS.register_module(force=True)
class FrozenBNDetector(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()
        with torch.no_grad():
            for bn in (self.backbone.bn1, self.backbone.bn2):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
        self.head = nn.Linear(4, 2)

    def forward(self, inputs, labels=None, mode="tensor"):
        feat = self.backbone(torch.stack(inputs)).mean((2, 3))
        logits = self.head(feat)
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, torch.stack(labels)))
        return [logits]


def _data() -> list[dict]:
    gen = torch.Generator().manual_seed(1)
    return [
        dict(inputs=torch.randn(3, 6, 6, generator=gen), labels=torch.tensor(i % 2))
        for i in range(8)
    ]


def _run(work_dir: str, **extra) -> Runner:
    cfg = Config(
        dict(
            model=dict(type="FrozenBNDetector"),
            work_dir=work_dir,
            train_dataloader=dict(
                dataset=_data(),
                batch_size=4,
                num_workers=0,
                sampler=dict(type="DefaultSampler", shuffle=False),
                collate_fn=dict(type="pseudo_collate"),
            ),
            train_cfg=dict(by_epoch=True, max_epochs=2),
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
            randomness=dict(seed=3),
            **extra,
        )
    )
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_efficient_conv_bn_eval_cfg(tmp_path) -> None:
    plain = _run(str(tmp_path / "plain"))
    fused = _run(
        str(tmp_path / "fused"),
        efficient_conv_bn_eval=["backbone"],
        activation_checkpointing=["head"],
    )
    log = Path(glob.glob(os.path.join(str(tmp_path / "fused"), "*", "*.log"))[0]).read_text()
    assert "Enabling the \"efficient_conv_bn_eval\" feature for sub-modules: ['backbone']" in log
    assert "not supported" not in log
    assert "Enabling the \"activation_checkpointing\" feature for sub-modules: ['head']" in log
    p_state, f_state = plain.model.state_dict(), fused.model.state_dict()
    assert set(p_state) == set(f_state)
    for key in p_state:
        torch.testing.assert_close(f_state[key], p_state[key], rtol=1e-4, atol=1e-5)
    # frozen statistics never moved; the convolutions did train
    assert int(fused.model.backbone.bn1.num_batches_tracked) == 0
    fresh = FrozenBNDetector()
    assert not torch.allclose(fused.model.backbone.conv2.weight, fresh.backbone.conv2.weight)
    # the fused path is really in use: the traced forward calls the fused conv+bn twice
    graph_module = fused.model.backbone.forward.__self__
    assert isinstance(graph_module, torch.fx.GraphModule)
    assert graph_module.code.count("_conv_bn(") == 2
    assert plain.model.backbone.forward.__func__ is Backbone.forward
