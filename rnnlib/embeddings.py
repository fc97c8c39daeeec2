"""Vectors inside a trained RNN: the columns of ``U`` and the last ``h`` of a word.

Notebook 12 ("What the RNN learned"), sections 1 and 2, writes these out:

    cosine_similarities(U)             how alike two columns are, for every pair (1: same direction)
    nearest(U, vocab.chars, U[:, i])   the columns closest to a query vector, with their names
    project_2d(U)                      two coordinates per column (PCA by an SVD), to draw them
    final_hidden(clf, words)           the last h of each word: one column per word
    knn_predict(H_train, t_train, H)   another classifier on h: the vote of the k nearest training words
    fit_readout(H, targets, nclasses)  a new V learnt on frozen h vectors (transfer), W, U, b untouched
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .fast import last_hidden, optimizer_step
from .model import Classifier


def _unit_columns(M: torch.Tensor) -> torch.Tensor:
    """``M`` with each column scaled to length 1 (a zero column stays zero)."""
    M = torch.as_tensor(M).detach().float()
    if M.dim() != 2:
        raise ValueError(f"expected a matrix (one vector per column), got shape {tuple(M.shape)}")
    return M / M.norm(dim=0, keepdim=True).clamp_min(1e-12)


def cosine_similarities(M: torch.Tensor) -> torch.Tensor:
    """The cosine of the angle between every two columns of ``M``: an ``n x n`` matrix."""
    Mn = _unit_columns(M)
    return Mn.T @ Mn


def nearest(M: torch.Tensor, names: Sequence[str], query: torch.Tensor, k: int = 4,
            skip: Sequence[str] = ()) -> list[tuple[str, float]]:
    """The ``k`` columns of ``M`` most similar (cosine) to ``query``, as ``(name, cosine)``, best first.

    ``names[j]`` names column ``j``; names in ``skip`` (the query's own) are left out.
    """
    if len(names) != M.shape[1]:
        raise ValueError(f"{len(names)} names for {M.shape[1]} columns")
    q = _unit_columns(torch.as_tensor(query).detach().float().reshape(-1, 1))
    similarity = (q.T @ _unit_columns(M))[0]
    order = similarity.argsort(descending=True).tolist()
    skipped = set(skip)
    found = [(names[j], round(float(similarity[j]), 4)) for j in order if names[j] not in skipped]
    return found[:k]


def project_2d(M: torch.Tensor) -> torch.Tensor:
    """Two coordinates per column of ``M`` (``n x 2``): the two principal components (PCA by an SVD).

    The columns are centred, then projected on the two directions along
    which they spread most. Each direction's sign is fixed (its largest
    coordinate is positive), so a picture does not flip between runs.
    """
    M = torch.as_tensor(M).detach().float()
    centred = M - M.mean(dim=1, keepdim=True)
    directions = torch.linalg.svd(centred, full_matrices=False).U[:, :2]   # nrows x 2
    P = centred.T @ directions
    signs = torch.sign(P.gather(0, P.abs().argmax(dim=0, keepdim=True)))
    return P * signs


@torch.no_grad()
def final_hidden(clf: Classifier, words: Sequence[str], batch_size: int = 2048) -> torch.Tensor:
    """The last ``h`` of each word, one column per word (``nhidden x len(words)``), on the CPU.

    The columns of ``clf.rnn.hidden(clf.encode(words))``, computed words of one length at a
    time (``rnnlib.fast.last_hidden``).
    """
    if isinstance(words, str) or not len(words):
        raise ValueError("final_hidden takes a non-empty list of words")
    return last_hidden(clf.rnn, [clf.vocab.encode(w) for w in words], batch_size).T.cpu()


@torch.no_grad()
def knn_predict(H_train: torch.Tensor, t_train: torch.Tensor, H: torch.Tensor, k: int = 5,
                nclasses: int | None = None) -> torch.Tensor:
    """The class of each column of ``H``: a vote of its ``k`` most similar (cosine) columns of ``H_train``.

    A tie goes to the lower class number.
    """
    if H_train.shape[1] != len(t_train):
        raise ValueError(f"{H_train.shape[1]} training columns but {len(t_train)} targets")
    if not 1 <= k <= H_train.shape[1]:
        raise ValueError(f"k must be between 1 and {H_train.shape[1]}, got {k}")
    nclasses = nclasses or int(t_train.max()) + 1
    similarity = _unit_columns(H).T @ _unit_columns(H_train)        # columns of H x training columns
    neighbours = similarity.topk(k, dim=1).indices
    votes = F.one_hot(t_train[neighbours], nclasses).sum(dim=1)
    return votes.argmax(dim=1)


def fit_readout(H: torch.Tensor, targets: torch.Tensor, nclasses: int, batch_size: int = 64,
                lr: float = 0.01, epochs: int = 1, seed: int = 0) -> torch.Tensor:
    """A new ``V`` (``nclasses x nhidden``) trained on fixed ``h`` vectors: the columns of ``H``.

    Minibatch Adam (``rnnlib.fast.optimizer_step``) on the cross-entropy of ``V @ h``,
    ``ceil(n / batch_size)`` updates per epoch, from ``V = 0``: the updates ``fit`` makes
    without clipping, with ``W``, ``U`` and ``b`` frozen (their ``h`` computed once, beforehand).
    """
    H = torch.as_tensor(H).detach().float()
    if H.shape[1] != len(targets):
        raise ValueError(f"{H.shape[1]} columns but {len(targets)} targets")
    generator = torch.Generator().manual_seed(seed)
    V = torch.zeros(nclasses, H.shape[0])
    m, v = torch.zeros_like(V), torch.zeros_like(V)
    updates = 0
    for _ in range(epochs):
        order = torch.randperm(H.shape[1], generator=generator)
        for start in range(0, H.shape[1], batch_size):
            batch = order[start:start + batch_size]
            h, target = H[:, batch], targets[batch]
            dO = torch.softmax(V @ h, dim=0)                     # d loss / d (V @ h): softmax - onehot,
            dO[target, torch.arange(len(batch))] -= 1            # averaged over the batch
            updates += 1
            optimizer_step("adam", V, dO @ h.T / len(batch), m, v, updates, lr)
    return V
