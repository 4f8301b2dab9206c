"""ViT/ConvNeXt-style optimisation with ``auto_scale_lr`` (as mmdet configs enable it).

Token parameters matched by ``custom_keys`` with a leading dot, depth-wise conv decay,
flat (1-D) parameter decay, a shared head, warm-up then ``PolyLR`` by iteration. With several
param groups the logged ``base_lr`` must follow the scaled learning rate.
"""

from __future__ import annotations

import glob
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel
from piston.runner import Runner

from ._common import _stack, loader


class TokenNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 4))
        self.pos_embed = nn.Parameter(torch.zeros(1, 4))
        self.dw = nn.Conv2d(4, 4, 1, groups=4)
        self.ln = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2)
        self.aux_head = self.head  # shared: its parameters must be added once

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        x = _stack(inputs).float() + self.cls_token + self.pos_embed
        x = self.dw(x[:, :, None, None]).flatten(1)
        x = self.head(self.ln(x))
        if mode == "loss":
            return {"loss": F.cross_entropy(x, _stack(labels))}
        return x, _stack(labels)


def _poly(step: int, lr: float, total: int, eta_min: float, power: float) -> float:
    for t in range(1, step + 1):
        lr = (lr - eta_min) * (1 - 1 / (total - t + 1)) ** power + eta_min
    return lr


def test_auto_scale_lr_with_paramwise_groups(tmp_path) -> None:
    runner = Runner(
        model=TokenNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=16, batch_size=4),
        train_cfg=dict(by_epoch=False, max_iters=8),
        optim_wrapper=dict(
            optimizer=dict(type="AdamW", lr=0.001, weight_decay=0.1),
            paramwise_cfg=dict(
                custom_keys={
                    ".cls_token": dict(decay_mult=0.0),
                    ".pos_embed": dict(decay_mult=0.0),
                },
                dwconv_decay_mult=0.5,
                flat_decay_mult=0.0,
                bypass_duplicate=True,
            ),
        ),
        param_scheduler=[
            dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=2),
            dict(type="PolyLR", eta_min=1e-5, power=0.9, begin=2, end=8, by_epoch=False),
        ],
        auto_scale_lr=dict(enable=True, base_batch_size=16),
        log_processor=dict(by_epoch=False),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=0),
    )
    runner.train()
    names = {id(p): n for n, p in runner.model.named_parameters()}
    groups = runner.optim_wrapper.optimizer.param_groups
    decay = {names[id(p)]: g["weight_decay"] for g in groups for p in g["params"]}
    assert decay == {
        "cls_token": 0.0,
        "pos_embed": 0.0,
        "dw.weight": 0.05,  # depth-wise conv
        "dw.bias": 0.05,  # no bias_decay_mult: the depth-wise rule comes before the flat one
        "ln.weight": 0.0,  # flat
        "ln.bias": 0.0,
        "head.weight": 0.1,
        "head.bias": 0.0,
    }
    scaled = 0.001 * 4 / 16
    assert all(g["initial_lr"] == scaled for g in groups)

    (scalars,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data", "scalars.json"))
    with open(scalars) as fobj:
        records = [json.loads(line) for line in fobj]
    expected = [scaled * 1e-3, scaled] + [_poly(t, scaled, 5, 1e-5, 0.9) for t in range(6)]
    for rec, want in zip(records, expected, strict=True):
        assert abs(rec["lr"] - want) < 1e-12, (rec, want)
        # base_lr (optimizer default of a multi-group optimizer) was scaled and scheduled too
        assert abs(rec["base_lr"] - want) < 1e-12, (rec, want)
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    with open(log) as fobj:
        text = fobj.read()
    assert (
        "LR is set based on batch size of 16 and the current batch size is 4. "
        "Scaling the original LR by 0.25." in text
    )
    assert "Iter(train) [1/8]  base_lr: 2.5000e-07 lr: 2.5000e-07  eta: " in text
    assert "paramwise_options -- cls_token:decay_mult=0.0" in text
