"""The unrolled loop, one step at a time: its numbers, its frames, an animation.

    unroll("cat", vocab, W, U, b)      one Step per character, holding every vector of
                                       h_t = f(W @ h_{t-1} + U @ x_t + b)
    unroll_scalar("cat", vocab, 2)     the integer recurrence h = 2*h + x[t]
    render_frame(step, vocab, W, U)    one step as a PNG: x_t, U and its picked column, W @ h_{t-1},
                                       the sum with b, the nonlinearity, h_t
    player(...), scalar_player(...)    an ipywidgets animation of those steps
    plot_unrolled(...)                 the whole loop as one static picture

The players pre-render every frame as a PNG and flip between them with a Play
button and a slider linked in the browser (``jslink``): a saved notebook keeps
its animations even with no kernel behind it. With a kernel, typing a word in
the word box renders that word's frames.
"""
from __future__ import annotations

import functools
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
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

from .vocab import Vocab, normalize

NONLINEARITIES: dict[str | None, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    None: lambda z: z,  # the plain linear recurrence
}
CMAP = "RdBu_r"  # blue below zero, white at zero, red above
HIGHLIGHT = "#ffd54f"  # the current character
PLAY_INTERVAL_MS = 800
DPI = 80


# ---------------------------------------------------------------- the numbers

@dataclass
class Step:
    """Everything computed at step ``t`` of ``h_t = f(W @ h_{t-1} + U @ x_t + b)``."""

    t: int               # 1-based position in the word
    char: str            # the character x_t encodes
    x: torch.Tensor      # x_t, its one-hot column (nvocab x 1)
    h_prev: torch.Tensor  # h_{t-1} (nhidden x 1)
    Wh: torch.Tensor     # W @ h_{t-1}
    Ux: torch.Tensor     # U @ x_t: the column of U that x_t selects
    z: torch.Tensor      # Wh + Ux + b
    h: torch.Tensor      # h_t = f(z)
    word: str = ""       # the (normalised) word this step belongs to


@dataclass
class ScalarStep:
    """Step ``t`` of the integer recurrence ``h = weight*h + x[t]``."""

    t: int
    char: str
    x: int               # vocab.index[char]
    h_prev: float
    h: float
    weight: float = 1
    word: str = ""


