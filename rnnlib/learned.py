"""What a trained classifier learned (notebook 13 writes these out): the columns of ``U`` as vectors
(cosines, nearest, a 2-D projection), the last ``h`` of words (k nearest neighbours, a new readout ``V``)
and ``softmax(V @ h_t)`` of every prefix. Every ``h`` comes from ``RNN.forward``, the path of prediction.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .checks import check_int, check_positive, check_seed
from .model import Classifier, softmax_minus_onehot
from .optim import Optimizer
from .text import Batches, check_words


def _matrix(M: torch.Tensor) -> torch.Tensor:
    """``M`` as a float64 matrix on the CPU (float64: the same cosines and directions on every processor)."""
    M = torch.as_tensor(M).detach().cpu().to(torch.float64)
    if M.dim() != 2 or min(M.shape) < 1:
        raise ValueError(f"expected a matrix with one vector per column, got shape {tuple(M.shape)}")
    if not torch.isfinite(M).all():
        raise ValueError("the matrix holds NaN or infinite numbers")
    return M


def _unit_columns(M: torch.Tensor) -> torch.Tensor:
    """``M`` with each column scaled to length 1 (a zero column stays zero)."""
    M = _matrix(M)
    return M / M.norm(dim=0, keepdim=True).clamp_min(1e-12)


def cosine_similarities(M: torch.Tensor) -> torch.Tensor:
    """The cosine of the angle between every two columns of ``M``: an ``n x n`` matrix."""
    unit = _unit_columns(M)
    return unit.T @ unit


def nearest(M: torch.Tensor, names: Sequence[str], query: torch.Tensor, k: int = 4,
            skip: Sequence[str] = ()) -> list[tuple[str, float]]:
    """The ``k`` columns of ``M`` most similar (cosine) to ``query`` as ``(name, cosine)``, best first;
    ``names[j]`` names column ``j``, and names in ``skip`` (the query's own) are left out."""
    if len(names) != M.shape[1]:
        raise ValueError(f"{len(names)} names for {M.shape[1]} columns")
    similarity, skip = (_unit_columns(torch.as_tensor(query).reshape(-1, 1)).T @ _unit_columns(M))[0], set(skip)
    found = [(names[j], round(float(similarity[j]), 4)) for j in similarity.argsort(descending=True).tolist()
             if names[j] not in skip]
    return found[:check_int("k", k)]


def project_2d(M: torch.Tensor) -> torch.Tensor:
    """Two coordinates per column of ``M`` (``n x 2``): the centred columns on the two directions they
    spread most along (PCA by an SVD), each direction's sign fixed (its largest coordinate positive)
    so that a picture does not flip between runs."""
    M = _matrix(M)
    if M.shape[0] < 2 or M.shape[1] < 2:
        raise ValueError(f"a 2-D projection needs at least 2 rows and 2 columns, got shape {tuple(M.shape)}")
    centred = M - M.mean(dim=1, keepdim=True)
    P = centred.T @ torch.linalg.svd(centred, full_matrices=False).U[:, :2]
    return P * torch.sign(P.gather(0, P.abs().argmax(dim=0, keepdim=True)))


@torch.no_grad()
def final_hidden(model: Classifier, words: Sequence[str]) -> torch.Tensor:
    """The last ``h`` of each word, one column per word (``nhidden x len(words)``), on the CPU, run as
    ``Classifier.scores`` runs them."""
    codes, _ = model.encode(check_words(words))
    return Batches(codes, [0] * len(codes), model.rnn.device).apply(lambda c, _: model.rnn.forward(c).H[-1]).T.cpu()


@torch.no_grad()
def prefix_probabilities(clf: Classifier, words: Sequence[str]) -> list[torch.Tensor]:
    """``softmax(V @ h_t)`` after each prefix of each word, a ``T x nclasses`` matrix per word: what the
    model would answer if the word stopped after its t-th character (notebook 13, 'Prefixes')."""
    V = clf.rnn.V.cpu()
    return [torch.softmax(clf.states(word).T @ V.T, dim=1) for word in check_words(words)]


@torch.no_grad()
def knn_predict(H_train: torch.Tensor, t_train: torch.Tensor, H: torch.Tensor, k: int = 5) -> torch.Tensor:
    """The class of each column of ``H``: a vote of its ``k`` most similar (cosine) columns of ``H_train``
    (a tie goes to the lower class number)."""
    if H_train.shape[1] != len(t_train):
        raise ValueError(f"{H_train.shape[1]} training columns but {len(t_train)} targets")
    if not 1 <= k <= H_train.shape[1]:
        raise ValueError(f"k must be between 1 and {H_train.shape[1]}, got {k}")
    neighbours = (_unit_columns(H).T @ _unit_columns(H_train)).topk(k, dim=1).indices
    votes = F.one_hot(t_train[neighbours], int(t_train.max()) + 1).sum(dim=1)
    return votes.argmax(dim=1)


def fit_readout(H: torch.Tensor, targets: torch.Tensor, nclasses: int, batch_size: int = 64,
                lr: float = 0.01, epochs: int = 1, seed: int = 0) -> torch.Tensor:
    """A new ``V`` (``nclasses x nhidden``) learnt on the fixed ``h`` vectors that are the columns of ``H``:
    from ``V = 0``, minibatch Adam on the mean cross-entropy of ``V @ h``, what ``fit`` does without
    clipping, with ``W``, ``U`` and ``b`` frozen."""
    H, targets = _matrix(H), torch.as_tensor(targets)
    if H.shape[1] != len(targets):
        raise ValueError(f"H must hold one column per target: {tuple(H.shape)} for {len(targets)} targets")
    check_int("batch_size", batch_size), check_int("epochs", epochs), check_positive("lr", lr)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    V = torch.zeros(check_int("nclasses", nclasses), H.shape[0], dtype=H.dtype)
    update = Optimizer("adam", V).step
    for _ in range(epochs):
        order = torch.randperm(H.shape[1], generator=generator)
        for start in range(0, H.shape[1], batch_size):
            batch = order[start:start + batch_size]
            h = H[:, batch].T                                        # one row per word
            dO = softmax_minus_onehot(h @ V.T, targets[batch], 1 / len(batch))[1]
            update(dO.T @ h, lr)                                     # dL/dV of the mean loss
    return V
