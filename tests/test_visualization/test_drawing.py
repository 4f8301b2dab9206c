"""Visualizer drawing API: pixels land where the shapes are, arguments are checked like MMEngine."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from piston.visualization import Visualizer


@pytest.fixture
def vis() -> Visualizer:
    v = Visualizer()
    v.set_image(np.zeros((20, 20, 3), dtype=np.uint8))
    return v


def test_draw_before_set_image_fails() -> None:
    with pytest.raises(AssertionError, match="set_image"):
        Visualizer().draw_points(np.array([[1, 1]]))


def test_set_image_is_copied_and_chaining_returns_self(vis: Visualizer) -> None:
    src = np.zeros((8, 8, 3), dtype=np.uint8)
    vis.set_image(src)
    out = vis.draw_points(np.array([[4, 4]]), colors="w").draw_points(np.array([[1, 1]]))
    assert out is vis
    assert src.max() == 0
    assert vis.get_image()[4, 4].tolist() == [255, 255, 255]


def test_draw_bboxes_edges_and_faces(vis: Visualizer) -> None:
    vis.draw_bboxes(np.array([[2, 2, 12, 12]]), edge_colors="r", line_widths=1, alpha=1.0)
    img = vis.get_image()
    assert img[7, 2].tolist() == [255, 0, 0]  # left edge
    assert img[7, 7].tolist() == [0, 0, 0]  # face 'none'
    vis.draw_bboxes(torch.tensor([4.0, 4.0, 10.0, 10.0]), face_colors=(0, 0, 255), alpha=0.5)
    assert vis.get_image()[7, 7].tolist() == [0, 0, 128]  # 50 % blue over black


def test_draw_bboxes_argument_checks(vis: Visualizer) -> None:
    with pytest.raises(AssertionError, match="x1, y1, x2, y2"):
        vis.draw_bboxes(np.array([[10, 2, 2, 12]]))
    with pytest.raises(TypeError):
        vis.draw_bboxes([[2, 2, 12, 12]])
    with pytest.raises(AssertionError):
        vis.draw_bboxes(np.array([[1, 1, 2, 2], [3, 3, 4, 4]]), edge_colors=["r"])
    with pytest.raises(TypeError):
        vis.draw_bboxes(np.array([[1, 1, 2, 2]]), line_widths="2")
    with pytest.warns(UserWarning, match="out of bounds"):
        vis.draw_bboxes(np.array([[5, 5, 30, 30]]))


def test_draw_points_lines_and_dashes(vis: Visualizer) -> None:
    vis.draw_points(np.array([[10, 10]]), colors="g", sizes=[16])
    assert vis.get_image()[10, 10].tolist() == [0, 128, 0]
    vis.draw_lines(np.array([[0, 20]]), np.array([[3, 3]]), colors="w", line_widths=1)
    assert (vis.get_image()[3, :, 0] == 255).all()
    vis.draw_lines(np.array([[0, 19]]), np.array([[15, 15]]), colors="w", line_widths=1,
                   line_styles="--")  # fmt: skip
    row = vis.get_image()[15, :, 0]
    assert 0 < (row == 255).sum() < 20  # gaps
    with pytest.raises(AssertionError):
        vis.draw_lines(np.array([[0, 1, 2]]), np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="line style"):
        vis.draw_lines(np.array([[0, 5]]), np.array([[0, 5]]), line_styles="~")


def test_draw_circles_and_polygons(vis: Visualizer) -> None:
    vis.draw_circles(np.array([[10, 10]]), np.array([6]), edge_colors="w", line_widths=1,
                     face_colors="r", alpha=1.0)  # fmt: skip
    img = vis.get_image()
    assert img[10, 10].tolist() == [255, 0, 0]
    assert img[10, 15].tolist() == [255, 255, 255]  # pixel centres sit at +0.5
    assert img[0, 0].tolist() == [0, 0, 0]
    with pytest.raises(AssertionError):
        vis.draw_circles(np.array([[1, 1], [2, 2]]), np.array([1]))
    vis.set_image(np.zeros((20, 20, 3), dtype=np.uint8))
    vis.draw_polygons([np.array([[0, 0], [19, 0], [0, 19]])], face_colors="b", alpha=1.0)
    img = vis.get_image()
    assert img[3, 3].tolist() == [0, 0, 255]
    assert img[17, 17].tolist() == [0, 0, 0]


def test_draw_binary_masks(vis: Visualizer) -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[:, :10] = True
    vis.draw_binary_masks(mask, colors=(255, 0, 0), alphas=0.5)
    img = vis.get_image()
    assert img[5, 5].tolist() == [128, 0, 0]
    assert img[5, 15].tolist() == [0, 0, 0]
    with pytest.raises(AssertionError, match="bool"):
        vis.draw_binary_masks(mask.astype(np.uint8))
    with pytest.raises(AssertionError, match="image size"):
        vis.draw_binary_masks(np.zeros((1, 5, 5), dtype=bool))


def test_draw_texts(vis: Visualizer) -> None:
    vis.set_image(np.zeros((40, 80, 3), dtype=np.uint8))
    vis.draw_texts("Hi", np.array([5, 5]), colors="w", font_sizes=20)
    img = vis.get_image()
    assert img[:, :40].max() > 128
    assert img[:, 60:].max() == 0
    vis.draw_texts(["a", "b"], np.array([[50, 5], [60, 5]]), bboxes=dict(facecolor="r", alpha=1))
    assert (vis.get_image()[:, 45:75, 0] == 255).any()
    with pytest.raises(AssertionError):
        vis.draw_texts(["a", "b"], np.array([5, 5]))
    with pytest.raises(TypeError):
        vis.draw_texts(3, np.array([5, 5]))
    with pytest.raises(ValueError, match="color"):
        vis.draw_texts("a", np.array([5, 5]), colors="notacolor")


def test_draw_featmap_modes() -> None:
    feat = torch.zeros(3, 4, 6)
    feat[1, 0, 0] = 10.0
    heat = Visualizer.draw_featmap(feat, channel_reduction="select_max")
    assert heat.shape == (4, 6, 3) and heat.dtype == np.uint8  # noqa: PT018
    assert heat[0, 0].tolist() == [128, 0, 0]  # JET max: dark red
    assert heat[3, 5].tolist() == [0, 0, 128]  # JET min: dark blue
    image = np.full((8, 12, 3), 255, dtype=np.uint8)
    with pytest.warns(UserWarning, match="interpolated"):
        overlaid = Visualizer.draw_featmap(feat, image, alpha=0.5)
    assert overlaid.shape == (8, 12, 3)
    resized = Visualizer.draw_featmap(feat, resize_shape=(10, 10))
    assert resized.shape == (10, 10, 3)
    grid = Visualizer.draw_featmap(feat, channel_reduction=None, topk=2, arrangement=(1, 2))
    assert grid.shape == (4, 12, 3)
    assert Visualizer.draw_featmap(feat, channel_reduction=None, topk=0).shape == (4, 6, 3)
    with pytest.raises(AssertionError):
        Visualizer.draw_featmap(torch.zeros(2, 4, 4), channel_reduction=None, topk=0)
    with pytest.raises(AssertionError):
        Visualizer.draw_featmap(feat, channel_reduction="max")
    with pytest.raises(AssertionError):
        Visualizer.draw_featmap(feat.numpy())
    with pytest.raises(AssertionError):
        Visualizer.draw_featmap(feat, channel_reduction=None, topk=5, arrangement=(1, 2))


def test_show_backend_checks(vis: Visualizer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="backend"):
        vis.show(backend="tk")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        vis.show()
