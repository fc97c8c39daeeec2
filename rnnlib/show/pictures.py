"""Static pictures of the loop beside each player, for the reader whose page runs no scripts; the numbers
come from ``rnnlib.rnn.forward`` and ``rnnlib.bptt.backward``, the matrices are checked here.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..bptt import backward
from ..checks import check_choice, check_int
from ..model import softmax_minus_onehot
from ..rnn import CELLS, forward
from ..text import Vocab
from .draw import (HIGHLIGHT, ONEHOT_CMAP, Cells, arrow, cell_inches, characters, check_steps, largest_abs, new_figure,
                   unit_axes)

SIMPLE_CELLS = [name for name, c in CELLS.items() if c.gates == 1]
GAP, MARGIN, TOP, BETWEEN, BOTTOM = 0.75, 0.45, 0.95, 0.75, 0.85     # inches around the matrices
MOST = 40                                    # steps in a picture of the loop, or frames of its players


def check_matrices(vocab: Vocab, W, U, b=None, V=None, target: int = 0, cell: str = "tanh"
                   ) -> tuple[torch.Tensor, ...]:
    """``W``, ``U``, ``b`` (zero when None) and ``V`` (when given) as CPU tensors of one type (integers
    stay integers), or a one-line error naming the shape expected (notebook 5, 'The shapes of W and U')."""
    check_choice("cell", cell, SIMPLE_CELLS)
    W = _matrix("W", W)
    if W.dim() != 2 or W.shape[0] != W.shape[1] or not len(W):
        raise ValueError(f"W must be nhidden x nhidden (square), got shape {_shape(W)}")
    nh, out = len(W), [W]
    b = torch.zeros(nh, 1, dtype=torch.int64) if b is None else b
    for name, M, what, rows, columns in [("U", U, "nhidden x len(vocab)", nh, len(vocab)), ("b", b, "nhidden x 1", nh, 1)
                                         ] + ([("V", V, "nclasses x nhidden", None, nh)] if V is not None else []):
        M = _matrix(name, M)
        rows = rows or (len(M) if M.dim() == 2 and len(M) else "n")
        if tuple(M.shape) != (rows, columns):
            raise ValueError(f"{name} must be {what} = {rows} x {columns}, got shape {_shape(M)}")
        out.append(M)
    if V is not None and check_int("target", target, minimum=0) >= len(V):
        raise ValueError(f"target must be a class number from 0 to {len(V) - 1}, got {target}")
    dtype = functools.reduce(torch.promote_types, (M.dtype for M in out))       # integers stay exact
    return tuple(M.to(dtype) for M in out)


def _matrix(name: str, M) -> torch.Tensor:
    if not isinstance(M, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name} must be a torch tensor or a numpy array, got {type(M).__name__}")
    M = torch.as_tensor(M).detach().cpu()     # a trained model's parameters may live on a GPU
    if M.dtype == torch.bool or M.is_complex():
        raise TypeError(f"{name} must hold real numbers, got {M.dtype}")
    if not torch.isfinite(M).all():
        raise ValueError(f"{name} holds nan or inf values: nothing sensible to draw")
    return M


def _shape(M: torch.Tensor) -> str:
    return " x ".join(str(n) for n in M.shape) or "() (a scalar)"


def scalar_matrices(vocab: Vocab, weight: float = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``W = [[weight]]``, ``U = [[0, 1, .., len(vocab) - 1]]``, ``b = 0``: with the identity cell, the loop
    ``h = weight*h + x[t]`` of notebook 2, 'The loop' (weight 1) and notebook 3, 'The recurrence' (weight 2);
    integers (exact, as the notebooks print them) for an integer weight."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise TypeError(f"weight must be a number, got {type(weight).__name__}: {weight!r}")
    dtype = torch.int64 if isinstance(weight, int) else torch.float64
    return torch.tensor([[weight]], dtype=dtype), torch.arange(len(vocab), dtype=dtype)[None], torch.zeros(1, 1, dtype=dtype)


def backward_steps(codes: list[int], W, U, b, V, target: int, cell: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``dL/dh_t`` (row t - 1) and ``dL/dU`` summed over steps T..t (``T x nh x nvocab``), t = 1..T, for the
    loss ``-log softmax(V @ h_T)[target]`` (notebook 8, 'BPTT by hand')."""
    trace = forward(CELLS[cell], W, U, b, torch.tensor(codes)[:, None])
    dh_T = softmax_minus_onehot(trace.H[-1] @ V.T, torch.tensor([target]))[1] @ V    # the loss reads only h_T
    back = backward(trace, W, U.shape[1], dh_T, steps=True)
    columns = torch.zeros(len(codes), U.shape[1], U.shape[0], dtype=W.dtype)
    columns[torch.arange(len(codes)), torch.tensor(codes)] = back.dz[:, 0]      # step t feeds column x_t
    dh, dU = back.dh[1:, 0], columns.flip(0).cumsum(0).flip(0).transpose(1, 2)   # summed over steps t..T
    return dh, dU


