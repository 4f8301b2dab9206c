"""Optimizer wrappers as downstream code builds and drives them.

Covers: ``paramwise_cfg`` rules (depthwise/flat/norm/bias, frozen and tied parameters,
``bypass_duplicate``), a LayerDecay-style constructor registered by the user, a hand-made
two-optimizer ``OptimWrapperDict``, gradient accumulation with a final short window and
value clipping, and Runner forms: a built ``OptimWrapper`` with built schedulers,
``convert_to_iter_based`` with a default ``end``, and ``auto_scale_lr`` over an
``OptimWrapperDict`` with per-name ``param_scheduler``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel
from piston.optim import (
    DefaultOptimWrapperConstructor,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OptimWrapper,
    OptimWrapperDict,
    build_optim_wrapper,
)
from piston.registry import OPTIM_WRAPPER_CONSTRUCTORS
from piston.runner import Runner

from ._common import TinyNet, _stack, loader


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, groups=4)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.head = nn.Linear(2, 2)
        self.frozen = nn.Linear(2, 2)
        for p in self.frozen.parameters():
            p.requires_grad = False


def _groups(wrapper) -> list[tuple]:
    return [
        (tuple(g["params"][0].shape), g["lr"], g["weight_decay"])
        for g in wrapper.optimizer.param_groups
    ]


def test_paramwise_rules_frozen_and_tied() -> None:
    cfg = dict(
        optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-2),
        paramwise_cfg=dict(
            dwconv_decay_mult=0.5, flat_decay_mult=0.3, norm_decay_mult=0.0, bias_lr_mult=2.0
        ),
    )
    wrapper = build_optim_wrapper(ConvNet(), cfg)
    assert _groups(wrapper) == [
        ((4, 1, 3, 3), 0.1, 0.005),  # depthwise conv weight
        ((4,), 0.2, 0.005),  # its bias: bias lr, depthwise decay
        ((4,), 0.1, 0.0),  # bn: norm decay wins
        ((4,), 0.1, 0.0),
        ((2, 4), 0.1, 0.01),
        ((2,), 0.2, pytest.approx(0.003)),  # 1-D: flat decay
        ((2, 2), 0.1, 0.01),
        ((2,), 0.2, pytest.approx(0.003)),
    ]  # the frozen layer is skipped
    lrs = wrapper.get_lr()
    assert lrs["base_lr"] == [0.1]
    assert len(lrs["lr"]) == 8
    assert len(wrapper.param_groups) == 9  # plus the pseudo "base" group
    assert "base_param_settings" in wrapper.state_dict()

    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc, self.dec = nn.Linear(3, 3), nn.Linear(3, 3)
            self.dec.weight = self.enc.weight

    tied_cfg = dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4))
    with pytest.raises(ValueError, match="more than one parameter group"):
        build_optim_wrapper(Tied(), dict(tied_cfg, paramwise_cfg=dict(norm_decay_mult=0.0)))
    wrapper = build_optim_wrapper(
        Tied(), dict(tied_cfg, paramwise_cfg=dict(norm_decay_mult=0.0, bypass_duplicate=True))
    )
    assert len(wrapper.optimizer.param_groups) == 3

    with pytest.raises(ValueError, match="weight_decay"):
        build_optim_wrapper(
            Tied(),
            dict(
                optimizer=dict(type="SGD", lr=0.1),
                paramwise_cfg=dict(custom_keys={"enc": dict(decay_mult=0.0)}),
            ),
        )


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class HeadDecayConstructor(DefaultOptimWrapperConstructor):
    """LayerDecay-style: parameters under ``head`` get ``lr * head_ratio``."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        super().__init__(optim_wrapper_cfg, None)
        self.head_ratio = (paramwise_cfg or {}).get("head_ratio", 1.0)

    def add_params(self, params, module, prefix="", is_dcn_module=None) -> None:
        for name, param in module.named_parameters():
            if param.requires_grad:
                ratio = self.head_ratio if name.startswith("head") else 1.0
                params.append(dict(params=[param], lr=self.base_lr * ratio))

    def __call__(self, model):
        params: list = []
        self.add_params(params, model)
        optimizer = torch.optim.AdamW(params, **self.optimizer_cfg_kwargs())
        return OptimWrapper(optimizer, **self.wrapper_kwargs())

    def optimizer_cfg_kwargs(self) -> dict:
        cfg = dict(self.optimizer_cfg)
        cfg.pop("type")
        return cfg

    def wrapper_kwargs(self) -> dict:
        cfg = dict(self.optim_wrapper_cfg)
        cfg.pop("type", None)
        cfg.pop("optimizer", None)
        return cfg


