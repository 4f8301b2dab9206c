"""Audit: an MMEngine-era config file driving the optim package without a Runner.

The config is read with ``Config.fromfile`` and built the way ``Runner`` builds it
(``build_optim_wrapper`` then ``PARAM_SCHEDULERS.build`` with ``epoch_length``); the loop steps
iteration-based schedulers after each iteration and epoch-based ones after each epoch, as
``ParamSchedulerHook`` does. Every learning rate is checked against a closed form.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from piston.config import Config
from piston.logging import MessageHub
from piston.optim import build_optim_wrapper
from piston.registry import PARAM_SCHEDULERS

CONFIG = """
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05, betas=(0.9, 0.999)),
    clip_grad=dict(max_norm=5.0, norm_type=2),
    accumulative_counts=2,
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={'.pos': dict(decay_mult=0.0), 'head': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=4, eta_min=0.0),
    dict(type='CosineAnnealingMomentum', by_epoch=False, begin=0, end=16, T_max=16,
         eta_min=0.8),
]
"""

EPOCHS, EPOCH_LENGTH, BASE_LR = 4, 4, 0.01


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(3))
        self.body = nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))
        self.head = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x + self.pos))


def _logged_count(hub: MessageHub) -> int:
    buffer = hub.log_scalars.get("train/grad_norm")
    return 0 if buffer is None else len(buffer.data[0])


def _expected_lr_factor(it: int) -> float:
    """LinearLR over iterations [0, 8), then cosine by epoch from epoch 2 (T_max=2)."""
    epoch = it // EPOCH_LENGTH
    if it < 2 * EPOCH_LENGTH:
        return 0.1 + 0.9 * it / 7
    return 1.0 if epoch == 2 else (1 + math.cos(math.pi / 2)) / 2


def test_config_file_program_matches_closed_form(tmp_path) -> None:
    path = tmp_path / "optim_cfg.py"
    path.write_text(CONFIG)
    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = Net()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    names = [name for name, _ in model.named_parameters()]
    assert names == ["pos", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "head.weight", "head.bias"]  # fmt: skip
    # custom_keys win over the norm rule; lr_mult/decay_mult are copied into the group.
    assert [g["weight_decay"] for g in groups] == pytest.approx(
        [0.0, 0.05, 0.05, 0.0, 0.0, 0.05, 0.05]
    )
    assert [g["lr"] for g in groups] == pytest.approx([0.01] * 5 + [0.001] * 2)
    assert groups[0]["decay_mult"] == 0.0
    assert groups[5]["lr_mult"] == 0.1
    assert len(wrapper.param_groups) == len(groups) + 1  # the pseudo "base" group

    schedulers = [
        PARAM_SCHEDULERS.build(
            scheduler_cfg, default_args={"optimizer": wrapper, "epoch_length": EPOCH_LENGTH}
        )
        for scheduler_cfg in cfg.param_scheduler
    ]
    assert [(s.begin, s.end, s.by_epoch) for s in schedulers] == [
        (0, 8, False),
        (2, 4, True),
        (0, 16, False),
    ]
    wrapper.initialize_count_status(model, 0, EPOCHS * EPOCH_LENGTH)
    hub = MessageHub.get_current_instance()
    x = torch.randn(2, 3)
    lrs, base_lrs, momenta, grad_norm_updates = [], [], [], []
    for _epoch in range(EPOCHS):
        for _i in range(EPOCH_LENGTH):
            lrs.append(wrapper.get_lr()["lr"])
            base_lrs.append(wrapper.get_lr()["base_lr"][0])
            momenta.append(wrapper.get_momentum()["momentum"][0])
            before = _logged_count(hub)
            with wrapper.optim_context(model):
                loss = model(x).pow(2).mean()
            wrapper.update_params(loss)
            grad_norm_updates.append(_logged_count(hub) - before)
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()

    for it in range(EPOCHS * EPOCH_LENGTH):
        factor = _expected_lr_factor(it)
        assert lrs[it] == pytest.approx([BASE_LR * factor] * 5 + [BASE_LR * 0.1 * factor] * 2)
        assert base_lrs[it] == pytest.approx(BASE_LR * factor)
        # Adam's momentum is betas[0], annealed from 0.9 to 0.8 per iteration.
        assert momenta[it] == pytest.approx(0.8 + 0.1 * (1 + math.cos(math.pi * it / 16)) / 2)
    # Two calls per accumulation window: the gradient is clipped (and its norm logged) once.
    assert grad_norm_updates == [0, 1] * 8
    assert wrapper.optimizer.param_groups[0]["betas"][1] == 0.999
