"""mmdet/mmyolo-style EMA with a downstream average model, TensorBoard logging, and a later
``Runner.test()`` / ``Runner.val()`` from ``load_from`` that dumps predictions.
"""

from __future__ import annotations

import glob
import math
import os
import pickle

import torch

from piston.model import ExponentialMovingAverage
from piston.registry import MODELS
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


@MODELS.register_module(force=True)
class ExpMomentumEMA(ExponentialMovingAverage):
    """The averaging model mmdet registers for its YOLOX/RTMDet configs."""

    def __init__(
        self, model, momentum=0.0002, gamma=2000, interval=1, device=None, update_buffers=False
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

    def avg_func(self, averaged_param, source_param, steps) -> None:
        momentum = (1 - self.momentum) * math.exp(-float(1 + steps) / self.gamma) + self.momentum
        averaged_param.mul_(1 - momentum).add_(source_param, alpha=momentum)


def _cfg(work_dir: str, **overrides) -> dict:
    cfg = dict(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        test_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=2),
        test_evaluator=[
            dict(type=Acc),
            dict(type="DumpResults", out_file_path=os.path.join(work_dir, "preds.pkl")),
        ],
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
        custom_hooks=[
            dict(
                type="EMAHook",
                ema_type="ExpMomentumEMA",
                momentum=0.01,
                gamma=4,
                update_buffers=True,
                priority=49,
            ),
            dict(type="EmptyCacheHook", after_iter=True),
        ],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        visualizer=dict(
            type="Visualizer",
            vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")],
        ),
        randomness=dict(seed=0),
    )
    cfg.update(overrides)
    return cfg


def test_ema_tensorboard_and_dump(tmp_path) -> None:
    work_dir = str(tmp_path / "train")
    runner = Runner(**_cfg(work_dir))
    runner.train()
    ema_hook = next(h for h in runner.hooks if type(h).__name__ == "EMAHook")
    assert type(ema_hook.ema_model).__name__ == "ExpMomentumEMA"
    raw = runner.model.fc.weight.detach().clone()
    ema = ema_hook.ema_model.module.fc.weight.detach().clone()
    assert not torch.allclose(raw, ema)

    ckpt = torch.load(os.path.join(work_dir, "epoch_3.pth"), map_location="cpu", weights_only=False)
    # the deployable state_dict holds the EMA weights, ema_state_dict the raw ones
    assert torch.allclose(ckpt["state_dict"]["fc.weight"], ema)
    assert torch.allclose(ckpt["ema_state_dict"]["module.fc.weight"], raw)
    assert int(ckpt["ema_state_dict"]["steps"]) == 6

    # validation during training ran on the EMA weights: recompute the last accuracy
    val_x = torch.stack([runner.val_dataloader.dataset[i]["inputs"] for i in range(8)])
    val_y = torch.stack([runner.val_dataloader.dataset[i]["labels"] for i in range(8)])
    with torch.no_grad():
        ema_acc = 100.0 * (ema_hook.ema_model.module(val_x).argmax(1) == val_y).float().mean()
    assert runner.message_hub.get_scalar("val/accuracy").current() == ema_acc.item()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (event,) = glob.glob(os.path.join(work_dir, "*", "vis_data", "events.out.tfevents.*"))
    acc = EventAccumulator(os.path.dirname(event))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"lr", "loss", "time", "data_time", "epoch", "iter", "accuracy"} <= tags
    assert [e.step for e in acc.Scalars("loss")] == [1, 2, 3, 4, 5, 6]
    assert [e.value for e in acc.Scalars("epoch")] == [1, 1, 2, 2, 3, 3]
    assert [e.step for e in acc.Scalars("accuracy")] == [1, 2, 3]
    assert math.isclose(acc.Scalars("accuracy")[-1].value, ema_acc.item(), rel_tol=1e-6)
    assert all(math.isclose(e.value, 0.5) for e in acc.Scalars("lr"))

    metrics = runner.test()
    assert set(metrics) == {"accuracy"}
    with open(os.path.join(work_dir, "preds.pkl"), "rb") as fobj:
        dumped = pickle.load(fobj)
    # DumpResults extends its results with each batch's (logits, labels) pair
    assert len(dumped) == 4
    assert all(isinstance(x, torch.Tensor) for x in dumped)
    assert dumped[0].shape == (4, 2)
    assert dumped[1].shape == (4,)

    # a fresh process: test and val only, weights from the deployable checkpoint
    fresh = dict(train_dataloader=None, train_cfg=None, optim_wrapper=None)
    tester = Runner(
        **_cfg(
            str(tmp_path / "test"),
            load_from=os.path.join(work_dir, "epoch_3.pth"),
            test_evaluator=dict(type=Acc),
            **fresh,
        )
    )
    assert tester.test() == metrics
    assert torch.allclose(tester.model.fc.weight, ema)
    validator = Runner(
        **_cfg(str(tmp_path / "val"), load_from=os.path.join(work_dir, "epoch_3.pth"), **fresh)
    )
    assert validator.val() == {"accuracy": ema_acc.item()}
    logs = glob.glob(str(tmp_path / "val" / "*" / "*.log"))
    with open(logs[0]) as fobj:
        text = fobj.read()
    assert f"Load checkpoint from {os.path.join(work_dir, 'epoch_3.pth')}" in text
    # without a train loop the epoch shown for validation is 0
    assert "Epoch(val) [0][2/2]    accuracy: " in text
