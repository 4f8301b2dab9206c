from __future__ import annotations

import os
import os.path as osp

import pytest
import torch

from piston.hooks import CheckpointHook
from test_hooks._hooks_fakes import FakeRunner


def _train(runner, hook, epochs, metrics=None):
    """Run ``epochs`` epochs; ``metrics`` is a list of per-epoch validation metrics."""
    runner.hooks = [hook]
    runner.call_hook("before_train")
    for epoch in range(epochs):
        runner.train_epoch(val_metrics=None if metrics is None else metrics[epoch])


def _files(path):
    return sorted(f for f in os.listdir(path) if f.endswith(".pth"))


def test_saves_every_epoch_and_writes_last_checkpoint(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=3)
    _train(runner, CheckpointHook(interval=1), 3)
    assert _files(tmp_path) == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]
    with open(tmp_path / "last_checkpoint") as f:
        assert f.read() == osp.join(str(tmp_path), "epoch_3.pth")
    text = runner.log_text()
    assert f"Checkpoints will be saved to {tmp_path}." in text
    assert "Saving checkpoint at 1 epochs" in text
    assert "Saving checkpoint at 3 epochs" in text
    ckpt = torch.load(tmp_path / "epoch_2.pth", weights_only=False)
    assert ckpt["meta"] == {"epoch": 2, "iter": 8}
    assert "optimizer" in ckpt
    assert runner.message_hub.get_info("last_ckpt") == osp.join(str(tmp_path), "epoch_3.pth")


def test_interval_save_last_and_save_begin(tmp_path):
    runner = FakeRunner(tmp_path / "a", max_epochs=5)
    _train(runner, CheckpointHook(interval=2), 5)
    assert _files(tmp_path / "a") == ["epoch_2.pth", "epoch_4.pth", "epoch_5.pth"]
    runner = FakeRunner(tmp_path / "b", max_epochs=5)
    _train(runner, CheckpointHook(interval=2, save_begin=3, save_last=False), 5)
    assert _files(tmp_path / "b") == ["epoch_3.pth", "epoch_5.pth"]
    runner = FakeRunner(tmp_path / "c", max_epochs=3)
    _train(runner, CheckpointHook(), 3)  # interval -1: only the last one
    assert _files(tmp_path / "c") == ["epoch_3.pth"]


def test_by_iteration_with_template(tmp_path):
    runner = FakeRunner(tmp_path, train_len=4, max_epochs=2)
    _train(runner, CheckpointHook(interval=3, by_epoch=False, filename_tmpl="it{}.pth"), 2)
    assert _files(tmp_path) == ["it3.pth", "it6.pth", "it8.pth"]
    assert "Saving checkpoint at 6 iterations" in runner.log_text()
    assert torch.load(tmp_path / "it6.pth", weights_only=False)["meta"] == {"epoch": 1, "iter": 6}
    runner = FakeRunner(tmp_path / "default", train_len=2, max_epochs=1)
    _train(runner, CheckpointHook(interval=1, by_epoch=False), 1)
    assert _files(tmp_path / "default") == ["iter_1.pth", "iter_2.pth"]


def test_max_keep_ckpts_and_resume_with_fewer(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=4)
    _train(runner, CheckpointHook(interval=1, max_keep_ckpts=2), 4)
    assert _files(tmp_path) == ["epoch_3.pth", "epoch_4.pth"]
    assert runner.message_hub.get_info("keep_ckpt_ids") == [3, 4]
    # the saved message hub records the ids kept at that point (resumable)
    ckpt = torch.load(tmp_path / "epoch_4.pth", weights_only=False)
    assert ckpt["message_hub"]["runtime_info"]["keep_ckpt_ids"] == [3, 4]
    # a resumed run keeping only one deletes the surplus at once
    hook = CheckpointHook(interval=1, max_keep_ckpts=1)
    runner.hooks = [hook]
    runner.call_hook("before_train")
    assert _files(tmp_path) == ["epoch_4.pth"]
    assert list(hook.keep_ckpt_ids) == [4]


