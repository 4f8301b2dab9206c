"""mmpretrain-style optimisation: AdamW + paramwise_cfg + clip_grad, warm-up then cosine.

Checks the param groups really built and the learning rates logged at every iteration against
the closed-form schedule.
"""

from __future__ import annotations

import glob
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel
from piston.runner import Runner

from ._common import _stack, loader


class BackboneHead(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        x = self.head(self.backbone(_stack(inputs).float()))
        if mode == "loss":
            return {"loss": F.cross_entropy(x, _stack(labels))}
        return x, _stack(labels)


def _cosine(t: int, total: int, lr: float, eta_min: float) -> float:
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / total)) / 2


def test_adamw_paramwise_warmup_cosine(tmp_path) -> None:
    base_lr, wd = 0.01, 0.05
    runner = Runner(
        model=BackboneHead(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=16, batch_size=4),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(
            type="OptimWrapper",
            optimizer=dict(type="AdamW", lr=base_lr, weight_decay=wd, betas=(0.9, 0.999)),
            paramwise_cfg=dict(
                norm_decay_mult=0.0,
                bias_decay_mult=0.0,
                custom_keys={"head.weight": dict(lr_mult=0.1)},
            ),
            clip_grad=dict(max_norm=1.0),
        ),
        param_scheduler=[
            dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=3),
            dict(
                type="CosineAnnealingLR",
                T_max=2,
                eta_min=1e-4,
                by_epoch=True,
                begin=1,
                end=3,
                convert_to_iter_based=True,
            ),
        ],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=0),
    )
    runner.train()
    optimizer = runner.optim_wrapper.optimizer
    assert isinstance(optimizer, torch.optim.AdamW)
    params = dict(runner.model.named_parameters())
    group_of = {
        name: next(g for g in optimizer.param_groups if any(p is param for p in g["params"]))
        for name, param in params.items()
    }
    assert len(optimizer.param_groups) == len(params)  # one group per parameter
    assert group_of["backbone.0.weight"]["weight_decay"] == wd
    assert group_of["backbone.0.bias"]["weight_decay"] == 0.0  # bias_decay_mult
    assert group_of["backbone.1.weight"]["weight_decay"] == 0.0  # norm_decay_mult
    assert group_of["backbone.1.bias"]["weight_decay"] == 0.0
    assert group_of["head.bias"]["weight_decay"] == 0.0
    assert group_of["head.weight"]["weight_decay"] == wd
    assert group_of["head.weight"]["initial_lr"] == base_lr * 0.1
    assert group_of["head.weight"]["lr_mult"] == 0.1
    assert group_of["backbone.0.weight"]["initial_lr"] == base_lr

    (scalars,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data", "scalars.json"))
    with open(scalars) as fobj:
        records = [json.loads(line) for line in fobj]
    assert [r["step"] for r in records] == list(range(1, 13))
    # warm-up over iterations 0..2, then cosine over epochs 1..2 converted to iterations 4..11
    expected = [base_lr * f for f in (0.1, 0.55, 1.0)] + [base_lr]
    expected += [_cosine(t, 8, base_lr, 1e-4) for t in range(8)]
    for rec, want in zip(records, expected):
        # several param groups: ``base_lr`` is the optimizer default, ``lr`` the first group's
        assert math.isclose(rec["base_lr"], want, rel_tol=1e-6), (rec, want)
        assert math.isclose(rec["lr"], want, rel_tol=1e-6)
        assert "grad_norm" in rec
        assert rec["grad_norm"] > 0
    final = group_of["head.weight"]["lr"]
    # chained cosine on a group starting at base_lr * 0.1 still ends near eta_min-ish values
    assert 1e-4 < final < base_lr * 0.1
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    with open(log) as fobj:
        text = fobj.read()
    assert "paramwise_options -- head.weight:lr=0.001" in text
    assert "paramwise_options -- head.weight:lr_mult=0.1" in text
    assert "paramwise_options -- backbone.1.weight:weight_decay=0.0" in text
    assert "Epoch(train) [1][1/4]  base_lr: 1.0000e-03 lr: 1.0000e-03  eta: " in text
