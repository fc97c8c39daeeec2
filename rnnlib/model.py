"""The course's model: ``W``, ``U``, ``b`` of a cell and the readout ``V``; and the classifier.

``RNN`` holds the four matrices as views of one vector ``theta`` (their gradients of one
vector ``grad``), so that clipping and the optimizer are a few operations on whole vectors
(notebook 16, 'Where the speed comes from'). ``Classifier`` reads ``o = V @ h_T``
(notebook 6): its ``gradient`` is the loss's gradient ``softmax - onehot`` written out, then
``rnnlib.bptt.backward``; prediction runs the very same ``forward``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .bptt import backward
from .checks import check_choice, check_device, check_int, check_seed
from .rnn import CELLS, Trace, forward
from .text import Batches, Labels, Vocab, check_words

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class RNN:
    """``h_t = cell(W @ h_{t-1} + U @ x_t + b)`` and ``o_t = V @ h_t``, for ``nin`` symbols in, ``nout`` out.

    ``W`` (gates*nhidden x nhidden) and ``V`` (nout x nhidden) start uniform in +-1/sqrt(nhidden)
    as ``torch.nn.RNN`` draws its weights, ``U`` in +-1 (``U @ onehot(c)`` reads one column: a
    fan-in of 1, notebook 6), ``b`` at zero. ``dtype`` "float32" or "float64"; left out, torch's default
    (``torch.set_default_dtype``), as ``torch.nn`` does.
    """

    def __init__(self, nin: int, nhidden: int, nout: int, cell: str = "tanh", seed: int = 0,
                 dtype: str | None = None, device: str | torch.device = "cpu"):
        self.nin, self.nhidden, self.nout = check_int("nin", nin), check_int("nhidden", nhidden), check_int("nout", nout)
        self.cell = CELLS[check_choice("cell", cell, CELLS)]
        self.dtype = check_choice("dtype", dtype or str(torch.get_default_dtype()).removeprefix("torch."), DTYPES)
        rows = self.cell.gates * nhidden
        self.shapes = {"W": (rows, nhidden), "U": (rows, nin), "b": (rows, 1), "V": (nout, nhidden)}
        size = sum(math.prod(s) for s in self.shapes.values())
        if size > 50_000_000:
            raise ValueError(f"a model of {size:,} numbers is too big for this course (at most 50,000,000): "
                             f"use a smaller nhidden than {nhidden}")
        generator = torch.Generator().manual_seed(check_seed("seed", seed))
        bound = 1 / math.sqrt(nhidden)
        theta = torch.cat([((torch.rand(math.prod(shape), generator=generator, dtype=torch.float64) * 2 - 1)
                            * (1.0 if name == "U" else 0.0 if name == "b" else bound))
                           for name, shape in self.shapes.items()])
        self._place(theta.to(DTYPES[self.dtype]).to(check_device(device)))

    def _place(self, theta: torch.Tensor) -> None:
        self.theta, self.grad = theta, torch.zeros_like(theta)
        self.params, self.grads = self._views(self.theta), self._views(self.grad)

    def _views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        views, start = {}, 0
        for name, shape in self.shapes.items():
            views[name] = flat[start:start + math.prod(shape)].view(shape)
            start += math.prod(shape)
        return views

    W = property(lambda self: self.params["W"])
    U = property(lambda self: self.params["U"])
    b = property(lambda self: self.params["b"])
    V = property(lambda self: self.params["V"])

    @property
    def device(self) -> torch.device:
        return self.theta.device

    def forward(self, codes: torch.Tensor, mask: torch.Tensor | None = None,
                h0: torch.Tensor | None = None) -> Trace:
        """Every ``h_t`` of a batch (``rnnlib.rnn.forward``)."""
        p = self.params
        return forward(self.cell, p["W"], p["U"], p["b"], codes, mask, h0)

    def backward(self, trace: Trace, dH: torch.Tensor) -> None:
        """``grad`` of ``W``, ``U``, ``b`` for a loss whose gradient on each ``h_t`` is ``dH[t]``, or on
        ``h_T`` alone (``rnnlib.bptt.backward``); the readout sets the gradient of ``V`` itself."""
        back = backward(trace, self.W, self.nin, dH)
        g = self.grads
        g["W"].copy_(back.W)
        g["U"].copy_(back.U)
        g["b"].copy_(back.b)

    def to(self, device: str | torch.device) -> "RNN":
        """This model, moved to ``device`` (in place)."""
        self._place(self.theta.to(check_device(device)))
        return self


def softmax_minus_onehot(logits: torch.Tensor, target: torch.Tensor, weight: float = 1.0
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cross-entropy of each row, ``dL/dlogits = (softmax - onehot) * weight`` and the arg max (notebooks 6, 8)."""
    log_p = torch.log_softmax(logits, dim=-1)
    log_p_target = log_p.gather(-1, target[..., None])[..., 0]
    dO = log_p.exp().scatter_(-1, target[..., None], log_p_target[..., None].exp() - 1)
    return -log_p_target, dO.mul_(weight), log_p.argmax(dim=-1)


def check_dropout(dropout: object) -> float:
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number from 0 to below 1, got {dropout!r}")
    return dropout


