from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from _seed_model_metric import Accuracy, MMResNet50, make_batches
from torch.optim import SGD

from piston.evaluator import Evaluator
from piston.model import BaseDataPreprocessor, BaseModel, ImgDataPreprocessor
from piston.optim import OptimWrapper


class DictModel(BaseModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        out = self.linear(inputs)
        if mode == "loss":
            return {
                "loss_a": out.pow(2).mean(),
                "loss_b": [out.abs().sum(), out.sum()],
                "acc": out.sum(),
            }
        if mode == "predict":
            return [("pred", out, data_samples)]
        return out


def test_seed_model_train_step_and_evaluator():
    torch.manual_seed(0)
    model = MMResNet50()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1, momentum=0.9))
    batches = make_batches(num_batches=4)
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    losses = [model.train_step(batch, wrapper) for batch in batches]
    assert all(isinstance(lv, OrderedDict) and list(lv) == ["loss"] for lv in losses)
    assert all(
        isinstance(lv["loss"], torch.Tensor) and not lv["loss"].requires_grad for lv in losses
    )
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))

    model.eval()
    evaluator = Evaluator({"type": Accuracy})
    expected_hits = 0
    for batch in batches:
        outputs = model.val_step(batch)
        assert isinstance(outputs, tuple)
        assert len(outputs) == 2
        evaluator.process(data_samples=outputs, data_batch=batch)
        expected_hits += int((outputs[0].argmax(1) == batch[1]).sum())
    metrics = evaluator.evaluate(16)
    assert list(metrics) == ["accuracy"]
    assert float(metrics["accuracy"]) == pytest.approx(100 * expected_hits / 16)


def test_train_step_makes_no_item_call(monkeypatch):
    model = MMResNet50()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1))
    batch = make_batches(num_batches=1)[0]
    model.train_step(batch, wrapper)  # warm-up: lazy init outside the spied call
    calls = []
    for name in ("item", "tolist", "__float__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    log_vars = model.train_step(batch, wrapper)
    monkeypatch.undo()
    assert calls == []
    assert isinstance(log_vars["loss"], torch.Tensor)


def test_parse_losses_sums_keys_containing_loss():
    model = DictModel()
    losses = {
        "loss_cls": torch.tensor([1.0, 3.0]),
        "loss_list": [torch.tensor([2.0, 4.0]), torch.tensor(5.0)],
        "acc": torch.tensor(0.5),
    }
    loss, log_vars = model.parse_losses(losses)
    assert loss.item() == pytest.approx(2 + 3 + 5)
    assert list(log_vars) == ["loss", "loss_cls", "loss_list", "acc"]
    assert log_vars["acc"].item() == pytest.approx(0.5)
    assert all(isinstance(v, torch.Tensor) for v in log_vars.values())


def test_parse_losses_detaches_log_vars_but_not_loss():
    model = DictModel()
    x = torch.ones(1, requires_grad=True)
    loss, log_vars = model.parse_losses({"loss": x * 2})
    assert loss.requires_grad
    assert not log_vars["loss"].requires_grad


def test_parse_losses_rejects_other_types():
    with pytest.raises(TypeError, match="bad"):
        DictModel().parse_losses({"bad": 1.0})


def test_train_step_with_dict_batch_and_list_losses():
    torch.manual_seed(0)
    model = DictModel()
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.01))
    log_vars = model.train_step({"inputs": torch.randn(3, 2)}, wrapper)
    assert list(log_vars) == ["loss", "loss_a", "loss_b", "acc"]
    total = log_vars["loss_a"] + log_vars["loss_b"]
    assert torch.allclose(log_vars["loss"], total)


def test_val_and_test_step_forward_in_predict_mode():
    model = DictModel()
    out = model.val_step({"inputs": torch.randn(2, 2), "data_samples": ["a"]})
    assert out[0][0] == "pred"
    assert out[0][2] == ["a"]
    assert model.test_step({"inputs": torch.randn(2, 2)})[0][0] == "pred"


def test_run_forward_rejects_non_sequence_non_dict():
    with pytest.raises(TypeError, match="list, tuple or dict"):
        DictModel()._run_forward(torch.randn(2, 2), mode="tensor")


def test_run_forward_passes_mode_keyword():
    class Recorder(BaseModel):
        def forward(self, *args, **kwargs):
            return args, kwargs

    model = Recorder()
    assert model._run_forward((1, 2), mode="loss") == ((1, 2), {"mode": "loss"})
    assert model._run_forward({"a": 1}, mode="predict") == ((), {"a": 1, "mode": "predict"})


def test_data_preprocessor_defaults_and_config():
    assert type(DictModel().data_preprocessor) is BaseDataPreprocessor
    model = DictModel(data_preprocessor={"type": "ImgDataPreprocessor", "mean": [1], "std": [2]})
    assert isinstance(model.data_preprocessor, ImgDataPreprocessor)
    custom = BaseDataPreprocessor()
    assert DictModel(data_preprocessor=custom).data_preprocessor is custom
    with pytest.raises(TypeError, match="data_preprocessor"):
        DictModel(data_preprocessor="BaseDataPreprocessor")


def test_moving_model_moves_preprocessor_device():
    model = DictModel()
    model.to("meta")
    assert model.data_preprocessor.device == torch.device("meta")
    model.to(torch.float64)  # dtype only: device unchanged
    assert model.data_preprocessor.device == torch.device("meta")
    model = DictModel()
    model.data_preprocessor._device = torch.device("meta")
    model.cpu()
    assert model.data_preprocessor.device == torch.device("cpu")
    model.data_preprocessor._device = torch.device("meta")
    model.to(device="cpu", dtype=torch.float64)
    assert model.data_preprocessor.device == torch.device("cpu")
    assert model.linear.weight.dtype == torch.float64


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_moves_preprocessor_device():
    model = DictModel().cuda()
    assert model.data_preprocessor.device.type == "cuda"
    out = model.val_step({"inputs": torch.randn(2, 2).pin_memory()})
    assert out[0][1].is_cuda


def test_forward_is_abstract():
    class NoForward(BaseModel):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoForward()
