"""Pictures of the loop: the whole word unrolled, and the frames of the integer loop.

    plot_unrolled("katze", vocab, W, U, b)     the matrix loop unrolled: x_1..x_n above, h_0..h_n below
    plot_unrolled_scalar("cat", vocab, 2)      the integer loop as a chain of boxes h_0 -> h_1 -> ...
    render_scalar_frames(steps, vocab, 2)      one PNG per step of the integer loop: the word, the
                                               vocabulary and the equation with its numbers

The plots return a matplotlib Figure made with pyplot, so a notebook shows it
once, under the cell. The integer loop's frames are text and a few boxes:
they need none of the speed tricks of ``rnnlib.cells``, whose cells and
arrows the matrix picture reuses.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .cells import DPI, HIGHLIGHT, Cells, WordStrip, arrow, frame_axes, largest_abs, layout, new_figure
from .steps import Step, unroll, unroll_scalar
from .vocab import Vocab, normalize


def format_number(v: float) -> str:
    """An integer as it is, any other number with two decimals."""
    return str(v) if isinstance(v, int) else f"{v:.2f}"


# ---------------------------------------------------------------- the matrix loop

def _formula(nonlinearity: str | None) -> str:
    """The recurrence in mathtext, with its nonlinearity."""
    inside = "W@h_{t-1} + U@x_t + b"
    return rf"$h_t = \mathrm{{{nonlinearity}}}({inside})$" if nonlinearity else f"$h_t = {inside}$"


def plot_unrolled(word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh") -> Figure:
    """The whole unrolled loop as one figure: the x_t columns above, h_0..h_n below, W and U arrows.

    Shown in notebook 05, 'Watch it run'; the loop it draws is written out in notebook 05, 'A nonlinearity and a bias'.
    """
    steps = unroll(word, vocab, W, U, b, nonlinearity)
    nh, nv, n = steps[0].h.shape[0], len(vocab), len(steps)
    # columns take cells; labels, arrows and margins take fixed inches
    gap, margin, top, between, bottom = 0.6, 0.5, 0.9, 0.65, 0.4
    cell, fontsize, char_size = layout(n + 1, nv + nh, fixed_width=2 * margin + n * gap,
                                       fixed_height=top + between + bottom)
    inch = 1 / cell
    pitch = 1 + gap * inch  # from one step's column to the next
    width = max(2 * margin * inch + (n + 1) + n * gap * inch, 5.6 * inch)  # 5.6 inches: the title
    top_x = top * inch
    top_h = top_x + nv + between * inch
    height = top_h + nh + bottom * inch
    fig, ax = plt.subplots(figsize=(width * cell, height * cell), dpi=DPI)
    fig.subplots_adjust(0, 0, 1, 1)
    frame_axes(ax, width, height)
    vmax = largest_abs(*(s.h for s in steps))
    norm = Normalize(-vmax, vmax)
    ax.text(0.2 * inch, 0.3 * inch, f"{_formula(nonlinearity)} unrolled over '{steps[0].word}'",
            ha="left", va="center", fontsize=13)

    def h_column(x0: float, h: torch.Tensor, t: int) -> None:
        Cells(ax, x0, top_h, nh, 1, norm, fontsize=fontsize).set(h)
        ax.text(x0 + 0.5, top_h + nh + 0.05 * inch, f"$h_{{{t}}}$", ha="center", va="top", fontsize=12)

    h_column(margin * inch, torch.zeros(nh, 1), 0)
    for i, c in enumerate(vocab.chars):  # the rows of x_t belong to characters
        ax.text(margin * inch + pitch - 0.04 * inch, top_x + i + 0.5, c, ha="right", va="center",
                fontsize=char_size, family="monospace")
    for s in steps:
        x0 = margin * inch + s.t * pitch
        x = Cells(ax, x0, top_x, nv, 1, Normalize(0, 1.6), cmap="Greys", fmt="{:.0f}",
                  fontsize=fontsize, hide_zeros=True)
        x.set(s.x)
        x.caption(ax, f"$x_{{{s.t}}}$ '{s.char}'", dy=0.06 * inch, fontsize=11)
        h_column(x0, s.h, s.t)
        arrow(ax, (x0 + 0.5, top_x + nv + 0.05 * inch), (x0 + 0.5, top_h - 0.05 * inch), "U",
              label_offset=(0.12 * inch, -0.1 * inch))
        arrow(ax, (x0 - pitch + 1 + 0.05 * inch, top_h + nh / 2), (x0 - 0.05 * inch, top_h + nh / 2), "W",
              label_offset=(0, -0.08 * inch))
    return fig


# ---------------------------------------------------------------- the integer loop

class ScalarFramePainter:
    """Draws the steps of ``unroll_scalar``: the word, the vocabulary, and ``h_t = weight*h_{t-1} + x_t``.

    The frames of the player in notebook 02, 'The loop' and notebook 03, 'The recurrence'.
    """

    def __init__(self, word: str, vocab: Vocab, weight: float = 1):
        self.weight = weight
        nv = len(vocab)
        width = max(nv * 1.2, len(word) * 0.9 + 3.5, 14) + 1
        height = 6.2
        self.fig, ax = new_figure(width * 0.42, height * 0.42)
        frame_axes(ax, width, height)
        ax.text(0.3, 1.0, "word", ha="left", va="center", fontsize=11, color="0.4")
        self.word = WordStrip(ax, normalize(word), 3.2, 1.0)
        ax.text(0.3, 2.6, "vocab", ha="left", va="center", fontsize=11, color="0.4")
        self.vocab_chars = []
        for i, c in enumerate(vocab.chars):
            x = 3.2 + i * 1.2
            self.vocab_chars.append(ax.text(x, 2.6, c, ha="center", va="center", fontsize=13,
                                            family="monospace", bbox=dict(boxstyle="round,pad=0.25", lw=0)))
            ax.text(x, 3.5, str(i), ha="center", va="center", fontsize=10, color="0.3")
        self.equation = ax.text(0.3, 5.1, "", ha="left", va="center", fontsize=15)

    def png(self, step: Step) -> bytes:
        """The frame of ``step`` as PNG bytes."""
        code = int(step.x.argmax())  # the index of the character x_t encodes
        self.word.show(step.t)
        for i, letter in enumerate(self.vocab_chars):
            letter.get_bbox_patch().set_facecolor(HIGHLIGHT if i == code else "none")
        t, w = step.t, self.weight
        times = "" if w == 1 else rf"{format_number(w)} \cdot "
        h_prev = "0" if t == 1 else format_number(step.h_prev.item())  # h_0 = 0, as the notebooks write it
        self.equation.set_text(
            rf"$h_{{{t}}} = {times}h_{{{t - 1}}} + x_{{{t}}}"
            rf" = {times}{h_prev} + {code} = {format_number(step.h.item())}$")
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def render_scalar_frames(steps: Sequence[Step], vocab: Vocab, weight: float = 1) -> list[bytes]:
    """One PNG per step of ``unroll_scalar(word, vocab, weight)``."""
    painter = ScalarFramePainter(steps[0].word, vocab, weight)
    return [painter.png(step) for step in steps]


def plot_unrolled_scalar(word: str, vocab: Vocab, weight: float = 1) -> Figure:
    """The integer loop ``h = weight*h + x[t]`` as a chain of boxes h_0 -> h_1 -> ... with each x[t].

    Shown in notebook 02, 'The loop' and notebook 03, 'The recurrence', under the loop they write out.
    """
    steps = unroll_scalar(word, vocab, weight)
    pitch = 2.4
    width, height = (len(steps) + 1) * pitch + 0.4, 6.0
    fig, ax = plt.subplots(figsize=(width * 0.42, height * 0.42), dpi=DPI)
    fig.subplots_adjust(0, 0, 1, 1)
    frame_axes(ax, width, height)
    times = "" if weight == 1 else rf"{format_number(weight)} \cdot "
    ax.text(0.3, 0.6, rf"$h_t = {times}h_{{t-1}} + x_t$ over '{steps[0].word}'", ha="left", va="center",
            fontsize=13)
    colours = plt.get_cmap("Oranges")
    largest = max(abs(s.h.item()) for s in steps) or 1

    def box(x0: float, value: float, t: int) -> None:
        ax.add_patch(Rectangle((x0, 3.4), 1.4, 1.0, facecolor=colours(0.1 + 0.6 * abs(value) / largest),
                               edgecolor="0.4"))
        ax.text(x0 + 0.7, 3.9, format_number(value), ha="center", va="center", fontsize=13)
        ax.text(x0 + 0.7, 4.6, f"$h_{{{t}}}$", ha="center", va="top", fontsize=12)

    box(0.4, 0, 0)
    for s in steps:
        x0 = 0.4 + s.t * pitch
        box(x0, s.h.item(), s.t)
        ax.text(x0 + 0.7, 1.8, f"'{s.char}' = {int(s.x.argmax())}", ha="center", va="center", fontsize=12,
                family="monospace")
        arrow(ax, (x0 + 0.7, 2.2), (x0 + 0.7, 3.35), "+", label_offset=(0.3, -0.25))
        arrow(ax, (x0 - pitch + 1.45, 3.9), (x0 - 0.05, 3.9), "" if weight == 1 else f"×{format_number(weight)}")
    return fig
