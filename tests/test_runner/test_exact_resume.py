"""A run SIGKILLed mid-epoch and resumed ends with the same weights as an uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).with_name("_resume_script.py")
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, expect_kill: bool = False) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=240
    )
    if expect_kill:
        assert proc.returncode == -9, proc.stdout[-3000:] + proc.stderr[-3000:]
    else:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "kill_after", "resumed_from"),
    [("epoch", 9, "iter_9.pth"), ("iter", 8, "iter_8.pth")],
)
def test_killed_run_resumes_bit_identical(tmp_path, mode, kill_after, resumed_from) -> None:
    full, broken = tmp_path / "full", tmp_path / "broken"
    _run(mode, str(full), str(tmp_path / "full.pt"))
    _run(
        mode,
        str(broken),
        str(tmp_path / "never.pt"),
        "--kill-after",
        str(kill_after),
        expect_kill=True,
    )
    assert (broken / "last_checkpoint").read_text() == str(broken / resumed_from)
    assert not (tmp_path / "never.pt").exists()
    out = _run(mode, str(broken), str(tmp_path / "resumed.pt"), "--resume")
    assert f"resumed epoch: {1 if mode == 'epoch' else 0}, iter: {kill_after}" in out
    expected = torch.load(tmp_path / "full.pt", weights_only=True)
    actual = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
