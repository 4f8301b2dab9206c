"""A project registers its own ``HistoryBuffer`` statistic and uses it in ``log_processor``.

``HistoryBuffer.register_statistics`` is called at import of the project's module (as a
project's ``engine/`` package does); the config then names it in ``custom_cfg`` next to a
built-in statistic with ``window_size='epoch'``. The values in the ``.log`` lines and in
``scalars.json`` are recomputed from the raw losses in the message hub.
"""

from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path

import numpy as np

from piston.logging import HistoryBuffer
from piston.runner import Runner

from ._common import TinyNet, loader


@HistoryBuffer.register_statistics
def project_median(self, window_size: int | None = None) -> float:
    values = self.data[0] if window_size is None else self.data[0][-window_size:]
    return float(np.median(values))


def test_registered_statistic_in_log_processor(tmp_path) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=12, batch_size=2),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        log_processor=dict(
            window_size=2,
            custom_cfg=[
                dict(
                    data_src="loss",
                    method_name="project_median",
                    window_size=3,
                    log_name="loss_med",
                ),
                dict(
                    data_src="loss",
                    method_name="max",
                    window_size="epoch",
                    log_name="loss_epoch_max",
                ),
            ],
        ),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2)),
        randomness=dict(seed=3),
    )
    runner.train()
    raw = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(raw) == 12
    (log_file,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    lines = [x for x in Path(log_file).read_text().splitlines() if "Epoch(train)" in x]
    (scalars,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data", "scalars.json"))
    records = [json.loads(x) for x in Path(scalars).read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6, 8, 10, 12]
    assert len(lines) == 6
    for line, rec in zip(lines, records):
        it = rec["step"]
        batch_idx = (it - 1) % 6 + 1
        med = np.median(raw[max(0, it - 3) : it])
        epoch_max = np.max(raw[it - batch_idx : it])
        assert abs(rec["loss_med"] - med) < 1e-6
        assert abs(rec["loss_epoch_max"] - epoch_max) < 1e-6
        assert abs(rec["loss"] - np.mean(raw[it - 2 : it])) < 1e-6
        assert re.search(
            rf"  loss: {np.mean(raw[it - 2 : it]):.4f}  loss_med: {med:.4f}  "
            rf"loss_epoch_max: {epoch_max:.4f}",
            line,
        ), line
