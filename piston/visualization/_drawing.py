"""Drawing API of the Visualizer (``draw_*``, ``draw_featmap``, ``show``).

Design note: MMEngine draws on a matplotlib canvas; piston does not depend on matplotlib, so shapes
are rasterized directly into the RGB uint8 image set with ``set_image`` (vectorized numpy over each
shape's bounding box: distance-to-segment strokes with dash patterns, even-odd polygon fill,
alpha blending). Text needs a font rasterizer and uses Pillow, imported when ``draw_texts`` is
called. ``show`` imports matplotlib (or OpenCV) lazily. Every method checks its arguments like
MMEngine (wrong types -> TypeError, wrong lengths -> AssertionError, shapes outside the image ->
``UserWarning``), draws on rank 0 only and returns ``self`` for chaining.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import torch

from piston.dist import master_only

__all__ = ["DrawingMixin", "color_to_rgb"]

_NAMED_COLORS = {
    "b": (0, 0, 255), "g": (0, 128, 0), "r": (255, 0, 0), "c": (0, 191, 191),
    "m": (191, 0, 191), "y": (191, 191, 0), "k": (0, 0, 0), "w": (255, 255, 255),
    "red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "cyan": (0, 255, 255), "magenta": (255, 0, 255), "white": (255, 255, 255),
    "black": (0, 0, 0), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "orange": (255, 165, 0), "purple": (128, 0, 128), "pink": (255, 192, 203),
    "brown": (165, 42, 42), "lime": (0, 255, 0), "navy": (0, 0, 128), "teal": (0, 128, 128),
    "olive": (128, 128, 0), "maroon": (128, 0, 0), "silver": (192, 192, 192),
    "gold": (255, 215, 0), "violet": (238, 130, 238), "indigo": (75, 0, 130),
}  # fmt: skip
_DASHES = {"-": None, "solid": None, "--": (6.0, 4.0), "dashed": (6.0, 4.0), ":": (1.5, 3.0),
           "dotted": (1.5, 3.0), "-.": (6.0, 3.0, 1.5, 3.0), "dashdot": (6.0, 3.0, 1.5, 3.0)}  # fmt: skip


def color_to_rgb(color: Any) -> tuple[int, int, int] | None:
    """``'g'``/``'red'``/``'#ff0000'``/``(255, 0, 0)`` -> RGB ints; ``'none'`` -> None."""
    if isinstance(color, str):
        name = color.strip().lower()
        if name == "none":
            return None
        if name.startswith("#") and len(name) == 7:
            return tuple(int(name[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
        if name not in _NAMED_COLORS:
            try:  # the CSS4 names matplotlib knows ('lightgreen', 'darkorange', ...)
                from PIL import ImageColor

                return ImageColor.getrgb(name)[:3]  # type: ignore[return-value]
            except (ImportError, ValueError):
                raise ValueError(
                    f"Unknown color {color!r}; use a matplotlib/CSS color name (e.g. "
                    f"{sorted(_NAMED_COLORS)[:6]}), '#rrggbb' or an RGB tuple in [0, 255]."
                ) from None
        return _NAMED_COLORS[name]
    if isinstance(color, tuple) and len(color) == 3:
        # MMEngine only range-checks the channels, so float palettes (e.g. ``rand(3) * 255``) work
        if not all(
            isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool)
            and 0 <= c <= 255
            for c in color
        ):  # fmt: skip
            raise ValueError(f"RGB color tuples must hold numbers in [0, 255], got {color!r}.")
        return tuple(round(float(c)) for c in color)  # type: ignore[return-value]
    raise TypeError(f"a color must be a str or an RGB tuple, got {type(color).__name__}: {color!r}")


def _bbox_face(color: Any) -> tuple[int, int, int] | None:
    """A text ``bboxes`` facecolor goes to matplotlib unconverted in MMEngine, so float tuples
    are matplotlib's 0-1 RGB(A); everything else is read like the other colors."""
    if (
        isinstance(color, (tuple, list))
        and len(color) in (3, 4)
        and all(isinstance(c, (float, np.floating)) and 0 <= c <= 1 for c in color)
    ):
        return tuple(round(float(c) * 255) for c in color[:3])  # type: ignore[return-value]
    return color_to_rgb(color)


def _array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(
        f"`{name}` must be a numpy array or a torch tensor, got {type(value).__name__}."
    )


