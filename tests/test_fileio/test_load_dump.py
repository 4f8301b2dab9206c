from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from piston import fileio
from piston.fileio import BaseFileHandler, register_handler


@pytest.mark.parametrize("ext", ["json", "yaml", "yml", "pickle", "pkl"])
def test_round_trip_through_path(tmp_path: Path, ext: str) -> None:
    obj = {"a": [1, 2.5, "x"], "b": {"c": None, "d": True}}
    path = tmp_path / "sub" / f"obj.{ext}"
    assert fileio.dump(obj, path) is None
    assert fileio.load(path) == obj
    assert fileio.load(str(path)) == obj


def test_dump_to_string_and_file_objects() -> None:
    assert fileio.dump([1, 2], file_format="json") == "[1, 2]"
    assert fileio.dump({"b": 1, "a": 2}, file_format="yaml") == "a: 2\nb: 1\n"
    assert isinstance(fileio.dump(1, file_format="pkl"), bytes)
    buffer = io.StringIO()
    fileio.dump({"a": 1}, buffer, file_format="json")
    buffer.seek(0)
    assert fileio.load(buffer, file_format="json") == {"a": 1}
    raw = io.BytesIO()
    fileio.dump({"a": 1}, raw, file_format="pickle")
    raw.seek(0)
    assert fileio.load(raw, file_format="pickle") == {"a": 1}


def test_json_converts_sets_ranges_and_numpy() -> None:
    text = fileio.dump(
        {"s": {3}, "r": range(2), "arr": np.arange(3), "f": np.float32(0.5), "i": np.int64(4)},
        file_format="json",
        sort_keys=True,
    )
    assert text == '{"arr": [0, 1, 2], "f": 0.5, "i": 4, "r": [0, 1], "s": [3]}'
    with pytest.raises(TypeError, match="unsupported for json dump"):
        fileio.dump({"x": object()}, file_format="json")


def test_pickle_uses_protocol_2_by_default() -> None:
    data = fileio.dump({"a": 1}, file_format="pickle")
    assert data[:2] == b"\x80\x02"


def test_format_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Unsupported format: txt"):
        fileio.load(tmp_path / "a.txt")
    with pytest.raises(TypeError, match="Unsupported format"):
        fileio.dump({}, tmp_path / "a.toml")
    with pytest.raises(ValueError, match="file_format must be specified"):
        fileio.dump({})
    with pytest.raises(TypeError, match="file-object"):
        fileio.load(123, file_format="json")
    with pytest.raises(TypeError, match="file-object"):
        fileio.dump({}, 123, file_format="json")


def test_file_client_args_deprecated_and_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    fileio.dump({"a": 1}, path)
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        assert fileio.load(path, file_client_args={"backend": "disk"}) == {"a": 1}
    with (
        pytest.raises(ValueError, match="cannot be set"),
        pytest.warns(DeprecationWarning, match="file_client_args"),
    ):
        fileio.load(path, file_client_args={"backend": "disk"}, backend_args={})


def test_backend_args_are_used(tmp_path: Path, mem_root: str) -> None:
    fileio.dump({"k": 1}, f"{mem_root}/a.json")
    got = fileio.load(
        f"{mem_root}/a.json", backend_args={"backend": "fsspec", "protocol": "memory"}
    )
    assert got == {"k": 1}


def test_register_handler(tmp_path: Path, restore_backend_tables) -> None:
    @register_handler(["txtx", "tx2"], sep="|")
    class PipeHandler(BaseFileHandler):
        def __init__(self, sep: str) -> None:
            self.sep = sep

        def load_from_fileobj(self, file, **kwargs):
            return file.read().split(self.sep)

        def dump_to_fileobj(self, obj, file, **kwargs):
            file.write(self.dump_to_str(obj))

        def dump_to_str(self, obj, **kwargs):
            return self.sep.join(obj)

    fileio.dump(["a", "b"], tmp_path / "x.txtx")
    assert (tmp_path / "x.txtx").read_text() == "a|b"
    assert fileio.load(tmp_path / "x.txtx") == ["a", "b"]
    assert fileio.dump(["c"], file_format="tx2") == "c"
    with pytest.raises(TypeError, match="BaseFileHandler"):
        register_handler("bad")(object)
    with pytest.raises(TypeError, match="file_formats"):
        register_handler(3, sep=",")(PipeHandler)  # type: ignore[arg-type]
