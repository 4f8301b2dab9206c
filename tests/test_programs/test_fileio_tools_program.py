"""Dataset-preparation tools scripts using piston.fileio the way mmdet/mmseg tools do.

Annotation files are converted between json/yaml/pickle with ``load``/``dump`` (paths, Path
objects, open file objects and in-memory strings), split files are read with
``list_from_file``/``dict_from_file`` and a dataset tree is walked, copied and cleaned with the
backend-dispatching module functions and the deprecated ``FileClient``.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from piston import fileio
from piston.fileio import FileClient, dump, get_file_backend, load


def test_convert_annotations(tmp_path: Path) -> None:
    ann = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "categories": ("cat", "dog"),
        "shape": np.array([2, 3]),
        "area": np.float32(1.5),
        "ids": {7},
    }
    dump(ann, str(tmp_path / "out" / "ann.json"))  # parent dir created
    loaded = load(tmp_path / "out" / "ann.json")
    assert loaded == {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "categories": ["cat", "dog"],
        "shape": [2, 3],
        "area": 1.5,
        "ids": [7],
    }
    dump(loaded, tmp_path / "ann.yml")
    assert load(str(tmp_path / "ann.yml")) == loaded
    yaml_text = dump({"b": 1, "a": [1, 2]}, file_format="yaml")
    assert yaml_text == "a:\n- 1\n- 2\nb: 1\n"
    assert load(io.StringIO(yaml_text), file_format="yaml") == {"a": [1, 2], "b": 1}

    dump(loaded, str(tmp_path / "ann.pkl"))
    with open(tmp_path / "ann.pkl", "rb") as f:
        assert pickle.load(f) == loaded
    with open(tmp_path / "ann.pkl", "rb") as f:
        assert load(f, file_format="pkl") == loaded

    with open(tmp_path / "pretty.json", "w") as f:
        dump({"x": 1}, f, file_format="json", indent=2)
    assert (tmp_path / "pretty.json").read_text() == '{\n  "x": 1\n}'
    assert dump([1, 2], file_format="json") == "[1, 2]"
    assert load(io.StringIO('{"k": [1]}'), file_format="json") == {"k": [1]}

    with pytest.raises(TypeError, match="Unsupported format"):
        load(str(tmp_path / "ann.txt"))
    with pytest.raises(ValueError):
        dump({"a": 1})
    with pytest.raises(TypeError):
        dump({"a": object()}, file_format="json")
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        assert load(str(tmp_path / "ann.yml"), file_client_args=dict(backend="disk")) == loaded
    with pytest.raises(ValueError), pytest.warns(DeprecationWarning, match="file_client_args"):
        load(str(tmp_path / "ann.yml"), file_client_args={}, backend_args={})


def test_split_files(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("img_1\nimg_2\r\nimg_3\nimg_4\n")
    assert fileio.list_from_file(str(tmp_path / "train.txt")) == [
        "img_1",
        "img_2",
        "img_3",
        "img_4",
    ]
    assert fileio.list_from_file(tmp_path / "train.txt", prefix="data/", offset=1, max_num=2) == [
        "data/img_2",
        "data/img_3",
    ]
    (tmp_path / "map.txt").write_text("1 cat\n2 dog brown\n")
    assert fileio.dict_from_file(str(tmp_path / "map.txt"), key_type=int) == {
        1: "cat",
        2: ["dog", "brown"],
    }
    (tmp_path / "bad.txt").write_text("lonely\n")
    with pytest.raises(AssertionError):
        fileio.dict_from_file(str(tmp_path / "bad.txt"))


def _make_tree(root: Path) -> None:
    for rel in ["imgs/a.jpg", "imgs/b.png", "imgs/sub/c.JPG", "ann/x.json", ".hidden/h.jpg"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(rel.encode())
    (root / "imgs" / ".skip.jpg").write_bytes(b"h")


def test_walk_copy_clean_dataset(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _make_tree(root)
    args = dict(backend="local")
    files = sorted(fileio.list_dir_or_file(str(root), list_dir=False, recursive=True))
    # hidden files are skipped, hidden directories are still walked (as in MMEngine)
    assert files == [".hidden/h.jpg", "ann/x.json", "imgs/a.jpg", "imgs/b.png", "imgs/sub/c.JPG"]
    assert sorted(
        fileio.list_dir_or_file(str(root), list_dir=False, suffix=(".jpg", ".png"), recursive=True)
    ) == [".hidden/h.jpg", "imgs/a.jpg", "imgs/b.png"]
    assert sorted(fileio.list_dir_or_file(str(root), list_file=False)) == [".hidden", "ann", "imgs"]
    listed = list(fileio.list_dir_or_file(str(root / "imgs"), recursive=True))
    assert listed.index("sub") < listed.index(os.path.join("sub", "c.JPG"))
    with pytest.raises(TypeError):
        list(fileio.list_dir_or_file(str(root), suffix=".jpg"))

    img = fileio.join_path(str(root), "imgs", "a.jpg", backend_args=args)
    assert img == os.path.join(str(root), "imgs", "a.jpg")
    assert fileio.get(img, backend_args=args) == b"imgs/a.jpg"
    assert fileio.exists(img)
    assert fileio.isfile(img)
    assert not fileio.isdir(img)
    assert fileio.isdir(str(root / "imgs"))
    fileio.put_text("ok\n", str(tmp_path / "out" / "deep" / "log.txt"))
    assert fileio.get_text(str(tmp_path / "out" / "deep" / "log.txt")) == "ok\n"
    fileio.put(b"\x00\x01", tmp_path / "out" / "bin")
    assert (tmp_path / "out" / "bin").read_bytes() == b"\x00\x01"
    with fileio.get_local_path(img) as local:
        assert local == img
        assert os.path.isfile(local)

    dst = fileio.copyfile(img, str(tmp_path / "out"))
    assert dst == str(tmp_path / "out" / "a.jpg")
    assert Path(dst).read_bytes() == b"imgs/a.jpg"
    tree = fileio.copytree(str(root / "imgs"), str(tmp_path / "copy"))
    assert tree == str(tmp_path / "copy")
    assert (tmp_path / "copy" / "sub" / "c.JPG").is_file()
    with pytest.raises(FileExistsError):
        fileio.copytree(str(root / "imgs"), str(tmp_path / "copy"))
    linked = fileio.copy_if_symlink_fails(img, str(tmp_path / "link.jpg"))
    assert linked is True
    assert os.path.islink(tmp_path / "link.jpg")
    fileio.remove(dst)
    assert not os.path.exists(dst)
    with pytest.raises(FileNotFoundError):
        fileio.remove(dst)
    with pytest.raises(IsADirectoryError):
        fileio.remove(str(tmp_path / "copy"))
    fileio.rmtree(str(tmp_path / "copy"))
    assert not (tmp_path / "copy").exists()

    backend = get_file_backend(str(root))
    assert type(backend).__name__ == "LocalBackend"
    assert backend.name == "LocalBackend"
    assert get_file_backend(backend_args=dict(backend="local")).get_text(img) == "imgs/a.jpg"
    assert type(get_file_backend("http://x/y.pth")).__name__ == "HTTPBackend"
    with pytest.raises(ValueError):
        get_file_backend(None)


def test_deprecated_file_client(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = FileClient(backend="disk")
        assert client.get_text(str(tmp_path / "a.txt")) == "hello"
        assert client.get(str(tmp_path / "a.txt")) == b"hello"
        client.put_text("w", str(tmp_path / "b" / "w.txt"))
        assert client.exists(str(tmp_path / "b" / "w.txt"))
        assert client.join_path(str(tmp_path), "a.txt") == str(tmp_path / "a.txt")
        assert sorted(client.list_dir_or_file(str(tmp_path), list_dir=False, recursive=True)) == [
            "a.txt",
            os.path.join("b", "w.txt"),
        ]
        assert FileClient.parse_uri_prefix("s3://bucket/k") == "s3"
        assert FileClient.parse_uri_prefix("cluster:s3://bucket/k") == "s3"
        assert FileClient.parse_uri_prefix(str(tmp_path)) is None
        inferred = FileClient.infer_client(uri=str(tmp_path))
        assert inferred.get_text(str(tmp_path / "a.txt")) == "hello"
        assert FileClient(backend="disk") is client  # cached per backend/args
