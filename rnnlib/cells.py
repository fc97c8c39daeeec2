"""Matrices drawn as grids of coloured cells, and the fast renderer of the player's frames.

    Cells(ax, x0, y0, nrows, ncols, norm)   a matrix as coloured cells with its values written in
    FramePainter(word, vocab, W, U, b)      lays out one frame of the loop; .png(step) draws a Step
    render_frames(steps, vocab, W, U, b)    one PNG per step, all on one colour scale

Blue is negative, white zero, red positive. Drawing only: no notebook writes
this code out; its frames are the player of notebook 05, 'Watch it run'. A frame must be fast (a player
renders one per character as soon as a word is typed), hence two tricks: the
values are drawn as one collection of cached letter outlines instead of one
``Text`` per cell, and a frame redraws only what changes over a saved
background. ``rnnlib.pictures`` reuses the helpers for its static pictures.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np
import PIL.Image
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from .steps import Step, check_matrices
from .vocab import Vocab, normalize

CMAP = "RdBu_r"  # blue below zero, white at zero, red above
HIGHLIGHT = "#ffd54f"  # the current character
DPI = 80


@functools.lru_cache(maxsize=4096)
def _number_outline(text: str, size: float) -> Path:
    """The outline of ``text`` in points, centred on (0, 0)."""
    if not text:
        return Path(np.zeros((1, 2)))
    path = TextPath((0, 0), text, size=size)
    (x0, y0), (x1, y1) = path.get_extents().get_points()
    return path.transformed(Affine2D().translate(-(x0 + x1) / 2, -(y0 + y1) / 2))


class Cells:
    """A matrix drawn as a grid of coloured cells with its values written in.

    Row ``i``, column ``j`` is the unit square at ``(x0 + j, y0 + i)``; the axes'
    y axis points down, so row 0 is on top, as in print. ``animated`` cells are
    left out of a full draw: a painter redraws them alone, frame after frame.
    The values are drawn as one collection of letter outlines, far faster than
    one ``Text`` per cell: that is what keeps a frame fast. Drawing only, not
    written out in a notebook; seen in notebook 05, 'Watch it run'.
    """

    def __init__(self, ax, x0: float, y0: float, nrows: int, ncols: int, norm: Normalize,
                 cmap: str = CMAP, fmt: str = "{:.2f}", fontsize: float | None = 8,
                 hide_zeros: bool = False, animated: bool = False):
        self.norm, self.fmt, self.fontsize, self.hide_zeros = norm, fmt, fontsize, hide_zeros
        self.x0, self.y0, self.nrows, self.ncols = x0, y0, nrows, ncols
        self.mesh = ax.pcolormesh(x0 + np.arange(ncols + 1), y0 + np.arange(nrows + 1),
                                  np.zeros((nrows, ncols)), cmap=cmap, norm=norm,
                                  edgecolors="0.85", linewidth=0.5, animated=animated)
        self.outline = ax.add_patch(Rectangle((x0, y0), ncols, nrows, fill=False, edgecolor="0.5",
                                              linewidth=0.8, animated=animated))
        self.artists = [self.mesh, self.outline]
        if fontsize:  # None: cells too small to write a number in
            centres = [(x0 + j + 0.5, y0 + i + 0.5) for i in range(nrows) for j in range(ncols)]
            # outlines are in points: 1/72 inch, then inches to pixels
            self.numbers = PathCollection([], offsets=centres, offset_transform=ax.transData,
                                          transform=Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans,
                                          edgecolors="none", animated=animated)
            ax.add_collection(self.numbers, autolim=False)
            self.artists.append(self.numbers)

    def set(self, values) -> None:
        values = np.asarray(values, dtype=float).reshape(self.nrows, self.ncols).ravel()
        self.mesh.set_array(values)
        if not self.fontsize:
            return
        texts = ["" if self.hide_zeros and v == 0 else self.fmt.format(v) for v in values]
        self.numbers.set_paths([_number_outline(text, self.fontsize) for text in texts])
        # white on the darkest cells, black elsewhere
        dark = np.abs(self.norm(values) - 0.5) > 0.32
        self.numbers.set_facecolors(["white" if d else "black" for d in dark])

    def caption(self, ax, text: str, dy: float = 0.25, fontsize: float = 12) -> None:
        ax.text(self.x0 + self.ncols / 2, self.y0 - dy, text, ha="center", va="bottom", fontsize=fontsize)


class WordStrip:
    """The word's letters in a row; the current one highlighted, those to come in grey."""

    def __init__(self, ax, word: str, x0: float, y: float, pitch: float = 0.9, fontsize: float = 14,
                 animated: bool = False):
        self.letters = [ax.text(x0 + i * pitch, y, c, ha="center", va="center", fontsize=fontsize,
                                family="monospace", bbox=dict(boxstyle="round,pad=0.25", lw=0),
                                animated=animated)
                        for i, c in enumerate(word)]

    def show(self, t: int) -> None:
        for i, letter in enumerate(self.letters, start=1):
            letter.set_color("black" if i <= t else "0.65")
            letter.get_bbox_patch().set_facecolor(HIGHLIGHT if i == t else "none")


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure outside pyplot (so a notebook never shows it by itself), one bare axes in data units."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    return fig, ax