def test_save_best_single_metric(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=3)
    hook = CheckpointHook(interval=1, save_best="accuracy")
    metrics = [{"accuracy": torch.tensor(0.5)}, {"accuracy": 0.7}, {"accuracy": 0.6}]
    _train(runner, hook, 3, metrics)
    assert _files(tmp_path) == [
        "best_accuracy_epoch_2.pth",
        "epoch_1.pth",
        "epoch_2.pth",
        "epoch_3.pth",
    ]
    hub = runner.message_hub
    assert hub.get_info("best_score") == pytest.approx(0.7)
    assert hub.get_info("best_ckpt") == osp.join(str(tmp_path), "best_accuracy_epoch_2.pth")
    text = runner.log_text()
    assert (
        "The best checkpoint with 0.7000 accuracy at 2 epoch is saved to "
        "best_accuracy_epoch_2.pth." in text
    )
    assert f"The previous best checkpoint {tmp_path}/best_accuracy_epoch_1.pth is removed" in text
    best = torch.load(tmp_path / "best_accuracy_epoch_2.pth", weights_only=False)
    assert "optimizer" not in best
    assert best["meta"] == {"epoch": 2, "iter": 8}
    # the periodic checkpoint of epoch 2 was re-saved and knows the new best
    periodic = torch.load(tmp_path / "epoch_2.pth", weights_only=False)
    assert periodic["message_hub"]["runtime_info"]["best_ckpt"].endswith(
        "best_accuracy_epoch_2.pth"
    )


def test_save_best_two_metrics_with_inferred_rules(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=3)
    hook = CheckpointHook(interval=-1, save_best=["acc", "loss"], save_last=False)
    metrics = [
        {"acc": 0.5, "loss": 1.0},
        {"acc": 0.4, "loss": 0.5},
        {"acc": 0.9, "loss": 0.8},
    ]
    _train(runner, hook, 3, metrics)
    assert _files(tmp_path) == ["best_acc_epoch_3.pth", "best_loss_epoch_2.pth"]
    hub = runner.message_hub
    assert hub.get_info("best_score_acc") == 0.9
    assert hub.get_info("best_score_loss") == 0.5
    assert hub.get_info("best_ckpt_loss").endswith("best_loss_epoch_2.pth")
    assert "best_score" not in hub.runtime_info


def test_save_best_auto_and_slash_in_key(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=1)
    _train(runner, CheckpointHook(save_best="auto", save_last=False), 1, [{"coco/bbox_mAP": 0.3}])
    assert _files(tmp_path) == ["best_coco_bbox_mAP_epoch_1.pth"]


def test_save_best_by_iteration(tmp_path):
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=1)
    _train(
        runner,
        CheckpointHook(by_epoch=False, save_best="loss", save_last=False),
        1,
        [{"loss": 1.0}],
    )
    assert _files(tmp_path) == ["best_loss_iter_2.pth"]
    assert "with 1.0000 loss at 2 iter is saved to best_loss_iter_2.pth." in runner.log_text()


def test_best_state_restored_on_resume_and_old_best_replaced(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=3)
    _train(runner, CheckpointHook(interval=1, save_best="acc"), 1, [{"acc": 0.5}])
    # a new hook (new process) picks the best file and score up from the message hub
    hook = CheckpointHook(interval=1, save_best="acc")
    _train(runner, hook, 1, [{"acc": 0.4}])
    assert "best_acc_epoch_1.pth" in _files(tmp_path)
    _train(runner, CheckpointHook(interval=1, save_best="acc"), 1, [{"acc": 0.6}])
    assert [f for f in _files(tmp_path) if f.startswith("best")] == ["best_acc_epoch_3.pth"]


def test_empty_metrics_warn_and_skip(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=1)
    _train(runner, CheckpointHook(save_best="acc", save_last=False), 1, [{}])
    assert _files(tmp_path) == []
    assert "the behavior to save the best checkpoint will be skipped" in runner.log_text()


