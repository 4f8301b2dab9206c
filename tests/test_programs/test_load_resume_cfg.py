"""``load_from`` / ``resume`` as configs set them: fine-tune from weights, resume from a path,
auto-resume from ``last_checkpoint``, and ``resume=True`` in a fresh work_dir (from scratch)."""

from __future__ import annotations

import copy
import glob
import os

import torch

from piston.config import Config
from piston.runner import Runner
from tests.test_programs._common import PointsDataset, TinyNet

BASE = dict(
    model=dict(type=TinyNet),
    train_dataloader=dict(
        batch_size=4,
        num_workers=0,
        dataset=dict(type=PointsDataset, size=16),
        sampler=dict(type="DefaultSampler", shuffle=True),
        collate_fn=dict(type="default_collate"),
    ),
    train_cfg=dict(by_epoch=True, max_epochs=2),
    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
    # an explicit `end`: without it the runner uses max_epochs, which the checkpoint then keeps
    param_scheduler=[dict(type="StepLR", step_size=1, gamma=0.5, by_epoch=True, end=10)],
    default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1)),
    env_cfg=dict(
        cudnn_benchmark=False,
        mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
        dist_cfg=dict(backend="nccl"),
    ),
    launcher="none",
    randomness=dict(seed=0),
    load_from=None,
    resume=False,
)


def _cfg(work_dir, **changes) -> Config:
    cfg = Config(copy.deepcopy(BASE))
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(changes)
    return cfg


def _log(work_dir) -> str:
    (path,) = glob.glob(os.path.join(str(work_dir), "*", "*.log"))
    with open(path) as f:
        return f.read()


def _log_latest(work_dir) -> str:
    path = sorted(glob.glob(os.path.join(str(work_dir), "*", "*.log")))[-1]
    with open(path) as f:
        return f.read()


def test_resume_in_empty_work_dir_trains_from_scratch(tmp_path) -> None:
    runner = Runner.from_cfg(_cfg(tmp_path / "fresh", resume=True))
    runner.train()
    assert (runner.epoch, runner.iter) == (2, 8)
    assert os.path.isfile(tmp_path / "fresh" / "epoch_2.pth")
    assert "resumed epoch" not in _log(tmp_path / "fresh")


def test_load_from_resume_and_auto_resume(tmp_path) -> None:
    pre = Runner.from_cfg(_cfg(tmp_path / "pre"))
    pre.train()
    pre_ckpt = str(tmp_path / "pre" / "epoch_2.pth")
    weights = {k: v.clone() for k, v in pre.model.state_dict().items()}

    # fine-tune: load_from only loads weights; epochs, lr schedule and optimizer start fresh
    ft = Runner.from_cfg(_cfg(tmp_path / "ft", load_from=pre_ckpt, **{"train_cfg.max_epochs": 1}))
    seen = {}

    def grab(module, args):
        seen.setdefault("w", module.weight.detach().clone())

    handle = ft.model.fc.register_forward_pre_hook(grab)
    ft.train()
    handle.remove()
    assert torch.equal(seen["w"], weights["fc.weight"])  # first forward used loaded weights
    assert (ft.epoch, ft.iter) == (1, 4)
    assert ft.optim_wrapper.get_lr()["lr"] == [0.05]  # restarted at 0.1, not the pretrain's
    assert f"Load checkpoint from {pre_ckpt}" in _log(tmp_path / "ft")

    # resume=True with load_from: continue that exact run (epoch, lr, momentum buffers)
    cont = Runner.from_cfg(
        _cfg(tmp_path / "cont", load_from=pre_ckpt, resume=True, **{"train_cfg.max_epochs": 3})
    )
    cont.train()
    assert (cont.epoch, cont.iter) == (3, 12)
    assert cont.optim_wrapper.get_lr()["lr"] == [0.0125]
    log = _log(tmp_path / "cont")
    assert "resumed epoch: 2, iter: 8" in log
    assert "Epoch(train) [3][4/4]  lr: 2.5000e-02" in log

    # resume=True without load_from: the newest checkpoint named by work_dir/last_checkpoint
    with open(tmp_path / "cont" / "last_checkpoint") as f:
        assert f.read().strip() == str(tmp_path / "cont" / "epoch_3.pth")
    auto_cfg = _cfg(tmp_path / "cont", resume=True, **{"train_cfg.max_epochs": 4})
    auto = Runner.from_cfg(auto_cfg)
    auto.train()
    assert (auto.epoch, auto.iter) == (4, 16)
    assert auto.optim_wrapper.get_lr()["lr"] == [0.00625]
    ckpt = torch.load(str(tmp_path / "cont" / "epoch_4.pth"), weights_only=False)
    assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"]) == (4, 16)
    assert ckpt["param_schedulers"][0]["last_step"] == 4
    assert "Epoch(train) [4][4/4]  lr: 1.2500e-02" in _log_latest(tmp_path / "cont")
