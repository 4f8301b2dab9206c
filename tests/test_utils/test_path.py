from __future__ import annotations

import os
from pathlib import Path

import pytest

from piston.utils import (
    check_file_exist,
    fopen,
    is_abs,
    is_filepath,
    mkdir_or_exist,
    scandir,
    symlink,
)


def test_is_filepath_and_fopen(tmp_path):
    assert is_filepath("a")
    assert is_filepath(Path("a"))
    assert not is_filepath(1)
    target = tmp_path / "f.txt"
    with fopen(target, "w") as file:
        file.write("hi")
    with fopen(str(target)) as file:
        assert file.read() == "hi"
    with pytest.raises(ValueError):
        fopen(1)


def test_check_file_exist(tmp_path):
    (tmp_path / "a").write_text("")
    check_file_exist(tmp_path / "a")
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        check_file_exist(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match=r"custom .*m$"):
        check_file_exist(tmp_path / "m", msg_tmpl="custom {}")


def test_mkdir_or_exist(tmp_path, monkeypatch):
    mkdir_or_exist("")
    nested = tmp_path / "a" / "b"
    mkdir_or_exist(nested)
    mkdir_or_exist(str(nested))
    assert nested.is_dir()
    monkeypatch.setenv("HOME", str(tmp_path))
    mkdir_or_exist("~/from_home")
    assert (tmp_path / "from_home").is_dir()


def test_symlink_overwrites(tmp_path):
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    link = tmp_path / "link"
    symlink(tmp_path / "a", link)
    assert link.read_text() == "a"
    symlink(tmp_path / "b", link)
    assert link.read_text() == "b"
    with pytest.raises(FileExistsError):
        symlink(tmp_path / "a", link, overwrite=False)


def test_scandir(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ["a.py", "b.TXT", "sub/c.py", ".hidden/d.py", ".e.py"]:
        (tmp_path / rel).write_text("")
    assert sorted(scandir(tmp_path)) == ["a.py", "b.TXT"]
    assert sorted(scandir(str(tmp_path), ".py", recursive=True)) == ["a.py", "sub/c.py"]
    assert sorted(scandir(tmp_path, (".py", ".txt"))) == ["a.py"]
    assert sorted(scandir(tmp_path, ".txt", case_sensitive=False)) == ["b.TXT"]
    with pytest.raises(TypeError):
        list(scandir(1))
    with pytest.raises(TypeError):
        list(scandir(tmp_path, suffix=1))


def test_is_abs():
    assert is_abs(os.path.abspath("x"))
    assert is_abs("s3://bucket/x")
    assert is_abs("http://a")
    assert is_abs("https://a")
    assert not is_abs("relative/x")
