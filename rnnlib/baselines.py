"""What a model with no recurrence scores on the same words: the bar an RNN must clear (notebooks 7 and 15).

* ``majority``: always the most frequent class of the training words;
* ``LogisticRegression(bag_of_characters)``: the counts of each character, order lost (notebook 4's
  bag as features): it sees which letters a word has, never where;
* ``LogisticRegression(ngrams)``: the counts of every 1- to 4-letter piece of ``^word$``: it sees
  short stretches of order, and with ``^`` and ``$`` how a word begins and ends, which an RNN must
  learn to carry in ``h`` from the first letter to the last.

The model is ``o = Wf @ f + c`` on the count vector ``f`` of a word; a batch's counts are the rows
of a sparse matrix ``B`` (words x features), so the logits are ``B @ Wf.T + c`` and the gradient of
the mean cross-entropy is ``softmax - onehot`` carried back by ``B^T`` (notebook 6's loss, no
recurrence), plus ``l2 * Wf`` for the penalty. ``rnnlib.optim``'s Adam takes the steps, on the whole
training set at once: the loss is convex, so the result does not depend on a seed.
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence

import torch

from .checks import check_int, check_positive
from .model import softmax_minus_onehot
from .optim import Optimizer
from .text import Labels, check_words, normalize


def csr(B: torch.Tensor) -> torch.Tensor:
    """A coalesced sparse matrix in CSR form: its products run ten times faster than COO's."""
    with warnings.catch_warnings():                     # torch calls its CSR support beta
        warnings.simplefilter("ignore", UserWarning)
        return B.to_sparse_csr()


def majority(y_train: Sequence[str]) -> str:
    """The most frequent label of the training set (the first in sorted order on a tie)."""
    counts = Counter(y_train)
    return max(sorted(counts), key=counts.__getitem__)


def bag_of_characters(word: str) -> list[str]:
    """The characters of ``word``, each as often as it occurs."""
    return list(normalize(word))


def ngrams(word: str, longest: int = 4) -> list[str]:
    """Every piece of 1 to ``longest`` characters of ``^word$`` (``^`` and ``$`` mark the start and end)."""
    marked = "^" + normalize(word) + "$"
    return [marked[i:i + n] for n in range(1, longest + 1) for i in range(len(marked) - n + 1)
            if marked[i:i + n] not in ("^", "$")]        # a mark alone is in every word


class LogisticRegression:
    """Softmax regression on the counts of ``features(word)`` (features of the training words only)."""

    def __init__(self, features: Callable[[str], list[str]] = ngrams, l2: float = 1e-4):
        self.features = features
        self.l2 = l2 if l2 == 0 else check_positive("l2", l2)

    def counts(self, words: Sequence[str]) -> torch.Tensor:
        """``B``: one row per word, one column per known feature, its count (a sparse matrix)."""
        rows, columns, values = [], [], []
        for i, w in enumerate(check_words(words)):
            known = Counter(self.index[f] for f in self.features(w) if f in self.index)
            rows += [i] * len(known)
            columns += sorted(known)                    # sorted: a coalesced matrix
            values += [known[k] for k in sorted(known)]
        return csr(torch.sparse_coo_tensor(torch.tensor([rows, columns], dtype=torch.long).reshape(2, -1),
                                           torch.tensor(values, dtype=torch.float64), (len(words), len(self.index)),
                                           is_coalesced=True, check_invariants=True))

    def loss_and_gradient(self, B: torch.Tensor, BT: torch.Tensor, target: torch.Tensor) -> tuple[float, torch.Tensor]:
        """The mean cross-entropy plus ``l2/2 * |Wf|^2``, and its gradient (one flat vector, as ``theta``);
        ``BT`` is ``B`` transposed (sparse products are fastest with it stored as its own matrix)."""
        Wf, c = self.theta[:-self.nclasses].view(self.nclasses, -1), self.theta[-self.nclasses:]
        loss, dO, _ = softmax_minus_onehot(B @ Wf.T + c, target, 1 / len(target))
        dWf = (BT @ dO).T + self.l2 * Wf           # B^T carries softmax - onehot back to the weights
        return loss.mean().item() + self.l2 / 2 * Wf.square().sum().item(), torch.cat([dWf.reshape(-1), dO.sum(0)])

    def fit(self, X: Sequence[str], y: Sequence[str], steps: int = 300, lr: float = 0.05) -> list[float]:
        """Full-batch Adam on ``X``, ``y`` for ``steps`` updates; the loss before each."""
        check_int("steps", steps)
        check_positive("lr", lr)
        if len(check_words(X)) != len(y):
            raise ValueError(f"{len(X)} words but {len(y)} labels")
        self.labels = Labels(sorted(set(y)))
        target = self.labels.encode(y)
        self.index = {f: k for k, f in enumerate(dict.fromkeys(f for w in X for f in self.features(w)))}
        B = self.counts(X)
        BT = csr(B.to_sparse_coo().t().coalesce())
        self.nclasses = len(self.labels)
        self.theta = torch.zeros(self.nclasses * (len(self.index) + 1), dtype=torch.float64)
        optimizer, losses = Optimizer("adam", self.theta), []
        for _ in range(steps):
            loss, g = self.loss_and_gradient(B, BT, target)
            optimizer.step(g, lr)
            losses.append(loss)
        return losses

    def scores(self, words: Sequence[str]) -> torch.Tensor:
        """The logits, one row per word (a feature never seen in training counts for nothing)."""
        Wf, c = self.theta[:-self.nclasses].view(self.nclasses, -1), self.theta[-self.nclasses:]
        return self.counts(words) @ Wf.T + c

    def predict(self, words: Sequence[str]) -> list[str]:
        return self.labels.decode(self.scores(words).argmax(dim=1))

    def accuracy(self, X: Sequence[str], y: Sequence[str]) -> float:
        return (self.scores(X).argmax(dim=1) == self.labels.encode(y)).double().mean().item()