def test_custom_constructor_by_name() -> None:
    wrapper = build_optim_wrapper(
        ConvNet(),
        dict(
            constructor="HeadDecayConstructor",
            optimizer=dict(type="AdamW", lr=0.1, weight_decay=0.05),
            clip_grad=dict(max_norm=1.0),
            paramwise_cfg=dict(head_ratio=0.5),
        ),
    )
    assert wrapper.get_lr()["lr"] == [0.1] * 6 + [0.05, 0.05]
    assert wrapper.get_momentum()["momentum"] == [0.9] * 8  # betas[0]


def test_optim_wrapper_dict_by_hand() -> None:
    gen, disc = nn.Linear(2, 2), nn.Linear(2, 1)
    gen_w = OptimWrapper(torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.999)))
    disc_w = OptimWrapper(
        torch.optim.SGD(
            [{"params": [disc.weight]}, {"params": [disc.bias], "lr": 0.2}], lr=0.1, momentum=0.9
        )
    )
    wrappers = OptimWrapperDict(generator=gen_w, discriminator=disc_w)
    assert wrappers.get_lr() == {
        "generator.lr": [1e-3],
        "discriminator.base_lr": [0.1],
        "discriminator.lr": [0.1, 0.2],
    }
    assert wrappers.get_momentum() == {
        "generator.momentum": [0.5],
        "discriminator.momentum": [0.9, 0.9],
    }
    assert list(wrappers.keys()) == ["generator", "discriminator"]
    assert "generator" in wrappers
    for call in (wrappers.step, wrappers.zero_grad, lambda: wrappers.update_params(1)):
        with pytest.raises(NotImplementedError):
            call()
    with pytest.raises(NotImplementedError), wrappers.optim_context(gen):
        pass
    with pytest.raises(AssertionError):
        wrappers["critic"]
    state = wrappers.state_dict()
    assert set(state["discriminator"]) == {"state", "param_groups", "base_param_settings"}
    wrappers.load_state_dict(state)
    with pytest.raises(AssertionError):
        wrappers.load_state_dict({"critic": state["generator"]})
    assert repr(wrappers).startswith("name: generator\nType: OptimWrapper\n")


def test_accumulation_last_window_and_value_clip() -> None:
    model = nn.Linear(2, 1, bias=False)
    nn.init.ones_(model.weight)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=1.0),
        accumulative_counts=3,
        clip_grad=dict(type="value", clip_value=0.25),
    )
    wrapper.initialize_count_status(model, 0, 7)  # windows 3 + 3 + 1
    trace = []
    for _ in range(7):
        factor = 1 / float(wrapper.scale_loss(torch.tensor(1.0)))
        sync = wrapper.should_sync()
        wrapper.update_params(model.weight.sum())
        trace.append((round(factor), sync, wrapper.inner_count, model.weight[0, 0].item()))
    assert trace == [
        (3, False, 1, 1.0),
        (3, False, 2, 1.0),
        (3, True, 3, 0.75),  # grad 3 * 1/3 = 1, clipped to 0.25
        (3, False, 4, 0.75),
        (3, False, 5, 0.75),
        (3, True, 6, 0.5),
        (1, True, 7, 0.25),  # short last window: loss not divided
    ]
    resumed = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0), accumulative_counts=3)
    resumed.initialize_count_status(model, 6, 7)
    assert resumed.inner_count == 6
    assert float(resumed.scale_loss(torch.tensor(1.0))) == 1.0


def _scalars(work_dir: Path) -> list[dict]:
    (path,) = work_dir.glob("*/vis_data/scalars.json")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_runner_with_built_wrapper_and_schedulers(tmp_path) -> None:
    model = TinyNet()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    schedulers = [
        LinearLR(wrapper, start_factor=0.5, by_epoch=False, begin=0, end=2),
        MultiStepLR(wrapper, milestones=[1], gamma=0.1, by_epoch=True),
    ]
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader(16, 4),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=wrapper,
        param_scheduler=schedulers,
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
    )
    runner.train()
    assert runner.optim_wrapper is wrapper
    assert [round(s["lr"], 5) for s in _scalars(tmp_path)] == [0.05] + [0.1] * 3 + [0.01] * 4


