"""Backpropagation through time, written out: the gradient of the loss, one step back at a time.

Notebook 8 ("BPTT by hand") writes these lines out. For the forward pass
``h_t = f(W @ h_{t-1} + U @ x_t + b)``, ``o = V @ h_T`` and the mean
cross-entropy of a batch, the backward pass is::

    dL/do     = (softmax(o) - onehot(target)) / batch
    dL/dV     = dL/do @ h_T^T              dL/dh_T = V^T @ dL/do
    for t = T down to 1:
        dL/dz_t  = dL/dh_t * f'(z_t)       (times the mask: 0 on left padding)
        dL/dW   += dL/dz_t @ h_{t-1}^T
        dL/dU   += dL/dz_t @ x_t^T         (x_t one-hot: one column of U per word)
        dL/db   += dL/dz_t summed over the batch
        dL/dh_{t-1} = W^T @ dL/dz_t        (+ dL/dh_t where the word has not started)

``bptt`` returns the four gradients and every step back (``BackStep``), which
the backward player of ``rnnlib.backprop_pictures`` draws.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .vocab import Vocab, normalize

# f'(z) from z and h = f(z)
DERIVATIVES = {
    "tanh": lambda z, h: 1 - h ** 2,
    "relu": lambda z, h: (z > 0).to(z.dtype),
    None: lambda z, h: torch.ones_like(z),   # no nonlinearity: h = z
}
FUNCTIONS = {"tanh": torch.tanh, "relu": torch.relu, None: lambda z: z}


@dataclass
class BackStep:
    """Step ``t`` of the backward pass (first word of the batch for ``char``/``column``)."""

    t: int                 # 1-based step
    char: str              # the character x_t of the first word ("" on padding)
    column: int | None     # the column of U that receives gradient at this step (None on padding)
    dh: torch.Tensor       # dL/dh_t, as it arrives from step t+1 (or from V at t = T)
    dz: torch.Tensor       # dL/dz_t = dL/dh_t * f'(z_t) * mask
    dU: torch.Tensor       # dL/dU summed so far, steps T..t

    @property
    def norm(self) -> float:
        """The length of dL/dh_t."""
        return float(self.dh.norm())


@dataclass
class Backward:
    """The loss, the gradients of ``W``, ``U``, ``b``, ``V`` and the steps back, T first."""

    loss: torch.Tensor
    W: torch.Tensor
    U: torch.Tensor
    b: torch.Tensor
    V: torch.Tensor
    dh0: torch.Tensor      # dL/dh_0: what would flow on into an earlier h
    steps: list[BackStep] = field(default_factory=list)

    def grads(self) -> dict[str, torch.Tensor]:
        return {"W": self.W, "U": self.U, "b": self.b, "V": self.V}


def bptt(X: torch.Tensor, W, U, b, V, targets, nonlinearity: str | None = "tanh",
         chars: str | None = None) -> Backward:
    """Forward, mean cross-entropy, then backward by hand, for one-hot ``X`` (steps x nvocab x batch).

    Words are left-padded with zero columns, as ``rnnlib.model.RNN`` takes
    them: on a padding step ``h`` is left alone, so its gradient passes
    through unchanged. ``targets`` holds one class index per word; ``chars``
    names the rows of ``X`` (for the steps' labels).
    """
    if nonlinearity not in FUNCTIONS:
        raise ValueError(f"nonlinearity={nonlinearity!r}; allowed: 'tanh', 'relu' or None")
    f, fprime = FUNCTIONS[nonlinearity], DERIVATIVES[nonlinearity]
    W, U, b, V = (torch.as_tensor(M).detach().float() for M in (W, U, b, V))
    targets = torch.as_tensor(targets).reshape(-1)
    T, _, batch = X.shape
    # forward, keeping every h, z and mask
    H, Z, M = [torch.zeros(W.shape[0], batch)], [], []
    for t in range(T):
        z = W @ H[-1] + U @ X[t] + b
        mask = (X[t].sum(dim=0, keepdim=True) > 0).float()      # 1 x batch: 0 on padding
        H.append(mask * f(z) + (1 - mask) * H[-1])
        Z.append(z)
        M.append(mask)
    o = V @ H[-1]                                                # nclasses x batch
    log_p = o - torch.logsumexp(o, dim=0, keepdim=True)
    loss = -log_p[targets, torch.arange(batch)].mean()
    # backward
    do = (log_p.exp() - torch.nn.functional.one_hot(targets, o.shape[0]).T.float()) / batch
    dV = do @ H[-1].T
    dh = V.T @ do
    dW, dU, db = torch.zeros_like(W), torch.zeros_like(U), torch.zeros_like(b)
    steps = []
    for t in range(T, 0, -1):
        z, h, h_prev, x, mask = Z[t - 1], H[t], H[t - 1], X[t - 1], M[t - 1]
        dz = dh * fprime(z, h) * mask                            # h = f(z) on the word's own steps
        dW += dz @ h_prev.T
        dU += dz @ x.T
        db += dz.sum(dim=1, keepdim=True)
        started = bool(mask[0, 0])
        column = int(x[:, 0].argmax()) if started else None
        char = chars[column] if chars is not None and started else ""
        steps.append(BackStep(t, char, column, dh, dz, dU.clone()))
        dh = W.T @ dz + (1 - mask) * dh
    return Backward(loss, dW, dU, db, dV, dh, steps)


def word_bptt(word: str, vocab: Vocab, W, U, b, V, target: int,
              nonlinearity: str | None = "tanh") -> Backward:
    """``bptt`` for one word and its class index ``target``."""
    X = vocab.onehot_word(normalize(word))                       # len(word) x nvocab x 1
    return bptt(X, W, U, b, V, [target], nonlinearity, chars="".join(vocab.chars))


def autograd_grads(X: torch.Tensor, W, U, b, V, targets, nonlinearity: str = "tanh"
                   ) -> dict[str, torch.Tensor]:
    """The same gradients from autograd, through ``rnnlib.model.RNN``'s masked loop (the check)."""
    from .model import RNN

    nh, nv = torch.as_tensor(U).shape
    rnn = RNN(nv, nh, torch.as_tensor(V).shape[0], nonlinearity, seed=None)
    with torch.no_grad():
        for name, M in zip("WUbV", (W, U, b, V)):
            getattr(rnn, name).copy_(torch.as_tensor(M))
    loss = torch.nn.functional.cross_entropy(rnn(X), torch.as_tensor(targets).reshape(-1))
    loss.backward()
    return {name: getattr(rnn, name).grad for name in "WUbV"}
