"""Program 5: ``runner.val()`` / ``runner.test()`` on their own, weights from ``load_from``."""

from __future__ import annotations

import os
import pickle

import torch

from piston.runner import Runner

from ._common import Acc, TinyNet, loader


def _train(work_dir) -> tuple[str, dict]:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(work_dir),
        train_dataloader=loader(size=16, batch_size=4),
        val_dataloader=loader(size=10, batch_size=4, shuffle=False, seed=5),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
        randomness=dict(seed=0),
    )
    runner.train()
    return os.path.join(str(work_dir), "epoch_3.pth"), runner.val()


def test_val_and_test_from_checkpoint(tmp_path) -> None:
    ckpt, trained_metrics = _train(tmp_path / "train")
    dump_file = str(tmp_path / "preds.pkl")

    tester = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path / "test"),
        test_dataloader=loader(size=10, batch_size=4, shuffle=False, seed=5),
        test_evaluator=[dict(type=Acc), dict(type="DumpResults", out_file_path=dump_file)],
        test_cfg=dict(),
        load_from=ckpt,
    )
    metrics = tester.test()
    assert metrics == trained_metrics  # same weights, same data, same metric
    state = torch.load(ckpt, weights_only=False)["state_dict"]
    assert torch.equal(tester.model.fc.weight.detach(), state["fc.weight"])
    with open(dump_file, "rb") as fobj:
        dumped = pickle.load(fobj)
    # the model returns (logits, labels) per batch: 3 batches of a 10-sample set
    logits = torch.cat(list(dumped[0::2]))
    labels = torch.cat(list(dumped[1::2]))
    assert logits.shape == (10, 2)
    assert labels.shape == (10,)
    acc = 100.0 * (logits.argmax(1) == labels).float().mean().item()
    assert abs(acc - metrics["accuracy"]) < 1e-4

    validator = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path / "val"),
        val_dataloader=loader(size=10, batch_size=5, shuffle=False, seed=5),
        val_evaluator=dict(type=Acc),
        val_cfg=dict(),
        load_from=ckpt,
    )
    assert validator.val() == trained_metrics
    # a second call does not load again and gives the same numbers
    assert validator.val() == trained_metrics


def test_without_load_from_uses_initial_weights(tmp_path) -> None:
    model = TinyNet()
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.tensor([1.0, 0.0]))  # always predicts class 0
    data = loader(size=10, batch_size=4, shuffle=False, seed=5)
    negatives = int((data["dataset"].y == 0).sum())
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        test_dataloader=data,
        test_evaluator=dict(type=Acc),
        test_cfg=dict(),
    )
    assert runner.test() == {"accuracy": 100.0 * negatives / 10}
