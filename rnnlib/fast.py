"""The fast trainer: what ``fit`` runs by default, each gain one idea of the course.

Written out in notebook 10_vectorized, "Where the speed comes from". The model and the
loss are those of ``RNN``; only the way the batch is computed changes:

1. **Columns of U, not products with one-hot vectors.** ``U @ onehot(c)`` is column ``c``
   of ``U``, so the input term of every step of every word is one gather, done for all
   steps at once before the loop: ``Z[t] = U[:, codes[t]] + b``.
2. **Batches of words of equal length**, reshuffled every epoch: no padding is computed,
   so no mask either. Each word still lands in a random batch of its length, and the
   batches come in a random order.
3. **Two operations per step**, forward and backward: ``H = f(Z[t] + H @ W.T)`` (one
   fused ``addmm`` and ``f`` in place), then ``dZ[t] = dH * f'``, ``dH = dZ[t] @ W``.
4. **Backpropagation through time by hand** (``Recurrence``): autograd records one
   operation for the whole loop instead of a handful per step, and ``dW`` is one product
   over all the steps at the end.

Words are rows here (``H`` is batch x nhidden, as in ``torch.nn.RNN``): the same numbers
as the columns of ``RNN.hidden``, transposed, and cheaper to slice per step.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .model import RNN


def equal_length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of indices of words of one length each: words shuffled within each length, batches shuffled.

    Every word is in exactly one batch; at most one batch per length is smaller than
    ``batch_size``. A new call with the same ``rng`` gives a new shuffle (one per epoch).
    """
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(lengths):
        by_length[n].append(i)
    batches = []
    for n in sorted(by_length):
        ids = by_length[n]
        rng.shuffle(ids)
        batches += [ids[start:start + batch_size] for start in range(0, len(ids), batch_size)]
    rng.shuffle(batches)
    return batches


class Recurrence(torch.autograd.Function):
    """The logits ``h_T @ V.T`` of words of equal length, with backpropagation through time by hand.

    ``codes`` is steps x batch. Forward: ``Z[t] = U[:, codes[t]] + b`` for all steps at once,
    then ``h_t = f(Z[t] + h_{t-1} @ W.T)`` from ``h_0 = 0``. Autograd records this one
    operation; its backward pass is the chain rule written out, step by step in reverse.
    """

    @staticmethod
    def forward(ctx, codes: torch.Tensor, U: torch.Tensor, b: torch.Tensor, W: torch.Tensor,
                V: torch.Tensor, relu: bool) -> torch.Tensor:
        f_ = torch.relu_ if relu else torch.tanh_
        Z = F.embedding(codes, U.T)                  # column c of U, for every step of every word
        Z += b.T
        H = torch.empty_like(Z)                      # every step's h, kept for the backward pass
        Zs, Hs, WT = Z.unbind(0), H.unbind(0), W.T
        f_(Hs[0].copy_(Zs[0]))                       # h_1 = f(Z[0] + h_0 @ W.T) with h_0 = 0
        for t in range(1, len(Hs)):
            f_(torch.addmm(Zs[t], Hs[t - 1], WT, out=Hs[t]))
        ctx.relu = relu
        ctx.save_for_backward(codes, U, H, W, V)
        return Hs[-1] @ V.T

    @staticmethod
    def backward(ctx, dO: torch.Tensor):
        codes, U, H, W, V = ctx.saved_tensors
        slope = (H > 0).to(H.dtype) if ctx.relu else 1 - H * H    # f'(z), read from h = f(z)
        dZ = torch.empty_like(H)
        dZs, slopes = dZ.unbind(0), slope.unbind(0)
        dh = dO @ V                                                # back from o = V @ h_T
        for t in range(len(dZs) - 1, 0, -1):
            dh = torch.mul(dh, slopes[t], out=dZs[t]) @ W          # back to h_{t-1}
        torch.mul(dh, slopes[0], out=dZs[0])
        n = H.shape[2]
        dZ2 = dZ.view(-1, n)
        dW = dZ[1:].reshape(-1, n).T @ H[:-1].reshape(-1, n)       # sum over t of dz_t^T h_{t-1}
        dUT = torch.zeros(U.shape[1], n, dtype=U.dtype, device=U.device).index_add_(0, codes.reshape(-1), dZ2)
        return None, dUT.T, dZ2.sum(0).unsqueeze(1), dW, dO.T @ H[-1], None


def logits(rnn: RNN, codes: torch.Tensor) -> torch.Tensor:
    """``rnn``'s logits (batch x nclasses) for ``codes``: steps x batch, words of one length."""
    return Recurrence.apply(codes, rnn.U, rnn.b, rnn.W, rnn.V, rnn.nonlinearity == "relu")


class EqualLengthWords:
    """The training words as integer codes, grouped by length once, for ``logits``."""

    def __init__(self, codes: Sequence[Sequence[int]], device: torch.device | str = "cpu"):
        self.lengths = [len(c) for c in codes]
        self.groups: dict[int, torch.Tensor] = {}      # length -> steps x words tensor
        self.position: list[int] = []                  # index of each word in its group
        members: dict[int, list[Sequence[int]]] = defaultdict(list)
        for c in codes:
            self.position.append(len(members[len(c)]))
            members[len(c)].append(c)
        for n, group in members.items():
            self.groups[n] = torch.tensor(group, dtype=torch.long, device=device).T.contiguous()
        self.device = device

    def batches(self, batch_size: int, rng: random.Random) -> list[list[int]]:
        """One epoch's batches: see ``equal_length_batches``."""
        return equal_length_batches(self.lengths, batch_size, rng)

    def nbatches(self, batch_size: int) -> int:
        """How many batches each epoch has (the same every epoch)."""
        return sum(-(-len(group[0]) // batch_size) for group in self.groups.values())

    def codes(self, batch: Sequence[int]) -> torch.Tensor:
        """steps x batch codes of the words numbered ``batch`` (all of one length)."""
        group = self.groups[self.lengths[batch[0]]]
        return group[:, torch.tensor([self.position[i] for i in batch], device=self.device)]

    def logits(self, rnn: RNN, batch: Sequence[int]) -> torch.Tensor:
        """Logits of the words numbered ``batch`` (batch x nclasses), as ``rnn`` gives them."""
        return logits(rnn, self.codes(batch))
