"""The Visualizer drawing API used headless the way tutorials and downstream tools call it:
points, lines, circles, polygons, boxes, masks and feature maps, checked pixel by pixel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from piston.visualization import Visualizer


def _blank(h: int = 60, w: int = 80) -> np.ndarray:
    return np.zeros((h, w, 3), dtype=np.uint8)


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return (before != after).any(axis=2)


def test_set_get_image_and_default_font() -> None:
    vis = Visualizer()
    img = np.arange(40 * 50 * 3).reshape(40, 50, 3).astype(np.float64)
    vis.set_image(img)
    out = vis.get_image()
    assert out.dtype == np.uint8
    assert out.shape == (40, 50, 3)
    np.testing.assert_array_equal(out, img.astype(np.uint8))
    assert (vis.width, vis.height) == (50, 40)
    assert vis._default_font_size == 10
    big = Visualizer(name="big", image=np.zeros((900, 1800, 3), dtype=np.uint8))
    assert big._default_font_size == max(np.sqrt(900 * 1800) // 90, 10) == 14
    assert big.get_image().shape == (900, 1800, 3)


def test_points_lines_circles_polygons() -> None:
    vis = Visualizer(image=_blank())
    vis.draw_points(np.array([[10, 10], [70, 50]]), colors=["r", (0, 0, 255)], sizes=[64, 16])
    img = vis.get_image()
    assert img[10, 10, 0] > 200
    assert img[10, 10, 2] == 0
    assert img[50, 70, 2] > 200
    assert img[50, 70, 0] == 0
    assert _changed(_blank(), img).sum() < 120  # two small dots only

    vis.set_image(_blank())
    (
        vis.draw_lines(
            torch.tensor([[5, 75], [40, 40]]),
            torch.tensor([[30, 30], [5, 55]]),
            colors="w",
            line_widths=[1, 5],
        )
    )
    img = vis.get_image()
    assert (img[30, 20] == 255).all()
    assert (img[30, 74] == 255).all()
    # the thick vertical line covers more columns than the thin horizontal one covers rows
    assert _changed(_blank(), img)[10].sum() >= 4
    assert _changed(_blank(), img)[:, 20].sum() <= 2
    assert not _changed(_blank(), img)[0:4, 0:4].any()

    vis.set_image(_blank())
    vis.draw_circles(np.array([[40, 30]]), np.array([10]), edge_colors="g", face_colors=(255, 0, 0),
                     alpha=1.0)  # fmt: skip
    img = vis.get_image()
    assert tuple(img[30, 40]) == (255, 0, 0)  # filled centre
    assert img[30, 50, 1] > 100  # edge on the circle
    assert not _changed(_blank(), img)[0:10, 0:10].any()
    assert not _changed(_blank(), img)[30, 55:].any()

    vis.set_image(_blank())
    tri = [np.array([[10, 10], [50, 10], [10, 50]]), torch.tensor([[60, 40], [75, 40], [75, 55]])]
    vis.draw_polygons(tri, edge_colors=["b", "y"], face_colors=["w", "none"], alpha=0.5)
    img = vis.get_image()
    assert tuple(img[15, 15]) == (128, 128, 128)  # white face at alpha 0.5 over black
    assert (img[44, 71] == 0).all()  # second triangle not filled
    assert _changed(_blank(), img)[40, 60:76].sum() > 10  # but its edge is drawn
    assert not _changed(_blank(), img)[45:60, 30:55].any()


def test_bboxes_styles_and_masks() -> None:
    vis = Visualizer(image=np.full((60, 80, 3), 50, dtype=np.uint8))
    base = vis.get_image().copy()
    # a single box given as a flat (4,) tensor, then many boxes with per-box styles
    vis.draw_bboxes(torch.tensor([5.0, 5.0, 25.0, 25.0]), edge_colors=(255, 0, 0), alpha=1.0,
                    line_widths=1)  # fmt: skip
    vis.draw_bboxes(
        np.array([[40, 5, 75, 25], [40, 35, 75, 55]]),
        edge_colors=["blue", (0, 255, 0)],
        line_widths=[1, 4],
        line_styles=["-", "--"],
        face_colors=["none", "y"],
        alpha=0.8,
    )
    img = vis.get_image()
    changed = _changed(base, img)
    assert tuple(img[15, 5]) == (255, 0, 0)
    assert not changed[10:20, 10:20].any()  # face 'none'
    assert img[15, 75, 2] > 200  # blue right edge
    assert not changed[10:20, 45:70].any()
    assert changed[40:50, 45:70].all()  # yellow face
    assert not changed[28:32, :].any()
    assert not changed[:, 30:36].any()
    # the dashed box has gaps on its top edge
    top = changed[33, 42:74]
    assert top.any()
    assert not top.all()

    vis.set_image(np.full((60, 80, 3), 100, dtype=np.uint8))
    masks = np.zeros((2, 60, 80), dtype=bool)
    masks[0, :10] = True
    masks[1, 50:] = True
    vis.draw_binary_masks(masks, colors=["r", (0, 0, 255)], alphas=[0.5, 1.0])
    img = vis.get_image()
    assert tuple(img[5, 5]) == (178, 50, 50)
    assert tuple(img[55, 5]) == (0, 0, 255)
    assert (img[10:50] == 100).all()
    vis.draw_binary_masks(torch.ones(60, 80, dtype=torch.bool), colors="k", alphas=0.5)
    assert tuple(vis.get_image()[30, 30]) == (50, 50, 50)


def test_texts_positions_colors_sizes() -> None:
    vis = Visualizer(image=_blank(80, 160))
    vis.draw_texts(
        ["small", "LARGE"],
        np.array([[5, 5], [5, 40]]),
        font_sizes=[8, 24],
        colors=["r", (0, 255, 0)],
    )
    img = vis.get_image()
    small = _changed(_blank(80, 160), img)[:30]
    large = _changed(_blank(80, 160), img)[35:]
    assert small.any()
    assert large.any()
    assert large.sum() > 3 * small.sum()
    assert img[:30, :, 0].max() > 150
    assert img[:30, :, 1].max() == 0
    assert img[35:, :, 1].max() > 150
    assert img[35:, :, 0].max() == 0
    ys, xs = np.nonzero(small)
    assert ys.min() >= 4
    assert xs.min() >= 4
    vis.set_image(_blank(80, 160))
    vis.draw_texts("mid", np.array([80, 40]), horizontal_alignments="center",
                   vertical_alignments="center", font_sizes=20, colors="w")  # fmt: skip
    ys, xs = np.nonzero(_changed(_blank(80, 160), vis.get_image()))
    assert abs(xs.mean() - 80) < 8
    assert abs(ys.mean() - 40) < 8


class _Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x))


def test_draw_featmap_modes() -> None:
    torch.manual_seed(0)
    feat = torch.zeros(6, 8, 10)
    feat[2, 1, 1] = 5.0  # channel 2 has the largest sum
    feat[4, 6, 8] = 3.0
    heat = Visualizer.draw_featmap(feat, channel_reduction="squeeze_mean")
    assert heat.shape == (8, 10, 3)
    assert heat.dtype == np.uint8
    assert heat[1, 1, 0] > heat[1, 1, 2]  # hottest: red end of JET
    assert heat[0, 9, 2] > heat[0, 9, 0]  # coldest: blue end
    one = Visualizer.draw_featmap(feat, channel_reduction="select_max")
    assert one.shape == (8, 10, 3)
    assert one[1, 1, 0] > one[1, 1, 2]
    assert one[6, 8, 2] > one[6, 8, 0]

    grid = Visualizer.draw_featmap(feat, channel_reduction=None, topk=4, arrangement=(2, 2))
    assert grid.shape == (16, 20, 3)
    grid6 = Visualizer.draw_featmap(feat, channel_reduction=None, topk=20, arrangement=(4, 5))
    assert grid6.shape == (32, 50, 3)
    with pytest.raises(AssertionError, match="topk"):
        Visualizer.draw_featmap(feat, channel_reduction=None, topk=5, arrangement=(2, 2))
    with pytest.raises(AssertionError):
        Visualizer.draw_featmap(feat, channel_reduction=None, topk=0)
    single = Visualizer.draw_featmap(feat[:1], channel_reduction=None, topk=0)
    assert single.shape == (8, 10, 3)
    with pytest.raises(AssertionError, match="squeeze_mean"):
        Visualizer.draw_featmap(feat, channel_reduction="mean")

    # a real backbone output overlaid on its input image, resized for display
    image = np.full((32, 40, 3), 255, dtype=np.uint8)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    out = _Backbone()(x)[0]
    assert out.shape == (8, 32, 40)
    over = Visualizer.draw_featmap(out, overlaid_image=image, channel_reduction="squeeze_mean")
    assert over.shape == (32, 40, 3)
    resized = Visualizer.draw_featmap(out, overlaid_image=image, resize_shape=(64, 80), alpha=0.0)
    assert resized.shape == (64, 80, 3)
    assert (resized == 255).all()  # alpha 0 keeps only the (resized) image
    with pytest.warns(UserWarning, match="interpolated"):
        small = Visualizer.draw_featmap(out[:, ::2, ::2], overlaid_image=image)
    assert small.shape == (32, 40, 3)
    vis = Visualizer(image=image)
    vis.set_image(over)
    assert vis.get_image().shape == (32, 40, 3)


def test_bad_inputs() -> None:
    vis = Visualizer(image=_blank(20, 20))
    with pytest.warns(UserWarning, match="out of bounds"):
        vis.draw_bboxes(np.array([[5, 5, 30, 15]]))
    with pytest.warns(UserWarning, match="out of bounds"):
        vis.draw_points(np.array([[-3, 4]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vis.draw_bboxes(np.array([[0, 0, 20, 20]]))  # touching the border is in bounds
    with pytest.raises(AssertionError, match=r"\(N, 4\)"):
        vis.draw_bboxes(np.array([[1, 2, 3]]))
    with pytest.raises(AssertionError, match="x1 <= x2"):
        vis.draw_bboxes(np.array([[10, 10, 5, 15]]))
    with pytest.raises(TypeError, match="bboxes"):
        vis.draw_bboxes([[1, 2, 3, 4]])
    with pytest.raises(AssertionError, match="edge_colors"):
        vis.draw_bboxes(np.array([[1, 1, 4, 4], [2, 2, 5, 5]]), edge_colors=["r"])
    with pytest.raises(TypeError, match="line_widths"):
        vis.draw_bboxes(np.array([[1, 1, 4, 4]]), line_widths="2")
    with pytest.raises(AssertionError, match="image size"):
        vis.draw_binary_masks(np.zeros((1, 10, 10), dtype=bool))
    with pytest.raises(AssertionError, match="bool"):
        vis.draw_binary_masks(np.zeros((1, 20, 20), dtype=np.uint8))
    with pytest.raises(AssertionError, match="positions"):
        vis.draw_texts(["a", "b"], np.array([[1, 1]]))
    with pytest.raises(TypeError, match="texts"):
        vis.draw_texts(3, np.array([1, 1]))
    with pytest.raises(AssertionError):
        vis.draw_lines(np.array([[1, 2]]), np.array([[1, 2, 3]]))
    with pytest.raises(AssertionError, match="set_image"):
        Visualizer(name="empty").draw_points(np.array([[1, 1]]))
    with pytest.raises(AssertionError, match="featmap"):
        Visualizer.draw_featmap(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="backend"):
        vis.show(backend="tk")


def test_get_image_snapshots_and_float_palettes() -> None:
    """Progressive snapshots (one image per drawing step) and float RGB palettes, as in
    user scripts that build colours with ``np.random.rand(3) * 255``."""
    vis = Visualizer(image=_blank(40, 40))
    snapshots = []
    palette = [tuple(c) for c in np.array([[255.0, 0.4, 0.0], [0.0, 127.6, 254.9]])]
    for i, box in enumerate(np.array([[2, 2, 15, 15], [22, 22, 37, 37]])):
        vis.draw_bboxes(box[None], edge_colors=palette[i], alpha=1.0)
        snapshots.append(vis.get_image())
    # the first snapshot holds only the first box: drawing later must not alter it
    assert not _changed(_blank(40, 40), snapshots[0])[20:, 20:].any()
    assert _changed(_blank(40, 40), snapshots[1])[20:, 20:].any()
    assert tuple(snapshots[0][8, 2]) == (255, 0, 0)
    assert tuple(snapshots[1][30, 22]) == (0, 128, 255)
    # editing a returned image does not touch the canvas
    snapshots[1][:] = 0
    assert vis.get_image().any()
    # a grayscale image is drawn on (and returned) as RGB
    gray = Visualizer(name="gray", image=np.full((6, 8), 9, dtype=np.uint8))
    assert gray.get_image().shape == (6, 8, 3)
    assert (gray.get_image() == 9).all()
    with pytest.raises(ValueError, match="0, 255"):
        vis.draw_points(np.array([[5, 5]]), colors=(300.0, 0, 0))


def test_matplotlib_color_conventions() -> None:
    """CSS4 colour names work anywhere a colour is taken; a text box facecolor is handed to
    matplotlib as-is in MMEngine, so a float tuple there is matplotlib's 0-1 RGB."""
    vis = Visualizer(image=np.full((30, 60, 3), 255, dtype=np.uint8))
    vis.draw_bboxes(np.array([[1, 1, 58, 28]]), edge_colors="lightgreen", alpha=1.0)
    assert tuple(vis.get_image()[15, 1]) == (144, 238, 144)
    vis.draw_texts("ab", np.array([10, 10]), colors="darkorange", font_sizes=10,
                   bboxes=dict(facecolor=(0.0, 0.0, 0.5), alpha=1.0, pad=2))  # fmt: skip
    img = vis.get_image()
    assert tuple(img[9, 9]) == (0, 0, 128)  # inside the padded text box
    assert img[10:22, 10:30, 0].max() > 200  # orange glyphs on the navy box
    with pytest.raises(ValueError, match="notacolor"):
        vis.draw_points(np.array([[1, 1]]), colors="notacolor")


