"""EmptyCacheHook, SyncBuffersHook, PrepareTTAHook, NaiveVisualizationHook and ProfilerHook."""

from __future__ import annotations

import json
import os
import os.path as osp
import sys
from types import ModuleType, SimpleNamespace

import pytest
import torch
from _dist import run_in_processes
from torch import nn

from piston.hooks import (
    EmptyCacheHook,
    NaiveVisualizationHook,
    PrepareTTAHook,
    ProfilerHook,
    SyncBuffersHook,
)
from test_hooks._hooks_fakes import FakeRunner, RecordingVisualizer


# ---------------------------------------------------------------------- EmptyCacheHook
def _count_empty_cache(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: calls.append(1))
    return calls


def test_empty_cache_at_selected_points(monkeypatch):
    calls = _count_empty_cache(monkeypatch)
    runner = SimpleNamespace()
    hook = EmptyCacheHook()  # default: after each epoch only
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, batch_idx=0)
    assert calls == []
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, metrics={})
    hook.after_test_epoch(runner, metrics={})
    assert len(calls) == 3
    hook = EmptyCacheHook(before_epoch=True, after_epoch=False, after_iter=True)
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, batch_idx=0)
    hook.after_train_epoch(runner)
    assert len(calls) == 5
    assert hook.get_triggered_stages() >= {"after_train_iter", "before_test_epoch"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_empty_cache_releases_cuda_memory():
    block = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    del block
    reserved = torch.cuda.memory_reserved()
    EmptyCacheHook().after_train_epoch(SimpleNamespace())
    assert torch.cuda.memory_reserved() < reserved


# ---------------------------------------------------------------------- SyncBuffersHook
def _sync_buffers_worker(rank: int, world_size: int) -> None:
    model = nn.BatchNorm1d(2)
    model.running_mean.fill_(float(rank))
    runner = SimpleNamespace(model=model)
    hook = SyncBuffersHook()
    assert hook.distributed
    hook.after_train_epoch(runner)
    assert torch.allclose(model.running_mean, torch.full((2,), 0.5))
    # validation right after the train epoch does not sync again
    model.running_mean.fill_(float(rank))
    hook.before_val_epoch(runner)
    assert torch.all(model.running_mean == float(rank))
    # a standalone validation does
    hook.before_val_epoch(runner)
    assert torch.allclose(model.running_mean, torch.full((2,), 0.5))


@pytest.mark.distributed
def test_sync_buffers_across_two_processes():
    run_in_processes(_sync_buffers_worker, world_size=2)


def test_sync_buffers_noop_without_process_group():
    model = nn.BatchNorm1d(2)
    model.running_mean.fill_(3.0)
    hook = SyncBuffersHook()
    assert not hook.distributed
    hook.after_train_epoch(SimpleNamespace(model=model))
    hook.before_val_epoch(SimpleNamespace(model=model))
    assert torch.all(model.running_mean == 3.0)


# ---------------------------------------------------------------------- PrepareTTAHook
def test_prepare_tta_wraps_model_before_test():
    from piston.model import BaseTTAModel
    from piston.registry import MODELS

    @MODELS.register_module(name="_TestMeanTTA", force=True)
    class MeanTTA(BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return [sum(preds) / len(preds) for preds in data_samples_list]

    class Inner(nn.Module):
        def test_step(self, data):
            return [x * 2 for x in data["inputs"]]

    inner = Inner()
    runner = SimpleNamespace(model=inner)
    PrepareTTAHook(tta_cfg={"type": "_TestMeanTTA"}).before_test(runner)
    assert isinstance(runner.model, MeanTTA)
    assert runner.model.module is inner
    out = runner.model.test_step({"inputs": [[1.0, 2.0], [3.0, 4.0]]})  # 2 augs of 2 samples
    assert out == [4.0, 6.0]


def test_build_runner_with_tta_requires_keys():
    from piston.config import Config
    from piston.hooks.test_time_aug_hook import build_runner_with_tta

    with pytest.raises(AssertionError, match="tta_model"):
        build_runner_with_tta(Config({"tta_pipeline": []}))
    with pytest.raises(AssertionError, match="tta_pipeline"):
        build_runner_with_tta(Config({"tta_model": {"type": "X"}}))


# ---------------------------------------------------------------------- NaiveVisualizationHook
def test_naive_visualization_denormalizes_unpads_and_resizes():
    vis = RecordingVisualizer()
    runner = SimpleNamespace(visualizer=vis, model=nn.Linear(1, 1))
    hook = NaiveVisualizationHook(interval=2)
    hook.before_train(runner)
    assert vis.graphs == [runner.model]
    # a 3x4x4 padded input of a 2x3 image normalized with mean 10, std 2, original 4x6
    image = torch.zeros(3, 4, 4)
    image[:, :2, :3] = 5.0  # (5 * 2) + 10 = 20 after de-normalization
    meta = {
        "img_norm_cfg": {"mean": [10.0] * 3, "std": [2.0] * 3},
        "img_shape": (2, 3),
        "ori_shape": (4, 6),
        "img_path": "/data/cat.png",
    }
    batch = {"inputs": [image], "data_samples": [meta]}
    hook.after_test_iter(runner, batch_idx=0, data_batch=batch, outputs=["pred"])
    assert vis.samples == []  # batch 1 of every 2
    hook.after_test_iter(runner, batch_idx=1, data_batch=batch, outputs=["pred"])
    name, img, sample, kwargs = vis.samples[0]
    assert name == "cat.png"
    assert sample == "pred"
    assert img.dtype.name == "uint8"
    assert img.shape == (4, 6, 3)
    assert (img == 20).all()
    assert kwargs["draw_gt"]
    assert kwargs["draw_pred"]


def test_naive_visualization_with_mmengine_style_samples():
    """Per-sample dicts with ``data_sample``, a batch dim of 1, ``scale``/``pad_shape`` and
    ``ori_height``/``ori_width`` metainfo (the layout MMEngine-era code passes)."""
    from piston.structures import BaseDataElement

    vis = RecordingVisualizer()
    runner = SimpleNamespace(visualizer=vis)
    gt = BaseDataElement(
        metainfo=dict(
            img_norm_cfg=dict(mean=(0, 0, 0), std=(0.5, 0.5, 0.5), to_bgr=True),
            scale=(10, 8),
            pad_shape=(15, 15, 3),
            ori_height=5,
            ori_width=4,
            img_path="tmp.jpg",
        )
    )
    inputs = torch.full((1, 3, 15, 15), 100.0)
    pred = BaseDataElement()
    NaiveVisualizationHook().after_test_iter(
        runner, 0, [dict(inputs=inputs, data_sample=gt)], [pred]
    )
    name, img, sample, _ = vis.samples[0]
    assert (name, img.shape, sample) == ("tmp.jpg", (5, 4, 3), pred)
    assert (img == 50).all()


# ---------------------------------------------------------------------- ProfilerHook
@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"profile_times": 0}, ValueError),
        ({"by_epoch": True, "profile_times": 2}, ValueError),
        ({"by_epoch": "yes"}, TypeError),
        ({"activity_with_cuda": 1}, TypeError),
        ({"schedule": [1]}, TypeError),
    ],
)
def test_profiler_argument_errors(kwargs, error):
    with pytest.raises(error) as info:
        ProfilerHook(**kwargs)
    if error is TypeError:  # also the AssertionError MMEngine raised
        assert isinstance(info.value, AssertionError)


