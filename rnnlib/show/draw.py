"""One palette, one DPI, one PNG encoder; matrices as grids of coloured cells (drawing only).

Blue is negative, white zero, red positive; what lies in 0..1 (gates, probabilities) is green. A player
renders a frame per step as soon as a word is typed: a grid writes its values as one collection of cached
letter outlines (not one ``Text`` per cell), and a ``Blit`` redraws only what changes.
"""
from __future__ import annotations

import functools
import io

import numpy as np
import PIL.Image
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

CMAP, UNIT_CMAP, ONEHOT_CMAP = "RdBu_r", "Greens", "Greys"
HIGHLIGHT, TO_COME, DPI = "#ffd54f", "0.9", 80


def check_steps(codes: list, most: int) -> list:
    """``codes`` if a picture of them stays readable and bounded (a frame per step), else a one-line error."""
    if len(codes) > most:
        raise ValueError(f"a word of {len(codes)} characters is too long to draw here: at most {most}")
    return codes


@functools.lru_cache(maxsize=4096)
def outline(text: str, size: float, width: float) -> Path:
    """The outline of ``text`` in points, centred on (0, 0), shrunk to at most ``width`` points wide."""
    if not text:
        return Path(np.zeros((1, 2)))
    path = TextPath((0, 0), text, size=size)
    (x0, y0), (x1, y1) = path.get_extents().get_points()
    return path.transformed(Affine2D().translate(-(x0 + x1) / 2, -(y0 + y1) / 2).scale(min(1, width / (x1 - x0))))


class Cells:
    """A matrix as coloured cells, its values written in (``fontsize`` None: colours only): row ``i``, column
    ``j`` is the unit square at ``(x0 + j, y0 + i)`` of axes whose y points down. ``animated``: for a ``Blit``."""

    def __init__(self, ax, x0: float, y0: float, nrows: int, ncols: int, norm: Normalize, cmap: str = CMAP,
                 fmt: str = "{:.2f}", fontsize: float | None = 8, hide_zeros: bool = False, animated: bool = False):
        self.ax, self.norm, self.fmt, self.fontsize, self.hide_zeros = ax, norm, fmt, fontsize, hide_zeros
        self.x0, self.y0, self.nrows, self.ncols = x0, y0, nrows, ncols
        self.mesh = ax.pcolormesh(x0 + np.arange(ncols + 1), y0 + np.arange(nrows + 1), np.zeros((nrows, ncols)),
                                  cmap=cmap, norm=norm, edgecolors="0.85", linewidth=0.5, animated=animated)
        box = ax.add_patch(Rectangle((x0, y0), ncols, nrows, fill=False, ec="0.5", lw=0.8, animated=animated))
        self.artists = [self.mesh, box]
        if fontsize:                                             # outlines in points: 1/72 inch
            self.numbers = PathCollection([], offsets=[(x0 + j + 0.5, y0 + i + 0.5) for i in range(nrows)
                                                       for j in range(ncols)], offset_transform=ax.transData,
                                          transform=Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans,
                                          edgecolors="none", animated=animated)
            ax.add_collection(self.numbers, autolim=False)
            self.artists.append(self.numbers)

    def set(self, values) -> "Cells":
        values = np.asarray(values, dtype=float).reshape(-1)
        self.mesh.set_array(values)
        if self.fontsize:
            points = np.diff(self.ax.transData.transform([(0, 0), (1, 0)])[:, 0])[0] * 72 / self.ax.figure.dpi
            self.numbers.set_paths([outline("" if self.hide_zeros and v == 0 else self.fmt.format(v), self.fontsize,
                                            0.9 * points) for v in values])
            dark = np.abs(self.norm(values) - 0.5) > 0.32           # white on the darkest cells
            self.numbers.set_facecolors(np.where(dark, "white", "black"))
        return self

    def caption(self, text: str, dy: float, fontsize: float = 12, below: bool = False) -> "Cells":
        self.ax.text(self.x0 + self.ncols / 2, self.y0 + self.nrows + dy if below else self.y0 - dy, text,
                     ha="center", va="top" if below else "bottom", fontsize=fontsize)
        return self