def test_runner_convert_to_iter_based_default_end(tmp_path) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(16, 4),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(
            optimizer=dict(type="SGD", lr=1.0, momentum=0.9, weight_decay=0.1),
            paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
        ),
        param_scheduler=[
            dict(type="CosineAnnealingLR", by_epoch=True, convert_to_iter_based=True, eta_min=0.0),
            dict(type="CosineAnnealingMomentum", by_epoch=True, eta_min_ratio=0.5),
            dict(
                type="LinearParamScheduler",
                param_name="weight_decay",
                start_factor=0.1,
                by_epoch=False,
                end=4,
            ),
        ],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
    )
    runner.train()
    cos, mom, _ = runner.param_schedulers
    assert (cos.by_epoch, cos.end, cos.T_max) == (False, 12, 12)
    assert (mom.by_epoch, mom.end) == (True, 3)
    lrs = [s["lr"] for s in _scalars(tmp_path)]
    assert lrs == pytest.approx(
        [(1 + torch.cos(torch.tensor(i * torch.pi / 12)).item()) / 2 for i in range(12)], abs=1e-6
    )
    assert all(s["base_lr"] == s["lr"] for s in _scalars(tmp_path))
    assert runner.optim_wrapper.get_momentum()["momentum"] == pytest.approx([0.5625] * 2)
    assert [g["weight_decay"] for g in runner.optim_wrapper.param_groups] == pytest.approx(
        [0.1, 0.0, 0.1]
    )


class TwoHeads(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, inputs, labels=None, mode="tensor"):
        return self.a(_stack(inputs).float())

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, True)
        x, y = _stack(data["inputs"]).float(), _stack(data["labels"])
        logs = {}
        for name in ("a", "b"):
            wrapper = optim_wrapper[name]
            with wrapper.optim_context(self):
                loss = F.cross_entropy(getattr(self, name)(x), y)
            wrapper.update_params(loss)
            logs[f"loss_{name}"] = loss.detach()
        return logs


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class PerHeadConstructor:
    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        self.cfg = optim_wrapper_cfg

    def __call__(self, model) -> OptimWrapperDict:
        return OptimWrapperDict(
            **{k: DefaultOptimWrapperConstructor(v)(getattr(model, k)) for k, v in self.cfg.items()}
        )


def test_runner_auto_scale_lr_with_optim_wrapper_dict(tmp_path) -> None:
    runner = Runner(
        model=TwoHeads(),
        work_dir=str(tmp_path),
        train_dataloader=loader(16, 8),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(
            constructor="PerHeadConstructor",
            a=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
            b=dict(optimizer=dict(type="Adam", lr=0.01, betas=(0.5, 0.9))),
        ),
        param_scheduler=dict(
            a=[dict(type="MultiStepLR", milestones=[1], gamma=0.1)],
            b=dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=2),
        ),
        auto_scale_lr=dict(enable=True, base_batch_size=4),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
    )
    runner.train()
    seen = [(round(s["a.lr"], 6), round(s["b.lr"], 6)) for s in _scalars(tmp_path)]
    assert seen == [(0.2, 0.01), (0.2, 0.02), (0.02, 0.02), (0.02, 0.02)]
    (log,) = tmp_path.glob("*/*.log")
    text = log.read_text()
    assert "Scaling the original LR by 2.0" in text
    assert "Epoch(train) [1][1/2]  a.lr: 2.0000e-01 b.lr: 1.0000e-02" in text
    ckpt = torch.load(tmp_path / "epoch_2.pth", weights_only=False)
    assert set(ckpt["optimizer"]) == set(ckpt["param_schedulers"]) == {"a", "b"}


def _built_two_heads_runner(work_dir: Path, **kwargs) -> Runner:
    torch.manual_seed(0)
    model = TwoHeads()
    a = OptimWrapper(torch.optim.SGD(model.a.parameters(), lr=0.1, momentum=0.9))
    b = OptimWrapper(torch.optim.SGD(model.b.parameters(), lr=0.2))
    return Runner(
        model=model,
        work_dir=str(work_dir),
        train_dataloader=loader(16, 8),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=OptimWrapperDict(a=a, b=b),
        param_scheduler=dict(
            a=[MultiStepLR(a, milestones=[1], by_epoch=True)],
            b=[ExponentialLR(b, gamma=0.5, by_epoch=False)],
        ),
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=1),
            checkpoint=dict(type="CheckpointHook", interval=1),
        ),
        randomness=dict(seed=0),
        **kwargs,
    )


def test_runner_with_built_optim_wrapper_dict_and_resume(tmp_path) -> None:
    runner = _built_two_heads_runner(tmp_path / "full")
    runner.train()
    seen = [(round(s["a.lr"], 6), s["b.lr"]) for s in _scalars(tmp_path / "full")]
    assert seen == [(0.1, 0.2), (0.1, 0.1), (0.01, 0.05), (0.01, 0.025)]
    assert runner.optim_wrapper.get_lr() == {"a.lr": [pytest.approx(0.01)], "b.lr": [0.0125]}

    resumed = _built_two_heads_runner(
        tmp_path / "resumed", load_from=str(tmp_path / "full" / "epoch_1.pth"), resume=True
    )
    resumed.train()
    again = [(round(s["a.lr"], 6), s["b.lr"]) for s in _scalars(tmp_path / "resumed")]
    assert again == seen[2:]
    assert resumed.optim_wrapper["a"].optimizer.state_dict()["state"].keys() == {0, 1}
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)