def _drive_profiled_iters(runner, hook, n):
    model = nn.Linear(4, 4)
    for idx in range(n):
        model(torch.randn(2, 4)).sum().backward()
        hook.after_train_iter(runner, batch_idx=idx)
        runner._train_loop._iter += 1


def test_profiler_by_iter_exports_chrome_trace_and_logs_table(tmp_path, capsys):
    runner = FakeRunner(tmp_path, train_len=5, max_epochs=1)
    trace = tmp_path / "trace.json"
    hook = ProfilerHook(
        by_epoch=False,
        profile_times=2,
        on_trace_ready={"type": "log_trace", "sort_by": "cpu_time_total", "row_limit": 5},
        json_trace_path=str(trace),
    )
    hook.before_run(runner)
    _drive_profiled_iters(runner, hook, 4)
    assert hook._closed
    assert "addmm" in json.dumps(json.loads(trace.read_text()))
    assert "Self CPU" in capsys.readouterr().out  # the key-averages table
    hook.after_train_epoch(runner)  # already closed: no second exit


def test_profiler_by_epoch_stops_at_first_epoch_end(tmp_path):
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=2)
    seen = []
    hook = ProfilerHook(on_trace_ready=seen.append)
    hook.before_run(runner)
    _drive_profiled_iters(runner, hook, 2)
    assert not hook._closed
    hook.after_train_epoch(runner)
    assert hook._closed
    assert len(seen) == 1