def frame_axes(ax, width_units: float, height_units: float) -> None:
    ax.set_xlim(0, width_units)
    ax.set_ylim(height_units, 0)  # y down, like rows of a matrix
    ax.set_aspect("equal")
    ax.axis("off")


def canvas_png(canvas: FigureCanvasAgg) -> bytes:
    """The pixels the canvas holds now, as PNG (``savefig`` would redraw everything)."""
    image = PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)  # faster than the default level, a little larger
    return buffer.getvalue()


def largest_abs(*tensors: torch.Tensor) -> float:
    """The colour scale's bound: the largest |value| shown (1 when all are zero)."""
    largest = max(float(T.abs().max()) for T in tensors)
    return largest if largest > 0 else 1.0


def arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str = "",
           label_offset: tuple[float, float] = (0, -0.3)) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="0.3", lw=1.3))
    if label:
        ax.text((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1],
                label, ha="center", va="bottom", fontsize=11, color="0.25")


def layout(ncells_wide: int, ncells_high: int, fixed_width: float, fixed_height: float,
            max_width: float = 12.5, max_height: float = 10) -> tuple[float, float | None, float]:
    """Size a picture whose labels and gaps take fixed inches and whose matrices take cells.

    Returns the inches per cell (at most 0.42, which fits "-0.30" in 8-point
    type), the font size of the values (None when cells are too small to
    write in) and the font size of the characters labelling rows or columns.
    """
    cell = min(0.42, (max_width - fixed_width) / ncells_wide, (max_height - fixed_height) / ncells_high)
    values_fontsize = 8 * cell / 0.42 if cell >= 0.3 else None
    return cell, values_fontsize, min(10.0, 60 * cell)


# ---------------------------------------------------------------- frames of the matrix recurrence

