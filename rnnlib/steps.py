"""The numbers of the loop, one step at a time: what the players and pictures draw.

    unroll("cat", vocab, W, U, b)      one Step per character, holding every vector of
                                       h_t = f(W @ h_{t-1} + U @ x_t + b)
    unroll_scalar("cat", vocab, 2)     the integer loop h = 2*h + x[t] of notebooks 02 and 03:
                                       the same loop, with 1 x 1 matrices

Only torch: no drawing here. ``rnnlib.cells`` draws these steps,
``rnnlib.player`` animates them, ``rnnlib.pictures`` draws a whole word.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import NONLINEARITIES
from .vocab import Vocab, normalize


@dataclass
class Step:
    """Everything computed at step ``t`` of ``h_t = f(W @ h_{t-1} + U @ x_t + b)``.

    Written out in notebook 05, 'Watch it run' (each frame of the player is one Step).
    """

    t: int               # 1-based position in the word
    char: str            # the character x_t encodes
    x: torch.Tensor      # x_t, its one-hot column (nvocab x 1)
    h_prev: torch.Tensor  # h_{t-1} (nhidden x 1)
    Wh: torch.Tensor     # W @ h_{t-1}
    Ux: torch.Tensor     # U @ x_t: the column of U that x_t selects
    z: torch.Tensor      # Wh + Ux + b
    h: torch.Tensor      # h_t = f(z)
    word: str = ""       # the (normalised) word this step belongs to


def check_matrices(vocab: Vocab, W, U, b=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``W``, ``U``, ``b`` as float tensors, or a one-line error naming the expected shapes.

    The shapes are those of notebook 05, 'The shapes of `W` and `U`'.
    """
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
    Written out in notebook 05, 'A nonlinearity and a bias' (the function ``rnn``).
    """
    if nonlinearity is not None and nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity={nonlinearity!r}; allowed: 'tanh', 'relu' or None")
    W, U, b = check_matrices(vocab, W, U, b)
    return _loop(word, vocab, W, U, b, nonlinearity)


def unroll_scalar(word: str, vocab: Vocab, weight: float = 1) -> list[Step]:
    """Run ``h = weight*h + x[t]`` with ``x[t] = vocab.index[c]``: the sum (weight 1), the weighted sum (2).

    It is the loop of ``unroll`` with 1 x 1 matrices: ``W = [[weight]]``,
    ``U = [[0, 1, ..., len(vocab) - 1]]`` (so ``U @ x_t`` is the character's
    index), ``b = 0`` and no f. The steps hold 1 x 1 tensors of integers for
    an integer weight (exact, as in the notebooks), of float64 otherwise.
    Written out in notebook 02, 'The loop' (weight 1) and notebook 03, 'The recurrence' (weight 2).

    >>> [step.h.item() for step in unroll_scalar("cat", Vocab("acehktz"), weight=2)]
    [1, 2, 9]
    """
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise TypeError(f"weight must be a number, got {type(weight).__name__}: {weight!r}")
    dtype = torch.int64 if isinstance(weight, int) else torch.float64
    W = torch.tensor([[weight]], dtype=dtype)
    U = torch.arange(len(vocab), dtype=dtype).reshape(1, -1)
    return _loop(word, vocab, W, U, torch.zeros(1, 1, dtype=dtype), None)


def _loop(word: str, vocab: Vocab, W: torch.Tensor, U: torch.Tensor, b: torch.Tensor,
          nonlinearity: str | None) -> list[Step]:
    """The recurrence itself, in the dtype of ``W``."""
    f = NONLINEARITIES.get(nonlinearity)
    vocab.encode(word)  # a clear error for a character outside the vocabulary
    word = normalize(word)
    h = torch.zeros(W.shape[0], 1, dtype=W.dtype)
    steps = []
    for t, c in enumerate(word, start=1):
        x = vocab.onehot(c).to(W.dtype)
        Wh, Ux = W @ h, U @ x
        z = Wh + Ux + b
        h_new = f(z) if f else z
        steps.append(Step(t, c, x, h, Wh, Ux, z, h_new, word))
        h = h_new
    return steps
