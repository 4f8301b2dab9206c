"""``efficient_conv_bn_eval`` and ``activation_checkpointing`` config keys under FlexibleRunner:
applied after the strategy prepared the model, as Runner applies them in ``train()``."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.config import Config
from piston.model import BaseModel
from piston.runner import FlexibleRunner, Runner


class _FrozenBNNet(BaseModel):
    """Conv+BN backbone with eval-mode BN (``norm_eval``) and a Sequential head."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(4, 2))

    def train(self, mode: bool = True) -> _FrozenBNNet:
        super().train(mode)
        self.backbone[1].eval()
        return self

    def forward(self, inputs, labels=None, mode="tensor"):
        logits = self.head(self.backbone(torch.stack(inputs)).mean((2, 3)))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, torch.stack(labels))}
        return [logits]


def _runner(cls, work_dir, **cfg_keys):
    gen = torch.Generator().manual_seed(0)
    data = [
        {"inputs": torch.randn(3, 4, 4, generator=gen), "labels": torch.tensor(i % 2)}
        for i in range(4)
    ]
    cfg = Config(
        {
            "model": {"type": _FrozenBNNet},
            "work_dir": str(work_dir),
            "train_dataloader": {
                "dataset": data,
                "batch_size": 2,
                "num_workers": 0,
                "sampler": {"type": "DefaultSampler", "shuffle": False},
                "collate_fn": {"type": "pseudo_collate"},
            },
            "train_cfg": {"by_epoch": True, "max_epochs": 1},
            "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1}},
            "default_hooks": {"checkpoint": None},
            "randomness": {"seed": 0},
            **cfg_keys,
        }
    )
    return cls.from_cfg(cfg)


def _calls_per_train_step(runner) -> tuple[int, int]:
    """(conv module calls, head Linear calls) during one train step after training.

    The Linear is counted by a pre-hook: recomputation stops early once the saved tensors
    are rebuilt, before forward hooks would run."""
    model = runner.model
    counts = {"conv": 0, "linear": 0}
    handles = [
        model.backbone[0].register_forward_hook(
            lambda *a: counts.__setitem__("conv", counts["conv"] + 1)
        ),
        model.head[0].register_forward_pre_hook(
            lambda *a: counts.__setitem__("linear", counts["linear"] + 1)
        ),
    ]
    model.train()
    batch = {"inputs": [torch.randn(3, 4, 4)] * 2, "labels": [torch.tensor(0), torch.tensor(1)]}
    model.train_step(batch, optim_wrapper=runner.optim_wrapper)
    for handle in handles:
        handle.remove()
    return counts["conv"], counts["linear"]


def test_flexible_runner_applies_memory_options(tmp_path) -> None:
    plain = _runner(FlexibleRunner, tmp_path / "plain")
    plain.train()
    assert _calls_per_train_step(plain) == (1, 1)

    runner = _runner(
        FlexibleRunner,
        tmp_path / "opts",
        efficient_conv_bn_eval=["backbone"],
        activation_checkpointing="head",
    )
    runner.train()
    conv_calls, linear_calls = _calls_per_train_step(runner)
    assert conv_calls == 0  # fused conv+eval-BN path: the conv module is not called
    assert linear_calls == 2  # the checkpointed head recomputes its forward in backward
    (path,) = [h.baseFilename for h in runner.logger.handlers if hasattr(h, "baseFilename")]
    with open(path) as f:
        log = f.read()
    assert "Enabling the \"efficient_conv_bn_eval\" feature for sub-modules: ['backbone']" in log
    assert 'Enabling the "activation_checkpointing" feature for sub-modules: head' in log


def test_runner_and_flexible_runner_train_the_same_with_options(tmp_path) -> None:
    """Same seed, same options: both runners end with the same weights."""
    opts = {"efficient_conv_bn_eval": "backbone", "activation_checkpointing": ["head"]}
    base = _runner(Runner, tmp_path / "runner", **opts)
    base.train()
    flex = _runner(FlexibleRunner, tmp_path / "flex", **opts)
    flex.train()
    for key, value in base.model.state_dict().items():
        torch.testing.assert_close(flex.model.state_dict()[key], value)


def test_ema_copy_of_a_transformed_model_uses_its_own_weights(tmp_path) -> None:
    """FlexibleRunner transforms the model before ``before_run``, where EMAHook deep-copies it:
    the averaged copy must compute with the averaged weights."""
    runner = _runner(
        FlexibleRunner,
        tmp_path,
        custom_hooks=[{"type": "EMAHook", "momentum": 0.5}],
        efficient_conv_bn_eval="backbone",
        activation_checkpointing="head",
    )
    runner.train()
    (hook,) = [h for h in runner.hooks if type(h).__name__ == "EMAHook"]
    averaged = hook.ema_model.module
    reference = _FrozenBNNet()
    reference.load_state_dict(averaged.state_dict())
    assert any(
        not torch.equal(a, b)
        for a, b in zip(averaged.state_dict().values(), runner.model.state_dict().values())
    )
    device = next(averaged.parameters()).device  # cuda where the strategy found one
    reference.to(device)
    inputs = [torch.randn(3, 4, 4, device=device) for _ in range(2)]
    for mode in (True, False):
        averaged.train(mode)
        reference.train(mode)
        torch.testing.assert_close(averaged(inputs)[0], reference(inputs)[0])
