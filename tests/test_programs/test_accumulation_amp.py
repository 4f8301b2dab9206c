"""Program 7: gradient accumulation and bfloat16 AMP on the CPU, configured for the Runner."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from piston.optim import AmpOptimWrapper
from piston.runner import Runner

from ._common import TinyNet, loader


def _train(work_dir, batch_size: int, size: int, optim_wrapper: dict, model=None) -> Runner:
    model = model or TinyNet()
    with torch.no_grad():  # same start for every run
        model.fc.weight.copy_(torch.linspace(-1, 1, 8).reshape(2, 4))
        model.fc.bias.zero_()
    runner = Runner(
        model=model,
        work_dir=str(work_dir),
        train_dataloader=loader(size=size, batch_size=batch_size),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=optim_wrapper,
        randomness=dict(seed=3),
    )
    runner.train()
    return runner


def test_accumulating_two_batches_equals_a_double_batch(tmp_path) -> None:
    sgd = dict(type="SGD", lr=0.5)
    # 10 samples: batches of 2 accumulated by 2 -> updates on 4, 4 and the last 2 samples
    accumulated = _train(
        tmp_path / "acc",
        batch_size=2,
        size=10,
        optim_wrapper=dict(type="OptimWrapper", optimizer=sgd, accumulative_counts=2),
    )
    reference = _train(
        tmp_path / "ref", batch_size=4, size=10, optim_wrapper=dict(optimizer=dict(sgd))
    )
    plain = _train(tmp_path / "plain", batch_size=2, size=10, optim_wrapper=dict(optimizer=sgd))
    assert accumulated.iter == 5
    assert reference.iter == 3
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(accumulated.model.state_dict()[name], value)
    assert not torch.allclose(plain.model.fc.weight, reference.model.fc.weight)
    assert accumulated.optim_wrapper.inner_count == 5


class DtypeProbe(TinyNet):
    """Records the dtype the forward pass computes in."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.dtype] = []

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        logits = self.fc(inputs)
        if mode == "loss":
            self.seen.append(logits.dtype)
            return {"loss": F.cross_entropy(logits.float(), labels)}
        return logits


def test_bfloat16_amp_on_cpu(tmp_path) -> None:
    model = DtypeProbe()
    runner = _train(
        tmp_path,
        batch_size=4,
        size=12,
        model=model,
        optim_wrapper=dict(
            type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="SGD", lr=0.1)
        ),
    )
    assert isinstance(runner.optim_wrapper, AmpOptimWrapper)
    assert model.seen == [torch.bfloat16] * 3
    assert model.fc.weight.dtype == torch.float32  # master weights stay in fp32
    assert not torch.equal(model.fc.weight, torch.linspace(-1, 1, 8).reshape(2, 4))
    assert torch.isfinite(model.fc.weight).all()
    loss = runner.message_hub.get_scalar("train/loss").current()
    assert 0.0 < float(loss) < 10.0
    ckpt = torch.load(os.path.join(str(tmp_path), "epoch_1.pth"), weights_only=False)
    assert "loss_scaler" in ckpt["optimizer"]
    # evaluation outside the wrapper's context runs in full precision
    assert model(torch.zeros(1, 4)).dtype == torch.float32
