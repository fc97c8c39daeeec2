"""The backward pass drawn: a player stepping from t = T down to 1, and one static picture.

Notebook 8 ("The backward pass, animated") shows these. The picture is the
unrolled loop of ``rnnlib.pictures.plot_unrolled`` with its arrows reversed: each
``dL/dh_t`` column sends ``W^T @ dL/dz_t`` to the step before it, and
``dL/dz_t`` to the column of ``U`` that ``x_t`` picked, shown boxed in the
gradient of ``U`` summed so far.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import ipywidgets as widgets
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from .cells import Cells, arrow, canvas_png, frame_axes, largest_abs, new_figure
from .player import Player, frame
from .backprop import Backward, word_bptt
from .vocab import Vocab, normalize

CELL_INCHES = 0.38
HIGHLIGHT = "#ffd54f"


def backward_label(step, word: str) -> str:
    """``t = 3 · x_t = 't' · dL/dh_t = [0.012, ...] · |dL/dh_t| = 0.045 · U column 't'``."""
    dh = ", ".join(f"{v:.3f}" for v in step.dh.flatten().tolist())
    return (f"t = {step.t} · x_t = '{step.char}' · dL/dh_t = [{dh}] · |dL/dh_t| = {step.norm:.3f}"
            f" · U column '{step.char}'")


def _draw(ax, back: Backward, word: str, vocab: Vocab, upto: int | None) -> None:
    """The unrolled backward pass on ``ax``: steps T..``upto`` filled in (all when None)."""
    steps = {s.t: s for s in back.steps}
    T, nv, nh = len(word), len(vocab), back.W.shape[0]
    shown = [t for t in steps if upto is None or t >= upto]
    current = steps[upto] if upto is not None else None
    vmax = largest_abs(*(s.dh for s in back.steps), back.U)
    norm = Normalize(-vmax, vmax)
    margin, pitch = 0.8, 3.2
    top_x, top_h = 2.2, 2.2 + nv + 2.0
    x_dU = margin + T * pitch + 1.2
    width, height = x_dU + nv + 0.8, top_h + nh + 1.6
    frame_axes(ax, width, height)
    title = (f"backward through '{word}': t = {upto}, norm of dL/dh{upto} = {current.norm:.3f}" if current
             else f"backward through '{word}': dL/dh_t for t = {T} down to 1")
    ax.text(0.3, 0.8, title, ha="left", va="center", fontsize=13)
    for t in range(1, T + 1):
        x0 = margin + (t - 1) * pitch + 1.0
        xcol = Cells(ax, x0, top_x, nv, 1, Normalize(0, 1.6), cmap="Greys", fmt="{:.0f}", fontsize=7,
                      hide_zeros=True)
        xcol.set(vocab.onehot(word[t - 1]))
        xcol.caption(ax, f"x{t} '{word[t - 1]}'", dy=0.15, fontsize=11)
        dh = Cells(ax, x0, top_h, nh, 1, norm, fontsize=7 if t in shown else None)
        dh.set(steps[t].dh if t in shown else steps[t].dh * 0)
        ax.text(x0 + 0.5, top_h + nh + 0.2, f"dL/dh{t}", ha="center", va="top", fontsize=11)
        if t in shown:
            ax.text(x0 + 0.5, top_h + nh + 1.0, f"norm {steps[t].norm:.3f}", ha="center", va="top", fontsize=9,
                    color="0.3")
            arrow(ax, (x0 + 0.5, top_h - 0.1), (x0 + 0.5, top_x + nv + 0.1), "U", label_offset=(0.5, -0.2))
            if t > 1:
                arrow(ax, (x0 - 0.1, top_h + nh / 2), (x0 - pitch + 1.1, top_h + nh / 2), "Wᵀ",
                       label_offset=(0, -0.4))
        if current is not None and t == upto:
            ax.add_patch(Rectangle((x0 - 0.15, top_x - 0.9), 1.3, top_h + nh - top_x + 1.4, fill=False,
                                   edgecolor=HIGHLIGHT, linewidth=3))
    for i, c in enumerate(vocab.chars):  # the rows of x_t belong to characters
        ax.text(margin + 0.9, top_x + i + 0.5, c, ha="right", va="center", fontsize=9, family="monospace")
    ax.text(margin + (T - 1) * pitch + 2.2, top_h + nh / 2, "← Vᵀ dL/do", ha="left", va="center",
            fontsize=10, color="0.3")
    dU = current.dU if current is not None else back.U
    cells = Cells(ax, x_dU, top_h, nh, nv, norm, fontsize=7)
    cells.set(dU)
    cells.caption(ax, f"dL/dU (steps {T}..{upto or 1})", dy=0.9, fontsize=11)
    for j, c in enumerate(vocab.chars):
        ax.text(x_dU + j + 0.5, top_h - 0.1, c, ha="center", va="bottom", fontsize=9, family="monospace")
    if current is not None:
        ax.add_patch(Rectangle((x_dU + current.column, top_h), 1, nh, fill=False, edgecolor="black",
                               linewidth=2.5))


def _size(word: str, vocab: Vocab, nhidden: int) -> tuple[float, float]:
    return ((0.8 + len(word) * 3.2 + 1.2 + len(vocab) + 0.8) * CELL_INCHES,
            (2.2 + len(vocab) + 2.0 + nhidden + 1.6) * CELL_INCHES)


def backward_frames(back: Backward, word: str, vocab: Vocab) -> list[bytes]:
    """One PNG per step back, t = T first."""
    pngs = []
    for step in back.steps:
        fig, ax = new_figure(*_size(word, vocab, back.W.shape[0]))
        _draw(ax, back, word, vocab, step.t)
        fig.canvas.draw()
        pngs.append(canvas_png(fig.canvas))
    return pngs


def backward_player(word: str, vocab: Vocab, W, U, b, V, target: int, nonlinearity: str = "tanh") -> Player:
    """The backward pass over ``word`` with class ``target``, one frame per step, t = T down to 1."""

    def make_frames(word: str) -> list[widgets.Widget]:
        vocab.encode(word)  # a clear error for a character outside the vocabulary
        word = normalize(word)
        back = word_bptt(word, vocab, W, U, b, V, target, nonlinearity)
        return [frame(backward_label(s, word), png)
                for s, png in zip(back.steps, backward_frames(back, word, vocab))]

    return Player(word, make_frames)


def plot_backward(word: str, vocab: Vocab, W, U, b, V, target: int, nonlinearity: str = "tanh"):
    """The whole backward pass as one figure: every dL/dh_t and the gradient of U."""
    word = normalize(word)
    back = word_bptt(word, vocab, W, U, b, V, target, nonlinearity)
    fig, ax = plt.subplots(figsize=_size(word, vocab, back.W.shape[0]), dpi=80)
    fig.subplots_adjust(0, 0, 1, 1)
    _draw(ax, back, word, vocab, None)
    return fig
