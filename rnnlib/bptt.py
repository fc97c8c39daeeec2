"""Backpropagation through time, written out: the one backward pass of ``rnnlib`` (notebook 8,
'Backpropagation through time, by hand'). From the loss's gradient on every ``h_t``, t = T down to 1::

    dL/dh_t += what comes back from step t + 1;  dL/dz_t = the cell's back step (tanh: dL/dh_t * (1 - h_t^2))
    dL/dh_{t-1} = dL/dz_t @ W (+ the gate's share, for the GRU)
    dL/dW = sum_t dz_t^T h_{t-1},  dL/dU[:, x_t] += dz_t,  dL/db = sum_t dz_t

A step on left padding (``mask`` False) passes its ``dL/dh_t`` on unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .rnn import Trace


@dataclass
class Gradients:
    """``dL/dW``, ``dL/dU``, ``dL/db``, ``dL/dh_0``, and ``dh[t] = dL/dh_t`` as it arrives at step t."""

    W: torch.Tensor
    U: torch.Tensor
    b: torch.Tensor
    h0: torch.Tensor | None   # computed when h_0 was given (or with steps=True)
    dh: torch.Tensor | None   # (T + 1) x batch x nhidden (dh[0] is dL/dh_0), with steps=True
    dz: torch.Tensor | None   # T x batch x gates*nhidden: each step's dL/d(U@x_t + b), with steps=True


def backward(trace: Trace, W: torch.Tensor, nvocab: int, dH: torch.Tensor, steps: bool = False) -> Gradients:
    """The gradients of a loss whose gradient on each ``h_t`` is ``dH[t]`` ((T + 1) x batch x nhidden), or,
    for a loss that reads only ``h_T`` (a classifier's), on ``h_T`` alone: ``dH`` is then ``batch x nhidden``.
    ``steps=True`` keeps every ``dL/dh_t`` (for the backward player of notebook 8)."""
    T, B = trace.codes.shape
    cell, H, mask = trace.cell, trace.H, trace.mask
    kept = cell.kept(trace)
    kept = kept.unbind(0) if isinstance(kept, torch.Tensor) else kept
    width = W.shape[0]                                        # gates x nhidden
    dUx = torch.empty(T, B, width, dtype=H.dtype, device=H.device)
    dWh = dUx if cell.gates == 1 else torch.empty_like(dUx)  # a simple cell: the same dz for both
    dh_seen = torch.empty_like(H) if steps else None
    every_step = dH.dim() == 3
    Hs, dUxs = H.unbind(0), dUx.unbind(0)                     # each step's views, made once
    dWhs, dHs = dWh.unbind(0) if cell.gates > 1 else dUxs, dH.unbind(0) if every_step else None
    dh, to_h0 = dHs[T] if every_step else dH, trace.h0_given or steps   # h_0 = 0 is no parameter
    for t in range(T, 0, -1):
        if steps:
            dh_seen[t] = dh
        if mask is not None:                                  # padding: dh passes through
            keep = dh * ~mask[t - 1, :, None]
            dh = dh * mask[t - 1, :, None]
        direct = cell.back(dh, kept[t - 1], Hs[t - 1], dUxs[t - 1], dWhs[t - 1])
        if t > 1 or to_h0:
            dh = torch.addmm(dHs[t - 1], dWhs[t - 1], W) if every_step else dWhs[t - 1] @ W   # to h_{t-1}
            if direct is not None:
                dh += direct
            if mask is not None:
                dh += keep
    if steps:
        dh_seen[0] = dh
    first = 0 if trace.h0_given else 1                        # nor does it add to dW
    dW = dWh[first:].reshape(-1, width).T @ H[first:-1].reshape(-1, H.shape[2])
    dUT = torch.zeros(nvocab, width, dtype=H.dtype, device=H.device)
    dUT.index_add_(0, trace.codes.reshape(-1), dUx.reshape(-1, width))
    return Gradients(dW, dUT.T, dUx.reshape(-1, width).sum(0)[:, None], dh if to_h0 else None, dh_seen,
                     dUx if steps else None)