def test_profiler_rejects_more_times_than_training(tmp_path):
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=1)
    with pytest.raises(ValueError, match="profile_times"):
        ProfilerHook(by_epoch=False, profile_times=3).before_run(runner)
    with pytest.raises(ValueError, match="trace_type"):
        ProfilerHook(on_trace_ready={"type": "nope"}).before_run(runner)


def test_npu_profiler_needs_torch_npu():
    pytest.importorskip("torch")
    try:
        import torch_npu  # noqa: F401
    except ImportError:
        from piston.hooks import NPUProfilerHook

        with pytest.raises(ImportError, match="torch-npu"):
            NPUProfilerHook()
    else:  # pragma: no cover - Ascend machines only
        pytest.skip("torch_npu installed")


def test_mmengine_module_paths_of_hooks():
    """``from mmengine.hooks.<module> import <Hook>`` ports by renaming mmengine -> piston."""
    import importlib

    import piston.hooks as hooks

    paths = {
        "checkpoint_hook": ["CheckpointHook"],
        "early_stopping_hook": ["EarlyStoppingHook"],
        "ema_hook": ["EMAHook"],
        "empty_cache_hook": ["EmptyCacheHook"],
        "hook": ["Hook", "DATA_BATCH"],
        "iter_timer_hook": ["IterTimerHook"],
        "logger_hook": ["LoggerHook"],
        "naive_visualization_hook": ["NaiveVisualizationHook"],
        "param_scheduler_hook": ["ParamSchedulerHook"],
        "profiler_hook": ["ProfilerHook", "NPUProfilerHook"],
        "runtime_info_hook": ["RuntimeInfoHook"],
        "sampler_seed_hook": ["DistSamplerSeedHook"],
        "sync_buffer_hook": ["SyncBuffersHook"],
        "test_time_aug_hook": ["PrepareTTAHook", "build_runner_with_tta"],
    }
    for module, names in paths.items():
        mod = importlib.import_module(f"piston.hooks.{module}")
        for name in names:
            assert getattr(hooks, name, getattr(mod, name)) is getattr(mod, name), (module, name)


def test_profiler_tb_trace_needs_torch_tb_profiler(tmp_path, monkeypatch):
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=1)
    monkeypatch.setitem(sys.modules, "torch_tb_profiler", None)  # import fails
    with pytest.raises(ImportError, match="pip install torch-tb-profiler"):
        ProfilerHook(by_epoch=False, on_trace_ready={"type": "tb_trace"}).before_run(runner)


def test_profiler_tb_trace_writes_under_log_dir(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_tb_profiler", ModuleType("torch_tb_profiler"))
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=1)
    hook = ProfilerHook(by_epoch=False, on_trace_ready={"type": "tb_trace"})
    hook.before_run(runner)
    _drive_profiled_iters(runner, hook, 1)
    assert hook._closed
    trace_dir = osp.join(runner.log_dir, "tf_tracing_logs")  # relative dir_name default
    assert any(name.endswith(".pt.trace.json") for name in os.listdir(trace_dir))
    assert f"trace_files of ProfilerHook will be saved to {trace_dir}." in runner.log_text()
