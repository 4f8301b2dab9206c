"""The Visualizer in two real gloo processes: drawing and recording happen on rank 0 only.

(``add_scalars``/``dataset_meta`` across ranks are also checked with the logger, in
tests/test_logging/test_logger.py; this pair covers the image and drawing API and ``close``.)
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from _dist import run_in_processes


def _check_drawing_is_rank_zero_only(rank: int, world_size: int, tmp_dir: str) -> None:
    from piston.config import Config
    from piston.visualization import BaseVisBackend, LocalVisBackend, Visualizer

    closed: list[int] = []

    class Closing(BaseVisBackend):
        @property
        def experiment(self):
            return self

        def _init_env(self) -> None:
            pass

        def close(self) -> None:
            closed.append(rank)

    save_dir = os.path.join(tmp_dir, f"rank{rank}")
    vis = Visualizer.get_instance(
        "dist_vis", vis_backends=[LocalVisBackend(save_dir), Closing("unused")]
    )
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    assert vis.set_image(image) is None
    drawn = vis.draw_bboxes(np.array([[1, 1, 8, 8]]), edge_colors="r", alpha=1.0)
    drawn_points = vis.draw_points(np.array([[5, 5]]))
    heat = Visualizer.draw_featmap(__import__("torch").ones(1, 4, 4))  # a staticmethod: all ranks
    assert heat.shape == (4, 4, 3)
    result = vis.get_image()
    vis.add_image("img", image, step=2)
    vis.add_config(Config({"a": 1}))
    if rank == 0:
        assert drawn is vis
        assert drawn_points is vis
        assert result[1, 4].tolist() == [255, 0, 0]
    else:  # master_only: nothing drawn, nothing returned, no image was even set
        assert drawn is None
        assert drawn_points is None
        assert result is None
        assert getattr(vis, "_image", None) is None
    vis.close()  # not rank-gated: every rank closes its backends
    assert closed == [rank]


@pytest.mark.distributed
def test_drawing_and_images_only_on_rank_zero(tmp_path) -> None:
    run_in_processes(_check_drawing_is_rank_zero_only, 2, str(tmp_path))
    rank0 = tmp_path / "rank0"
    assert (rank0 / "vis_image" / "img_2.png").is_file()
    assert (rank0 / "config.py").is_file()
    assert not (tmp_path / "rank1").exists()