def check_matrices(vocab: Vocab, W, U, b=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``W``, ``U``, ``b`` as float tensors, or a one-line error naming the expected shapes."""
    W, U = _as_matrix("W", W), _as_matrix("U", U)
    if W.dim() != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be nhidden x nhidden (square), got shape {_shape(W)}")
    nhidden = W.shape[0]
    if tuple(U.shape) != (nhidden, len(vocab)):
        raise ValueError(f"U must be nhidden x len(vocab) = {nhidden} x {len(vocab)}, got shape {_shape(U)}")
    if b is None:
        return W, U, torch.zeros(nhidden, 1)
    b = _as_matrix("b", b)
    if tuple(b.shape) != (nhidden, 1):
        raise ValueError(f"b must be nhidden x 1 = {nhidden} x 1, got shape {_shape(b)}")
    return W, U, b


def _as_matrix(name: str, M) -> torch.Tensor:
    if not isinstance(M, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name} must be a torch tensor or a numpy array, got {type(M).__name__}")
    # detach and copy to the CPU: trained parameters may carry gradients or live on a GPU
    return torch.as_tensor(M).detach().cpu().to(torch.float32)


def _shape(M: torch.Tensor) -> str:
    return " x ".join(str(n) for n in M.shape) or "() (a scalar)"


def unroll(word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh") -> list[Step]:
    """Run ``h_t = f(W @ h_{t-1} + U @ x_t + b)`` over ``word``, keeping every vector.

    ``W`` is nhidden x nhidden, ``U`` nhidden x len(vocab), ``b`` nhidden x 1
    (zero when None); ``nonlinearity`` is "tanh", "relu" or None (no f).
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity={nonlinearity!r}; allowed: 'tanh', 'relu' or None")
    f = NONLINEARITIES[nonlinearity]
    W, U, b = check_matrices(vocab, W, U, b)
    vocab.encode(word)  # a clear error for a character outside the vocabulary
    word = normalize(word)
    h = torch.zeros(W.shape[0], 1)
    steps = []
    for t, c in enumerate(word, start=1):
        x = vocab.onehot(c)
        Wh, Ux = W @ h, U @ x
        z = Wh + Ux + b
        h_new = f(z)
        steps.append(Step(t, c, x, h, Wh, Ux, z, h_new, word))
        h = h_new
    return steps


def unroll_scalar(word: str, vocab: Vocab, weight: float = 1) -> list[ScalarStep]:
    """Run ``h = weight*h + x[t]`` with ``x[t] = vocab.index[c]``: the sum (weight 1), the weighted sum (2)."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise TypeError(f"weight must be a number, got {type(weight).__name__}: {weight!r}")
    codes = vocab.encode(word)
    word = normalize(word)
    h = 0
    steps = []
    for t, (c, x) in enumerate(zip(word, codes), start=1):
        steps.append(ScalarStep(t, c, x, h, weight * h + x, weight, word))
        h = steps[-1].h
    return steps


# ---------------------------------------------------------------- the labels

def _number(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:.2f}"


def frame_label(step: Step) -> str:
    """``t = 2 · x_t = 'a' · h_t = [0.12, -0.30, 0.05]``: the text above a frame."""
    h = ", ".join(f"{v:.2f}" for v in step.h.flatten().tolist())
    return f"t = {step.t} · x_t = '{step.char}' · h_t = [{h}]"


def scalar_frame_label(step: ScalarStep) -> str:
    """``t = 2 · x_t = 'a' (1) · h = 13``: the text above a scalar frame."""
    return f"t = {step.t} · x_t = '{step.char}' ({step.x}) · h = {_number(step.h)}"


# ---------------------------------------------------------------- drawing helpers

@functools.lru_cache(maxsize=4096)
def _number_outline(text: str, size: float) -> Path:
    """The outline of ``text`` in points, centred on (0, 0)."""
    if not text:
        return Path(np.zeros((1, 2)))
    path = TextPath((0, 0), text, size=size)
    (x0, y0), (x1, y1) = path.get_extents().get_points()
    return path.transformed(Affine2D().translate(-(x0 + x1) / 2, -(y0 + y1) / 2))


class _Cells:
    """A matrix drawn as a grid of coloured cells with its values written in.

    Row ``i``, column ``j`` is the unit square at ``(x0 + j, y0 + i)``; the axes'
    y axis points down, so row 0 is on top, as in print. ``animated`` cells are
    left out of a full draw: a painter redraws them alone, frame after frame.
    The values are drawn as one collection of letter outlines, far faster than
    one ``Text`` per cell: that is what keeps a frame fast.
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


class _WordStrip:
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


def _new_figure(width: float, height: float) -> tuple[Figure, plt.Axes]:
    """A figure outside pyplot (so a notebook never shows it by itself), one bare axes in data units."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    return fig, ax


def _frame_axes(ax, width_units: float, height_units: float) -> None:
    ax.set_xlim(0, width_units)
    ax.set_ylim(height_units, 0)  # y down, like rows of a matrix
    ax.set_aspect("equal")
    ax.axis("off")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _canvas_png(canvas: FigureCanvasAgg) -> bytes:
    """The pixels the canvas holds now, as PNG (``savefig`` would redraw everything)."""
    image = PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)  # faster than the default level, a little larger
    return buffer.getvalue()


def _vmax(*tensors: torch.Tensor) -> float:
    """The colour scale's bound: the largest |value| shown (1 when all are zero)."""
    largest = max(float(T.abs().max()) for T in tensors)
    return largest if largest > 0 else 1.0


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str = "",
           label_offset: tuple[float, float] = (0, -0.3)) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="0.3", lw=1.3))
    if label:
        ax.text((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1],
                label, ha="center", va="bottom", fontsize=11, color="0.25")


