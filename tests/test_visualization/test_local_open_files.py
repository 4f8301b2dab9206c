"""LocalVisBackend keeps its scalar files open: records are flushed at once, close() closes."""

from __future__ import annotations

import copy
import json
import pickle

from piston.visualization import LocalVisBackend


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scalar_files_stay_open_and_every_record_is_flushed(tmp_path) -> None:
    backend = LocalVisBackend(str(tmp_path))
    backend.add_scalars({"loss": 0.5}, step=1, file_path="run.json")
    # Readable at once (flushed), in both files, before close.
    assert _lines(tmp_path / "scalars.json") == [{"loss": 0.5, "step": 1}]
    assert _lines(tmp_path / "run.json") == [{"loss": 0.5, "step": 1}]
    handles = dict(backend._files)
    backend.add_scalars({"loss": 0.25}, step=2, file_path="run.json")
    backend.add_scalar("lr", 0.1, step=2)
    assert backend._files == handles  # no reopen per record
    assert _lines(tmp_path / "scalars.json")[-1] == {"lr": 0.1, "step": 2}
    assert len(_lines(tmp_path / "run.json")) == 2
    backend.close()
    assert all(fobj.closed for fobj in handles.values())
    backend.add_scalars({"loss": 0.125}, step=3)  # reopens in append mode
    assert _lines(tmp_path / "scalars.json")[-1] == {"loss": 0.125, "step": 3}
    assert len(_lines(tmp_path / "scalars.json")) == 4
    backend.close()


def test_backend_with_open_files_pickles_and_copies(tmp_path) -> None:
    backend = LocalVisBackend(str(tmp_path))
    backend.add_scalars({"acc": 1.0}, step=1)
    clone = pickle.loads(pickle.dumps(backend))
    other = copy.deepcopy(backend)
    clone.add_scalars({"acc": 2.0}, step=2)
    other.add_scalars({"acc": 3.0}, step=3)
    backend.add_scalars({"acc": 4.0}, step=4)
    assert [r["acc"] for r in _lines(tmp_path / "scalars.json")] == [1.0, 2.0, 3.0, 4.0]
    for item in (backend, clone, other):
        item.close()
