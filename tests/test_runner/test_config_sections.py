"""Errors raised while a Runner builds one part of its config name that part.

The exception keeps its type, message and traceback; ``building`` adds a note and the
``piston_config_section`` attribute (the innermost part: a dataloader built inside its loop is
reported as the dataloader).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.hooks import Hook
from piston.model import BaseModel
from piston.runner import Runner
from piston.runner._sections import building, section_of


class Points(Dataset):
    def __init__(self, n: int = 8) -> None:
        self.x = torch.randn(n, 4, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.x[idx], labels=int(self.x[idx, 0] > 0))


class Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.fc(inputs)
        return dict(loss=F.cross_entropy(logits, labels)) if mode == "loss" else logits


def _cfg(tmp_path, **changes) -> dict:
    cfg = dict(
        model=Net(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Points(),
            batch_size=4,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="default_collate"),
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=None),
    )
    cfg.update(changes)
    return cfg


def _section_of_failure(make, action=lambda runner: runner.train()):
    with pytest.raises(Exception) as info:
        action(make())
    err = info.value
    notes = getattr(err, "__notes__", [])
    assert notes == [f"while building `{section_of(err)}` of the config"]
    return type(err), section_of(err)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr="abc"))),
            (TypeError, "optim_wrapper"),
        ),
        (dict(train_cfg=dict(by_epoch=True, max_epochs=-1)), (ValueError, "train_cfg")),
        (dict(train_cfg=dict(by_epoch=False, max_iters=-5)), (ValueError, "train_cfg")),
        (
            dict(
                train_dataloader=dict(
                    dataset=Points(), batch_size=0, sampler=dict(type="DefaultSampler")
                )
            ),
            (ValueError, "train_dataloader"),
        ),
        (
            dict(param_scheduler=dict(type="LinearLR", begin=3, end=3)),
            (ValueError, "param_scheduler"),
        ),
    ],
)
def test_errors_while_training_name_the_config_part(tmp_path, changes, expected) -> None:
    assert _section_of_failure(lambda: Runner(**_cfg(tmp_path, **changes))) == expected


def test_errors_while_constructing_name_the_config_part(tmp_path) -> None:
    class Good(Hook):
        pass

    construct = lambda **changes: lambda: Runner(**_cfg(tmp_path, **changes))  # noqa: E731
    nothing = lambda runner: None  # noqa: E731
    assert (
        _section_of_failure(
            construct(default_hooks=dict(logger=dict(type="LoggerHook", interval=0))), nothing
        )[1]
        == "default_hooks.logger"
    )
    assert _section_of_failure(
        construct(custom_hooks=[Good(), dict(type="NoSuchHook")]), nothing
    ) == (KeyError, "custom_hooks[1]")
    assert _section_of_failure(construct(model=dict(type="NoSuchModel")), nothing) == (
        KeyError,
        "model",
    )


def test_val_evaluator_and_val_dataloader_are_told_apart(tmp_path) -> None:
    val = dict(
        val_dataloader=dict(
            dataset=Points(), batch_size=4, sampler=dict(type="DefaultSampler", shuffle=False)
        ),
        val_cfg=dict(),
        val_evaluator=dict(type="NoSuchMetric"),
    )
    make = lambda: Runner(**_cfg(tmp_path, **val))  # noqa: E731
    assert _section_of_failure(make, lambda runner: runner.val()) == (KeyError, "val_evaluator")


def test_the_innermost_part_wins_and_the_exception_is_unchanged() -> None:
    def nested() -> None:
        with building("train_cfg"), building("train_dataloader"):
            1 / 0  # noqa: B018

    with pytest.raises(ZeroDivisionError) as info:
        nested()
    assert section_of(info.value) == "train_dataloader"
    assert info.value.__notes__ == ["while building `train_dataloader` of the config"]
    assert info.traceback[-1].name == "nested"  # raised where it was, not re-raised elsewhere