def _layout(ncells_wide: int, ncells_high: int, fixed_width: float, fixed_height: float,
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
    """

    def __init__(self, word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh",
                 vmax: float | None = None):
        W, U, b = check_matrices(vocab, W, U, b)
        nh, nv = U.shape
        vmax = vmax or _vmax(W, U, b)
        norm = Normalize(-vmax, vmax)
        # matrices take cells; labels, operators and gaps take fixed inches
        gap, section, top, between, margin = 0.6, 1.2, 1.3, 0.8, 0.4
        cell, fontsize, char_size = _layout(nh + nv + 4, max(nh, nv) + nh,
                                            fixed_width=2 * margin + 4 * gap + section + 0.6,
                                            fixed_height=top + between + 0.3)
        inch = 1 / cell  # data units (cells) per inch
        width = (2 * margin + 4 * gap + section + 0.6) * inch + nh + nv + 4
        row1 = top * inch
        row2 = row1 + max(nh, nv) + between * inch
        height = row2 + nh + 0.3 * inch
        self.fig, ax = _new_figure(width * cell, height * cell)
        _frame_axes(ax, width, height)

        def cells(x, y, nrows, ncols, caption, animated=True, **kwargs):
            block = _Cells(ax, x, y, nrows, ncols, norm, fontsize=fontsize, animated=animated, **kwargs)
            block.caption(ax, caption, dy=0.06 * inch)
            return block

        def operator(x, y, text):  # centred in the gap that starts at x
            ax.text(x + gap * inch / 2, y, text, ha="center", va="center", fontsize=15)

        self.title = ax.text(margin * inch, 0.45 * inch, "", ha="left", va="center", fontsize=13,
                             animated=True)
        self.word = _WordStrip(ax, normalize(word) if word else "", (margin + 0.8) * inch, 0.45 * inch,
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
        self.U = _Cells(ax, x, row1, nh, nv, norm, fontsize=fontsize)
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
        self.x = _Cells(ax, x, row1, nv, 1, Normalize(0, 1.6), cmap="Greys", fmt="{:.0f}",
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
            _arrow(ax, (x + 1 + 0.1 * inch, row2 + nh / 2), (x + 1 + 1.0 * inch, row2 + nh / 2), nonlinearity,
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
        return _canvas_png(canvas)


def render_frames(steps: Sequence[Step], vocab: Vocab, W, U, b=None,
                  nonlinearity: str | None = "tanh") -> list[bytes]:
    """One PNG per step, all on one colour scale (the largest |value| of any frame)."""
    W, U, b = check_matrices(vocab, W, U, b)
    vmax = _vmax(W, U, b, *(v for s in steps for v in (s.h_prev, s.Wh, s.z, s.h)))
    painter = FramePainter(steps[0].word, vocab, W, U, b, nonlinearity, vmax)
    return [painter.png(step) for step in steps]


def render_frame(step: Step, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh") -> bytes:
    """The PNG of one step: x_t, U with the column x_t selects, W@h_{t-1}, the sum, f, h_t."""
    return render_frames([step], vocab, W, U, b, nonlinearity)[0]


# ---------------------------------------------------------------- frames of the integer recurrence

class ScalarPainter:
    """Draws ScalarSteps of one word: the word, the vocabulary, and ``h_t = weight*h_{t-1} + x_t``."""

    def __init__(self, word: str, vocab: Vocab):
        nv = len(vocab)
        width = max(nv * 1.2, len(word) * 0.9 + 3.5, 14) + 1
        height = 6.2
        self.fig, ax = _new_figure(width * 0.42, height * 0.42)
        _frame_axes(ax, width, height)
        ax.text(0.3, 1.0, "word", ha="left", va="center", fontsize=11, color="0.4")
        self.word = _WordStrip(ax, normalize(word), 3.2, 1.0)
        ax.text(0.3, 2.6, "vocab", ha="left", va="center", fontsize=11, color="0.4")
        self.vocab_chars = []
        for i, c in enumerate(vocab.chars):
            x = 3.2 + i * 1.2
            self.vocab_chars.append(ax.text(x, 2.6, c, ha="center", va="center", fontsize=13,
                                            family="monospace", bbox=dict(boxstyle="round,pad=0.25", lw=0)))
            ax.text(x, 3.5, str(i), ha="center", va="center", fontsize=10, color="0.3")
        self.equation = ax.text(0.3, 5.1, "", ha="left", va="center", fontsize=15)

    def png(self, step: ScalarStep) -> bytes:
        """The frame of ``step`` as PNG bytes."""
        self.word.show(step.t)
        for i, letter in enumerate(self.vocab_chars):
            letter.get_bbox_patch().set_facecolor(HIGHLIGHT if i == step.x else "none")
        t, w = step.t, step.weight
        times = "" if w == 1 else rf"{_number(w)} \cdot "
        self.equation.set_text(
            rf"$h_{{{t}}} = {times}h_{{{t - 1}}} + x_{{{t}}}"
            rf" = {times}{_number(step.h_prev)} + {step.x} = {_number(step.h)}$")
        return _png(self.fig)


def render_scalar_frames(steps: Sequence[ScalarStep], vocab: Vocab) -> list[bytes]:
    """One PNG per step of ``unroll_scalar``."""
    painter = ScalarPainter(steps[0].word, vocab)
    return [painter.png(step) for step in steps]


def render_scalar_frame(step: ScalarStep, vocab: Vocab) -> bytes:
    """The PNG of one step of ``unroll_scalar``: the word, the vocabulary and the running integer."""
    return render_scalar_frames([step], vocab)[0]


# ---------------------------------------------------------------- the players

class Player(widgets.VBox):
    """Play button, slider ``t`` and word box above a Stack of pre-rendered frames.

    The parts stay reachable as attributes: ``stack``, ``play``, ``slider``,
    ``word_box``, ``message`` (the error of a bad word) and ``links``.
    """

    def __init__(self, word: str, make_frames: Callable[[str], list[widgets.Widget]]):
        frames = make_frames(word)  # a bad first word is the caller's mistake: let it raise
        self.make_frames = make_frames
        self.stack = widgets.Stack(frames, selected_index=0)
        last = len(frames) - 1
        self.play = widgets.Play(value=0, min=0, max=last, interval=PLAY_INTERVAL_MS, description="play")
        # the slider runs over frame indexes 0..n-1 while the label says t = 1..n: hide its number
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="t", readout=False)
        # linked in the browser, so the animation plays without a kernel
        self.links = (widgets.jslink((self.play, "value"), (self.stack, "selected_index")),
                      widgets.jslink((self.slider, "value"), (self.stack, "selected_index")))
        self.word_box = widgets.Text(value=normalize(word), description="word", continuous_update=False)
        self.word_box.add_class("rnn-word-box")
        self.message = widgets.HTML("")
        self.word_box.observe(self._new_word, names="value")
        super().__init__([widgets.HBox([self.play, self.slider, self.word_box]), self.message, self.stack])

    def _new_word(self, change: dict) -> None:
        try:
            frames = self.make_frames(change["new"])
        except (ValueError, TypeError) as err:
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(err))}</span>"
            return
        self.message.value = ""
        for control in (self.play, self.slider):
            control.value = 0
        self.stack.selected_index = 0
        self.stack.children = frames
        for control in (self.play, self.slider):
            control.max = len(frames) - 1


def _frame(label: str, png: bytes) -> widgets.VBox:
    text = widgets.HTML(html.escape(label, quote=False))
    text.add_class("rnn-frame-label")
    # max_width: a wide frame shrinks to the notebook's width instead of overflowing it
    image = widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%"))
    return widgets.VBox([text, image])


def player(word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh") -> Player:
    """The animated loop ``h_t = f(W @ h_{t-1} + U @ x_t + b)`` over ``word``, one frame per step."""
    check_matrices(vocab, W, U, b)

    def make_frames(word: str) -> list[widgets.Widget]:
        steps = unroll(word, vocab, W, U, b, nonlinearity)
        pngs = render_frames(steps, vocab, W, U, b, nonlinearity)
        return [_frame(frame_label(s), png) for s, png in zip(steps, pngs)]

    return Player(word, make_frames)


def scalar_player(word: str, vocab: Vocab, weight: float = 1) -> Player:
    """The animated integer loop ``h = weight*h + x[t]`` over ``word``."""

    def make_frames(word: str) -> list[widgets.Widget]:
        steps = unroll_scalar(word, vocab, weight)
        pngs = render_scalar_frames(steps, vocab)
        return [_frame(scalar_frame_label(s), png) for s, png in zip(steps, pngs)]

    return Player(word, make_frames)


# ---------------------------------------------------------------- static pictures

def _formula(nonlinearity: str | None) -> str:
    """The recurrence in mathtext, with its nonlinearity."""
    inside = "W@h_{t-1} + U@x_t + b"
    return rf"$h_t = \mathrm{{{nonlinearity}}}({inside})$" if nonlinearity else f"$h_t = {inside}$"


def plot_unrolled(word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh"):
    """The whole unrolled loop as one figure: the x_t columns above, h_0..h_n below, W and U arrows."""
    steps = unroll(word, vocab, W, U, b, nonlinearity)
    nh, nv, n = steps[0].h.shape[0], len(vocab), len(steps)
    # columns take cells; labels, arrows and margins take fixed inches
    gap, margin, top, between, bottom = 0.6, 0.5, 0.9, 0.65, 0.4
    cell, fontsize, char_size = _layout(n + 1, nv + nh, fixed_width=2 * margin + n * gap,
                                        fixed_height=top + between + bottom)
    inch = 1 / cell
    pitch = 1 + gap * inch  # from one step's column to the next
    width = max(2 * margin * inch + (n + 1) + n * gap * inch, 5.6 * inch)  # 5.6 inches: the title
    top_x = top * inch
    top_h = top_x + nv + between * inch
    height = top_h + nh + bottom * inch
    fig, ax = plt.subplots(figsize=(width * cell, height * cell), dpi=DPI)
    fig.subplots_adjust(0, 0, 1, 1)
    _frame_axes(ax, width, height)
    vmax = _vmax(*(s.h for s in steps))
    norm = Normalize(-vmax, vmax)
    ax.text(0.2 * inch, 0.3 * inch, f"{_formula(nonlinearity)} unrolled over '{steps[0].word}'",
            ha="left", va="center", fontsize=13)

    def h_column(x0: float, h: torch.Tensor, t: int) -> None:
        _Cells(ax, x0, top_h, nh, 1, norm, fontsize=fontsize).set(h)
        ax.text(x0 + 0.5, top_h + nh + 0.05 * inch, f"$h_{{{t}}}$", ha="center", va="top", fontsize=12)

    h_column(margin * inch, torch.zeros(nh, 1), 0)
    for i, c in enumerate(vocab.chars):  # the rows of x_t belong to characters
        ax.text(margin * inch + pitch - 0.04 * inch, top_x + i + 0.5, c, ha="right", va="center",
                fontsize=char_size, family="monospace")
    for s in steps:
        x0 = margin * inch + s.t * pitch
        x = _Cells(ax, x0, top_x, nv, 1, Normalize(0, 1.6), cmap="Greys", fmt="{:.0f}",
                   fontsize=fontsize, hide_zeros=True)
        x.set(s.x)
        x.caption(ax, f"$x_{{{s.t}}}$ '{s.char}'", dy=0.06 * inch, fontsize=11)
        h_column(x0, s.h, s.t)
        _arrow(ax, (x0 + 0.5, top_x + nv + 0.05 * inch), (x0 + 0.5, top_h - 0.05 * inch), "U",
               label_offset=(0.12 * inch, -0.1 * inch))
        _arrow(ax, (x0 - pitch + 1 + 0.05 * inch, top_h + nh / 2), (x0 - 0.05 * inch, top_h + nh / 2), "W",
               label_offset=(0, -0.08 * inch))
    return fig


def plot_unrolled_scalar(word: str, vocab: Vocab, weight: float = 1):
    """The integer loop ``h = weight*h + x[t]`` as a chain of boxes h_0 -> h_1 -> ... with each x[t]."""
    steps = unroll_scalar(word, vocab, weight)
    pitch = 2.4
    width, height = (len(steps) + 1) * pitch + 0.4, 6.0
    fig, ax = plt.subplots(figsize=(width * 0.42, height * 0.42), dpi=DPI)
    fig.subplots_adjust(0, 0, 1, 1)
    _frame_axes(ax, width, height)
    times = "" if weight == 1 else rf"{_number(weight)} \cdot "
    ax.text(0.3, 0.6, rf"$h_t = {times}h_{{t-1}} + x_t$ over '{steps[0].word}'", ha="left", va="center",
            fontsize=13)
    colours = plt.get_cmap("Oranges")
    largest = max(abs(s.h) for s in steps) or 1

    def box(x0: float, value: float, t: int) -> None:
        ax.add_patch(Rectangle((x0, 3.4), 1.4, 1.0, facecolor=colours(0.1 + 0.6 * abs(value) / largest),
                               edgecolor="0.4"))
        ax.text(x0 + 0.7, 3.9, _number(value), ha="center", va="center", fontsize=13)
        ax.text(x0 + 0.7, 4.6, f"$h_{{{t}}}$", ha="center", va="top", fontsize=12)

    box(0.4, 0, 0)
    for s in steps:
        x0 = 0.4 + s.t * pitch
        box(x0, s.h, s.t)
        ax.text(x0 + 0.7, 1.8, f"'{s.char}' = {s.x}", ha="center", va="center", fontsize=12, family="monospace")
        _arrow(ax, (x0 + 0.7, 2.2), (x0 + 0.7, 3.35), "+", label_offset=(0.3, -0.25))
        _arrow(ax, (x0 - pitch + 1.45, 3.9), (x0 - 0.05, 3.9), "" if weight == 1 else f"×{_number(weight)}")
    return fig
