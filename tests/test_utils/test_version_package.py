from __future__ import annotations

import os
import subprocess
import sys

import pytest

from piston.utils import (
    call_command,
    digit_version,
    get_git_hash,
    get_installed_path,
    install_package,
    is_installed,
)


def test_digit_version_orders_pre_and_post_releases():
    assert digit_version("1.2.3") == (1, 2, 3, 0, 0, 0)
    assert digit_version("2.1.0rc1") == (2, 1, 0, 0, -1, 1)
    assert digit_version("1.0rc0") == (1, 0, 0, 0, -1, 0)
    assert digit_version("1.0a2") == (1, 0, 0, 0, -3, 2)
    assert digit_version("1.0b1") == (1, 0, 0, 0, -2, 1)
    assert digit_version("1.0.post3") == (1, 0, 0, 0, 1, 3)
    assert digit_version("1.0.0dev") == (1, 0, 0, 0, -4, 0)
    assert digit_version("v1.1.5") == (1, 1, 5, 0, 0, 0)
    assert digit_version("2.14.1+cu130") == (2, 14, 1, 0, 0, 0)
    assert digit_version("1.5.0+cuda90_cudnn7.6.3_lms") == digit_version("1.5")
    assert digit_version("1.2", length=3) == (1, 2, 0, 0, 0)
    assert digit_version("1.2.3.4.5") == (1, 2, 3, 4, 0, 0)
    ordered = [
        "1.0.0dev",
        "1.0.0a",
        "1.0.0a1",
        "1.0.0b",
        "1.0.0rc",
        "1.0.0rc1",
        "1.0.0",
        "1.0.0post",
        "1.0.0post1",
    ]
    keys = [digit_version(v) for v in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert digit_version("1.9.0") < digit_version("1.10.0a0")
    for bad in ("a", "1x", "1.x", "not a version"):
        with pytest.raises(AssertionError):
            digit_version(bad)


def test_get_git_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert get_git_hash(fallback="none") == "none"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "init", "-q"], check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env)
    sha = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
    assert get_git_hash() == sha
    assert get_git_hash(digits=7) == sha[:7]
    with pytest.raises(TypeError):
        get_git_hash(digits="7")


def test_package_helpers():
    assert is_installed("torch")
    assert is_installed("pyyaml")  # distribution name differs from module name
    assert not is_installed("no_such_package_abc")
    torch_path = get_installed_path("torch")
    assert os.path.isfile(os.path.join(torch_path, "__init__.py"))
    assert os.path.isfile(os.path.join(get_installed_path("pyyaml"), "__init__.py"))
    with pytest.raises(RuntimeError, match="no_such_package_abc is not installed"):
        get_installed_path("no_such_package_abc")
    from importlib.metadata import PackageNotFoundError

    with pytest.raises(PackageNotFoundError):
        get_installed_path("no_such_package_abc")
    install_package("torch")  # already installed: no pip call
    call_command([sys.executable, "-c", "pass"])
    with pytest.raises(subprocess.CalledProcessError):
        call_command([sys.executable, "-c", "raise SystemExit(3)"])


def test_get_installed_path_prefers_the_public_top_level_module():
    # PyYAML's top_level.txt lists the private shim ``_yaml`` before ``yaml``.
    import yaml

    expected = os.path.dirname(yaml.__file__)
    assert get_installed_path("PyYAML") == expected
    assert get_installed_path("pyyaml") == expected
    assert get_installed_path("yaml") == expected