def test_downstream_call_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argument shapes mmpretrain/mmpose/mmocr visualizers pass to the drawing API."""
    vis = Visualizer(image=_blank(64, 64))
    # mmpretrain: one dict for bboxes, a font family name, an int32 (1, 2) position
    vis.draw_texts("cat 0.93", positions=np.array([(5,) * 2]).astype(np.int32), font_sizes=10,
                   font_families="monospace", colors="white",
                   bboxes=dict(facecolor="black", alpha=0.5, boxstyle="Round"))  # fmt: skip
    assert vis.get_image()[5:15, 5:40].max() > 200
    # mmpose: one limb as two (2,) arrays, keypoints as circles of width == radius
    vis.set_image(_blank(64, 64))
    vis.draw_lines(np.array((10, 50)), np.array((32, 32)), (255, 128, 0), line_widths=2)
    vis.draw_circles(np.array([20, 50]), radius=np.array([3]), face_colors=(0, 255, 0),
                     edge_colors=(0, 255, 0), alpha=0.6, line_widths=3)  # fmt: skip
    img = vis.get_image()
    assert tuple(img[32, 30]) == (255, 128, 0)
    assert img[50, 20, 1] == 153
    assert img[50, 20, 0] == 0
    # mmocr: int32 polygons with per-polygon colours, centred texts of listed sizes
    vis.set_image(_blank(64, 64))
    quad = np.array([[4, 4], [30, 4], [30, 20], [4, 20]], dtype=np.int32)
    vis.draw_polygons([quad, quad + 30], edge_colors=["r", "b"], face_colors="none")
    vis.draw_texts(["ab", "cd"], np.array([[17, 12], [47, 42]]), colors="w", font_sizes=[8, 8],
                   vertical_alignments="center", horizontal_alignments="center")  # fmt: skip
    img = vis.get_image()
    assert img[4, 15, 0] > 100
    assert img[34, 45, 2] > 100
    assert img[8:16, 12:22].min(axis=2).max() > 150  # white text inside the first quad
    # show() on a headless machine without matplotlib names the package and the extra
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    monkeypatch.setitem(__import__("sys").modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"matplotlib.*piston\[vision\]"):
        vis.show(img, win_name="pred", wait_time=0)
