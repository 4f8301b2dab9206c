"""Downstream tools calling the Runner's public methods and properties directly.

mmdet/mmpretrain-style scripts build dataloaders with ``Runner.build_dataloader``, inspect
``runner.hooks`` / ``get_hooks_info()``, save and load checkpoints by hand and read runner
properties before and after ``train()``.  Each program asserts concrete outcomes.
"""

from __future__ import annotations

import copy
import os
import os.path as osp

import pytest
import torch
from torch.utils.data import BatchSampler

from piston.dataset import BaseDataset
from piston.hooks import Hook
from piston.model import BaseModel
from piston.optim import OptimWrapper, OptimWrapperDict
from piston.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, HOOKS
from piston.runner import Priority, Runner

from ._common import Acc, PointsDataset, TinyNet, loader  # noqa: F401  (Acc registers)

SGD = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9))


@DATA_SAMPLERS.register_module(force=True)
class PairBatchSampler(BatchSampler):
    """A project batch sampler (like mmdet's AspectRatioBatchSampler)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool = True) -> None:
        super().__init__(sampler, batch_size, drop_last)


@HOOKS.register_module(force=True)
class StageRecorder(Hook):
    priority = "LOW"

    def __init__(self, tag: str = "rec") -> None:
        self.tag = tag
        self.calls: list[str] = []

    def before_train_epoch(self, runner) -> None:
        self.calls.append("before_train_epoch")

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.calls.append("after_val_epoch")

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
        self.calls.append(f"after_{mode}_iter")

    def my_custom_stage(self, runner, value) -> None:
        self.calls.append(f"custom:{value}")


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _full_runner(work_dir, **kw) -> Runner:
    args = dict(
        model=TinyNet(),
        work_dir=str(work_dir),
        train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=SGD,
        val_dataloader=loader(shuffle=False),
        val_cfg=dict(),
        val_evaluator=dict(type="Acc"),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=7),
    )
    args.update(kw)
    return Runner(**args)


def test_build_dataloader_static_dict_configs():
    dl = Runner.build_dataloader(
        dict(
            dataset=PointsDataset(10),
            batch_size=3,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            batch_sampler=dict(type="PairBatchSampler"),
        ),
        seed=3,
    )
    assert isinstance(dl.batch_sampler, PairBatchSampler)
    assert type(dl.batch_sampler.sampler).__name__ == "DefaultSampler"
    assert len(dl) == 3  # 10 // 3 with drop_last
    assert dl.worker_init_fn.keywords["seed"] == 3
    batch = next(iter(dl))
    assert isinstance(batch["inputs"], list)
    assert len(batch["inputs"]) == 3
    # diff_rank_seed: the sampler gets seed=None by default (its own random seed) but an
    # explicit seed in the sampler cfg wins; default_collate stacks tensors.
    dl2 = Runner.build_dataloader(
        dict(
            dataset=PointsDataset(10),
            batch_size=4,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=True, seed=5),
            collate_fn=dict(type="default_collate"),
        ),
        seed=1,
        diff_rank_seed=True,
    )
    assert dl2.sampler.seed == 5
    assert next(iter(dl2))["inputs"].shape == (4, 4)
    # a custom worker_init_fn callable with kwargs becomes a partial
    seen = {}

    def init_fn(worker_id, offset):
        seen["x"] = worker_id + offset

    dl3 = Runner.build_dataloader(
        dict(
            dataset=PointsDataset(4),
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            worker_init_fn=dict(type=init_fn, offset=10),
        ),
        seed=0,
    )
    dl3.worker_init_fn(1)
    assert seen["x"] == 11
    with pytest.raises(TypeError):
        Runner.build_dataloader(
            dict(
                dataset=PointsDataset(4),
                batch_size=2,
                sampler=dict(type="DefaultSampler"),
                collate_fn=3,
            )
        )


def test_hook_registration_order_and_info(tmp_path):
    runner = Runner(model=TinyNet(), work_dir=str(tmp_path))
    names = [type(h).__name__ for h in runner.hooks]
    assert names == [
        "RuntimeInfoHook",
        "IterTimerHook",
        "DistSamplerSeedHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
    ]
    late = StageRecorder("late")
    runner.register_hook(late, priority="VERY_LOW")  # after CheckpointHook (also VERY_LOW)
    first = StageRecorder("first")
    runner.register_hook(first, priority=5)  # before RuntimeInfoHook (10)
    mid = dict(type="StageRecorder", tag="mid", priority=55)
    runner.register_hook(mid)
    order = [getattr(h, "tag", type(h).__name__) for h in runner.hooks]
    assert order == [
        "first",
        "RuntimeInfoHook",
        "IterTimerHook",
        "DistSamplerSeedHook",
        "mid",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
        "late",
    ]
    assert runner.hooks[4].priority == 55
    assert late.priority == "VERY_LOW"
    with pytest.raises(TypeError):
        runner.register_hook(object())

    stages = StageRecorder().get_triggered_stages()
    assert {"before_train_epoch", "after_val_epoch"} <= stages
    assert {"after_train_iter", "after_val_iter", "after_test_iter"} <= stages
    assert "before_run" not in stages
    assert "after_train_epoch" not in stages

    info = runner.get_hooks_info()
    block = (
        "before_train_epoch:\n"
        f"({'5':<12}) {'StageRecorder':<35}\n"
        f"({'VERY_HIGH':<12}) {'RuntimeInfoHook':<35}\n"
        f"({'NORMAL':<12}) {'IterTimerHook':<35}\n"
        f"({'NORMAL':<12}) {'DistSamplerSeedHook':<35}\n"
        f"({55!s:<12}) {'StageRecorder':<35}\n"
        f"({'VERY_LOW':<12}) {'StageRecorder':<35}\n"
        " -------------------- "
    )
    assert block in info
    assert info.startswith("before_run:\n")
    # unknown stages are a no-op for hooks lacking them, and custom stages reach hooks
    runner.call_hook("no_such_stage")
    runner.call_hook("my_custom_stage", value=3)
    assert first.calls == ["custom:3"]
    assert late.calls == ["custom:3"]
    with pytest.raises(TypeError, match="StageRecorder"):
        runner.call_hook("my_custom_stage", wrong=1)
    log = _read(osp.join(runner.log_dir, f"{runner.timestamp}.log"))
    assert "Hooks will be executed in the following order:" in log


def test_properties_before_and_after_train(tmp_path):
    runner = _full_runner(tmp_path, experiment_name="exp")
    assert isinstance(runner._train_loop, dict)
    assert runner.experiment_name == f"exp_{runner.timestamp}"
    assert runner.log_dir == osp.join(str(tmp_path), runner.timestamp)
    assert runner.work_dir == str(tmp_path)
    assert runner.model_name == "TinyNet"
    assert (runner.launcher, runner.distributed, runner.rank, runner.world_size) == (
        "none",
        False,
        0,
        1,
    )
    assert runner.seed == 7
    assert runner.deterministic is False
    assert osp.isfile(osp.join(str(tmp_path), f"{runner.timestamp}.py"))  # dump_config
    # reading epoch builds the train loop and its dataloader
    assert (runner.epoch, runner.iter, runner.max_epochs, runner.max_iters) == (0, 0, 2, 8)
    assert type(runner._train_loop).__name__ == "EpochBasedTrainLoop"
    assert len(runner.train_dataloader) == 4
    assert isinstance(runner._val_loop, dict)
    assert type(runner.val_loop).__name__ == "ValLoop"
    assert runner.val_evaluator is runner.val_loop.evaluator
    assert runner.test_loop is None
    runner.train()
    assert (runner.epoch, runner.iter) == (2, 8)
    assert isinstance(runner.optim_wrapper, OptimWrapper)
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".pth")) == [
        "epoch_1.pth",
        "epoch_2.pth",
    ]
    # dump_config can be called again by a tool; with a cfg filename it uses the basename
    os.remove(osp.join(str(tmp_path), f"{runner.timestamp}.py"))
    runner.dump_config()
    assert osp.isfile(osp.join(str(tmp_path), f"{runner.timestamp}.py"))


def test_save_load_resume_by_hand(tmp_path):
    runner = _full_runner(tmp_path / "a")
    runner.train()
    out = str(tmp_path / "manual")
    os.makedirs(out)
    runner.save_checkpoint(
        out, "light.pth", meta=dict(note="hi"), save_optimizer=False, save_param_scheduler=False
    )
    ckpt = torch.load(osp.join(out, "light.pth"), weights_only=False)
    assert list(ckpt)[:3] == ["meta", "state_dict", "message_hub"]
    assert "optimizer" not in ckpt
    assert "param_schedulers" not in ckpt
    meta = ckpt["meta"]
    assert meta["note"] == "hi"
    assert (meta["epoch"], meta["iter"]) == (3, 8)
    assert meta["seed"] == 7
    assert meta["dataset_meta"] == {"classes": ("neg", "pos")}
    assert meta["experiment_name"] == runner.experiment_name
    runner.save_checkpoint(out, "iter.pth", by_epoch=False, meta=dict(epoch=5))
    ck2 = torch.load(osp.join(out, "iter.pth"), weights_only=False)
    assert (ck2["meta"]["epoch"], ck2["meta"]["iter"]) == (5, 9)
    assert "optimizer" in ck2
    with pytest.raises(TypeError):
        runner.save_checkpoint(out, "bad.pth", meta=[1])

    # A checkpoint saved from a DDP-wrapped model: keys carry "module."
    ddp_path = osp.join(out, "ddp.pth")
    sd = {f"module.{k}": v.clone() for k, v in ckpt["state_dict"].items()}
    torch.save({"state_dict": sd}, ddp_path)
    fresh = Runner(model=TinyNet(), work_dir=str(tmp_path / "b"))
    loaded = fresh.load_checkpoint(ddp_path, map_location="cpu", strict=True)
    assert "state_dict" in loaded
    assert torch.equal(fresh.model.fc.weight, ckpt["state_dict"]["fc.weight"])
    # revise_keys=[] keeps the prefix: a plain-dict state dict then fails strict loading
    # with the mismatch report (not an AttributeError on the dict)
    with pytest.raises(RuntimeError, match=r"unexpected key in source state_dict: module\.fc"):
        fresh.load_checkpoint(ddp_path, revise_keys=[], strict=True)
    # custom revise_keys (e.g. a backbone exported with a prefix)
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in sd.items()}}, ddp_path)
    other = Runner(model=TinyNet(), work_dir=str(tmp_path / "c"))
    other.load_checkpoint(ddp_path, revise_keys=[(r"^backbone\.module\.", "")], strict=True)
    assert torch.equal(other.model.fc.bias, ckpt["state_dict"]["fc.bias"])

    # resume without optimizer state: momentum buffers stay empty, counters restored
    res = _full_runner(tmp_path / "d")
    res.resume(
        osp.join(str(tmp_path / "a"), "epoch_1.pth"),
        resume_optimizer=False,
        resume_param_scheduler=False,
    )
    assert (res.epoch, res.iter) == (1, 4)
    assert isinstance(res.optim_wrapper, dict)  # not built: nothing to load into
    assert len(res.message_hub.get_scalar("train/loss").data[0]) == 4  # hub history restored
    log = _read(osp.join(res.log_dir, f"{res.timestamp}.log"))
    assert "resumed epoch: 1, iter: 4" in log
    res.train()  # continues with a fresh optimizer for the second epoch only
    assert (res.epoch, res.iter) == (2, 8)
    assert not osp.exists(osp.join(str(tmp_path / "d"), "epoch_1.pth"))
    assert osp.exists(osp.join(str(tmp_path / "d"), "epoch_2.pth"))
    # strict loading of a checkpoint that does not match raises
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 4)}}, ddp_path)
    with pytest.raises(RuntimeError, match=r"fc\.bias"):
        fresh.load_checkpoint(ddp_path, strict=True)
    res2 = _full_runner(tmp_path / "e")
    res2.resume(osp.join(str(tmp_path / "a"), "epoch_1.pth"))
    assert isinstance(res2.optim_wrapper, OptimWrapper)
    assert len(res2.optim_wrapper.optimizer.state) == 2  # momentum buffers loaded


def test_build_methods_called_by_tools(tmp_path):
    runner = Runner(model=TinyNet(), work_dir=str(tmp_path))
    for cfg in (dict(type="Acc"), [dict(type="Acc")], dict(metrics=[dict(type="Acc")])):
        ev = runner.build_evaluator(cfg)
        assert type(ev).__name__ == "Evaluator"
        assert len(ev.metrics) == 1
    with pytest.raises(TypeError):
        runner.build_evaluator(3)
    assert runner.build_message_hub() is runner.message_hub
    with pytest.raises(TypeError):
        runner.build_message_hub(3)
    assert runner.build_message_hub(dict(name="tool_hub")).instance_name == "tool_hub"
    lp = runner.build_log_processor(dict(window_size=5, by_epoch=False))
    assert (lp.window_size, lp.by_epoch) == (5, False)
    vis = runner.build_visualizer(dict(type="Visualizer", name="tool_vis"))
    assert vis.instance_name == "tool_vis"
    with pytest.raises(TypeError):
        runner.build_visualizer(3)

    ow = runner.build_optim_wrapper(dict(optimizer=dict(type="SGD", lr=0.5)))
    assert isinstance(ow, OptimWrapper)
    assert ow.get_lr()["lr"] == [0.5]
    built = torch.optim.Adam(runner.model.parameters(), lr=0.01)
    assert runner.build_optim_wrapper(dict(optimizer=built)).optimizer is built
    pair = runner.build_optim_wrapper(
        dict(
            a=OptimWrapper(built),
            b=OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1)),
        )
    )
    assert isinstance(pair, OptimWrapperDict)
    assert sorted(pair.keys()) == ["a", "b"]
    with pytest.raises(ValueError):
        runner.build_optim_wrapper(dict(a=1))
    runner.optim_wrapper = ow
    scheds = runner.build_param_scheduler(
        [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=4)]
    )
    assert isinstance(scheds, list)
    assert type(scheds[0]).__name__ == "LinearLR"
    assert ow.get_lr()["lr"] == [pytest.approx(0.05)]
    assert runner.wrap_model(None, runner.model) is runner.model


def test_val_test_twice_then_train(tmp_path):
    runner = _full_runner(
        tmp_path,
        test_dataloader=loader(shuffle=False),
        test_cfg=dict(),
        test_evaluator=[dict(type="Acc")],
    )
    t1 = runner.test()
    t2 = runner.test()
    v1 = runner.val()
    assert t1 == t2
    assert set(v1) == {"accuracy"}
    assert runner.val() == v1
    assert isinstance(runner._train_loop, dict)  # test()/val() do not build training
    runner.train()
    assert runner.epoch == 2
    log = _read(osp.join(runner.log_dir, f"{runner.timestamp}.log"))
    assert "Epoch(test) [4/4]" in log
    assert "Epoch(train) [2][4/4]" in log
    assert "Epoch(val) [2][4/4]" in log

    only_test = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path / "t"),
        test_dataloader=loader(),
        test_cfg=dict(),
        test_evaluator=dict(type="Acc"),
    )
    with pytest.raises(RuntimeError, match="train_dataloader"):
        only_test.train()
    with pytest.raises(RuntimeError, match="val_evaluator"):
        only_test.val()
    with pytest.raises(ValueError, match="train_dataloader"):
        Runner(
            model=TinyNet(),
            work_dir=str(tmp_path / "x"),
            train_cfg=dict(by_epoch=True, max_epochs=1),
            optim_wrapper=SGD,
        )


@FUNCTIONS.register_module(force=True)
def counted_collate(batch, scale: int = 1) -> dict:
    return {"n": len(batch) * scale}


@FUNCTIONS.register_module(force=True)
def offset_worker_init(worker_id: int, base: int = 0) -> None:
    torch.manual_seed(worker_id + base)


@DATASETS.register_module(force=True)
class RangeDataset(BaseDataset):
    METAINFO = dict(classes=("a", "b"))

    def load_data_list(self) -> list:
        return [dict(inputs=torch.full((4,), float(i)), labels=i % 2) for i in range(10)]


def test_build_dataloader_registry_strings_and_epoch_cap():
    cfg = dict(
        dataset=dict(type="RangeDataset", lazy_init=True),
        batch_size=2,
        num_workers=0,
        num_batch_per_epoch=2,
        sampler=dict(type="DefaultSampler", shuffle=False),
        worker_init_fn=dict(type="offset_worker_init", base=5),
        collate_fn=dict(type="counted_collate", scale=3),
    )
    cfg_copy = copy.deepcopy(cfg)
    dl = Runner.build_dataloader(cfg)
    assert dl.dataset._fully_initialized  # full_init() called on the built dataset
    assert cfg == cfg_copy  # the caller's config is not mutated (deep-copied)
    assert len(dl.dataset) == 4
    assert len(dl) == 2
    assert list(dl) == [{"n": 6}, {"n": 6}]
    assert dl.worker_init_fn.func is offset_worker_init
    assert dl.worker_init_fn.keywords == {"base": 5}


def test_load_from_once_across_val_test_train(tmp_path):
    src = _full_runner(tmp_path / "src")
    src.train()
    runner = _full_runner(
        tmp_path / "dst",
        load_from=str(tmp_path / "src" / "epoch_1.pth"),
        test_dataloader=loader(shuffle=False),
        test_cfg=dict(),
        test_evaluator=dict(type="Acc"),
        auto_scale_lr=dict(enable=True, base_batch_size=8),
    )
    ref = torch.load(str(tmp_path / "src" / "epoch_1.pth"), weights_only=False)
    assert runner.val() == runner.test()
    assert torch.equal(runner.model.fc.weight, ref["state_dict"]["fc.weight"])
    runner.train()  # weights were already loaded once: not loaded again
    log = _read(osp.join(runner.log_dir, f"{runner.timestamp}.log"))
    assert log.count("Load checkpoint from") == 1
    # auto_scale_lr: 1 process x batch 4 against base 8 halves lr 0.1
    assert runner.optim_wrapper.get_lr()["lr"] == [pytest.approx(0.05)]


def test_per_optimizer_schedulers_and_enum_priority(tmp_path):
    class TwoHeads(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.g = torch.nn.Linear(2, 2)
            self.d = torch.nn.Linear(2, 2)

        def forward(self, *args, **kwargs):
            return {}

    model = TwoHeads()
    runner = Runner(model=model, work_dir=str(tmp_path), default_hooks=dict(timer=None))
    runner.optim_wrapper = runner.build_optim_wrapper(
        dict(
            g=OptimWrapper(torch.optim.SGD(model.g.parameters(), lr=1.0)),
            d=OptimWrapper(torch.optim.SGD(model.d.parameters(), lr=2.0)),
        )
    )
    scheds = runner.build_param_scheduler(
        dict(
            g=[dict(type="ConstantLR", factor=0.5, end=3, by_epoch=False)],
            d=dict(type="ConstantLR", factor=0.1, end=3, by_epoch=False),
        )
    )
    assert sorted(scheds) == ["d", "g"]
    assert len(scheds["g"]) == len(scheds["d"]) == 1
    lrs = runner.optim_wrapper.get_lr()
    assert lrs["g.lr"] == [pytest.approx(0.5)]
    assert lrs["d.lr"] == [pytest.approx(0.2)]
    with pytest.raises(TypeError):
        runner.build_param_scheduler(3)

    runner.register_hook(StageRecorder("enum"), priority=Priority.HIGH)
    runner.register_hook(dict(type="StageRecorder", tag="arg", priority=80), "ABOVE_NORMAL")
    tags = [getattr(h, "tag", type(h).__name__) for h in runner.hooks]
    assert tags[:4] == ["RuntimeInfoHook", "enum", "arg", "DistSamplerSeedHook"]
    info = runner.get_hooks_info()
    assert f"({'HIGH':<12}) {'StageRecorder':<35}\n({'ABOVE_NORMAL':<12}) " in info
    runner.register_hook(StageRecorder("int"), priority=70)  # an enum value prints by name
    assert f"({'LOW':<12}) {'StageRecorder':<35}" in runner.get_hooks_info()
    with pytest.raises(AssertionError):
        Runner(model=TinyNet(), work_dir=str(tmp_path / "x"), default_hooks=dict(foo=None))


class LegacyKeyHook(Hook):
    """Converts an old checkpoint layout on load and tags checkpoints on save."""

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        checkpoint["state_dict"] = {
            k.replace("old_head", "fc"): v for k, v in checkpoint["state_dict"].items()
        }

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        checkpoint["meta"]["converted"] = True
        checkpoint["custom"] = "x"


def test_checkpoint_hooks_around_manual_load_and_save(tmp_path):
    runner = Runner(model=TinyNet(), work_dir=str(tmp_path), custom_hooks=[LegacyKeyHook()])
    old = {"old_head.weight": torch.full((2, 4), 3.0), "old_head.bias": torch.ones(2)}
    torch.save({"state_dict": old}, str(tmp_path / "old.pth"))
    runner.load_checkpoint(str(tmp_path / "old.pth"), strict=True)  # hook renames first
    assert torch.equal(runner.model.fc.weight, old["old_head.weight"])
    runner.save_checkpoint(
        str(tmp_path), "new.pth", save_optimizer=False, save_param_scheduler=False
    )
    ckpt = torch.load(str(tmp_path / "new.pth"), weights_only=False)
    assert list(ckpt) == ["meta", "state_dict", "message_hub", "custom"]
    assert ckpt["meta"]["converted"] is True
    assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"]) == (1, 0)  # no training configured
    log = _read(osp.join(runner.log_dir, f"{runner.timestamp}.log"))
    assert f"Load checkpoint from {tmp_path / 'old.pth'}" in log
    assert "`save_param_scheduler` is True" not in log