def _per_item(name: str, value: Any, n: int, types: tuple) -> list:
    """Broadcast a single style value to ``n`` shapes; a list must have at least ``n`` items."""
    if not isinstance(value, types):
        raise TypeError(f"`{name}` must be one of {[t.__name__ for t in types]}, got {value!r}.")
    if isinstance(value, list):
        if len(value) < n:
            raise AssertionError(f"`{name}` has {len(value)} items but {n} shapes are drawn.")
        return value[:n]
    return [value] * n


class DrawingMixin:
    """The ``draw_*`` methods; mixed into :class:`~piston.visualization.Visualizer`."""

    _image: np.ndarray | None
    _default_font_size: float

    # ------------------------------------------------------------------ helpers
    def _canvas(self) -> np.ndarray:
        if getattr(self, "_image", None) is None:
            raise AssertionError("Please set an image with `set_image` before drawing.")
        if self._image.ndim == 2:
            self._image = np.repeat(self._image[..., None], 3, axis=2)
        self._image = np.ascontiguousarray(self._image)
        return self._image

    def _warn_out_of_bounds(self, what: str, xs: np.ndarray, ys: np.ndarray) -> None:
        h, w = self._canvas().shape[:2]
        if (xs < 0).any() or (xs > w).any() or (ys < 0).any() or (ys > h).any():
            warnings.warn(
                f"The {what} is out of bounds, the drawn {what} may not be in the image.",
                UserWarning,
                stacklevel=3,
            )

    def _blend(self, mask: np.ndarray, y0: int, x0: int, rgb: Any, alpha: float) -> None:
        if rgb is None or not mask.any():
            return
        img = self._canvas()
        region = img[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]]
        color = np.asarray(rgb, dtype=np.float32)
        mixed = region[mask].astype(np.float32) * (1.0 - alpha) + color * alpha
        region[mask] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)

    def _grid(self, xmin: float, ymin: float, xmax: float, ymax: float) -> tuple | None:
        h, w = self._canvas().shape[:2]
        x0, y0 = max(math.floor(xmin), 0), max(math.floor(ymin), 0)
        x1, y1 = min(math.ceil(xmax) + 1, w), min(math.ceil(ymax) + 1, h)
        if x0 >= x1 or y0 >= y1:
            return None
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        return x0, y0, xs + 0.5, ys + 0.5

    def _stroke(self, pts: np.ndarray, rgb: Any, width: float, style: str, alpha: float,
                closed: bool) -> None:  # fmt: skip
        if style not in _DASHES:
            raise ValueError(f"line style {style!r} is not one of {sorted(_DASHES)}.")
        dashes = _DASHES[style]
        half = max(float(width), 1.0) / 2.0
        segments = list(itertools.pairwise(pts)) + ([(pts[-1], pts[0])] if closed else [])
        travelled = 0.0
        for p, q in segments:
            grid = self._grid(min(p[0], q[0]) - half, min(p[1], q[1]) - half,
                              max(p[0], q[0]) + half, max(p[1], q[1]) + half)  # fmt: skip
            length = float(np.hypot(*(q - p)))
            if grid is not None:
                x0, y0, xs, ys = grid
                d = q - p
                t = ((xs - p[0]) * d[0] + (ys - p[1]) * d[1]) / max(length**2, 1e-12)
                t = np.clip(t, 0.0, 1.0)
                dist = np.hypot(xs - (p[0] + t * d[0]), ys - (p[1] + t * d[1]))
                mask = dist <= half
                if dashes is not None:
                    period = sum(dashes) * half * 2
                    phase = (travelled + t * length) % period
                    on = np.zeros_like(mask)
                    start = 0.0
                    for i, seg in enumerate(dashes):
                        seg *= half * 2
                        if i % 2 == 0:
                            on |= (phase >= start) & (phase < start + seg)
                        start += seg
                    mask &= on
                self._blend(mask, y0, x0, rgb, alpha)
            travelled += length

    def _fill_polygon(self, pts: np.ndarray, rgb: Any, alpha: float) -> None:
        if rgb is None:
            return
        grid = self._grid(pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
        if grid is None:
            return
        x0, y0, xs, ys = grid
        inside = np.zeros(xs.shape, dtype=bool)
        for (xa, ya), (xb, yb) in zip(pts, np.roll(pts, -1, axis=0)):
            crosses = (ya > ys) != (yb > ys)
            x_at = xa + (ys - ya) * (xb - xa) / ((yb - ya) if yb != ya else 1e-12)
            inside ^= crosses & (xs < x_at)
        self._blend(inside, y0, x0, rgb, alpha)

    def _shape_styles(self, n: int, edge_colors: Any, line_styles: Any, line_widths: Any,
                      face_colors: Any) -> list[tuple]:  # fmt: skip
        color_types = (str, tuple, list)
        edges = _per_item("edge_colors", edge_colors, n, color_types)
        styles = _per_item("line_styles", line_styles, n, (str, list))
        widths = _per_item("line_widths", line_widths, n, (int, float, list))
        faces = _per_item("face_colors", face_colors, n, color_types)
        return [
            (color_to_rgb(e), s, float(w), color_to_rgb(f))
            for e, s, w, f in zip(edges, styles, widths, faces)
        ]

    # ------------------------------------------------------------------ drawing API
    @master_only
    def draw_points(self, positions: Any, colors: Any = "g", marker: str | None = None,
                    sizes: Any = None) -> Any:  # fmt: skip
        """Draw filled points (``positions``: ``(N, 2)`` xy); ``sizes`` are areas as in
        matplotlib's ``scatter`` (default 36, i.e. a 6-pixel dot)."""
        pos = _array("positions", positions)
        if pos.shape[-1] != 2:
            raise AssertionError(f"The shape of `positions` should be (N, 2), got {pos.shape}.")
        pos = pos.reshape(-1, 2)
        self._warn_out_of_bounds("point", pos[:, 0], pos[:, 1])
        rgbs = [color_to_rgb(c) for c in _per_item("colors", colors, len(pos), (str, tuple, list))]
        sizes = _per_item("sizes", 36 if sizes is None else sizes, len(pos), (int, float, list))
        for (x, y), rgb, size in zip(pos.astype(np.float32), rgbs, sizes):
            r = math.sqrt(float(size)) / 2
            grid = self._grid(x - r, y - r, x + r, y + r)
            if grid is not None:
                x0, y0, xs, ys = grid
                if marker in ("s", "square"):
                    mask = (abs(xs - x) <= r) & (abs(ys - y) <= r)
                else:
                    mask = np.hypot(xs - x, ys - y) <= r
                self._blend(mask, y0, x0, rgb, 1.0)
        return self

    @master_only
    def draw_lines(self, x_datas: Any, y_datas: Any, colors: Any = "g", line_styles: Any = "-",
                   line_widths: Any = 2) -> Any:  # fmt: skip
        """Draw ``N`` segments; row ``i`` of ``x_datas``/``y_datas`` holds its two x / y values."""
        xs, ys = _array("x_datas", x_datas), _array("y_datas", y_datas)
        if xs.shape != ys.shape or xs.shape[-1] != 2:
            raise AssertionError("`x_datas` and `y_datas` must both have shape (N, 2).")
        xs, ys = xs.reshape(-1, 2).astype(np.float32), ys.reshape(-1, 2).astype(np.float32)
        self._warn_out_of_bounds("line", xs, ys)
        styles = self._shape_styles(len(xs), colors, line_styles, line_widths, "none")
        for x, y, (rgb, style, width, _) in zip(xs, ys, styles):
            self._stroke(np.stack([x, y], axis=1), rgb, width, style, 1.0, closed=False)
        return self

    @master_only
    def draw_circles(self, center: Any, radius: Any, edge_colors: Any = "g", line_styles: Any = "-",
                     line_widths: Any = 2, face_colors: Any = "none", alpha: float = 0.8) -> Any:  # fmt: skip
        """Draw circles (``center``: ``(N, 2)``, ``radius``: ``(N,)``)."""
        centers = _array("center", center).reshape(-1, 2).astype(np.float32)
        radii = _array("radius", radius).reshape(-1).astype(np.float32)
        if len(centers) != len(radii):
            raise AssertionError(f"{len(centers)} centers but {len(radii)} radii.")
        self._warn_out_of_bounds(
            "circle", np.concatenate([centers[:, 0] - radii, centers[:, 0] + radii]),
            np.concatenate([centers[:, 1] - radii, centers[:, 1] + radii]),
        )  # fmt: skip
        styles = self._shape_styles(
            len(centers), edge_colors, line_styles, line_widths, face_colors
        )
        for (cx, cy), r, (edge, style, width, face) in zip(centers, radii, styles):
            steps = max(int(2 * math.pi * r), 16)
            angles = np.linspace(0, 2 * math.pi, steps, endpoint=False)
            ring = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], axis=1)
            self._fill_polygon(ring, face, alpha)
            self._stroke(ring, edge, width, style, alpha, closed=True)
        return self

    @master_only
    def draw_polygons(self, polygons: Any, edge_colors: Any = "g", line_styles: Any = "-",
                      line_widths: Any = 2, face_colors: Any = "none", alpha: float = 0.8) -> Any:  # fmt: skip
        """Draw polygons: one ``(K, 2)`` array or a list of them."""
        items = polygons if isinstance(polygons, list) else [polygons]
        arrays = [_array("polygons", p).reshape(-1, 2).astype(np.float32) for p in items]
        for pts in arrays:
            self._warn_out_of_bounds("polygon", pts[:, 0], pts[:, 1])
        styles = self._shape_styles(len(arrays), edge_colors, line_styles, line_widths, face_colors)
        for pts, (edge, style, width, face) in zip(arrays, styles):
            self._fill_polygon(pts, face, alpha)
            self._stroke(pts, edge, width, style, alpha, closed=True)
        return self

    @master_only
    def draw_bboxes(self, bboxes: Any, edge_colors: Any = "g", line_styles: Any = "-",
                    line_widths: Any = 2, face_colors: Any = "none", alpha: float = 0.8) -> Any:  # fmt: skip
        """Draw ``(N, 4)`` ``x1, y1, x2, y2`` boxes (as polygons)."""
        boxes = _array("bboxes", bboxes)
        if boxes.shape[-1] != 4:
            raise AssertionError(f"The shape of `bboxes` should be (N, 4), but got {boxes.shape}.")
        boxes = boxes.reshape(-1, 4).astype(np.float32)
        if not ((boxes[:, 0] <= boxes[:, 2]).all() and (boxes[:, 1] <= boxes[:, 3]).all()):
            raise AssertionError(
                f"The expected bbox format is (x1, y1, x2, y2) with x1 <= x2, y1 <= y2, but got "
                f"{boxes.tolist()}."
            )
        polygons = [
            np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)
            for x1, y1, x2, y2 in boxes
        ]
        return self.draw_polygons(polygons, edge_colors, line_styles, line_widths, face_colors,
                                  alpha)  # fmt: skip

    @master_only
    def draw_binary_masks(self, binary_masks: Any, colors: Any = "g", alphas: Any = 0.8) -> Any:
        """Blend ``(N, H, W)`` (or ``(H, W)``) boolean masks of the image's size into it."""
        masks = _array("binary_masks", binary_masks)
        if masks.dtype != bool:
            raise AssertionError(f"`binary_masks` must have dtype bool, got {masks.dtype}.")
        masks = masks[None] if masks.ndim == 2 else masks
        img = self._canvas()
        if masks.shape[1:] != img.shape[:2]:
            raise AssertionError(
                f"`binary_masks` must have the image size {img.shape[:2]}, got {masks.shape[1:]}."
            )
        rgbs = [
            color_to_rgb(c) for c in _per_item("colors", colors, len(masks), (str, tuple, list))
        ]
        alphas = _per_item("alphas", alphas, len(masks), (int, float, list))
        for mask, rgb, a in zip(masks, rgbs, alphas):
            self._blend(mask, 0, 0, rgb, float(a))
        return self

    @master_only
    def draw_texts(self, texts: str | list[str], positions: Any, font_sizes: Any = None,
                   colors: Any = "g", vertical_alignments: Any = "top",
                   horizontal_alignments: Any = "left", font_families: Any = "sans-serif",
                   bboxes: Any = None, font_properties: Any = None) -> Any:  # fmt: skip
        """Draw text at ``positions`` (``(2,)`` or ``(N, 2)``); needs Pillow.

        ``bboxes``: dict (or list of dicts) with ``facecolor``, ``alpha``, ``pad`` drawn behind
        the text. ``font_properties``: a font file path (or an object with ``get_file()``, e.g.
        matplotlib's ``FontProperties``); ``font_families`` is accepted for compatibility.
        """
        try:
            from PIL import Image, ImageDraw, ImageFont
        except ImportError as exc:  # pragma: no cover - Pillow ships with torchvision
            raise ImportError("draw_texts needs Pillow: pip install pillow") from exc
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"`texts` must be a str or a list of str, got {texts!r}.")
        pos = _array("positions", positions).reshape(-1, 2).astype(np.float32)
        if len(pos) != len(texts):
            raise AssertionError(f"{len(texts)} texts but {len(pos)} positions.")
        self._warn_out_of_bounds("text", pos[:, 0], pos[:, 1])
        n = len(texts)
        sizes = _per_item("font_sizes", self._default_font_size if font_sizes is None
                          else font_sizes, n, (int, float, np.floating, list))  # fmt: skip
        rgbs = [color_to_rgb(c) for c in _per_item("colors", colors, n, (str, tuple, list))]
        valigns = _per_item("vertical_alignments", vertical_alignments, n, (str, list))
        haligns = _per_item("horizontal_alignments", horizontal_alignments, n, (str, list))
        _per_item("font_families", font_families, n, (str, list))
        boxes = _per_item("bboxes", bboxes, n, (dict, list, type(None)))
        fonts = _per_item("font_properties", font_properties, n, (str, list, object))
        img = self._canvas()
        for text, (x, y), size, rgb, va, ha, box, fp in zip(
            texts, pos, sizes, rgbs, valigns, haligns, boxes, fonts
        ):
            path = fp.get_file() if hasattr(fp, "get_file") else fp
            font = ImageFont.truetype(path, int(size)) if isinstance(path, str) else None
            if font is None:
                try:
                    font = ImageFont.load_default(size=float(size))
                except TypeError:  # pragma: no cover - Pillow < 10.1
                    font = ImageFont.load_default()
            left, top, right, bottom = font.getbbox(text)
            tw, th = right - left, bottom - top
            dx = {"left": 0.0, "center": -tw / 2, "right": -tw}.get(ha)
            dy = {"top": 0.0, "center": -th / 2, "baseline": -th, "bottom": -th}.get(va)
            if dx is None or dy is None:
                raise ValueError(f"unknown text alignment {ha!r}/{va!r}.")
            ox, oy = x + dx, y + dy
            if box:
                pad = float(box.get("pad", 2))
                self._fill_polygon(
                    np.array([[ox - pad, oy - pad], [ox + tw + pad, oy - pad],
                              [ox + tw + pad, oy + th + pad], [ox - pad, oy + th + pad]]),
                    _bbox_face(box.get("facecolor", "black")), float(box.get("alpha", 0.8)),
                )  # fmt: skip
            layer = Image.new("L", (img.shape[1], img.shape[0]), 0)
            ImageDraw.Draw(layer).text((ox - left, oy - top), text, fill=255, font=font)
            coverage = np.asarray(layer, dtype=np.float32) / 255.0
            mask = coverage > 0
            if mask.any() and rgb is not None:
                a = coverage[mask][:, None]
                img[mask] = np.rint(img[mask] * (1 - a) + np.asarray(rgb) * a).astype(np.uint8)
        return self

    @staticmethod
    def draw_featmap(featmap: torch.Tensor, overlaid_image: np.ndarray | None = None,
                     channel_reduction: str | None = "squeeze_mean", topk: int = 20,
                     arrangement: tuple[int, int] = (4, 5), resize_shape: tuple | None = None,
                     alpha: float = 0.5) -> np.ndarray:  # fmt: skip
        """Render a ``(C, H, W)`` feature map as a JET heat map (RGB uint8), optionally overlaid
        on an image; see the spec for ``channel_reduction``/``topk``/``arrangement``."""
        if not isinstance(featmap, torch.Tensor):
            raise AssertionError(f"`featmap` should be a torch.Tensor, got {type(featmap)}.")
        if featmap.ndim != 3:
            raise AssertionError(
                f"`featmap` should be (C, H, W), got shape {tuple(featmap.shape)}."
            )
        if channel_reduction not in ("squeeze_mean", "select_max", None):
            raise AssertionError(
                f"channel_reduction must be 'squeeze_mean', 'select_max' or None, got "
                f"{channel_reduction!r}."
            )
        featmap = featmap.detach().float().cpu()
        if overlaid_image is not None:
            overlaid_image = np.asarray(overlaid_image)
            if overlaid_image.ndim == 2:
                overlaid_image = np.repeat(overlaid_image[..., None], 3, axis=2)
            if overlaid_image.shape[:2] != tuple(featmap.shape[1:]):
                warnings.warn(
                    f"Since the spatial dimensions of overlaid_image: {overlaid_image.shape[:2]} "
                    f"and featmap: {tuple(featmap.shape[1:])} are not the same, the feature map "
                    "will be interpolated. This may cause mismatch problems.",
                    UserWarning,
                    stacklevel=2,
                )
                featmap = _resize(featmap, overlaid_image.shape[:2])
        if resize_shape is not None:
            featmap = _resize(featmap, tuple(resize_shape))
            if overlaid_image is not None:
                overlaid_image = _resize_image(overlaid_image, tuple(resize_shape))
        if channel_reduction == "squeeze_mean":
            return _heat(featmap.mean(0), overlaid_image, alpha)
        if channel_reduction == "select_max":
            return _heat(featmap[featmap.sum(dim=(1, 2)).argmax()], overlaid_image, alpha)
        if topk <= 0:
            if featmap.shape[0] not in (1, 3):
                raise AssertionError(
                    "With channel_reduction=None and topk <= 0 the feature map must have 1 or 3 "
                    f"channels, got {featmap.shape[0]}."
                )
            feat = featmap[0] if featmap.shape[0] == 1 else featmap.permute(1, 2, 0)
            return _heat(feat, overlaid_image, alpha)
        rows, cols = arrangement
        if rows * cols < topk:
            raise AssertionError(f"arrangement {arrangement} holds fewer than topk={topk} maps.")
        k = min(topk, featmap.shape[0])
        order = featmap.sum(dim=(1, 2)).topk(k).indices
        h, w = featmap.shape[1:]
        grid = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
        for i, channel in enumerate(order.tolist()):
            r, c = divmod(i, cols)
            grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = _heat(
                featmap[channel], overlaid_image, alpha
            )
        return grid

    @master_only
    def show(self, drawn_img: np.ndarray | None = None, win_name: str = "image",
             wait_time: float = 0.0, continue_key: str = " ", backend: str = "matplotlib") -> None:  # fmt: skip
        """Display ``drawn_img`` (default: the current image) with matplotlib or OpenCV."""
        if backend not in ("matplotlib", "cv2"):
            raise ValueError(f"backend must be 'matplotlib' or 'cv2', got {backend!r}.")
        img = self._canvas() if drawn_img is None else np.asarray(drawn_img)
        if backend == "cv2":
            try:
                import cv2
            except ImportError as exc:
                raise ImportError(
                    "show(backend='cv2') needs OpenCV: pip install opencv-python "
                    "(or the extra: pip install 'piston[vision]')"
                ) from exc
            cv2.imshow(win_name, np.ascontiguousarray(img[..., ::-1]))
            cv2.waitKey(int(wait_time * 1000))
            return
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                "show() needs matplotlib: pip install matplotlib "
                "(or the extra: pip install 'piston[vision]')"
            ) from exc
        fig = plt.figure(win_name, **getattr(self, "fig_show_cfg", {}))
        plt.imshow(img)
        plt.axis("off")
        if wait_time > 0:
            plt.pause(wait_time)
            plt.close(fig)
        else:
            plt.show()


def _resize(featmap: torch.Tensor, size: tuple) -> torch.Tensor:
    out = torch.nn.functional.interpolate(featmap[None], size=size, mode="bilinear",
                                          align_corners=False)  # fmt: skip
    return out[0]


def _resize_image(image: np.ndarray, size: tuple) -> np.ndarray:
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()
    return _resize(tensor, size).permute(1, 2, 0).round().clamp(0, 255).byte().numpy()


def _jet(values: np.ndarray) -> np.ndarray:
    """OpenCV's COLORMAP_JET for uint8 values, as RGB."""
    v = values.astype(np.float32) / 255.0
    r = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return np.rint(np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)


def _heat(feat: torch.Tensor, overlaid_image: np.ndarray | None, alpha: float) -> np.ndarray:
    arr = feat.numpy()
    lo, hi = float(arr.min()), float(arr.max())
    norm = np.rint((arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)).astype(np.uint8)
    heat = _jet(norm) if norm.ndim == 2 else norm
    if overlaid_image is None:
        return heat
    mixed = overlaid_image.astype(np.float32) * (1 - alpha) + heat.astype(np.float32) * alpha
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
