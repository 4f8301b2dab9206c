"""Audit: MMEngine-era config files (``default_runtime`` base + schedule) through ``from_cfg``.

The config below is written the way downstream repos write theirs: a ``_base_`` runtime file,
``custom_imports`` naming a user module next to the config, string ``type`` names resolved in
the ``'piston'`` scope, dict dataloaders with ``DefaultSampler``. Each test checks one part of
``runner.md`` against what the Runner really does with such a config.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from functools import partial

import pytest
import torch

from piston.config import Config
from piston.runner import Runner

MODULE = "piston_audit_user_module"

USER_MODULE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, METRICS, MODELS


@MODELS.register_module(force=True)
class AuditModel(BaseModel):
    def __init__(self, data_preprocessor=None, hidden=8):
        super().__init__(data_preprocessor=data_preprocessor)
        self.fc1 = nn.Linear(4, hidden)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(hidden, 3)

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.fc2(self.drop(F.relu(self.fc1(inputs))))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, labels)}
        if mode == "predict":
            return logits, labels
        return logits


@DATASETS.register_module(force=True)
class AuditDataset(Dataset):
    METAINFO = {"classes": ("a", "b", "c")}

    def __init__(self, size=24, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = torch.randint(0, 3, (size,), generator=gen)

    @property
    def metainfo(self):
        return dict(self.METAINFO)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return {"inputs": self.x[idx], "labels": self.y[idx]}


@METRICS.register_module(force=True)
class AuditAcc(BaseMetric):
    default_prefix = "audit"

    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        self.results.append((len(labels), int((logits.argmax(1) == labels).sum())))

    def compute_metrics(self, results):
        return {"acc": 100.0 * sum(h for _, h in results) / sum(n for n, _ in results)}
"""

DEFAULT_RUNTIME = """
default_scope = 'piston'
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=2),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
"""

EXPERIMENT = """
_base_ = ['./default_runtime.py']
custom_imports = dict(imports=['{module}'], allow_failed_imports=False)
model = dict(type='AuditModel', data_preprocessor=dict(type='BaseDataPreprocessor'))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='AuditDataset', size=24))
val_dataloader = dict(
    batch_size=6, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='AuditDataset', size=12, seed=1))
test_dataloader = val_dataloader
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=1)
val_cfg = dict()
test_cfg = dict()
val_evaluator = dict(type='AuditAcc')
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)]
auto_scale_lr = dict(enable=False, base_batch_size=16)
"""


