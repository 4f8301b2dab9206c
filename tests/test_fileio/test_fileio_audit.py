"""Spec audit of ``piston.fileio``: the functional API on a realistic dataset folder, load/dump with
paths, ``Path`` objects, file objects and explicit ``file_format``, and the text helpers."""

from __future__ import annotations

import io
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import piston
from piston import fileio


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    """An ImageNet-style folder with annotation files, a hidden file and a hidden folder."""
    root = tmp_path / "imagenet"
    for rel in ("train/n01/a.JPEG", "train/n01/b.jpg", "train/n02/c.JPEG", "meta/train.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (root / ".DS_Store").write_bytes(b"x")
    (root / "train/.cache").write_bytes(b"x")
    (root / ".git").mkdir()
    (root / ".git/config").write_bytes(b"x")
    return root


def test_list_dir_or_file_flags_suffix_and_recursion(dataset_dir: Path) -> None:
    ls = fileio.list_dir_or_file
    assert sorted(ls(dataset_dir, list_dir=False)) == []
    assert sorted(ls(dataset_dir, list_file=False)) == [".git", "meta", "train"]
    files = sorted(ls(dataset_dir, list_dir=False, recursive=True))
    assert files == [
        ".git/config",
        "meta/train.txt",
        "train/n01/a.JPEG",
        "train/n01/b.jpg",
        "train/n02/c.JPEG",
    ]  # hidden *files* are skipped at every depth
    jpegs = ls(str(dataset_dir), list_dir=False, suffix=(".JPEG", ".jpg"), recursive=True)
    assert sorted(jpegs) == ["train/n01/a.JPEG", "train/n01/b.jpg", "train/n02/c.JPEG"]
    assert sorted(ls(dataset_dir / "train", list_dir=False, suffix=".JPEG", recursive=True)) == [
        os.path.join("n01", "a.JPEG"),
        os.path.join("n02", "c.JPEG"),
    ]
    # directories come before their content
    order = list(ls(dataset_dir / "train", recursive=True))
    assert order.index("n01") < order.index(os.path.join("n01", "a.JPEG"))
    assert sorted(ls(dataset_dir / "train", list_file=False, recursive=True)) == ["n01", "n02"]
    with pytest.raises(TypeError):
        list(ls(dataset_dir, suffix=".jpg"))  # suffix needs list_dir=False
    with pytest.raises(TypeError):
        list(ls(dataset_dir, list_dir=False, suffix=[".jpg"]))


def test_get_local_path_yields_the_given_path_for_local_files(dataset_dir: Path) -> None:
    path = dataset_dir / "meta/train.txt"
    with fileio.get_local_path(path) as local:
        assert local is path
    with fileio.get_local_path(str(path), backend_args={"backend": "local"}) as local:
        assert local == str(path)


def test_load_dump_paths_pathlib_file_objects_and_formats(tmp_path: Path) -> None:
    ann = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "cat"}]}
    target = tmp_path / "deep/annotations/instances.json"  # parents are created
    assert piston.dump(ann, target) is None
    assert piston.load(target) == ann
    assert piston.load(str(target)) == ann
    # explicit file_format wins over the extension
    piston.dump(ann, tmp_path / "ann.txt", file_format="yaml")
    assert piston.load(tmp_path / "ann.txt", file_format="yaml") == ann
    with open(tmp_path / "ann.txt", encoding="utf-8") as f:
        assert piston.load(f, file_format="yaml") == ann
    buffer = io.BytesIO()
    piston.dump(ann, buffer, file_format="pkl")
    buffer.seek(0)
    assert piston.load(buffer, file_format="pickle") == ann
    text = io.StringIO()
    piston.dump({"b": 1, "a": [1, 2]}, text, file_format="yml")
    assert text.getvalue() == "a:\n- 1\n- 2\nb: 1\n"  # block style, sorted keys
    assert piston.dump({"b": 1, "a": 2}, file_format="yaml", sort_keys=False) == "b: 1\na: 2\n"
    assert piston.dump({"x": np.float64(0.5), "y": {1, 2}}, file_format="json", indent=None) == (
        '{"x": 0.5, "y": [1, 2]}'
    )
    raw = piston.dump([1, 2], file_format="pickle")
    assert isinstance(raw, bytes)
    assert pickle.loads(raw) == [1, 2]
    assert raw[:2] == b"\x80\x02"
    with pytest.raises(ValueError):
        piston.dump(ann)  # file=None needs file_format
    with pytest.raises(TypeError, match="Unsupported format"):
        piston.load(tmp_path / "ann.txt")
    with pytest.raises(TypeError):
        piston.load(3.5, file_format="json")
    with pytest.raises(TypeError):
        piston.dump(ann, 3.5, file_format="json")


def test_text_helpers(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_bytes(b"cat\r\ndog\nbird\nfish\n")
    assert fileio.list_from_file(tmp_path / "classes.txt") == ["cat", "dog", "bird", "fish"]
    assert fileio.list_from_file(tmp_path / "classes.txt", prefix="c/", offset=1, max_num=2) == [
        "c/dog",
        "c/bird",
    ]
    (tmp_path / "map.txt").write_text("1 cat\n2 dog puppy\n", encoding="utf-8")
    assert fileio.dict_from_file(tmp_path / "map.txt", key_type=int) == {
        1: "cat",
        2: ["dog", "puppy"],
    }
    (tmp_path / "bad.txt").write_text("lonely\n", encoding="utf-8")
    with pytest.raises(AssertionError):
        fileio.dict_from_file(tmp_path / "bad.txt")
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        assert fileio.list_from_file(
            tmp_path / "classes.txt", file_client_args={"backend": "disk"}
        )[0] == ("cat")


def test_backend_args_pick_backends_by_name(tmp_path: Path) -> None:
    local = fileio.get_file_backend(backend_args={"backend": "local"})
    assert isinstance(local, fileio.LocalBackend)
    assert local.name == "LocalBackend"
    assert isinstance(fileio.get_file_backend("https://x.org/a.pth"), fileio.HTTPBackend)
    with pytest.raises(ValueError):
        fileio.get_file_backend()
    fileio.put_text("hi", tmp_path / "a/b.txt", backend_args={"backend": "local"})
    assert fileio.get(tmp_path / "a/b.txt", backend_args={"backend": "local"}) == b"hi"
    assert fileio.join_path(str(tmp_path), "a", "b.txt") == str(tmp_path / "a/b.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # plain local use never warns
        assert fileio.exists(tmp_path / "a/b.txt")
        assert fileio.isfile(tmp_path / "a/b.txt")


def test_register_handler_type_checks() -> None:
    class NotAHandler:
        pass

    with pytest.raises(TypeError):
        fileio.register_handler("audit_fmt")(NotAHandler)
    with pytest.raises(TypeError):
        fileio.register_handler(3)(fileio.JsonHandler)
