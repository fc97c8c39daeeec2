"""The recurrence: the table of cells and the one loop over time (notebook 5, 'A nonlinearity and a bias';
notebook 14, 'A gated cell from matrices'). Words are rows here, as in ``torch.nn.RNN``: ``H[t]`` is
``batch x nhidden`` and a step computes ``H[t-1] @ W.T``, the transpose of the notebooks' ``W @ h``;
``W``, ``U``, ``b`` keep the notebooks' shapes (``b`` a column). Adding a cell is one more entry of ``CELLS``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Cell:
    """One row of the table: ``gates`` blocks of ``nhidden`` rows in ``W``, ``U`` and ``b``.

    ``step(Ux_t, h_prev, WT, out)`` writes ``h_t`` into ``out`` and returns what it keeps for the backward
    pass (``rnnlib.bptt``, notebook 8); ``kept(trace)`` gives that for every step; ``back(dh, kept_t, h_prev,
    dUx, dWh)`` writes ``dL/d(U@x_t + b)`` into ``dUx`` and ``dL/d(W@h_{t-1})`` into ``dWh`` (the same
    tensor for a simple cell) and returns the part of ``dL/dh_{t-1}`` that does not go through ``W``
    (``None`` for a simple cell).
    """

    name: str
    gates: int
    step: Callable
    kept: Callable
    back: Callable


def simple(name: str, f_: Callable, f_prime: Callable) -> Cell:
    """``h_t = f(W@h_{t-1} + U@x_t + b)``; the backward pass reads ``f'(z)`` from ``h = f(z)``."""
    def step(Ux, h_prev, WT, out):
        f_(torch.addmm(Ux, h_prev, WT, out=out))

    def back(dh, slope, h_prev, dz, dz_again):
        torch.mul(dh, slope, out=dz)                      # dL/dz_t = dL/dh_t * f'(z_t)
    return Cell(name, 1, step, lambda trace: f_prime(trace.H[1:]), back)   # f' of every step at once


def gru_step(Ux, h_prev, WT, out):
    """PyTorch's GRU (reset gate ``r``, update gate ``z``, candidate ``n``), its inner bias zero."""
    Wh, rz = h_prev @ WT, 2 * WT.shape[0]                 # the three blocks of W @ h, one product
    r, z = torch.sigmoid(Ux[:, :rz] + Wh[:, :rz]).chunk(2, dim=1)
    Wh_n = Wh[:, rz:]
    n = torch.tanh(Ux[:, rz:] + r * Wh_n)
    torch.lerp(n, h_prev, z, out=out)                     # h_t = (1 - z) * n + z * h_{t-1}
    return r, z, n, Wh_n


def gru_back(dh, kept, h_prev, dUx, dWh):
    r, z, n, Wh_n = kept
    dn = dh * (1 - z) * (1 - n * n)                       # back through h = (1-z)*n + z*h_prev, tanh
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * Wh_n * r * (1 - r)
    torch.cat([dr, dz, dn], dim=1, out=dUx)
    torch.cat([dr, dz, dn * r], dim=1, out=dWh)
    return dh * z


CELLS = {
    "tanh": simple("tanh", torch.tanh_, lambda h: 1 - h * h),
    "relu": simple("relu", torch.relu_, lambda h: (h > 0).to(h.dtype)),
    "identity": simple("identity", lambda z: z, torch.ones_like),
    "gru": Cell("gru", 3, gru_step, lambda trace: trace.saved, gru_back),
}


@dataclass
class Trace:
    """What ``forward`` computed: ``H[t]`` is ``h_t`` for t = 0..T (``batch x nhidden`` each)."""

    cell: Cell
    codes: torch.Tensor                 # T x batch: the characters' numbers
    mask: torch.Tensor | None           # T x batch, False on left padding; None: no padding
    H: torch.Tensor                     # (T + 1) x batch x nhidden
    saved: list                         # what each step keeps for the backward pass
    h0_given: bool = False              # False: h_0 = 0, and no gradient is owed to it


def forward(cell: Cell, W: torch.Tensor, U: torch.Tensor, b: torch.Tensor, codes: torch.Tensor,
            mask: torch.Tensor | None = None, h0: torch.Tensor | None = None) -> Trace:
    """Every ``h_t`` of a batch of words: ``codes`` is ``T x batch`` (words left-padded with any code),
    ``mask`` marks the real characters (a padded word keeps ``h_0`` until it starts, notebook 11); ``h0``
    is ``batch x nhidden`` (zeros when None)."""
    T, B = codes.shape
    nhidden = W.shape[1]
    Ux = F.embedding(codes, U.T).add_(b.T)                # column x_t of U, plus b, for every step
    H = torch.empty(T + 1, B, nhidden, dtype=W.dtype, device=W.device)
    H[0] = 0 if h0 is None else h0
    Hs, Uxs, WT, saved = H.unbind(0), Ux.unbind(0), W.T, []     # unbind: views of each step, made once
    for t in range(T):
        saved.append(cell.step(Uxs[t], Hs[t], WT, Hs[t + 1]))
        if mask is not None:                              # padding: h stays what it was
            torch.where(mask[t, :, None], Hs[t + 1], Hs[t], out=Hs[t + 1])
    return Trace(cell, codes, mask, H, saved, h0 is not None)
