from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from piston import fileio
from piston.fileio import (
    BaseStorageBackend,
    FileClient,
    HardDiskBackend,
    HTTPBackend,
    LmdbBackend,
    LocalBackend,
    MemcachedBackend,
    PetrelBackend,
    register_backend,
)


class _DictBackend(BaseStorageBackend):
    store: dict = {}

    def __init__(self, tag: str = "") -> None:
        self.tag = tag

    def get(self, filepath):
        return self.store[str(filepath)]

    def get_text(self, filepath, encoding="utf-8"):
        return self.get(filepath).decode(encoding)

    def put(self, obj, filepath):
        self.store[str(filepath)] = obj

    def put_text(self, obj, filepath):
        self.put(obj.encode(), filepath)


def test_register_backend_by_call_and_decorator(restore_backend_tables) -> None:
    register_backend("dictb", _DictBackend, prefixes="dictb")
    fileio.put_text("hi", "dictb://k")
    assert fileio.get_text("dictb://k") == "hi"
    backend = fileio.get_file_backend(backend_args={"backend": "dictb", "tag": "t"})
    assert backend.tag == "t"

    @register_backend("dictc", prefixes=["dictc", "dictd"])
    class Other(_DictBackend):
        pass

    assert isinstance(fileio.get_file_backend("dictd://x"), Other)


def test_register_backend_errors(restore_backend_tables) -> None:
    with pytest.raises(TypeError, match="subclass of BaseStorageBackend"):
        register_backend("x", object)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="should be a class"):
        register_backend("x", _DictBackend())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        register_backend("local", _DictBackend)
    with pytest.raises(ValueError, match="already registered"):
        register_backend("fresh_name", _DictBackend, prefixes="http")
    assert "fresh_name" not in fileio.backends.backends  # nothing half-registered
    register_backend("local", _DictBackend, force=True, prefixes="")
    assert isinstance(fileio.get_file_backend("/a/b", enable_singleton=True), _DictBackend)


def test_uri_prefix_parsing() -> None:
    from piston.fileio.io import _parse_uri_prefix

    assert _parse_uri_prefix("/a/b") == ""
    assert _parse_uri_prefix("s3://b/k") == "s3"
    assert _parse_uri_prefix("cluster:s3://b/k") == "s3"
    assert _parse_uri_prefix(Path("rel/x")) == ""


@pytest.mark.parametrize(
    ("cls", "kwargs", "hint"),
    [
        (PetrelBackend, {}, "petrel"),
        (LmdbBackend, {"db_path": "/tmp/x"}, "pip install lmdb"),
        (MemcachedBackend, {"server_list_cfg": "a", "client_cfg": "b"}, "pip install memcached"),
    ],
)
def test_optional_backends_raise_import_error_with_hint(cls, kwargs, hint) -> None:
    with pytest.raises(ImportError, match=hint):
        cls(**kwargs)


def test_petrel_by_name_needs_its_client() -> None:
    with pytest.raises(ImportError, match="petrel_client"):
        fileio.get("petrel://bucket/key")


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "hello.txt").write_text("hello over http")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_backend_reads_from_a_local_server(http_root: str) -> None:
    url = f"{http_root}/hello.txt"
    assert isinstance(fileio.get_file_backend(url), HTTPBackend)
    assert fileio.get_text(url) == "hello over http"
    assert fileio.get(url) == b"hello over http"
    with fileio.get_local_path(url) as local:
        assert Path(local).read_text() == "hello over http"
    assert not Path(local).exists()


def test_file_client_legacy_interface(tmp_path: Path, mem_root: str) -> None:
    with pytest.warns(DeprecationWarning, match="FileClient|HardDiskBackend"):
        client = FileClient("disk")
    assert isinstance(client.client, HardDiskBackend)
    assert isinstance(client.client, LocalBackend)
    with pytest.warns(DeprecationWarning, match="FileClient"):
        assert FileClient("disk") is client
    client.put_text("x", tmp_path / "a.txt")
    assert client.get_text(tmp_path / "a.txt") == "x"
    assert client.exists(tmp_path / "a.txt")
    assert client.isfile(tmp_path / "a.txt")
    assert client.isdir(tmp_path)
    assert list(client.list_dir_or_file(tmp_path)) == ["a.txt"]
    with client.get_local_path(tmp_path / "a.txt") as local:
        assert Path(local).read_text() == "x"
    client.remove(tmp_path / "a.txt")
    assert not client.exists(tmp_path / "a.txt")
    assert FileClient.parse_uri_prefix("s3://x") == "s3"
    assert FileClient.parse_uri_prefix("/x") is None
    with pytest.warns(DeprecationWarning, match="FileClient"):
        inferred = FileClient.infer_client(uri=f"{mem_root}/a")
    inferred.put(b"m", f"{mem_root}/a")
    assert fileio.get(f"{mem_root}/a") == b"m"
    with (
        pytest.raises(ValueError, match="not supported"),
        pytest.warns(DeprecationWarning, match="FileClient"),
    ):
        FileClient("nope")