def dropped(H: torch.Tensor, dropout: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``keep * H`` and ``keep``: each entry kept with probability ``1 - dropout`` and then scaled by
    ``1 / (1 - dropout)``, so that its mean stays ``H``; ``(H, None)`` when ``dropout`` is 0."""
    if not dropout:
        return H, None
    keep = ((torch.rand(H.shape, generator=generator) >= dropout) / (1 - dropout)).to(H)   # H's dtype and device
    return H * keep, keep


class Classifier:
    """An ``RNN`` reading ``o = V @ h_T``, with the vocabulary and the class names it was trained with.
    ``dropout`` drops entries of ``h_T`` on their way to ``V`` while training."""

    def __init__(self, vocab: Vocab, labels: Labels, nhidden: int = 64, cell: str = "tanh", seed: int = 0,
                 dtype: str | None = None, dropout: float = 0.0, rnn: RNN | None = None):
        if not isinstance(vocab, Vocab) or not isinstance(labels, Labels):
            raise TypeError(f"Classifier takes a Vocab and a Labels, got {type(vocab).__name__} and "
                            f"{type(labels).__name__}: use Classifier.from_data(X, y) to build them from data")
        self.vocab, self.labels, self.dropout = vocab, labels, check_dropout(dropout)
        self.rnn = rnn or RNN(len(vocab), nhidden, len(labels), cell, seed, dtype)
        self.generator = torch.Generator().manual_seed(seed)
        if (self.rnn.nin, self.rnn.nout) != (len(vocab), len(labels)):
            raise ValueError(f"the RNN reads {self.rnn.nin} characters into {self.rnn.nout} classes, but the "
                             f"vocabulary has {len(vocab)} characters and there are {len(labels)} classes")

    @classmethod
    def from_data(cls, X: Sequence[str], y: Sequence[str], **kwargs) -> "Classifier":
        """A fresh classifier whose vocabulary and classes come from ``X`` and ``y``."""
        return cls(Vocab.from_words(X), Labels(sorted(set(y))), **kwargs)

    def encode(self, X: Sequence[str], y: Sequence[str] | None = None, unknown: str = "error"
               ) -> tuple[list[list[int]], list[int] | None]:
        """Each word's codes and each label's number: what the trainers and ``Batches`` take."""
        codes = [self.vocab.encode(w, unknown) for w in check_words(X)]
        return codes, None if y is None else self.labels.encode(y).tolist()

    def gradient(self, codes: torch.Tensor, mask: torch.Tensor | None, target: torch.Tensor,
                 reduction: str) -> tuple[torch.Tensor, torch.Tensor, int]:
        """A batch's summed loss, right guesses and size; the gradient of its mean or summed loss into ``rnn.grad``."""
        trace, V = self.rnn.forward(codes, mask), self.rnn.V
        weight = 1 / len(target) if reduction == "mean" else 1.0
        h, keep = dropped(trace.H[-1], self.dropout, self.generator)
        loss, dO, guess = softmax_minus_onehot(h @ V.T, target, weight)
        self.rnn.grads["V"].copy_(dO.T @ h)
        dh_T = dO @ V if keep is None else dO @ V * keep        # o = V @ h_T: only the last h is read
        self.rnn.backward(trace, dh_T)
        return loss.sum(), (guess == target).sum(), len(target)

    def evaluate(self, data: Batches) -> tuple[float, float]:
        """Mean cross-entropy and accuracy on encoded words; a non-finite score counts as wrong."""
        logits = data.apply(lambda codes, _: self.outputs(codes, None))
        target = torch.tensor(data.targets, device=logits.device)
        loss, _, guess = softmax_minus_onehot(logits, target)
        right = (guess == target) & torch.isfinite(logits).all(dim=1)
        return loss.mean().item(), right.double().mean().item()

    def outputs(self, codes: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The logits ``o = V @ h_T`` of a batch, one row per word."""
        return self.rnn.forward(codes, mask).H[-1] @ self.rnn.V.T

    def scores(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """The logits of ``words``, one row per word, through the same ``forward`` as training.

        A ``relu`` model's ``h`` has no bound: a word whose scores overflow is an error, not class 0.
        """
        codes, _ = self.encode([words] if isinstance(words, str) else words, unknown=unknown)
        logits = Batches(codes, [0] * len(codes), self.rnn.device).apply(lambda c, _: self.outputs(c, None))
        bad = (~torch.isfinite(logits).all(dim=1)).nonzero()
        if len(bad):
            raise ValueError(f"the scores of word {int(bad[0])} are not finite: h overflowed in this "
                             f"{self.rnn.cell.name} RNN; use shorter words or a tanh model, whose h stays in -1..1")
        return logits

    def predict_proba(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """Softmax probabilities, one row per word, one column per class, on the CPU."""
        return torch.softmax(self.scores(words, unknown), dim=1).cpu()

    def predict(self, words: Sequence[str], unknown: str = "error") -> list[str]:
        """The most probable class name of each word."""
        return self.labels.decode(self.predict_proba(words, unknown).argmax(dim=1))

    def states(self, word: str) -> torch.Tensor:
        """``h_1 .. h_T`` of one word as the columns of an ``nhidden x T`` matrix (notebook 13)."""
        (codes,), _ = self.encode([word])
        return self.rnn.forward(torch.tensor(codes, device=self.rnn.device)[:, None]).H[1:, 0].T.cpu()
