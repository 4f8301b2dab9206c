"""mmdet's ``ExpMomentumEMA`` pattern: a custom averaged model registered in MODELS and
selected by ``EMAHook(ema_type=..., update_buffers=True)``; the program replays the
averaging by hand and compares with the ``ema_state_dict`` stored in the checkpoint."""

from __future__ import annotations

import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel, ExponentialMovingAverage
from piston.registry import MODELS
from piston.runner import Runner


@MODELS.register_module(force=True)
class ProjExpMomentumEMA(ExponentialMovingAverage):
    """Momentum grows from ``momentum`` towards 1 - exp(-steps/gamma) style, as in YOLOX."""

    def __init__(
        self,
        model: nn.Module,
        momentum: float = 0.0002,
        gamma: int = 2000,
        interval: int = 1,
        device=None,
        update_buffers: bool = False,
    ) -> None:
        super().__init__(
            model=model,
            momentum=momentum,
            interval=interval,
            device=device,
            update_buffers=update_buffers,
        )
        assert gamma > 0
        self.gamma = gamma
        self.seen_steps: list[int] = []

    def avg_func(self, averaged_param, source_param, steps) -> None:
        self.seen_steps.append(int(steps))
        momentum = (1 - self.momentum) * math.exp(-float(1 + steps) / self.gamma) + self.momentum
        averaged_param.lerp_(source_param, 1 - momentum)


class BNNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3, 3)
        self.bn = nn.BatchNorm1d(3)
        self.out = nn.Linear(3, 2)

    def forward(self, inputs, labels=None, mode="tensor"):
        logits = self.out(self.bn(self.fc(torch.stack(inputs))).relu())
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, torch.stack(labels)))
        return [logits]


def _data() -> list[dict]:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(12, 3, generator=gen)
    return [dict(inputs=x[i], labels=(x[i, 1] > 0).long()) for i in range(12)]


class Recorder:
    """Keeps a copy of the source state after every iteration."""

    def __init__(self) -> None:
        self.states: list[dict] = []


def test_custom_ema_type(tmp_path) -> None:
    from piston.hooks import Hook

    rec = Recorder()

    class RecordHook(Hook):
        priority = "LOWEST"

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            rec.states.append({k: v.detach().clone() for k, v in runner.model.state_dict().items()})

    runner = Runner(
        model=BNNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_data(),
            batch_size=4,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.3)),
        custom_hooks=[
            dict(
                type="EMAHook",
                ema_type="ProjExpMomentumEMA",
                momentum=0.1,
                gamma=4,
                update_buffers=True,
                priority=49,
            ),
            RecordHook(),
        ],
    )
    runner.train()
    ema_hook = next(h for h in runner.hooks if type(h).__name__ == "EMAHook")
    ema = ema_hook.ema_model
    assert isinstance(ema, ProjExpMomentumEMA)
    assert ema.gamma == 4
    assert ema.update_buffers is True
    assert int(ema.steps) == 6
    # avg_func saw steps 1..5 once per floating-point state entry (step 0 copies)
    n_float = sum(v.is_floating_point() for v in BNNet().state_dict().values())
    assert ema.seen_steps == [s for s in range(1, 6) for _ in range(n_float)]

    expected = {k: v.clone() for k, v in rec.states[0].items()}
    for steps, state in enumerate(rec.states[1:], start=1):
        m = 0.9 * math.exp(-(1 + steps) / 4) + 0.1
        for k, v in state.items():
            if v.is_floating_point():
                expected[k] = expected[k] + (1 - m) * (v - expected[k])
            else:
                expected[k] = v.clone()
    ckpt = torch.load(os.path.join(str(tmp_path), "epoch_2.pth"), weights_only=False)
    ema_sd = ckpt["ema_state_dict"]
    assert int(ema_sd["steps"]) == 6
    for k, v in expected.items():
        if v.is_floating_point():
            # the checkpoint's state_dict holds the EMA weights, ema_state_dict the source
            torch.testing.assert_close(ckpt["state_dict"][k], v, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(ema_sd[f"module.{k}"], rec.states[-1][k])