class Letters:
    """A word's symbols in a row: the current one highlighted, those to come grey (or hidden)."""

    def __init__(self, ax, symbols, x0: float, y: float, pitch: float, fontsize: float = 14,
                 hide_to_come: bool = False, **kwargs):
        self.hide = hide_to_come
        self.texts = [ax.text(x0 + i * pitch, y, s, ha="center", fontsize=fontsize, family="monospace",
                              bbox=dict(boxstyle="round,pad=0.2", lw=0), animated=True, **{"va": "center", **kwargs})
                      for i, s in enumerate(symbols)]

    def show(self, k: int) -> None:
        """Symbol ``k`` (from 0) is the current one."""
        for i, text in enumerate(self.texts):
            text.set_color("black" if i <= k else "0.65")
            text.set_visible(i <= k or not self.hide)
            text.get_bbox_patch().set_facecolor(HIGHLIGHT if i == k else "none")


def new_figure(width: float, height: float, pyplot: bool = False) -> Figure:
    """``width`` x ``height`` inches: with pyplot for a picture (a notebook shows it under the cell), without
    for a player's frames."""
    if pyplot:
        import matplotlib.pyplot as plt
        return plt.figure(figsize=(width, height), dpi=DPI)
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def unit_axes(fig: Figure, width: float, height: float):
    """One bare axes over the whole figure in cell units, y pointing down like the rows of a matrix."""
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, width), ylim=(height, 0), aspect="equal")
    ax.axis("off")
    return ax


def png(fig: Figure, redraw: bool = True) -> bytes:
    """``fig`` (``redraw=False``: what its canvas holds now) as PNG in 256 colours: half the bytes of RGB and
    faster to compress."""
    if redraw:
        fig.canvas.draw()
    buffer = io.BytesIO()
    PIL.Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3]).quantize(
        colors=256, method=PIL.Image.Quantize.FASTOCTREE).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class Blit:
    """``fig`` drawn once without its animated artists; ``png()`` draws only ``changing`` over that."""

    def __init__(self, fig: Figure, changing: list):
        fig.canvas.draw()
        self.fig, self.changing, self.background = fig, changing, fig.canvas.copy_from_bbox(fig.bbox)

    def png(self) -> bytes:
        self.fig.canvas.restore_region(self.background)
        for artist in self.changing:
            self.fig.draw_artist(artist)
        return png(self.fig, redraw=False)


def arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str, offset: tuple[float, float]) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="0.3", lw=1.3))
    ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], label, ha="center",
            va="bottom", fontsize=11, color="0.25")


def characters(ax, chars, x0: float, y0: float, across: bool, cell: float, **align) -> None:
    """The vocabulary's characters, one per cell from ``(x0, y0)``: along a row, or down a column."""
    for j, c in enumerate(chars):
        ax.text(x0 + j * across, y0 + j * (not across), c, fontsize=min(10, max(7, 25 * cell)), family="monospace", **align)


def largest_abs(*tensors: torch.Tensor) -> float:
    """The colour scale's bound: the largest |value| shown (1 when all are zero)."""
    return max(float(T.abs().max()) for T in tensors) or 1.0


def cell_inches(wide: float, high: float, fixed_width: float, fixed_height: float) -> tuple[float, float | None]:
    """Inches per cell of a picture of ``wide`` x ``high`` cells and fixed inches of labels, at most 0.42
    (which fits "-0.30" in 8-point type), and the values' font size (None: too small to write in)."""
    cell = min(0.42, (max(12.5, fixed_width + 0.2 * wide) - fixed_width) / wide, (10 - fixed_height) / high)
    return cell, 8 * cell / 0.42 if cell >= 0.3 else None