class Chain:
    """What both pictures draw: ``x_1 .. x_T`` above, one column per step below (``h_t`` or ``dL/dh_t``),
    ``spare`` cells on the right; in cell units, ``inch`` cells to the inch."""

    def __init__(self, word: str, vocab: Vocab, codes: list[int], nh: int, first: int, spare: int, title: str,
                 pyplot: bool):
        nv, slots = len(vocab), len(codes) + 1 - first
        self.cell, self.fontsize = cell_inches(slots + spare, nv + nh, 2 * MARGIN + slots * GAP + 0.6 * bool(spare),
                                               TOP + BETWEEN + BOTTOM)
        inch = self.inch = 1 / self.cell
        self.pitch, self.first, self.nh = 1 + GAP * inch, first, nh
        self.top_x, self.top_h = TOP * inch, TOP * inch + nv + BETWEEN * inch
        self.spare = MARGIN * inch + slots * self.pitch + 0.6 * inch * bool(spare)   # where the spare cells start
        width, height = max(self.spare + spare + MARGIN * inch, 7.5 * inch), self.top_h + nh + BOTTOM * inch
        self.fig = new_figure(width * self.cell, height * self.cell, pyplot)
        self.ax = unit_axes(self.fig, width, height)
        self.ax.text(0.2 * inch, 0.35 * inch, title, ha="left", va="center", fontsize=13)
        characters(self.ax, vocab.chars, self.x(1) - 0.18 * inch, self.top_x + 0.5, False, self.cell, ha="right",
                   va="center")                                 # the rows of x_t belong to characters
        for t, code in enumerate(codes, start=1):
            Cells(self.ax, self.x(t), self.top_x, nv, 1, Normalize(0, 1.6), ONEHOT_CMAP, "{:.0f}", self.fontsize,
                  hide_zeros=True).set(np.eye(nv)[code]).caption(f"$x_{{{t}}}$ '{word[t - 1]}'", 0.06 * inch, 11)

    def x(self, t: int) -> float:
        """The left edge of step ``t``'s columns."""
        return MARGIN * self.inch + (t - self.first) * self.pitch

    def column(self, t: int, values, norm: Normalize, fmt: str, caption: str, back: bool) -> Cells:
        """Step ``t``'s column, ``U`` between it and ``x_t``, ``W`` (``W^T`` back) from the step before."""
        inch, x, middle = self.inch, self.x(t), self.top_h + self.nh / 2
        ends = [(x + 0.5, self.top_h - (BETWEEN - 0.05) * inch), (x + 0.5, self.top_h - 0.05 * inch)]
        if t:
            arrow(self.ax, *ends[::-1] if back else ends, "U", (0.14 * inch, -0.1 * inch))
        ends = [(self.x(t - 1) + 1 + 0.05 * inch, middle), (x - 0.05 * inch, middle)]
        if t > self.first:
            arrow(self.ax, *ends[::-1] if back else ends, "$W^T$" if back else "W", (0, -0.1 * inch))
        return Cells(self.ax, x, self.top_h, self.nh, 1, norm, fmt=fmt, fontsize=self.fontsize).set(values).caption(
            caption, 0.06 * inch, below=True)


