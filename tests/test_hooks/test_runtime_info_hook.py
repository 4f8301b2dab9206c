from __future__ import annotations

import numpy as np
import pytest
import torch

from piston.hooks import RuntimeInfoHook
from test_hooks._hooks_fakes import FakeRunner


@pytest.fixture
def runner(tmp_path):
    return FakeRunner(tmp_path, train_len=5, max_epochs=3)


def test_before_run_publishes_run_info(runner):
    import piston

    RuntimeInfoHook().before_run(runner)
    hub = runner.message_hub
    assert hub.get_info("seed") == 0
    assert hub.get_info("experiment_name") == runner.experiment_name
    assert hub.get_info("piston_version").startswith(piston.__version__)
    assert isinstance(hub.get_info("cfg"), str)


def test_train_stages_publish_position_lr_and_outputs(runner):
    hook, hub = RuntimeInfoHook(), runner.message_hub
    runner._train_loop._epoch, runner._train_loop._iter = 1, 7
    hook.before_train(runner)
    assert hub.get_info("loop_stage") == "train"
    assert (hub.get_info("epoch"), hub.get_info("iter")) == (1, 7)
    assert (hub.get_info("max_epochs"), hub.get_info("max_iters")) == (3, 15)
    assert hub.get_info("dataset_meta") is None
    hook.before_train_iter(runner, batch_idx=0)
    assert hub.get_scalar("train/lr").current() == pytest.approx(0.1)
    loss = torch.tensor(0.25, requires_grad=False)
    hook.after_train_iter(runner, batch_idx=0, outputs={"loss": loss, "acc": 3})
    assert hub.get_scalar("train/loss").current() == pytest.approx(0.25)
    assert hub.get_scalar("train/acc").current() == 3
    hook.after_train(runner)
    assert hub.get_info("loop_stage") is None


def test_first_param_group_lr_only(tmp_path):
    runner = FakeRunner(tmp_path)
    params = list(runner.model.parameters())
    from piston.optim import OptimWrapper

    runner.optim_wrapper = OptimWrapper(
        torch.optim.SGD([{"params": params[:1], "lr": 0.5}, {"params": params[1:], "lr": 0.01}])
    )
    RuntimeInfoHook().before_train_iter(runner, batch_idx=0)
    assert runner.message_hub.get_scalar("train/lr").current() == pytest.approx(0.5)


def test_get_lr_must_return_dict(runner):
    class BadWrapper:
        def get_lr(self):
            return [0.1]

    runner.optim_wrapper = BadWrapper()
    with pytest.raises(AssertionError, match="dict"):
        RuntimeInfoHook().before_train_iter(runner, batch_idx=0)


def test_dataset_meta_published_when_dataset_has_metainfo(runner):
    class Loader(list):
        pass

    loader = Loader(range(5))
    loader.dataset = type("DS", (), {"metainfo": {"classes": ("a", "b")}})()
    runner._train_loop.dataloader = loader
    RuntimeInfoHook().before_train(runner)
    assert runner.message_hub.get_info("dataset_meta") == {"classes": ("a", "b")}


def test_val_inside_training_restores_train_stage(runner):
    hook, hub = RuntimeInfoHook(), runner.message_hub
    hook.before_train(runner)
    hook.before_val(runner)
    assert hub.get_info("loop_stage") == "val"
    hook.after_val(runner)
    assert hub.get_info("loop_stage") == "train"


def test_standalone_val_and_test_pop_stage(runner):
    hook, hub = RuntimeInfoHook(), runner.message_hub
    hook.before_val(runner)
    hook.after_val(runner)
    assert "loop_stage" not in hub.runtime_info
    hook.before_test(runner)
    assert hub.get_info("loop_stage") == "test"
    hook.after_test(runner)
    assert "loop_stage" not in hub.runtime_info


@pytest.mark.parametrize("mode", ["val", "test"])
def test_metrics_split_into_scalars_and_infos(runner, mode):
    metrics = {
        "acc": 0.5,
        "np_scalar": np.float32(2.0),
        "one_elem": np.array([3.0]),
        "tensor": torch.tensor(4.0),
        "vector": torch.tensor([1.0, 2.0]),
        "table": np.ones((2, 2)),
        "name": "cls",
        "converged": True,  # a Python bool is an int, hence a scalar
    }
    getattr(RuntimeInfoHook(), f"after_{mode}_epoch")(runner, metrics=metrics)
    hub = runner.message_hub
    scalars = [("acc", 0.5), ("np_scalar", 2.0), ("one_elem", 3.0), ("tensor", 4.0)]
    for key, value in [*scalars, ("converged", 1.0)]:
        assert hub.get_scalar(f"{mode}/{key}").current() == pytest.approx(value)
    for key in ("vector", "table", "name"):
        assert f"{mode}/{key}" not in hub.log_scalars
        assert hub.get_info(f"{mode}/{key}") is metrics[key]
