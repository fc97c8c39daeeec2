"""The players of the loop, one frame per step: forward (notebooks 2, 3, 5), ``h_t`` from ``rnnlib.rnn.forward``,
and backward (notebook 8), ``dL/dh_t`` and ``dL/dU`` from ``pictures.backward_steps``.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from ..rnn import CELLS, forward
from ..text import Vocab
from .draw import (ONEHOT_CMAP, Blit, Cells, Letters, arrow, cell_inches, characters, check_steps, largest_abs,
                   new_figure, png, unit_axes)
from .pictures import MOST, backward_figure, backward_steps, check_matrices, scalar_matrices
from .player import Player, frame

GAP, SECTION, TOP, BETWEEN, MARGIN = 0.6, 1.2, 1.3, 0.8, 0.4      # inches around the matrices


class StepPainter:
    """Row 1: ``W @ h_{t-1}`` and ``U @ x_t`` (the column ``x_t`` picks boxed); row 2: their sum with
    ``b``, ``z`` and ``h_t = f(z)``: the step as notebook 5, 'A nonlinearity and a bias', writes it.
    The matrices are drawn once, into the background; a frame draws the vectors."""

    def __init__(self, word: str, vocab: Vocab, W, U, b, cell: str, vmax: float):
        nh, nv = U.shape
        norm, fmt = Normalize(-vmax, vmax), "{:.2f}" if W.is_floating_point() else "{:.0f}"
        fixed = 2 * MARGIN + 4 * GAP + SECTION + 0.6
        size, fontsize = cell_inches(nh + nv + 4, max(nh, nv) + nh, fixed, TOP + BETWEEN + 0.3)
        inch = 1 / size
        rows = (TOP * inch, TOP * inch + max(nh, nv) + BETWEEN * inch)
        width, height = fixed * inch + nh + nv + 4, rows[1] + nh + 0.3 * inch
        self.fig = new_figure(width * size, height * size)
        ax, self.at = unit_axes(self.fig, width, height), {}
        onehot = dict(norm=Normalize(0, 1.6), cmap=ONEHOT_CMAP, fmt="{:.0f}", hide_zeros=True)
        static = {"W": W, "U": U, "b": b}
        for y, items in zip(rows, ([("W", nh), "@", ("h_prev", 1), "=", ("Wh", 1), " ", ("U", nv), "@ ", ("x", 1),
                                    "=", ("Ux", 1)],
                                   [("Wh_term", 1), "+", ("Ux_term", 1), "+", ("b", 1), "=", ("z", 1), cell, ("h", 1)])):
            x = MARGIN * inch
            for item in items:
                if isinstance(item, str):      # an operator in the gap that starts at x ("@ ": x_t's labels too)
                    gap = {" ": SECTION, cell: 1.1, "@ ": GAP + 0.2}.get(item, GAP) * inch
                    if item == cell != "identity":
                        arrow(ax, (x + 0.1 * inch, y + nh / 2), (x + gap - 0.1 * inch, y + nh / 2), cell, (0, -0.08 * inch))
                    else:
                        ax.text(x + gap / 2, y + nh / 2, "=" if item == cell else item.strip(), ha="center",
                                va="center", fontsize=15)
                    x += gap
                    continue
                name, ncols = item
                self.at[name] = x
                cells = Cells(ax, x, y, nv if name == "x" else nh, ncols, **{"norm": norm, "fmt": fmt, **(
                    onehot if name == "x" else {})}, fontsize=fontsize, animated=name not in static)
                caption = {"h_prev": "$h_{t-1}$", "Wh": "$W@h_{t-1}$", "Wh_term": "$W@h_{t-1}$", "x": "$x_t$",
                           "Ux": "$U@x_t$", "Ux_term": "$U@x_t$", "h": "$h_t$"}.get(name, f"${name}$")
                cells.caption(caption, dy=(0.3 if name == "U" else 0.06) * inch)
                setattr(self, name, cells.set(static[name]) if name in static else cells)
                x += ncols
        characters(ax, vocab.chars, self.at["U"] + 0.5, rows[0] - 0.04 * inch, True, size, ha="center", va="bottom")
        characters(ax, vocab.chars, self.at["x"] - 0.04 * inch, rows[0] + 0.5, False, size, ha="right", va="center")
        self.boxes = [ax.add_patch(Rectangle((self.at[n], rows[0]), 1, nh, fill=False, lw=2.5, animated=True))
                      for n in ("U", "Ux")]                      # the column of U that x_t picks, and U @ x_t
        self.title = ax.text(MARGIN * inch, 0.45 * inch, "", ha="left", va="center", fontsize=13, animated=True)
        pitch = min(0.3, (width * size - MARGIN - 1.2) / len(word))         # inches: the word fits the frame
        self.word = Letters(ax, word, (MARGIN + 0.9) * inch, 0.45 * inch, pitch * inch, fontsize=min(14, 45 * pitch))
        self.vectors = [self.h_prev, self.Wh, self.x, self.Ux, self.Wh_term, self.Ux_term, self.z, self.h]
        self.blit = Blit(self.fig, [self.title, *self.word.texts, *self.boxes,
                                    *(a for cells in self.vectors for a in cells.artists)])

    def png(self, t: int, code: int, h_prev, Wh, x, Ux, z, h) -> bytes:
        """The frame of step ``t``, whose ``x_t`` is character number ``code``."""
        self.title.set_text(f"t = {t}")
        self.word.show(t - 1)
        self.boxes[0].set_x(self.at["U"] + code)
        for cells, values in zip(self.vectors, (h_prev, Wh, x, Ux, Wh, Ux, z, h)):
            cells.set(values)
        return self.blit.png()


def loop_frames(word: str, vocab: Vocab, W, U, b, cell: str, scalar: bool = False) -> list:
    """The labelled frames of ``word``: ``h_t`` from ``forward``, the parts of each step around it."""
    codes = check_steps(vocab.encode(word), MOST)
    word = vocab.decode(codes)
    H = forward(CELLS[cell], W, U, b, torch.tensor(codes)[:, None]).H[:, 0]
    Wh, Ux = H[:-1] @ W.T, U.T[codes]                       # W @ h_{t-1}; U @ x_t is the column x_t picks
    Z = Wh + Ux + b.T
    painter, eye, frames = StepPainter(word, vocab, W, U, b, cell, largest_abs(W, U, b, H, Z)), np.eye(len(vocab)), []
    for k, code in enumerate(codes):
        h = H[k + 1]
        if scalar:                                           # as notebooks 2 and 3 print a step
            label = f"({code}) · h = {h.item() if not h.is_floating_point() else f'{h.item():.2f}'}"
        else:                                                # as notebook 5 prints h for katze
            label = f"· h_t = [{', '.join(f'{v:.2f}' for v in h.tolist())}]"
        frames.append(frame(f"t = {k + 1} · x_t = '{word[k]}' {label}",
                            painter.png(k + 1, code, H[k], Wh[k], eye[code], Ux[k], Z[k], h)))
    return frames


def matrix_player(word: str, vocab: Vocab, W, U, b=None, cell: str = "tanh") -> Player:
    """The loop ``h_t = f(W @ h_{t-1} + U @ x_t + b)`` over ``word`` for a simple ``cell`` ("tanh",
    "relu", "identity"). Notebook 5, 'Watch it run'."""
    W, U, b = check_matrices(vocab, W, U, b, cell=cell)
    return Player(word, lambda w: loop_frames(w, vocab, W, U, b, cell))


def scalar_player(word: str, vocab: Vocab, weight: float = 1) -> Player:
    """The integer loop ``h = weight*h + x[t]``: the matrix player with ``scalar_matrices``. Notebook 2,
    'The loop' (weight 1) and notebook 3, 'The recurrence' (weight 2)."""
    W, U, b = scalar_matrices(vocab, weight)
    return Player(word, lambda w: loop_frames(w, vocab, W, U, b, "identity", scalar=True))


def backward_player(word: str, vocab: Vocab, W, U, b, V, target: int, cell: str = "tanh") -> Player:
    """The backward pass over ``word`` of class ``target``, t = T down to 1: ``dL/dh_t`` and its norm, the
    column of ``U`` step t adds to, ``dL/dU`` summed so far. Notebook 8, 'The backward pass, animated'."""
    W, U, b, V = check_matrices(vocab, W, U, b, V, target, cell)

    def make_frames(word: str) -> list:
        codes = check_steps(vocab.encode(word), MOST)
        word = vocab.decode(codes)
        dh, dU = backward_steps(codes, W, U, b, V, target, cell)
        return [frame(f"t = {k + 1} · x_t = '{c}' · dL/dh_t = [{', '.join(f'{v:.3f}' for v in dh[k].tolist())}] · "
                      f"|dL/dh_t| = {float(dh[k].norm()):.3f} · U column '{c}'",
                      png(backward_figure(word, vocab, codes, dh, dU, k + 1))) for k, c in reversed(list(enumerate(word)))]
    return Player(word, make_frames)