def plot_unrolled(word: str, vocab: Vocab, W, U, b=None, cell: str = "tanh") -> Figure:
    """The loop over ``word`` unrolled as one figure: ``x_t`` above, ``h_0 .. h_T`` below, U and W arrows.
    Beside the player of notebook 5, 'Watch it run' (with ``scalar_matrices``, of notebooks 2 and 3)."""
    W, U, b = check_matrices(vocab, W, U, b, cell=cell)
    codes = check_steps(vocab.encode(word), MOST)
    H = forward(CELLS[cell], W, U, b, torch.tensor(codes)[:, None]).H[:, 0]
    inside = "W@h_{t-1} + U@x_t + b"
    formula = f"$h_t = {inside}$" if cell == "identity" else rf"$h_t = \mathrm{{{cell}}}({inside})$"
    formula += f" with W = [[{W.item()}]]" if W.shape == (1, 1) else ""      # the integer loop: which weight
    word, vmax = vocab.decode(codes), largest_abs(H)
    chain = Chain(word, vocab, codes, len(W), 0, 0, f"{formula} unrolled over '{word}'", pyplot=True)
    for t, h in enumerate(H):
        chain.column(t, h, Normalize(-vmax, vmax), "{:.2f}" if H.is_floating_point() else "{:.0f}", f"$h_{{{t}}}$",
                     back=False)
    return chain.fig


def backward_figure(word: str, vocab: Vocab, codes: list[int], dh: torch.Tensor, dU: torch.Tensor,
                    upto: int | None, pyplot: bool = False) -> Figure:
    """The backward pass unrolled: ``dL/dh_t`` for t = T down to ``upto`` (all when None) and ``dL/dU``
    summed over those steps, the column step ``upto`` adds to boxed."""
    T, nh, last = len(codes), dh.shape[1], upto or 1
    title = f"backward through '{word}': " + (f"t = {upto}, |dL/dh_{upto}| = {float(dh[upto - 1].norm()):.3f}" if upto
                                              else f"dL/dh_t for t = {T} down to 1")
    chain = Chain(word, vocab, codes, nh, 1, len(vocab), title, pyplot)
    ax, inch, vmax = chain.ax, chain.inch, largest_abs(dh, dU[0])
    for t, column in enumerate(dh, start=1):
        if t < last:                                          # not reached yet: an empty column
            Cells(ax, chain.x(t), chain.top_h, nh, 1, Normalize(-1, 1), fontsize=None).set(column * 0).caption(
                f"$dL/dh_{{{t}}}$", 0.06 * inch, below=True)
            continue
        chain.column(t, column, Normalize(-vmax, vmax), "{:.3f}", f"$dL/dh_{{{t}}}$", back=True)
        ax.text(chain.x(t) + 0.5, chain.top_h + nh + 0.4 * inch, f"norm {float(column.norm()):.3f}", ha="center",
                va="top", fontsize=9, color="0.3")
    if upto:
        ax.add_patch(Rectangle((chain.x(upto) - 0.1 * inch, chain.top_x - 0.35 * inch), 1 + 0.2 * inch,
                               chain.top_h + nh - chain.top_x + 0.9 * inch, fill=False, edgecolor=HIGHLIGHT, lw=3))
        ax.add_patch(Rectangle((chain.spare + codes[upto - 1], chain.top_h), 1, nh, fill=False, lw=2.5, zorder=3))
    ax.text(chain.x(T) + 1 + 0.1 * inch, chain.top_h + nh / 2, r"$\leftarrow V^T dL/do$", ha="left", va="center",
            fontsize=10, color="0.3")
    Cells(ax, chain.spare, chain.top_h, nh, len(vocab), Normalize(-vmax, vmax), fmt="{:.3f}", fontsize=chain.fontsize
          ).set(dU[last - 1]).caption(f"dL/dU, steps {T}..{last}", 0.06 * inch, 11, below=True)
    characters(ax, vocab.chars, chain.spare + 0.5, chain.top_h - 0.05 * inch, True, chain.cell, ha="center", va="bottom")
    return chain.fig


def plot_backward(word: str, vocab: Vocab, W, U, b, V, target: int, cell: str = "tanh") -> Figure:
    """The backward pass over ``word`` of class ``target`` as one figure: every ``dL/dh_t``, and ``dL/dU``.
    Beside the backward player of notebook 8."""
    W, U, b, V = check_matrices(vocab, W, U, b, V, target, cell)
    codes = check_steps(vocab.encode(word), MOST)
    return backward_figure(vocab.decode(codes), vocab, codes, *backward_steps(codes, W, U, b, V, target, cell), None,
                           pyplot=True)