@pytest.fixture
def cfg_file(tmp_path, monkeypatch):
    """``exp_cfg.py`` inheriting ``default_runtime.py``; the user module sits beside them."""
    (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent(USER_MODULE))
    (tmp_path / "default_runtime.py").write_text(DEFAULT_RUNTIME)
    path = tmp_path / "exp_cfg.py"
    path.write_text(EXPERIMENT.format(module=MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(MODULE, None)
    return path


def _cfg(cfg_file, work_dir, **options) -> Config:
    cfg = Config.fromfile(str(cfg_file))
    cfg.work_dir = str(work_dir)
    # runners built in the same second would share the logger/visualizer instance names
    cfg.experiment_name = os.path.basename(str(work_dir)) + str(len(os.listdir(work_dir.parent)))
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _log_text(runner) -> str:
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.flush()
    with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as fobj:
        return fobj.read()


def test_from_cfg_construction_sequence_and_work_dir_layout(cfg_file, tmp_path) -> None:
    work_dir = tmp_path / "wd"
    cfg = _cfg(cfg_file, work_dir)
    runner = Runner.from_cfg(cfg)
    assert runner.work_dir == str(work_dir)
    assert runner.experiment_name == f"{cfg.experiment_name}_{runner.timestamp}"
    del cfg.experiment_name  # without one: '<config file stem>_<timestamp>'
    assert Runner.from_cfg(cfg).experiment_name.startswith("exp_cfg_20")
    assert runner.log_dir == str(work_dir / runner.timestamp)
    assert runner.default_scope.scope_name == "piston"
    assert runner.seed == 0
    assert runner.deterministic is False
    assert runner.model_name == "AuditModel"
    assert runner.launcher == "none"
    assert runner.distributed is False
    assert (runner.rank, runner.world_size) == (0, 1)
    assert runner.cfg.filename == str(cfg_file)
    # lazy init: nothing built until asked for
    assert isinstance(runner._train_loop, dict)
    assert isinstance(runner._val_loop, dict)
    assert isinstance(runner.optim_wrapper, dict)
    assert runner.log_processor.window_size == 50
    # dump_config: work_dir/<basename of cfg.filename>, reloadable, with the merged base
    dumped = work_dir / "exp_cfg.py"
    assert dumped.is_file()
    assert not (work_dir / f"{runner.timestamp}.py").exists()
    reloaded = Config.fromfile(str(dumped))
    assert reloaded.train_cfg.max_epochs == 3
    assert reloaded.default_scope == "piston"
    assert reloaded.custom_imports.imports == [MODULE]
    # config is also handed to the visualizer
    assert (work_dir / runner.timestamp / "vis_data" / "config.py").is_file()
    # log order: environment banner, then the config, then the hook table
    text = _log_text(runner)
    banner = text.index("System environment:")
    runtime = text.index("Runtime environment:")
    config = text.index("Config:\n")
    hooks = text.index("Hooks will be executed in the following order:")
    assert banner < runtime < config < hooks
    assert "seed: 0" in text[runtime:config]
    assert "mp_start_method" in text[config:hooks]


def test_train_counters_checkpoints_and_meta(cfg_file, tmp_path) -> None:
    from piston.hooks import Hook

    seen: list[tuple] = []

    class Spy(Hook):
        priority = "LOWEST"

        def before_train(self, runner):
            seen.append(("before_train", runner.epoch, runner.iter))

        def before_train_epoch(self, runner):
            seen.append(("before_train_epoch", runner.epoch, runner.iter))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            seen.append(("after_train_iter", runner.epoch, runner.iter, batch_idx))

        def after_train_epoch(self, runner):
            seen.append(("after_train_epoch", runner.epoch, runner.iter))

        def after_val_epoch(self, runner, metrics=None):
            seen.append(("after_val_epoch", runner.epoch, runner.iter, sorted(metrics)))

        def after_train(self, runner):
            seen.append(("after_train", runner.epoch, runner.iter))

    work_dir = tmp_path / "wd"
    cfg = _cfg(cfg_file, work_dir)
    cfg.custom_hooks = [Spy()]
    runner = Runner.from_cfg(cfg)
    runner.train()
    # 24 samples / batch 4 = 6 iterations per epoch, 3 epochs
    assert (runner.epoch, runner.iter, runner.max_epochs, runner.max_iters) == (3, 18, 3, 18)
    assert seen[0] == ("before_train", 0, 0)
    assert seen[1] == ("before_train_epoch", 0, 0)
    assert seen[2] == ("after_train_iter", 0, 0, 0)
    assert seen[7] == ("after_train_iter", 0, 5, 5)
    assert seen[8] == ("after_train_epoch", 0, 6)
    assert seen[9] == ("after_val_epoch", 1, 6, ["audit/acc"])
    assert seen[10] == ("before_train_epoch", 1, 6)
    assert seen[-1] == ("after_train", 3, 18)
    assert sum(1 for s in seen if s[0] == "after_val_epoch") == 3

    for epoch in (1, 2, 3):
        assert (work_dir / f"epoch_{epoch}.pth").is_file()
    assert (work_dir / "last_checkpoint").read_text() == str(work_dir / "epoch_3.pth")
    ckpt = torch.load(work_dir / "epoch_2.pth", weights_only=True)
    assert list(ckpt)[:5] == ["meta", "state_dict", "message_hub", "optimizer", "param_schedulers"]
    meta = ckpt["meta"]
    assert (meta["epoch"], meta["iter"]) == (2, 12)
    assert meta["seed"] == 0
    assert meta["experiment_name"] == runner.experiment_name
    assert len(meta["time"]) == 15
    assert meta["time"][8] == "_"
    assert meta["piston_version"].startswith(__import__("piston").__version__)
    assert isinstance(meta["cfg"], str)
    assert "AuditModel" in meta["cfg"]
    assert meta["dataset_meta"] == {"classes": ("a", "b", "c")}
    assert set(ckpt["message_hub"]) == {"log_scalars", "runtime_info", "resumed_keys"}
    assert ckpt["message_hub"]["runtime_info"]["epoch"] == 1  # written before the +1
    assert len(ckpt["param_schedulers"]) == 1
    assert ckpt["param_schedulers"][0]["last_step"] == 2
    assert "state" in ckpt["optimizer"]
    assert "param_groups" in ckpt["optimizer"]
    assert set(ckpt["state_dict"]) == set(runner.model.state_dict())
    # the MultiStepLR(milestones=[1]) scheduled the lr
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(0.01)


def test_iter_based_train_cfg_counters_and_files(cfg_file, tmp_path) -> None:
    work_dir = tmp_path / "wd"
    cfg = _cfg(cfg_file, work_dir)
    cfg.train_cfg = dict(by_epoch=False, max_iters=10, val_interval=4)
    cfg.param_scheduler = None
    cfg.log_processor = dict(type="LogProcessor", window_size=50, by_epoch=False)
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=4, by_epoch=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (runner.iter, runner.max_iters, runner.max_epochs) == (10, 10, 1)
    assert sorted(p.name for p in work_dir.glob("iter_*.pth")) == [
        "iter_10.pth",
        "iter_4.pth",
        "iter_8.pth",
    ]
    meta = torch.load(work_dir / "iter_8.pth", weights_only=True)["meta"]
    assert (meta["epoch"], meta["iter"]) == (0, 8)
    text = _log_text(runner)
    assert "Iter(train) [10/10]" in text
    assert "Iter(val) [2/2]" in text


def test_val_and_test_return_metric_dicts(cfg_file, tmp_path) -> None:
    runner = Runner.from_cfg(_cfg(cfg_file, tmp_path / "wd"))
    metrics = runner.val()
    assert set(metrics) == {"audit/acc"}
    assert isinstance(metrics["audit/acc"], float)
    assert runner.test() == metrics  # same data, same weights
    assert isinstance(runner._train_loop, dict)  # val/test never build training


def test_dict_dataloader_defaults_from_randomness(cfg_file, tmp_path) -> None:
    from piston.dataset import pseudo_collate, worker_init_fn

    cfg = _cfg(cfg_file, tmp_path / "wd", randomness=dict(seed=123, deterministic=False))
    del cfg.train_dataloader["collate_fn"]
    cfg.train_dataloader.num_workers = 2
    runner = Runner.from_cfg(cfg)
    loader = runner.train_dataloader
    assert loader.sampler.seed == 123
    assert loader.collate_fn.func is pseudo_collate
    init = loader.worker_init_fn
    assert isinstance(init, partial)
    assert init.func is worker_init_fn
    assert init.keywords["seed"] == 123
    assert init.keywords["num_workers"] == 2
    assert init.keywords["rank"] == 0
    # the default collate keeps a list of per-sample dicts merged into lists
    batch = next(iter(loader))
    assert isinstance(batch["inputs"], list)
    assert len(batch["inputs"]) == 4


def test_diff_rank_seed_leaves_the_sampler_seed_unset(cfg_file, tmp_path) -> None:
    cfg = _cfg(cfg_file, tmp_path / "wd", randomness=dict(seed=5, diff_rank_seed=True))
    runner = Runner.from_cfg(cfg)
    assert runner.seed == 5  # rank 0 adds 0
    assert runner.train_dataloader.sampler.seed != 5  # drawn by the sampler, not the runner's


def test_auto_scale_lr_from_cfg(cfg_file, tmp_path) -> None:
    cfg = _cfg(cfg_file, tmp_path / "wd", auto_scale_lr=dict(enable=True, base_batch_size=16))
    cfg.param_scheduler = None
    cfg.train_cfg.max_epochs = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    # real batch size = world_size (1) * 4 → lr * 4 / 16
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(0.1 * 4 / 16)


def test_resume_true_without_checkpoint_starts_fresh_then_resumes(cfg_file, tmp_path) -> None:
    work_dir = tmp_path / "wd"
    cfg = _cfg(cfg_file, work_dir, resume=True)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = None  # piston's MultiStepLR rejects milestones past `end`
    runner = Runner.from_cfg(cfg)
    runner.train()  # nothing to resume from: trains from scratch
    assert runner.epoch == 1
    assert (work_dir / "epoch_1.pth").is_file()

    cfg = _cfg(cfg_file, work_dir, resume=True)
    cfg.param_scheduler = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    text = _log_text(runner)  # two runs in one second share the log file: look at the end
    text = text[text.rindex("Hooks will be executed") :]
    assert f"Auto resumed from the latest checkpoint {work_dir / 'epoch_1.pth'}." in text
    assert "resumed epoch: 1, iter: 6" in text
    assert "Epoch(train) [1]" not in text
    assert "Epoch(train) [2][6/6]" in text
    assert runner.epoch == 3


def test_load_from_with_resume_and_load_only(cfg_file, tmp_path) -> None:
    src = tmp_path / "src"
    cfg = _cfg(cfg_file, src)
    cfg.train_cfg.max_epochs = 2
    Runner.from_cfg(cfg).train()
    ckpt = str(src / "epoch_1.pth")

    resumed = Runner.from_cfg(_cfg(cfg_file, tmp_path / "a", load_from=ckpt, resume=True))
    resumed.train()
    assert "resumed epoch: 1, iter: 6" in _log_text(resumed)

    loaded = Runner.from_cfg(_cfg(cfg_file, tmp_path / "b", load_from=ckpt))
    loaded.train()  # weights only: the counters start at 0
    text = _log_text(loaded)
    text = text[text.rindex("Hooks will be executed") :]
    assert f"Load checkpoint from {ckpt}" in text
    assert "resumed epoch" not in text
    assert "Epoch(train) [1][6/6]" in text


def test_cli_train_with_cfg_options_then_test(cfg_file, tmp_path, capsys) -> None:
    from piston.cli import main

    work_dir = tmp_path / "cli"
    options = ["train_cfg.max_epochs=2", "param_scheduler.0.milestones=[1]", "randomness.seed=3"]
    status = main(["train", str(cfg_file), "--work-dir", str(work_dir), "--cfg-options", *options])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Epoch(train) [2][6/6]" in out
    assert "Epoch(val) [2][2/2]    audit/acc:" in out
    assert (work_dir / "last_checkpoint").read_text() == str(work_dir / "epoch_2.pth")
    dumped = Config.fromfile(str(work_dir / "exp_cfg.py"))
    assert dumped.train_cfg.max_epochs == 2
    assert dumped.randomness.seed == 3
    assert dumped.launcher == "none"
    meta = torch.load(work_dir / "epoch_2.pth", weights_only=True)["meta"]
    assert meta["seed"] == 3

    status = main(
        ["test", str(cfg_file), str(work_dir / "epoch_2.pth"), "--work-dir", str(work_dir)]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"Load checkpoint from {work_dir / 'epoch_2.pth'}" in out
    assert "Epoch(test) [2/2]    audit/acc:" in out
    # the test results land in the new run's log_dir as <timestamp>.json
    results = sorted(work_dir.glob("2*/2*.json"))
    assert results, list(work_dir.rglob("*"))


class _Interrupt(Exception):
    pass


def _train_weights(cfg_file, work_dir, loader, checkpoint, stop_at=None, **cfg_options):
    """Train 3 epochs of 6 iterations; ``stop_at=n`` aborts after iteration ``n``'s hooks."""
    from piston.hooks import Hook

    class Stop(Hook):
        priority = "LOWEST"  # after CheckpointHook wrote its file

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter + 1 == stop_at:
                raise _Interrupt

    cfg = _cfg(cfg_file, work_dir, **cfg_options)
    cfg.param_scheduler = None
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = checkpoint
    cfg.custom_hooks = [Stop()] if stop_at else []
    if loader == "plain":  # the seed example's style: a built DataLoader(shuffle=True)
        from torch.utils.data import DataLoader

        from piston.registry import DATASETS

        dataset = DATASETS.build(dict(type="AuditDataset", size=24))
        cfg.train_dataloader = DataLoader(dataset, batch_size=4, shuffle=True)
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    except _Interrupt:
        return None
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.mark.parametrize(
    ("loader", "checkpoint", "stop_at"),
    [
        ("default", dict(type="CheckpointHook", interval=4, by_epoch=False), 4),  # mid-epoch
        ("default", dict(type="CheckpointHook", interval=1), 12),  # epoch boundary
        ("plain", dict(type="CheckpointHook", interval=1), 12),
        ("plain", dict(type="CheckpointHook", interval=6, by_epoch=False), 6),
    ],
)
def test_interrupted_epoch_run_resumes_to_identical_weights(
    cfg_file, tmp_path, loader, checkpoint, stop_at
) -> None:
    expected = _train_weights(cfg_file, tmp_path / "full", loader, checkpoint)
    assert _train_weights(cfg_file, tmp_path / "cut", loader, checkpoint, stop_at) is None
    actual = _train_weights(cfg_file, tmp_path / "cut", loader, checkpoint, resume=True)
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key


def test_resume_checks_gpu_ids_of_an_older_checkpoints_meta_config(cfg_file, tmp_path) -> None:
    cfg = _cfg(cfg_file, tmp_path / "src")
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = None
    Runner.from_cfg(cfg).train()
    ckpt = torch.load(tmp_path / "src" / "epoch_1.pth", weights_only=True)
    ckpt["meta"]["config"] = "gpu_ids = range(0, 4)\nwork_dir = 'x'\n"  # mmcv-era meta
    torch.save(ckpt, tmp_path / "old.pth")
    runner = Runner.from_cfg(
        _cfg(cfg_file, tmp_path / "dst", load_from=str(tmp_path / "old.pth"), resume=True)
    )
    with pytest.raises(RuntimeError, match="Number of GPUs"):
        runner.train()


def test_build_methods_accept_objects_and_reject_wrong_types(cfg_file, tmp_path) -> None:
    from piston.evaluator import Evaluator
    from piston.logging import MessageHub
    from piston.optim import OptimWrapper, OptimWrapperDict
    from piston.runner import LogProcessor

    runner = Runner.from_cfg(_cfg(cfg_file, tmp_path / "wd"))
    model = runner.model
    assert runner.build_model(model) is model
    with pytest.raises(TypeError, match="model"):
        runner.build_model("AuditModel")
    from piston.model import MMDistributedDataParallel

    fake = MMDistributedDataParallel.__new__(MMDistributedDataParallel)  # no process group
    torch.nn.Module.__init__(fake)
    fake.module = model
    assert runner.wrap_model(None, fake) is fake
    with pytest.raises(TypeError, match="wrapped"):
        runner.wrap_model(dict(type="MMDistributedDataParallel"), fake)
    # optim wrapper: a built torch optimizer inside the dict → OptimWrapper around it
    sgd = torch.optim.SGD(model.parameters(), lr=0.5)
    wrapper = runner.build_optim_wrapper(dict(optimizer=sgd))
    assert type(wrapper) is OptimWrapper
    assert wrapper.optimizer is sgd
    assert runner.build_optim_wrapper(wrapper) is wrapper
    both = runner.build_optim_wrapper(
        dict(a=wrapper, b=OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1)))
    )
    assert isinstance(both, OptimWrapperDict)
    with pytest.raises(ValueError, match="OptimWrapper"):
        runner.build_optim_wrapper(dict(a=wrapper, b=dict(lr=1)))
    with pytest.raises(TypeError):
        runner.build_optim_wrapper([wrapper])
    # evaluator forms
    assert isinstance(runner.build_evaluator(dict(type="AuditAcc")), Evaluator)
    assert isinstance(runner.build_evaluator([dict(type="AuditAcc")]), Evaluator)
    assert isinstance(runner.build_evaluator(dict(metrics=dict(type="AuditAcc"))), Evaluator)
    with pytest.raises(TypeError):
        runner.build_evaluator("AuditAcc")
    # loops
    with pytest.raises(KeyError, match="by_epoch"):
        runner.build_train_loop(dict(max_epochs=1))
    with pytest.raises(TypeError):
        runner.build_train_loop("EpochBasedTrainLoop")
    # logging pieces
    assert isinstance(runner.build_log_processor(dict(window_size=3)), LogProcessor)
    with pytest.raises(TypeError):
        runner.build_log_processor("LogProcessor")
    hub = runner.build_message_hub(dict(name="audit_hub"))
    assert isinstance(hub, MessageHub)
    assert hub.instance_name == "audit_hub"
    with pytest.raises(TypeError):
        runner.build_message_hub("hub")
    with pytest.raises(TypeError):
        runner.build_visualizer("Visualizer")
    with pytest.raises(TypeError):
        Runner.build_dataloader(["not", "a", "config"])
    loader = dict(runner.cfg.train_dataloader)
    loader["worker_init_fn"] = dict(type="no_such_init_fn")
    with pytest.raises(KeyError, match="no_such_init_fn"):
        Runner.build_dataloader(loader)
    # param schedulers need a built optim wrapper first
    with pytest.raises(RuntimeError, match="build_optim_wrapper"):
        runner.build_param_scheduler([dict(type="MultiStepLR", milestones=[1])])


def test_runner_load_checkpoint_hooks_then_revise_keys_then_strict(cfg_file, tmp_path) -> None:
    from piston.hooks import Hook

    class Rename(Hook):
        def after_load_checkpoint(self, runner, checkpoint):
            state = checkpoint.get("state_dict", checkpoint)
            for key in list(state):
                state[key.replace("old_", "")] = state.pop(key)

    cfg = _cfg(cfg_file, tmp_path / "wd")
    cfg.custom_hooks = [Rename()]
    runner = Runner.from_cfg(cfg)
    weights = {
        f"module.old_{k}": torch.full_like(v, 2.0) for k, v in runner.model.state_dict().items()
    }
    torch.save({"meta": {}, "state_dict": weights}, tmp_path / "ddp.pth")
    ckpt = runner.load_checkpoint(str(tmp_path / "ddp.pth"), map_location="cpu", strict=True)
    assert set(ckpt) == {"meta", "state_dict"}
    assert torch.equal(runner.model.fc1.weight, torch.full_like(runner.model.fc1.weight, 2.0))
    weights["module.old_extra"] = torch.ones(1)
    torch.save({"state_dict": weights}, tmp_path / "extra.pth")
    runner.load_checkpoint(str(tmp_path / "extra.pth"))  # strict=False: a warning only
    with pytest.raises(RuntimeError, match="do not match exactly"):
        runner.load_checkpoint(str(tmp_path / "extra.pth"), strict=True)
    # custom revise_keys replace the default `^module.` rule
    bare = {f"backbone.{k}": torch.full_like(v, 3.0) for k, v in runner.model.state_dict().items()}
    torch.save(bare, tmp_path / "bare.pth")  # a raw state dict without 'state_dict'
    runner.load_checkpoint(str(tmp_path / "bare.pth"), revise_keys=[(r"^backbone\.", "")])
    assert torch.equal(runner.model.fc2.bias, torch.full_like(runner.model.fc2.bias, 3.0))


def test_smoke_run_with_fewer_epochs_than_the_schedule_milestones(cfg_file, tmp_path) -> None:
    """`--cfg-options train_cfg.max_epochs=1` on a 12-epoch schedule is a common smoke test."""
    cfg = _cfg(cfg_file, tmp_path / "wd")
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[8, 11], gamma=0.1)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 1
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(0.1)
