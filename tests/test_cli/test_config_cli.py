from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import piston
from piston.cli import main


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    (tmp_path / "base.py").write_text("model = dict(type='ResNet', depth=50)\nlr = 0.1\n")
    path = tmp_path / "exp.py"
    path.write_text("_base_ = './base.py'\npipeline = [dict(type='Load'), dict(type='Resize')]\n")
    return path


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == piston.__version__


def test_config_print_resolves_bases(config_file: Path, capsys) -> None:
    assert main(["config", "print", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "model = dict(depth=50, type='ResNet')" in out
    assert "lr = 0.1" in out


def test_config_print_applies_cfg_options(config_file: Path, capsys) -> None:
    status = main(
        [
            "config",
            "print",
            str(config_file),
            "--cfg-options",
            "model.depth=101",
            "pipeline.1.type=Pad",
            "extra=[1,(2,3)]",
            "flag=false",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "depth=101" in out
    assert "type='Pad'" in out
    assert "extra = [\n    1,\n" in out  # lists: one item per line
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["extra"] == [1, (2, 3)]
    assert "flag = False" in out


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("piston")
    return lines[0]


def test_missing_config_file_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    assert main(["config", "print", str(tmp_path / "nope.py")]) == 2
    assert "nope.py" in _one_line_error(capsys)


def test_bad_cfg_options_are_one_line_errors(config_file: Path, capsys) -> None:
    assert main(["config", "print", str(config_file), "--cfg-options", "novalue"]) == 2
    assert "KEY=VALUE" in _one_line_error(capsys)
    assert main(["config", "print", str(config_file), "--cfg-options", "a=[1,(2]"]) == 2
    assert "Imbalanced" in _one_line_error(capsys)
    assert main(["config", "print", str(config_file), "--cfg-options", "pipeline.9.type=X"]) == 2
    assert "exceeds" in _one_line_error(capsys)


def test_syntax_error_in_config_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.py"
    path.write_text("a = (\n")
    assert main(["config", "print", str(path)]) == 2
    line = _one_line_error(capsys)
    assert str(path) in line
    assert "line 1" in line


def test_usage_errors_exit_2(capsys) -> None:
    assert main(["config", "print"]) == 2
    assert "required" in _one_line_error(capsys)
    assert main(["no-such-command"]) == 2
    assert "invalid choice" in _one_line_error(capsys)
    assert main([]) == 2
    assert main(["--help"]) == 0


def test_python_dash_m_entry_point(config_file: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    version = subprocess.run(
        [sys.executable, "-m", "piston.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    assert version.stdout.strip() == piston.__version__
    printed = subprocess.run(
        [sys.executable, "-m", "piston.cli", "config", "print", str(config_file)],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    assert "lr = 0.1" in printed.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "piston.cli", "config", "print", "missing.py"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("piston: error:")
    assert "Traceback" not in failed.stderr


def test_config_print_does_not_import_custom_modules(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.py"
    path.write_text("custom_imports = dict(imports=['piston_cli_no_such_module'])\nx = 1\n")
    assert main(["config", "print", str(path)]) == 0
    assert "x = 1" in capsys.readouterr().out
