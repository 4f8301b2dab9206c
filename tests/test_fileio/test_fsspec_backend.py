"""The fsspec backend on fsspec's real in-memory filesystem (``memory://``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from piston import fileio
from piston.fileio import FsspecBackend


def test_memory_urls_select_the_fsspec_backend(mem_root: str) -> None:
    backend = fileio.get_file_backend(f"{mem_root}/a.txt")
    assert isinstance(backend, FsspecBackend)
    assert backend.protocol == "memory"
    by_name = fileio.get_file_backend(backend_args={"backend": "fsspec", "protocol": "memory"})
    assert isinstance(by_name, FsspecBackend)


def test_put_get_exists_isdir_isfile(mem_root: str) -> None:
    fileio.put(b"bytes", f"{mem_root}/d/a.bin")
    fileio.put_text("text", f"{mem_root}/d/e/b.txt")
    assert fileio.get(f"{mem_root}/d/a.bin") == b"bytes"
    assert fileio.get_text(f"{mem_root}/d/e/b.txt") == "text"
    assert fileio.exists(f"{mem_root}/d/a.bin")
    assert not fileio.exists(f"{mem_root}/d/zz")
    assert fileio.isdir(f"{mem_root}/d")
    assert fileio.isfile(f"{mem_root}/d/a.bin")
    assert not fileio.isfile(f"{mem_root}/d")


def test_join_path_uses_slashes(mem_root: str) -> None:
    assert fileio.join_path(f"{mem_root}/", "a", "/b/") == f"{mem_root}/a/b"


def test_get_local_path_is_a_temporary_copy(mem_root: str) -> None:
    fileio.put(b"weights", f"{mem_root}/ckpt.pth")
    with fileio.get_local_path(f"{mem_root}/ckpt.pth") as local:
        assert os.path.isfile(local)
        assert local.endswith(".pth")
        assert Path(local).read_bytes() == b"weights"
    assert not os.path.exists(local)


def test_remove_and_rmtree(mem_root: str) -> None:
    fileio.put(b"x", f"{mem_root}/d/f")
    with pytest.raises(FileNotFoundError):
        fileio.remove(f"{mem_root}/d/missing")
    with pytest.raises(IsADirectoryError):
        fileio.remove(f"{mem_root}/d")
    fileio.remove(f"{mem_root}/d/f")
    assert not fileio.exists(f"{mem_root}/d/f")
    fileio.put(b"x", f"{mem_root}/t/a/b")
    fileio.rmtree(f"{mem_root}/t")
    assert not fileio.exists(f"{mem_root}/t/a/b")


def test_copies_within_and_across_local(mem_root: str, tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "a.txt").write_text("a")
    (tmp_path / "src" / "sub" / "b.txt").write_text("b")
    assert fileio.copyfile_from_local(tmp_path / "src" / "a.txt", f"{mem_root}/up/a.txt")
    assert fileio.get_text(f"{mem_root}/up/a.txt") == "a"
    fileio.copytree_from_local(tmp_path / "src", f"{mem_root}/tree")
    assert fileio.get_text(f"{mem_root}/tree/sub/b.txt") == "b"
    out = fileio.copyfile(f"{mem_root}/tree/a.txt", f"{mem_root}/up")
    assert out == f"{mem_root}/up/a.txt"
    fileio.copytree(f"{mem_root}/tree", f"{mem_root}/tree2")
    assert fileio.get_text(f"{mem_root}/tree2/sub/b.txt") == "b"
    with pytest.raises(FileExistsError):
        fileio.copytree(f"{mem_root}/tree", f"{mem_root}/tree2")
    backend = fileio.get_file_backend(mem_root)
    assert backend.copyfile_to_local(f"{mem_root}/tree/a.txt", tmp_path / "down.txt")
    assert (tmp_path / "down.txt").read_text() == "a"
    backend.copytree_to_local(f"{mem_root}/tree", tmp_path / "down")
    assert (tmp_path / "down" / "sub" / "b.txt").read_text() == "b"
    assert fileio.copy_if_symlink_fails(f"{mem_root}/tree/a.txt", f"{mem_root}/c.txt") is False
    assert fileio.get_text(f"{mem_root}/c.txt") == "a"


def test_list_dir_or_file(mem_root: str) -> None:
    for rel in ("a.txt", "b.json", ".hidden", "sub/c.txt", "sub/deeper/d.json"):
        fileio.put(b"x", f"{mem_root}/root/{rel}")
    root = f"{mem_root}/root"
    assert set(fileio.list_dir_or_file(root)) == {"a.txt", "b.json", "sub"}
    assert set(fileio.list_dir_or_file(root, list_dir=False, suffix=".json", recursive=True)) == {
        "b.json",
        "sub/deeper/d.json",
    }
    assert set(fileio.list_dir_or_file(root, list_file=False, recursive=True)) == {
        "sub",
        "sub/deeper",
    }
    with pytest.raises(TypeError):
        fileio.list_dir_or_file(root, suffix=".json")


def test_load_and_dump_through_memory(mem_root: str) -> None:
    fileio.dump({"a": [1, 2]}, f"{mem_root}/x.json")
    fileio.dump({"a": (1, 2)}, f"{mem_root}/x.yaml")
    fileio.dump({"a": {1, 2}}, f"{mem_root}/x.pkl")
    assert fileio.load(f"{mem_root}/x.json") == {"a": [1, 2]}
    assert fileio.load(f"{mem_root}/x.yaml") == {"a": (1, 2)}
    assert fileio.load(f"{mem_root}/x.pkl") == {"a": {1, 2}}


def test_presigned_url_unsupported_by_memory(mem_root: str) -> None:
    with pytest.raises(NotImplementedError, match="presigned"):
        fileio.generate_presigned_url(f"{mem_root}/a")
    with pytest.raises(NotImplementedError):
        fileio.generate_presigned_url("/tmp/a")


def test_protocol_without_installed_implementation_names_pip_install() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - environment has s3fs
        pytest.fail("this test expects s3fs to be absent from the test environment")
    with pytest.raises(ImportError, match="pip install s3fs"):
        fileio.get_file_backend("s3://bucket/key")


def test_import_fileio_does_not_import_fsspec_or_yaml() -> None:
    code = "import piston.fileio, sys; print('fsspec' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_file_urls_go_through_fsspec_local_filesystem(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/sub/a.txt"
    assert isinstance(fileio.get_file_backend(url), FsspecBackend)
    fileio.put_text("local via fsspec", url)
    assert (tmp_path / "sub" / "a.txt").read_text() == "local via fsspec"
    assert fileio.get_text(url) == "local via fsspec"
    assert list(fileio.list_dir_or_file(f"file://{tmp_path}/sub")) == ["a.txt"]
