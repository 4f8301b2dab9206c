"""A semi-supervised-style model that overrides ``train_step``/``val_step``/``test_step``.

The student is trained through ``optim_wrapper.optim_context`` + ``update_params`` with
``parse_losses`` on a dict holding a list loss and a non-loss scalar; the teacher is an EMA
of the student updated inside ``train_step``, and evaluation uses the teacher. The program
checks the log line, the scalars file, the weights and ``parse_losses`` directly.
"""

from __future__ import annotations

import glob
import json
import os
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.evaluator import BaseMetric
from piston.model import BaseModel, ExponentialMovingAverage
from piston.runner import Runner
from piston.structures import BaseDataElement

from ._common import PointsDataset


class MeanTeacher(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.student = nn.Linear(4, 2)
        self.teacher = ExponentialMovingAverage(self.student, momentum=0.5)
        self.train_calls = 0

    def forward(self, inputs, labels=None, mode="tensor"):
        x = torch.stack(inputs)
        if mode == "loss":
            logits = self.student(x)
            y = torch.stack(labels)
            return dict(
                loss_sup=[F.cross_entropy(logits[:2], y[:2]), F.cross_entropy(logits[2:], y[2:])],
                loss_reg=0.0 * logits.sum(),
                student_acc=(logits.argmax(1) == y).float().mean(),
            )
        logits = self.teacher(x)
        return [BaseDataElement(pred=lg.argmax(), gt=lb) for lg, lb in zip(logits, labels)]

    def train_step(self, data, optim_wrapper):
        self.train_calls += 1
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode="loss")
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        self.teacher.update_parameters(self.student)
        gap = (self.teacher.module.weight - self.student.weight).abs().max().detach()
        log_vars["teacher_gap"] = gap
        return log_vars

    def val_step(self, data):
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def test_step(self, data):
        out = self.val_step(data)
        for sample in out:
            sample.set_metainfo(dict(split="test"))
        return out


class TeacherAcc(BaseMetric):
    default_prefix = "teacher"

    def process(self, data_batch, data_samples) -> None:
        for s in data_samples:
            self.results.append((int(s["pred"] == s["gt"]), s.get("split", "val")))

    def compute_metrics(self, results) -> dict:
        return dict(
            acc=100.0 * sum(r[0] for r in results) / len(results),
            split=results[0][1],
        )


def _loader(seed: int) -> dict:
    return dict(
        dataset=PointsDataset(16, seed=seed),
        batch_size=4,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        collate_fn=dict(type="pseudo_collate"),
    )


def test_custom_train_step(tmp_path) -> None:
    torch.manual_seed(0)
    model = MeanTeacher()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=_loader(0),
        val_dataloader=_loader(1),
        test_dataloader=_loader(1),
        val_evaluator=[TeacherAcc()],
        test_evaluator=[TeacherAcc()],
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=2),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=4)),
        randomness=dict(seed=0),
    )
    runner.train()
    assert model.train_calls == 8
    assert int(model.teacher.steps) == 8
    # the teacher is not trained by the optimizer and lags the student
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert not torch.equal(model.teacher.module.weight, model.student.weight)
    # EMA state rides in the model's checkpoint
    ckpt = torch.load(os.path.join(str(tmp_path), "epoch_2.pth"), weights_only=False)
    assert "teacher.steps" in ckpt["state_dict"]
    assert "teacher.module.weight" in ckpt["state_dict"]
    torch.testing.assert_close(ckpt["state_dict"]["teacher.steps"], torch.tensor(8))

    (scalars,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data", "scalars.json"))
    records = [json.loads(line) for line in Path(scalars).read_text().splitlines()]
    train = [r for r in records if "loss" in r]
    assert [r["step"] for r in train] == [4, 8]
    keys = list(train[0])
    assert keys.index("loss") < keys.index("loss_sup") < keys.index("loss_reg")
    assert keys.index("loss_reg") < keys.index("student_acc") < keys.index("teacher_gap")
    assert abs(train[0]["loss"] - train[0]["loss_sup"] - train[0]["loss_reg"]) < 1e-4
    val = [r for r in records if "teacher/acc" in r]
    assert len(val) == 1
    assert val[0]["step"] == 2
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    text = Path(log).read_text()
    line = next(ln for ln in text.splitlines() if "Epoch(train)" in ln and "[1][4/4]" in ln)
    assert "loss_sup:" in line
    assert "student_acc:" in line
    assert "teacher_gap:" in line
    assert "Epoch(val) [2][4/4]" in text
    assert "teacher/acc:" in text

    test = runner.test()
    assert test["teacher/split"] == "test"
    assert runner.val()["teacher/split"] == "val"
    assert test["teacher/acc"] == runner.val()["teacher/acc"]


def test_parse_losses_directly() -> None:
    model = MeanTeacher()
    loss, log_vars = model.parse_losses(
        OrderedDict(
            loss_a=torch.tensor([1.0, 3.0]),
            loss_b=[torch.tensor(1.0), torch.tensor([2.0, 4.0])],
            acc=torch.tensor(50.0),
            my_loss_weight=torch.tensor(0.5),  # key contains 'loss': summed
        )
    )
    assert list(log_vars) == ["loss", "loss_a", "loss_b", "acc", "my_loss_weight"]
    torch.testing.assert_close(loss, torch.tensor(2.0 + 4.0 + 0.5))
    torch.testing.assert_close(log_vars["loss_b"], torch.tensor(4.0))
    assert isinstance(log_vars["acc"], torch.Tensor)
    with pytest.raises(TypeError):
        model.parse_losses(dict(loss=1.0))
    with pytest.raises(TypeError):
        model._run_forward(torch.zeros(2), mode="loss")