def test_empty_metrics_warn_even_without_save_best(tmp_path):
    """hooks.md: after_val_epoch with empty metrics -> warning, whatever save_best is."""
    runner = FakeRunner(tmp_path, max_epochs=1)
    _train(runner, CheckpointHook(interval=1), 1, [{}])
    assert _files(tmp_path) == ["epoch_1.pth"]
    assert "the behavior to save the best checkpoint will be skipped" in runner.log_text()


def test_missing_save_best_metric_is_key_error(tmp_path):
    runner = FakeRunner(tmp_path, max_epochs=1)
    with pytest.raises(KeyError, match="'acc' is not among"):
        _train(runner, CheckpointHook(save_best="acc"), 1, [{"loss": 1.0}])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"save_best": "acc", "rule": "bigger"}, KeyError),
        ({"save_best": "weird_metric"}, ValueError),
        ({"save_best": ["auto", "acc"]}, ValueError),
        ({"save_best": ["acc", "acc"]}, ValueError),
        ({"save_best": ["acc", "loss"], "rule": ["greater", "less", "less"]}, AssertionError),
        ({"save_best": 3}, TypeError),
        ({"save_begin": -1}, ValueError),
        ({"published_keys": 5}, TypeError),
    ],
)
def test_argument_errors(kwargs, error):
    with pytest.raises(error):
        CheckpointHook(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"save_best": ["auto", "acc"]},
        {"save_best": ["acc", "acc"]},
        {"save_best": ["acc", "loss"], "rule": ["greater", "less", "less"]},
        {"save_best": 3},
        {"greater_keys": 3},
        {"published_keys": ["meta", "meta"]},
        {"rule": {"acc": "greater"}},  # checked even without save_best
    ],
)
def test_argument_errors_are_also_mmengine_assertion_errors(kwargs):
    """ValueError/TypeError per piston's rule, and the AssertionError MMEngine code expects."""
    with pytest.raises(AssertionError) as info:
        CheckpointHook(**kwargs)
    assert isinstance(info.value, (ValueError, TypeError))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_key_lists_and_deprecated_file_client_args():
    assert CheckpointHook(greater_keys="acc").greater_keys == ("acc",)
    assert CheckpointHook(less_keys=["loss_cls"]).less_keys == ["loss_cls"]
    with pytest.warns(DeprecationWarning, match='"file_client_args" will be deprecated'):
        CheckpointHook(file_client_args={"backend": "disk"})
    with pytest.raises(ValueError, match='"file_client_args" and "backend_args" cannot be set'):
        CheckpointHook(file_client_args={"backend": "disk"}, backend_args={"backend": "local"})


def test_rule_inference_and_custom_keys():
    hook = CheckpointHook(save_best=["top1", "mIoU_x", "val_LOSS", "AR@100"])
    assert hook.rules == ["greater", "greater", "less", "greater"]
    # custom key lists replace the defaults
    hook = CheckpointHook(save_best=["score", "loss"], greater_keys="score")
    assert hook.rules == ["greater", "less"]
    with pytest.raises(ValueError, match="top1"):
        CheckpointHook(save_best="top1", greater_keys=["score"])
    hook = CheckpointHook(save_best=["acc", "err"], rule="less")
    assert hook.rules == ["less", "less"]
    assert CheckpointHook(save_best="Accuracy").rules == ["greater"]


def test_out_dir_appends_work_dir_name(tmp_path):
    runner = FakeRunner(tmp_path / "exp", max_epochs=1)
    hook = CheckpointHook(interval=1, out_dir=str(tmp_path / "ckpts"))
    _train(runner, hook, 1)
    assert _files(tmp_path / "ckpts" / "exp") == ["epoch_1.pth"]
    with open(tmp_path / "exp" / "last_checkpoint") as f:
        assert f.read() == osp.join(str(tmp_path / "ckpts" / "exp"), "epoch_1.pth")


