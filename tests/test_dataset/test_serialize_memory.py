"""``serialize_data=True`` keeps dataloader workers from copying the data list (copy-on-read).

Each case runs in a fresh interpreter (this file run as a script): build a dataset of 200,000
small records, read every sample through a ``DataLoader`` with 2 forked workers, then sum the
proportional set size (PSS: shared pages split between the processes that map them) of the
main process and its workers while the workers are still alive. Without serialization, reading
the Python dicts in the workers writes their reference counts (and the garbage collector visits
them), so the pages holding them get copied into each worker; the serialized numpy buffer is
only read and stays shared.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NUM_RECORDS = 200_000


def _pss_kb(pid: int) -> int:
    try:
        import psutil

        return psutil.Process(pid).memory_full_info().pss // 1024
    except ImportError:
        pass
    with open(f"/proc/{pid}/smaps_rollup") as file:
        for line in file:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss line in /proc/{pid}/smaps_rollup")


def _children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                stat = file.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children


def _count(batch: list) -> int:
    return len(batch)


def _measure(serialize: bool) -> tuple[int, int]:
    """PSS (kB) of this process before building the dataset, and the total PSS of this
    process and its 2 dataloader workers after one epoch."""
    from torch.utils.data import DataLoader

    from piston.dataset import BaseDataset

    baseline = _pss_kb(os.getpid())

    class Records(BaseDataset):
        def load_data_list(self) -> list[dict]:
            return [
                {"img_path": f"images/{i:06d}.jpg", "label": i % 10, "bbox": [i, i + 1.5, 4.0, 8.0]}
                for i in range(NUM_RECORDS)
            ]

    dataset = Records(serialize_data=serialize)
    loader = DataLoader(
        dataset,
        batch_size=2000,
        num_workers=2,
        collate_fn=_count,
        persistent_workers=True,
        multiprocessing_context="fork",
    )
    iterator = iter(loader)
    assert sum(iterator) == NUM_RECORDS
    workers = _children(os.getpid())
    assert len(workers) >= 2, workers
    total = sum(_pss_kb(pid) for pid in [os.getpid(), *workers])
    del iterator, loader
    return baseline, total


@pytest.mark.slow
def test_serialized_data_list_is_shared_by_workers() -> None:
    totals, baselines = {}, {}
    for serialize in (True, False):
        result = subprocess.run(
            [sys.executable, __file__, str(int(serialize))],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        baseline, total = result.stdout.strip().splitlines()[-1].split()
        baselines[serialize], totals[serialize] = int(baseline), int(total)
    for serialize in (True, False):
        print(
            f"\n{NUM_RECORDS} records, 2 workers, serialize_data={serialize}: total PSS "
            f"{totals[serialize] / 1024:.1f} MiB ({(totals[serialize] - baselines[serialize]) / 1024:.1f} "
            "MiB above the process before the dataset was built)"
        )
    assert totals[False] - totals[True] > 60 * 1024, totals  # at least 60 MiB saved


if __name__ == "__main__":
    print(*_measure(serialize=bool(int(sys.argv[1]))))
