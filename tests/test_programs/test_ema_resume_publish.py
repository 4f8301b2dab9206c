"""EMA that starts at epoch 2, resumed mid-run, with string ``published_keys``.

An interrupted-then-resumed run must end with the same raw and averaged weights as an
uninterrupted one; the published files keep only ``state_dict``; a test evaluator made of
``DumpResults`` alone returns no metrics but writes the predictions.
"""

from __future__ import annotations

import glob
import os
import pickle
import re

import torch

from piston.hooks import Hook
from piston.runner import Runner

from ._common import Acc, TinyNet, loader
from .test_ema_tb_dump import ExpMomentumEMA  # noqa: F401  (registers the averaging model)


def _cfg(work_dir: str, resume: bool = False) -> dict:
    return dict(
        model=dict(type=TinyNet),
        work_dir=work_dir,
        train_dataloader=loader(size=12, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        test_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        test_evaluator=dict(type="DumpResults", out_file_path=os.path.join(work_dir, "r.pkl")),
        train_cfg=dict(by_epoch=True, max_epochs=4, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5, momentum=0.9)),
        param_scheduler=dict(type="MultiStepLR", milestones=[2, 3], gamma=0.5),
        custom_hooks=[
            dict(type="EMAHook", ema_type="ExpMomentumEMA", momentum=0.1, gamma=5, begin_epoch=2)
        ],
        default_hooks=dict(
            checkpoint=dict(
                type="CheckpointHook",
                interval=1,
                save_best="accuracy",
                published_keys="state_dict",
            )
        ),
        randomness=dict(seed=0),
        resume=resume,
    )


class Interrupt(Hook):
    def before_train_epoch(self, runner) -> None:
        if runner.epoch == 2:
            raise KeyboardInterrupt


def _ema(runner):
    return next(h for h in runner.hooks if type(h).__name__ == "EMAHook").ema_model


def test_ema_resume_matches_and_publish(tmp_path) -> None:
    straight = Runner(**_cfg(str(tmp_path / "a")))
    straight.train()
    cut = Runner(**_cfg(str(tmp_path / "b")))
    cut.register_hook(Interrupt())
    try:
        cut.train()
    except KeyboardInterrupt:
        pass
    resumed = Runner(**_cfg(str(tmp_path / "b"), resume=True))
    resumed.train()

    assert torch.equal(straight.model.fc.weight, resumed.model.fc.weight)
    ema_a, ema_b = _ema(straight), _ema(resumed)
    assert torch.equal(ema_a.module.fc.weight, ema_b.module.fc.weight)
    assert int(ema_a.steps) == int(ema_b.steps) == 9  # updates start in epoch 2 (3 per epoch)
    assert not torch.equal(ema_a.module.fc.weight, straight.model.fc.weight)

    work_dir = str(tmp_path / "a")
    names = os.listdir(work_dir)
    published = sorted(n for n in names if re.fullmatch(r".+-[0-9a-f]{8}\.pth", n))
    assert len(published) == 2
    assert published[1].startswith("epoch_4-")
    (best,) = [n for n in names if n.startswith("best_accuracy_epoch_") and "-" not in n]
    assert published[0].startswith(best[: -len(".pth")] + "-")
    for name in published:
        ckpt = torch.load(os.path.join(work_dir, name), map_location="cpu", weights_only=False)
        assert list(ckpt) == ["state_dict"]
    last = torch.load(os.path.join(work_dir, "epoch_4.pth"), map_location="cpu", weights_only=False)
    pub = torch.load(os.path.join(work_dir, published[1]), map_location="cpu", weights_only=False)
    # the published weights are the deployable (EMA) ones
    assert torch.equal(pub["state_dict"]["fc.weight"], last["state_dict"]["fc.weight"])
    assert torch.equal(pub["state_dict"]["fc.weight"], ema_a.module.fc.weight.detach())

    assert straight.test() == {}
    with open(os.path.join(work_dir, "r.pkl"), "rb") as fobj:
        dumped = pickle.load(fobj)
    assert len(dumped) == 4
    assert dumped[0].shape == (4, 2)
    (log,) = glob.glob(os.path.join(work_dir, "*", "*.log"))
    with open(log) as fobj:
        text = fobj.read()
    # DumpResults reports through the *current* logger: the last runner created
    (resumed_log,) = glob.glob(os.path.join(str(tmp_path / "b"), resumed.timestamp, "*.log"))
    with open(resumed_log) as fobj:
        assert f"Results has been saved to {os.path.join(work_dir, 'r.pkl')}." in fobj.read()
    assert "Epoch(test) [2/2]    data_time: " in text
    assert f"is published to {os.path.join(work_dir, published[1])}." in text
