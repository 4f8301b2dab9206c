from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from piston import fileio
from piston.fileio import LocalBackend


def test_put_get_text_and_bytes_create_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.txt"
    fileio.put_text("héllo", target)
    assert fileio.get_text(target) == "héllo"
    fileio.put(b"\x00\x01", str(tmp_path / "x" / "y.bin"))
    assert fileio.get(tmp_path / "x" / "y.bin") == b"\x00\x01"


def test_put_is_atomic_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    fileio.put(b"one", target)
    os.chmod(target, 0o640)
    fileio.put(b"two", target)
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]  # no temp file left


def test_new_file_gets_umask_permissions(tmp_path: Path) -> None:
    reference = tmp_path / "ref"
    reference.write_bytes(b"")
    fileio.put(b"x", tmp_path / "new")
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == stat.S_IMODE(reference.stat().st_mode)


def test_exists_isdir_isfile_join(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert fileio.exists(tmp_path / "f")
    assert not fileio.exists(tmp_path / "nope")
    assert fileio.isdir(tmp_path)
    assert not fileio.isdir(tmp_path / "f")
    assert fileio.isfile(tmp_path / "f")
    assert fileio.join_path(str(tmp_path), "a", "b") == os.path.join(str(tmp_path), "a", "b")


def test_get_local_path_yields_the_path_itself(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    with fileio.get_local_path(str(path)) as local:
        assert str(local) == str(path)
    assert path.exists()


def test_copyfile_and_copytree(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    (tmp_path / "src" / "sub").mkdir()
    (tmp_path / "src" / "sub" / "b.txt").write_text("b")
    (tmp_path / "dst").mkdir()
    out = fileio.copyfile(tmp_path / "src" / "a.txt", tmp_path / "dst")
    assert Path(out) == tmp_path / "dst" / "a.txt"
    assert fileio.copyfile_from_local(tmp_path / "src" / "a.txt", tmp_path / "c.txt")
    assert fileio.copyfile_to_local(tmp_path / "src" / "a.txt", tmp_path / "d.txt")
    assert (tmp_path / "c.txt").read_text() == (tmp_path / "d.txt").read_text() == "a"
    fileio.copytree(tmp_path / "src", tmp_path / "tree1")
    fileio.copytree_from_local(tmp_path / "src", tmp_path / "tree2")
    fileio.copytree_to_local(tmp_path / "src", tmp_path / "tree3")
    for name in ("tree1", "tree2", "tree3"):
        assert (tmp_path / name / "sub" / "b.txt").read_text() == "b"
    with pytest.raises(FileExistsError):
        fileio.copytree(tmp_path / "src", tmp_path / "tree1")


def test_remove_and_rmtree(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    with pytest.raises(FileNotFoundError):
        fileio.remove(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        fileio.remove(tmp_path / "d")
    fileio.remove(tmp_path / "d" / "f")
    assert not (tmp_path / "d" / "f").exists()
    fileio.rmtree(tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_copy_if_symlink_fails(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert fileio.copy_if_symlink_fails(tmp_path / "f", tmp_path / "link") is True
    assert os.path.islink(tmp_path / "link")
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "f").write_text("old")
    # symlink onto an existing path fails, so the file is copied into the folder instead
    assert fileio.copy_if_symlink_fails(tmp_path / "f", tmp_path / "blocker") is False
    assert (tmp_path / "blocker" / "f").read_text() == "x"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for rel in ("a.txt", "b.json", ".hidden", "sub/c.txt", "sub/deeper/d.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    return root


def test_list_dir_or_file(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert set(fileio.list_dir_or_file(root)) == {"a.txt", "b.json", "sub"}
    assert set(fileio.list_dir_or_file(root, list_dir=False)) == {"a.txt", "b.json"}
    assert set(fileio.list_dir_or_file(root, list_file=False, recursive=True)) == {
        "sub",
        os.path.join("sub", "deeper"),
    }
    assert set(fileio.list_dir_or_file(root, list_dir=False, suffix=".json", recursive=True)) == {
        "b.json",
        os.path.join("sub", "deeper", "d.json"),
    }
    assert set(fileio.list_dir_or_file(root, list_dir=False, suffix=(".json", ".txt"))) == {
        "a.txt",
        "b.json",
    }
    ordered = list(fileio.list_dir_or_file(root, recursive=True))
    assert ordered.index("sub") < ordered.index(os.path.join("sub", "c.txt"))


def test_list_dir_or_file_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="suffix"):
        fileio.list_dir_or_file(tmp_path, list_dir=True, suffix=".txt")
    with pytest.raises(TypeError, match="suffix"):
        fileio.list_dir_or_file(tmp_path, list_dir=False, suffix=[".txt"])


def test_backend_by_name_and_singleton(tmp_path: Path) -> None:
    backend = fileio.get_file_backend(backend_args={"backend": "local"})
    assert isinstance(backend, LocalBackend)
    assert backend.name == "LocalBackend"
    assert fileio.get_file_backend(tmp_path, enable_singleton=True) is fileio.get_file_backend(
        str(tmp_path / "x"), enable_singleton=True
    )
    assert fileio.get_file_backend(tmp_path) is not fileio.get_file_backend(tmp_path)
    with pytest.raises(ValueError, match="uri should not be None"):
        fileio.get_file_backend()
    with pytest.raises(ValueError, match="not registered"):
        fileio.get_file_backend(backend_args={"backend": "nope"})
    with pytest.raises(ValueError, match="no storage backend"):
        fileio.get_file_backend("piston-unknown-proto://x")


def test_allow_symlink_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="allow_symlink"):
        assert LocalBackend().allow_symlink is True


def test_list_from_file_and_dict_from_file(tmp_path: Path) -> None:
    lines = tmp_path / "l.txt"
    lines.write_text("a\nb\r\nc\nd\n")
    assert fileio.list_from_file(lines) == ["a", "b", "c", "d"]
    assert fileio.list_from_file(lines, prefix="p/", offset=1, max_num=2) == ["p/b", "p/c"]
    mapping = tmp_path / "m.txt"
    mapping.write_text("1 cat\n2 dog cow\n")
    assert fileio.dict_from_file(mapping) == {"1": "cat", "2": ["dog", "cow"]}
    assert fileio.dict_from_file(mapping, key_type=int) == {1: "cat", 2: ["dog", "cow"]}
    bad = tmp_path / "bad.txt"
    bad.write_text("lonely\n")
    with pytest.raises(AssertionError):
        fileio.dict_from_file(bad)
