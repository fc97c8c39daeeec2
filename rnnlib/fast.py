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
4. **Backpropagation through time by hand** (``backward_through_time``, notebook 8): one
   operation for autograd to record instead of a handful per step (``Recurrence``), and
   ``dW`` is one product over all the steps at the end.
5. **One update of one vector** (``Trainer``): ``W``, ``U``, ``b`` and ``V`` live in one
   vector ``theta`` and their gradients in one vector ``grad``, so clipping and the
   optimizer (notebook 8's SGD, RMSProp, Adam) are a handful of operations on two vectors
   instead of loops over four matrices; with the loss's gradient ``softmax - onehot``
   written out too, no autograd is left.

Words are rows here (``H`` is batch x nhidden, as in ``torch.nn.RNN``): the same numbers
as the columns of ``RNN.hidden``, transposed, and cheaper to slice per step.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence

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


def hidden_states(codes: torch.Tensor, U: torch.Tensor, b: torch.Tensor, W: torch.Tensor,
                  relu: bool) -> torch.Tensor:
    """Every ``h_t`` (steps x batch x nhidden) of words of equal length; ``codes`` is steps x batch.

    ``Z[t] = U[:, codes[t]] + b`` for all steps at once, then ``h_t = f(Z[t] + h_{t-1} @ W.T)``
    from ``h_0 = 0``.
    """
    f_ = torch.relu_ if relu else torch.tanh_
    Z = F.embedding(codes, U.T)                  # column c of U, for every step of every word
    Z += b.T
    H = torch.empty_like(Z)
    Zs, Hs, WT = Z.unbind(0), H.unbind(0), W.T
    f_(Hs[0].copy_(Zs[0]))                       # h_1 = f(Z[0] + h_0 @ W.T) with h_0 = 0
    for t in range(1, len(Hs)):
        f_(torch.addmm(Zs[t], Hs[t - 1], WT, out=Hs[t]))
    return H


def backward_through_time(codes: torch.Tensor, H: torch.Tensor, dO: torch.Tensor, nvocab: int,
                          W: torch.Tensor, V: torch.Tensor, relu: bool) -> tuple[torch.Tensor, ...]:
    """The gradients ``dU, db, dW, dV`` of a loss whose gradient on the logits ``H[-1] @ V.T`` is ``dO``.

    The chain rule step by step in reverse, as notebook 8 writes it for one word (there with
    words as columns); ``H`` is what ``hidden_states`` returned.
    """
    slope = (H > 0).to(H.dtype) if relu else 1 - H * H            # f'(z), read from h = f(z)
    dZ = torch.empty_like(H)
    dZs, slopes = dZ.unbind(0), slope.unbind(0)
    dh = dO @ V                                                    # back from o = V @ h_T
    for t in range(len(dZs) - 1, 0, -1):
        dh = torch.mul(dh, slopes[t], out=dZs[t]) @ W              # back to h_{t-1}
    torch.mul(dh, slopes[0], out=dZs[0])
    n = H.shape[2]
    dZ2 = dZ.view(-1, n)
    dW = dZ[1:].reshape(-1, n).T @ H[:-1].reshape(-1, n)           # sum over t of dz_t^T h_{t-1}
    dUT = torch.zeros(nvocab, n, dtype=H.dtype, device=H.device).index_add_(0, codes.reshape(-1), dZ2)
    return dUT.T, dZ2.sum(0).unsqueeze(1), dW, dO.T @ H[-1]


@torch.no_grad()
def last_hidden(rnn: RNN, codes: Sequence[Sequence[int]], batch_size: int = 2048) -> torch.Tensor:
    """The last ``h`` of each word (one row per word, ``len(codes) x nhidden``), words in any order.

    The same numbers as the columns of ``rnn.hidden(onehot_batch(words))``: words of one
    length at a time, through ``hidden_states``, so neither one-hot vectors nor padding.
    """
    device = rnn.W.device
    out = torch.empty(len(codes), rnn.nhidden, dtype=rnn.W.dtype, device=device)
    words = EqualLengthWords(codes, device)
    for n, group in words.groups.items():
        ids = torch.tensor(words.members[n], device=device)
        for start in range(0, len(ids), batch_size):
            out[ids[start:start + batch_size]] = hidden_states(
                group[:, start:start + batch_size], rnn.U, rnn.b, rnn.W, rnn.nonlinearity == "relu")[-1]
    return out


class Recurrence(torch.autograd.Function):
    """The logits ``h_T @ V.T`` of words of equal length, with backpropagation through time by hand.

    Autograd records this one operation; its backward pass is ``backward_through_time``.
    """

    @staticmethod
    def forward(ctx, codes: torch.Tensor, U: torch.Tensor, b: torch.Tensor, W: torch.Tensor,
                V: torch.Tensor, relu: bool) -> torch.Tensor:
        H = hidden_states(codes, U, b, W, relu)
        ctx.relu, ctx.nvocab = relu, U.shape[1]
        ctx.save_for_backward(codes, H, W, V)
        return H[-1] @ V.T

    @staticmethod
    def backward(ctx, dO: torch.Tensor):
        codes, H, W, V = ctx.saved_tensors
        dU, db, dW, dV = backward_through_time(codes, H, dO, ctx.nvocab, W, V, ctx.relu)
        return None, dU, db, dW, dV, None


def logits(rnn: RNN, codes: torch.Tensor) -> torch.Tensor:
    """``rnn``'s logits (batch x nclasses) for ``codes``: steps x batch, words of one length."""
    return Recurrence.apply(codes, rnn.U, rnn.b, rnn.W, rnn.V, rnn.nonlinearity == "relu")


class EqualLengthWords:
    """Words as integer codes, grouped by length once: for ``Trainer``'s epochs and ``last_hidden``."""

    def __init__(self, codes: Sequence[Sequence[int]], device: torch.device | str = "cpu"):
        self.lengths = [len(c) for c in codes]
        self.members: dict[int, list[int]] = defaultdict(list)   # length -> its words' numbers, in group order
        self.position: list[int] = []                             # index of each word in its group
        for i, n in enumerate(self.lengths):
            self.position.append(len(self.members[n]))
            self.members[n].append(i)
        self.groups = {n: torch.tensor([codes[i] for i in ids], dtype=torch.long, device=device).T.contiguous()
                       for n, ids in self.members.items()}     # length -> steps x words tensor
        self.device = device

    def batches(self, batch_size: int, rng: random.Random) -> list[list[int]]:
        """One epoch's batches: see ``equal_length_batches``."""
        return equal_length_batches(self.lengths, batch_size, rng)

    def nbatches(self, batch_size: int) -> int:
        """How many batches each epoch has (the same every epoch)."""
        return sum(-(-len(ids) // batch_size) for ids in self.members.values())

    def epoch_codes(self, batches: Sequence[Sequence[int]], targets: torch.Tensor
                    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(codes, targets)`` of each batch: one gather per length for the whole epoch, not one per batch."""
        wanted: dict[int, list[int]] = defaultdict(list)      # length -> words in batch order
        for batch in batches:
            wanted[self.lengths[batch[0]]] += batch
        sliced: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for n, ids in wanted.items():
            sliced[n] = (self.groups[n][:, torch.tensor([self.position[i] for i in ids], device=self.device)],
                         targets[torch.tensor(ids, device=targets.device)])
        out, used = [], defaultdict(int)
        for batch in batches:
            n = self.lengths[batch[0]]
            (codes, target), start = sliced[n], used[n]
            out.append((codes[:, start:start + len(batch)], target[start:start + len(batch)]))
            used[n] += len(batch)
        return out


def _views(flat: torch.Tensor, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Consecutive pieces of ``flat``, one per name, each viewed in its shape (they share its memory)."""
    views, start = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        views[name] = flat[start:start + size].view(shape)
        start += size
    return views


def optimizer_step(optimizer: str, theta: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor,
                   k: int, lr: float) -> None:
    """Update ``k`` (from 1) of notebook 8's ``sgd``, ``rmsprop`` or ``adam`` on ``theta``, in place.

    ``g`` is the gradient; ``m`` and ``v`` (zeros at first) are what Adam and RMSProp
    remember. The constants are ``torch.optim``'s defaults, so the steps are theirs.
    """
    if optimizer == "sgd":
        theta.add_(g, alpha=-lr)
    elif optimizer == "rmsprop":                                   # torch.optim.RMSprop: alpha 0.99
        v.mul_(0.99).addcmul_(g, g, value=0.01)
        theta.addcdiv_(g, v.sqrt().add_(1e-8), value=-lr)
    else:                                                          # torch.optim.Adam: betas 0.9, 0.999
        m.lerp_(g, 0.1)
        v.mul_(0.999).addcmul_(g, g, value=0.001)
        denominator = (v.sqrt() / math.sqrt(1 - 0.999 ** k)).add_(1e-8)
        theta.addcdiv_(m, denominator, value=-lr / (1 - 0.9 ** k))


class Trainer:
    """``fit``'s updates without autograd: ``W, U, b, V`` as views of one vector ``theta``.

    ``step`` computes a batch's loss and its gradient, written out (``softmax - onehot``,
    then ``backward_through_time``) into the views of one vector ``grad``; ``update`` clips
    ``grad`` and moves ``theta`` (``optimizer_step``): the two halves of an update of
    notebook 9's ``train_epoch``, each a handful of operations on whole vectors.
    ``lr_at(k)`` gives the learning rate of update ``k`` (from 0); ``write_back`` copies
    ``theta`` into the model's parameters.
    """

    def __init__(self, rnn: RNN, optimizer: str, lr_at: Callable[[int], float], clip: float | None,
                 reduction: str = "mean"):
        self.rnn, self.optimizer, self.lr_at, self.clip, self.reduction = rnn, optimizer, lr_at, clip, reduction
        self.relu, self.nvocab = rnn.nonlinearity == "relu", rnn.nvocab
        shapes = {name: p.shape for name, p in rnn.named_parameters()}
        self.theta = torch.cat([p.detach().reshape(-1) for p in rnn.parameters()])
        self.grad = torch.zeros_like(self.theta)
        self.m, self.v = torch.zeros_like(self.theta), torch.zeros_like(self.theta)  # what Adam, RMSProp remember
        self.params, self.grads = _views(self.theta, shapes), _views(self.grad, shapes)
        self.updates = 0

    def step(self, codes: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's loss (mean or sum) and number of right guesses, as tensors; its gradient in ``grad``."""
        U, b, W, V = (self.params[name] for name in "UbWV")
        H = hidden_states(codes, U, b, W, self.relu)
        log_p = torch.log_softmax(H[-1] @ V.T, dim=1)
        log_p_target = log_p.gather(1, target[:, None])
        loss = -log_p_target.mean() if self.reduction == "mean" else -log_p_target.sum()
        dO = log_p.exp().scatter_(1, target[:, None], log_p_target.exp() - 1)   # softmax - onehot(target)
        if self.reduction == "mean":
            dO /= len(target)
        for name, g in zip("UbWV", backward_through_time(codes, H, dO, self.nvocab, W, V, self.relu)):
            self.grads[name].copy_(g)
        return loss, (log_p.argmax(dim=1) == target).sum()

    def update(self) -> None:
        """Clip ``grad`` and move ``theta``: one update of ``self.optimizer``."""
        self.updates += 1
        if self.clip is not None:                                  # as torch.nn.utils.clip_grad_norm_
            self.grad.mul_(torch.clamp(self.clip / (self.grad.norm() + 1e-6), max=1.0))
        optimizer_step(self.optimizer, self.theta, self.grad, self.m, self.v, self.updates,
                       self.lr_at(self.updates - 1))

    @torch.no_grad()
    def write_back(self) -> None:
        """Copy ``theta`` into the model's ``W``, ``U``, ``b`` and ``V``."""
        for name, p in self.rnn.named_parameters():
            p.copy_(self.params[name])