class FramePainter:
    """Draws the Steps of one word as PNG frames, reusing one figure.

    The layout (two rows: the products ``W @ h_{t-1}`` and ``U @ x_t``, then
    their sum with ``b``, ``z`` and ``h_t = f(z)``) is drawn once and kept as a
    background; a frame redraws only what changes (the vectors, the box on
    the column of ``U`` that ``x_t`` picks, the word) over that background.
    Each frame pictures the update written out in notebook 05, 'A nonlinearity
    and a bias'; the player of 'Watch it run' shows them.
    """

    def __init__(self, word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh",
                 vmax: float | None = None):
        W, U, b = check_matrices(vocab, W, U, b)
        nh, nv = U.shape
        vmax = vmax or largest_abs(W, U, b)
        norm = Normalize(-vmax, vmax)
        # matrices take cells; labels, operators and gaps take fixed inches
        gap, section, top, between, margin = 0.6, 1.2, 1.3, 0.8, 0.4
        cell, fontsize, char_size = layout(nh + nv + 4, max(nh, nv) + nh,
                                            fixed_width=2 * margin + 4 * gap + section + 0.6,
                                            fixed_height=top + between + 0.3)
        inch = 1 / cell  # data units (cells) per inch
        width = (2 * margin + 4 * gap + section + 0.6) * inch + nh + nv + 4
        row1 = top * inch
        row2 = row1 + max(nh, nv) + between * inch
        height = row2 + nh + 0.3 * inch
        self.fig, ax = new_figure(width * cell, height * cell)
        frame_axes(ax, width, height)

        def cells(x, y, nrows, ncols, caption, animated=True, **kwargs):
            block = Cells(ax, x, y, nrows, ncols, norm, fontsize=fontsize, animated=animated, **kwargs)
            block.caption(ax, caption, dy=0.06 * inch)
            return block

        def operator(x, y, text):  # centred in the gap that starts at x
            ax.text(x + gap * inch / 2, y, text, ha="center", va="center", fontsize=15)

        self.title = ax.text(margin * inch, 0.45 * inch, "", ha="left", va="center", fontsize=13,
                             animated=True)
        self.word = WordStrip(ax, normalize(word) if word else "", (margin + 0.8) * inch, 0.45 * inch,
                               pitch=0.3 * inch, animated=True)

        # row 1: W @ h_{t-1} = W@h      U @ x_t = U@x
        x = margin * inch
        self.W = cells(x, row1, nh, nh, "$W$", animated=False)
        operator(x + nh, row1 + nh / 2, "@")
        x += nh + gap * inch
        self.h_prev = cells(x, row1, nh, 1, "$h_{t-1}$")
        operator(x + 1, row1 + nh / 2, "=")
        x += 1 + gap * inch
        self.Wh = cells(x, row1, nh, 1, "$W@h_{t-1}$")
        x += 1 + section * inch
        self.U = Cells(ax, x, row1, nh, nv, norm, fontsize=fontsize)
        self.U.caption(ax, "$U$", dy=0.3 * inch)
        for j, c in enumerate(vocab.chars):  # the columns of U belong to characters
            ax.text(x + j + 0.5, row1 - 0.04 * inch, c, ha="center", va="bottom", fontsize=char_size,
                    family="monospace")
        self.U_column = Rectangle((x, row1), 1, nh, fill=False, edgecolor="black", linewidth=2.5,
                                  animated=True)
        ax.add_patch(self.U_column)
        self.U_x0 = x
        operator(x + nv, row1 + nh / 2, "@")
        x += nv + (gap + 0.2) * inch  # 0.2 inch more: x_t's rows are labelled by characters on the left
        self.x = Cells(ax, x, row1, nv, 1, Normalize(0, 1.6), cmap="Greys", fmt="{:.0f}",
                        fontsize=fontsize, hide_zeros=True, animated=True)
        self.x.caption(ax, "$x_t$", dy=0.06 * inch)
        for i, c in enumerate(vocab.chars):
            ax.text(x - 0.04 * inch, row1 + i + 0.5, c, ha="right", va="center", fontsize=char_size,
                    family="monospace")
        operator(x + 1, row1 + nh / 2, "=")
        x += 1 + gap * inch
        self.Ux = cells(x, row1, nh, 1, "$U@x_t$")
        # boxed like the column of U it equals
        self.Ux_box = ax.add_patch(Rectangle((x, row1), 1, nh, fill=False, edgecolor="black", linewidth=2.5,
                                             animated=True))

        # row 2: W@h + U@x + b = z  -f->  h_t
        x = margin * inch
        self.Wh_term = cells(x, row2, nh, 1, "$W@h_{t-1}$")
        operator(x + 1, row2 + nh / 2, "+")
        x += 1 + gap * inch
        self.Ux_term = cells(x, row2, nh, 1, "$U@x_t$")
        operator(x + 1, row2 + nh / 2, "+")
        x += 1 + gap * inch
        self.b = cells(x, row2, nh, 1, "$b$", animated=False)
        operator(x + 1, row2 + nh / 2, "=")
        x += 1 + gap * inch
        self.z = cells(x, row2, nh, 1, "$z$")
        if nonlinearity:
            arrow(ax, (x + 1 + 0.1 * inch, row2 + nh / 2), (x + 1 + 1.0 * inch, row2 + nh / 2), nonlinearity,
                   label_offset=(0, -0.08 * inch))
        else:
            operator(x + 1 + 0.25 * inch, row2 + nh / 2, "=")
        x += 1 + 1.1 * inch
        self.h = cells(x, row2, nh, 1, "$h_t$")

        # the parameters stay the same from frame to frame: draw them once, into the background
        self.W.set(W)
        self.U.set(U)
        self.b.set(b)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.changing = [self.title, *self.word.letters,
                         *(a for block in (self.h_prev, self.Wh, self.x, self.Ux, self.Wh_term,
                                           self.Ux_term, self.z, self.h) for a in block.artists),
                         self.U_column, self.Ux_box]

    def png(self, step: Step) -> bytes:
        """The frame of ``step`` as PNG bytes."""
        self.title.set_text(f"t = {step.t}")
        self.word.show(step.t)
        self.h_prev.set(step.h_prev)
        self.Wh.set(step.Wh)
        self.x.set(step.x)
        self.U_column.set_x(self.U_x0 + int(step.x.argmax()))
        self.Ux.set(step.Ux)
        self.Wh_term.set(step.Wh)
        self.Ux_term.set(step.Ux)
        self.z.set(step.z)
        self.h.set(step.h)
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for artist in self.changing:
            self.fig.draw_artist(artist)
        return canvas_png(canvas)


def render_frames(steps: Sequence[Step], vocab: Vocab, W, U, b=None,
                  nonlinearity: str | None = "tanh") -> list[bytes]:
    """One PNG per step, all on one colour scale (the largest |value| of any frame).

    The frames of the player in notebook 05, 'Watch it run'.
    """
    W, U, b = check_matrices(vocab, W, U, b)
    vmax = largest_abs(W, U, b, *(v for s in steps for v in (s.h_prev, s.Wh, s.z, s.h)))
    painter = FramePainter(steps[0].word, vocab, W, U, b, nonlinearity, vmax)
    return [painter.png(step) for step in steps]
