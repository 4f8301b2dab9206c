"""The benchmark scripts run end to end and write their figures (tiny settings, no timing
asserted: the figures themselves are measured on a quiet machine, see the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"),
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_overhead_with_breakdown_and_calibration(tmp_path) -> None:
    out = tmp_path / "overhead.json"
    _run(
        "overhead.py",
        *("--iters", "60", "--warmup", "10", "--rounds", "1"),
        *("--breakdown", "--calibrate", "--json", str(out)),
    )
    result = json.loads(out.read_text())
    assert result["plain_us_per_iter"] > 0
    assert result["piston_us_per_iter"] > 0
    assert set(result["breakdown_us_over_plain"]) == {
        "all hooks",
        "no logger",
        "no logger, no timer",
        "no default hooks",
    }
    assert result["python_work_alone_us"] > 0


def test_gpu_script_smoke_on_cpu(tmp_path) -> None:
    out = tmp_path / "gpu.json"
    stdout = _run(
        "gpu.py",
        *("--smoke", "--diagnose", "--out", str(out), "--profile", str(tmp_path / "prof")),
    )
    cases = json.loads(out.read_text())["cases"]
    assert set(cases) == {"seed", "tensors", "fast", "fast_prefetch", "seed_nolog"}
    assert all(case["plain_img_s"] > 0 and case["piston_img_s"] > 0 for case in cases.values())
    assert (tmp_path / "prof" / "profile_piston.txt").read_text().startswith("piston:")
    assert "wrote" in stdout


@pytest.mark.slow
def test_import_time_and_startup(tmp_path) -> None:
    imports = tmp_path / "import.json"
    _run("import_time.py", "--repeat", "1", "--json", str(imports))
    figures = json.loads(imports.read_text())
    for module in ("piston", "piston.runner"):
        assert figures[module]["median_s"] < 5.0
        assert figures[module]["optional_packages_imported"] == []  # no tensorboard etc.
    startup = tmp_path / "startup.json"
    _run("startup.py", "--repeat", "1", "--json", str(startup))
    figures = json.loads(startup.read_text())
    assert figures["plain_s"] > 0
    assert figures["piston_s"] > 0


def test_optim_step_runs() -> None:
    stdout = _run("optim_step.py", *("--rounds", "1", "--steps", "20"))
    assert "MEDIAN ratio piston/hand-written" in stdout
