"""``piston train`` / ``piston test`` on the digits demo config, bad input, and torchrun."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from piston.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "digits_cnn.py"
FAST = [
    "train_cfg.max_epochs=2",
    "train_dataloader.dataset.indices=320",
    "default_hooks.checkpoint.interval=1",
    "param_scheduler.0.end=10",
    "param_scheduler.1.end=2",
]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


@pytest.mark.slow
def test_piston_train_demo_config_with_cfg_options_then_test(tmp_path, capsys) -> None:
    work_dir = tmp_path / "wd"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "piston.cli",
            "train",
            str(CONFIG),
            "--work-dir",
            str(work_dir),
            "--cfg-options",
            *FAST,
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Epoch(train) [2][10/10]" in proc.stdout
    assert re.search(r"Epoch\(val\) \[2\]\[3/3\]    accuracy: \d+\.\d{4}", proc.stdout)
    assert (work_dir / "epoch_2.pth").is_file()
    assert (work_dir / "last_checkpoint").read_text() == str(work_dir / "epoch_2.pth")
    assert (work_dir / "digits_cnn.py").is_file()  # dumped config keeps the file name
    assert "max_epochs=2" in (work_dir / "digits_cnn.py").read_text().replace(" ", "")
    ckpt = torch.load(work_dir / "epoch_2.pth", weights_only=True)
    assert ckpt["meta"]["dataset_meta"]["classes"][0] == "0"

    # piston test CONFIG CHECKPOINT (in process); the demo's val settings double as test ones
    status = main(
        [
            "test",
            str(CONFIG),
            str(work_dir / "epoch_2.pth"),
            "--work-dir",
            str(tmp_path / "t"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"Load checkpoint from {work_dir / 'epoch_2.pth'}" in out
    assert re.search(r"Epoch\(test\) \[3/3\]    accuracy: \d+\.\d{4}", out)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--cfg-options", "default_hooks.extra.type=NoSuchHook"], "NoSuchHook"),
        (["--cfg-options", "train_cfg.type=NoSuchLoop", "train_cfg.by_epoch=None"], "NoSuchLoop"),
        (["--cfg-options", "val_evaluator.type=NoSuchMetric"], "NoSuchMetric"),
        (["--cfg-options", "val_evaluator=None"], "val_evaluator"),
        (["--resume", "/no/such/dir/epoch_1.pth"], "/no/such/dir/epoch_1.pth"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, expected) -> None:
    status = main(["train", str(CONFIG), "--work-dir", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("piston train: error:"), err
    assert expected in lines[0]


@pytest.mark.parametrize(
    ("option", "where"),
    [
        ("optim_wrapper.optimizer.lr=abc", "`optim_wrapper`"),
        ("model.width=abc", "`model`"),
        ("train_dataloader.batch_size=0", "`train_dataloader`"),
        ("train_cfg.max_epochs=-1", "`train_cfg`"),
        ("default_hooks.logger.interval=0", "`default_hooks.logger`"),
        ("param_scheduler.0.end=0", "`param_scheduler`"),
    ],
)
def test_bad_value_names_the_config_part_file_and_option(tmp_path, capsys, option, where) -> None:
    """The error line says which part of the config failed to build, in which file, and which
    ``--cfg-options`` item changed it."""
    status = main(["train", str(CONFIG), "--work-dir", str(tmp_path), "--cfg-options", option])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 2
    assert len(lines) == 1, lines
    key, value = option.split("=")
    shown = repr(value) if not value.lstrip("-").isdigit() else value
    assert f"[in {where} of {CONFIG}; changed by --cfg-options {key}={shown}]" in lines[0]


def test_corrupt_checkpoint_is_one_clear_line(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    status = main(
        ["test", str(CONFIG), str(bad), "--work-dir", str(tmp_path), "--cfg-options", *FAST]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    status = main(
        [
            "train",
            str(CONFIG),
            "--work-dir",
            str(tmp_path),
            "--resume",
            str(bad),
            "--cfg-options",
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert "corrupt" in err
    assert str(bad) in err


DUMP_HOOK = """
import torch
from piston.hooks import Hook
from piston.registry import HOOKS


@HOOKS.register_module(force=True)
class DumpWeightsHook(Hook):
    def __init__(self, out_dir):
        self.out_dir = out_dir

    def after_run(self, runner):
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        params = {k: v.detach().cpu() for k, v in model.named_parameters()}
        torch.save(dict(params=params, world_size=runner.world_size, iters=runner.iter),
                   f"{self.out_dir}/rank{runner.rank}.pt")
"""


@pytest.mark.slow
@pytest.mark.distributed
def test_torchrun_two_process_gloo_training(tmp_path) -> None:
    (tmp_path / "dump_hook.py").write_text(DUMP_HOOK)
    config = tmp_path / "ddp_digits.py"
    config.write_text(
        f"_base_ = [{str(CONFIG)!r}]\n"
        "custom_imports = dict(imports=['piston.demo', 'dump_hook'], allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='DumpWeightsHook', out_dir={str(tmp_path)!r})]\n"
    )
    from _dist import free_port

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(free_port()),
            "-m",
            "piston.cli",
            "train",
            str(config),
            "--work-dir",
            str(tmp_path / "wd"),
            "--launcher",
            "pytorch",
            "--cfg-options",
            "env_cfg.dist_cfg.backend=gloo",
            *FAST,
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert rank0["iters"] == rank1["iters"] == 10  # 320 samples / (2 ranks * 32) * 2 epochs
    for key, value in rank0["params"].items():
        assert torch.equal(value, rank1["params"][key]), key
    assert (tmp_path / "wd" / "epoch_2.pth").is_file()
    assert "Distributed training: True" in proc.stdout


def test_demo_config_loads_from_any_folder_with_its_custom_imports(tmp_path) -> None:
    """The demo's model and metric ship in the package (`piston.demo`), so `Config.fromfile`
    with custom imports works outside `piston train` and from any working directory."""
    code = (
        "from piston.config import Config; from piston.registry import METRICS, MODELS; "
        f"cfg = Config.fromfile({str(CONFIG)!r}); "
        "print(MODELS.get(cfg.model.type).__name__, METRICS.get(cfg.val_evaluator.type).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["DigitsCNN", "DigitsAccuracy"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-accelerator path")
def test_amp_flag_without_accelerator_trains_in_bfloat16(tmp_path, capsys) -> None:
    """``--amp`` on a CPU-only machine: AmpOptimWrapper would refuse (no accelerator, as the
    spec says), so the CLI asks for bf16 CPU autocast explicitly."""
    fast = [*FAST[:2], "train_cfg.max_epochs=1", "param_scheduler.1.end=1", "val_cfg=None"]
    fast += ["val_dataloader=None", "val_evaluator=None", "default_hooks.checkpoint=None"]
    status = main(
        ["train", str(CONFIG), "--work-dir", str(tmp_path), "--amp", "--cfg-options", *fast]
    )
    out = capsys.readouterr().out
    assert status == 0, out[-2000:]
    assert "--amp without an accelerator: bfloat16 autocast on the CPU." in out
    (dumped,) = tmp_path.glob("digits_cnn.py")
    text = dumped.read_text().replace(" ", "")
    assert "type='AmpOptimWrapper'" in text
    assert "dtype='bfloat16'" in text