def test_out_dir_resolution_with_a_mock_runner(tmp_path):
    """Default out_dir is runner.work_dir as given; an out_dir set after construction is used;
    resolving again (a second before_train) does not append the work_dir name twice."""
    from unittest.mock import Mock

    from piston.logging import MessageHub

    runner = Mock()
    runner.work_dir = tmp_path / "exp"
    runner.message_hub = MessageHub.get_instance("ckpt_mock_runner")
    hook = CheckpointHook(interval=1)
    hook.before_train(runner)
    assert hook.out_dir == runner.work_dir
    hook = CheckpointHook(interval=1)
    hook.out_dir = "test_dir"
    hook.before_train(runner)
    assert hook.out_dir == osp.join("test_dir", "exp")
    hook.before_train(runner)
    assert hook.out_dir == osp.join("test_dir", "exp")


def test_out_dir_on_fsspec_memory_backend(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    runner = FakeRunner(tmp_path / "exp3", max_epochs=3)

    def save_to_backend(out_dir, filename, *args, **kwargs):
        from piston.fileio import put

        put(b"ckpt", f"{out_dir}/{filename}")

    runner.save_checkpoint = save_to_backend
    hook = CheckpointHook(interval=1, out_dir="memory://ck", max_keep_ckpts=1, save_best="acc")
    _train(runner, hook, 3, [{"acc": 0.1}, {"acc": 0.3}, {"acc": 0.2}])
    fs = fsspec.filesystem("memory")
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls("memory://ck/exp3", detail=False))
    assert names == ["best_acc_epoch_2.pth", "epoch_3.pth"]
    assert hook.last_ckpt == "memory://ck/exp3/epoch_3.pth"


def test_published_keys_publish_last_and_best(tmp_path):
    import re

    runner = FakeRunner(tmp_path, max_epochs=2)
    hook = CheckpointHook(interval=1, save_best="acc", published_keys=["meta", "state_dict"])
    _train(runner, hook, 2, [{"acc": 0.5}, {"acc": 0.4}])
    runner.call_hook("after_train")
    published = [f for f in _files(tmp_path) if "-" in f]
    assert len(published) == 2
    assert {f.split("-")[0] for f in published} == {"epoch_2", "best_acc_epoch_1"}
    last = next(f for f in published if f.startswith("epoch_2"))
    ckpt = torch.load(tmp_path / last, weights_only=False)
    assert set(ckpt) == {"meta", "state_dict"}
    assert re.fullmatch(r"epoch_2-[0-9a-f]{8}\.pth", last)
    assert torch.equal(ckpt["state_dict"]["weight"], runner.model.weight)
    assert "will be removed because they are not in published_keys" in runner.log_text()


class _KwargsRunner(FakeRunner):
    """Records the extra keyword arguments ``save_checkpoint`` receives."""

    def save_checkpoint(self, out_dir, filename, *args, extra=None, **kwargs):
        self.extra_seen = getattr(self, "extra_seen", []) + [(filename, extra)]
        super().save_checkpoint(out_dir, filename, *args, **kwargs)


def test_extra_kwargs_are_forwarded_to_save_checkpoint(tmp_path):
    runner = _KwargsRunner(tmp_path, max_epochs=2)
    _train(runner, CheckpointHook(interval=1, extra={"tag": 1}), 2)
    assert runner.extra_seen == [("epoch_1.pth", {"tag": 1}), ("epoch_2.pth", {"tag": 1})]
    assert _files(tmp_path) == ["epoch_1.pth", "epoch_2.pth"]


class _CountingHook(CheckpointHook):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.periodic = []

    def _save_checkpoint(self, runner):
        self.periodic.append((runner.epoch, runner.iter))
        super()._save_checkpoint(runner)


@pytest.mark.parametrize(
    "by_epoch, expected",
    [(True, ["epoch_1.pth", "epoch_2.pth"]), (False, ["iter_2.pth", "iter_4.pth"])],
)
def test_periodic_saves_go_through_save_checkpoint(tmp_path, by_epoch, expected):
    # MMEngine-style subclasses extend ``_save_checkpoint(runner)``; both stages use it.
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=2)
    hook = _CountingHook(interval=1 if by_epoch else 2, by_epoch=by_epoch)
    _train(runner, hook, 2)
    assert _files(tmp_path) == expected
    assert len(hook.periodic) == 2
