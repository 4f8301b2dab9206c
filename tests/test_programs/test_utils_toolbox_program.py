"""General utilities called directly from tools scripts and model code.

Path helpers in a dataset scanner, progress tracking of a conversion job, timers, version
checks gating features, sequence checks and tuple helpers in a layer constructor, the
deprecated-kwarg decorator on a user function and ``apply_to`` on a batch.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from collections import namedtuple
from pathlib import Path

import pytest
import torch

from piston.utils import (
    ProgressBar,
    Timer,
    TimerError,
    apply_to,
    check_file_exist,
    check_time,
    deprecated_api_warning,
    digit_version,
    get_git_hash,
    import_modules_from_strings,
    is_list_of,
    is_seq_of,
    is_tuple_of,
    mkdir_or_exist,
    scandir,
    slice_list,
    symlink,
    to_1tuple,
    to_2tuple,
    to_ntuple,
    track_iter_progress,
    track_parallel_progress,
    track_progress,
)
from piston.utils.dl_utils import TORCH_VERSION, collect_env


def _square(x: int) -> int:
    return x * x


def test_scan_dataset_dir(tmp_path: Path) -> None:
    root = tmp_path / "data"
    mkdir_or_exist(str(root / "a" / "b"))
    mkdir_or_exist(root / "a" / "b")  # exists: fine
    mkdir_or_exist("")  # no-op
    for rel in ["x.jpg", "a/y.PNG", "a/b/z.jpg", "a/.hid.jpg", "a/b/n.txt"]:
        (root / rel).write_text(rel)
    assert sorted(scandir(str(root), ".jpg", recursive=True)) == ["a/b/z.jpg", "x.jpg"]
    assert sorted(scandir(root, (".jpg", ".png"), recursive=True, case_sensitive=False)) == [
        "a/b/z.jpg",
        "a/y.PNG",
        "x.jpg",
    ]
    assert list(scandir(root)) == ["x.jpg"]
    with pytest.raises(TypeError):
        list(scandir(root, suffix=3))
    check_file_exist(str(root / "x.jpg"))
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        check_file_exist(str(root / "missing.jpg"))
    # a "latest.pth"-style link as tools scripts create it, then overwritten
    (root / "epoch_1.pth").write_text("1")
    (root / "epoch_2.pth").write_text("2")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        symlink("epoch_1.pth", "latest.pth")
        symlink("epoch_2.pth", "latest.pth")  # overwrite=True by default
    finally:
        os.chdir(cwd)
    assert os.readlink(root / "latest.pth") == "epoch_2.pth"
    assert (root / "latest.pth").read_text() == "2"


def test_progress_helpers() -> None:
    out = io.StringIO()
    assert track_progress(_square, [1, 2, 3], file=out) == [1, 4, 9]
    assert "3/3" in out.getvalue()
    out = io.StringIO()
    assert [x + 1 for x in track_iter_progress([1, 2], file=out)] == [2, 3]
    assert "2/2" in out.getvalue()
    out = io.StringIO()
    assert track_iter_progress(([1, 2], 2), file=out) is not None
    out = io.StringIO()
    results = track_parallel_progress(_square, list(range(6)), nproc=2, file=out)
    assert results == [0, 1, 4, 9, 16, 25]
    out = io.StringIO()
    bar = ProgressBar(4, file=out)
    for _ in range(4):
        bar.update()
    assert bar.completed == 4
    assert "4/4" in out.getvalue()
    out = io.StringIO()
    ProgressBar(file=out).update()  # unknown total: counts only
    assert "completed: 1" in out.getvalue()


def test_timers(capsys) -> None:
    timer = Timer()
    assert timer.is_running
    time.sleep(0.01)
    first = timer.since_last_check()
    assert first >= 0.01
    assert timer.since_start() >= first
    with Timer(print_tmpl="took {:.1f}s"):
        pass
    assert "took 0.0s" in capsys.readouterr().out
    stopped = Timer(start=False)
    with pytest.raises(TimerError):
        stopped.since_start()
    assert check_time("job") == 0
    time.sleep(0.002)
    assert check_time("job") > 0


def test_version_gates() -> None:
    assert torch.__version__ == TORCH_VERSION
    assert digit_version(TORCH_VERSION) >= digit_version("1.6.0")
    assert digit_version("1.10.0rc1") < digit_version("1.10.0") < digit_version("1.10.0.post1")
    assert digit_version("2.0.0a1") < digit_version("2.0.0b1") < digit_version("2.0.0rc1")
    assert digit_version("1.8.1") == (1, 8, 1, 0, 0, 0)
    assert digit_version("2.1.0+cu121") == digit_version("2.1.0")
    assert digit_version("1.9", length=2) == (1, 9, 0, 0)
    assert isinstance(get_git_hash(), str)
    assert get_git_hash(digits=7) in ("unknown", get_git_hash()[:7])
    env = collect_env()
    for key in (
        "sys.platform",
        "Python",
        "CUDA available",
        "numpy_random_seed",
        "PyTorch",
        "PyTorch compiling details",
        "piston",
    ):
        assert key in env, key
    assert env["PyTorch"] == torch.__version__
    assert env["CUDA available"] is False


def test_layer_constructor_helpers() -> None:
    assert to_2tuple(3) == (3, 3)
    assert to_2tuple((1, 2)) == (1, 2)
    assert to_1tuple(5) == (5,)
    assert to_ntuple(3)(0) == (0, 0, 0)
    assert to_2tuple([4, 5]) == [4, 5]  # iterables are returned as they are
    assert is_seq_of([1, 2], int)
    assert not is_seq_of([1, "2"], int)
    assert is_seq_of((1.0,), float, seq_type=tuple)
    assert not is_seq_of([1.0], float, tuple)
    assert is_list_of(["a"], str)
    assert not is_list_of(("a",), str)
    assert is_tuple_of(("a",), str)
    assert not is_seq_of("ab", int)
    assert slice_list([1, 2, 3, 4], [1, 3]) == [[1], [2, 3, 4]]
    with pytest.raises(ValueError):
        slice_list([1, 2], [3])
    os_path, json_mod = import_modules_from_strings(["os.path", "json"])
    assert os_path is os.path
    assert json_mod.dumps([]) == "[]"
    assert import_modules_from_strings("os") is os
    with pytest.warns(UserWarning, match="failed to import and is ignored"):
        assert import_modules_from_strings(["no_such_mod_xyz"], allow_failed_imports=True) == [None]
    with pytest.raises(ImportError):
        import_modules_from_strings("no_such_mod_xyz")
    with pytest.raises(TypeError):
        import_modules_from_strings(3)


@deprecated_api_warning({"out_file": "output_file"}, cls_name="Visualizer")
def _save(img: str, output_file: str | None = None) -> str:
    return f"{img}->{output_file}"


def test_deprecated_kwargs_and_apply_to() -> None:
    with pytest.warns(DeprecationWarning, match="out_file"):
        assert _save("a", out_file="b.png") == "a->b.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _save("a", output_file="c.png") == "a->c.png"
    with pytest.raises(AssertionError):
        _save("a", out_file="b", output_file="c")

    Meta = namedtuple("Meta", ["scale", "name"])
    batch = {"img": [torch.ones(1), 2.0], "meta": Meta(torch.zeros(2), "x"), "n": (3, "y")}
    halved = apply_to(batch, lambda x: isinstance(x, torch.Tensor), lambda x: x.half())
    assert halved["img"][0].dtype == torch.float16
    assert halved["img"][1] == 2.0
    assert isinstance(halved["meta"], Meta)
    assert halved["meta"].scale.dtype == torch.float16
    assert halved["meta"].name == "x"
    assert halved["n"] == (3, "y")
    assert batch["img"][0].dtype == torch.float32
