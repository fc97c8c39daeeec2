"""The RNN of the course, written with nothing but matrices, and a classifier around it.

The recurrence, one column ``h`` per word::

    h_0 = 0
    h_t = tanh(W @ h_{t-1} + U @ x_t + b)      # x_t: one-hot column of character t
    o   = V @ h_T                                # one score (logit) per class

For a batch, ``H`` holds one column per word and ``X[t]`` one ``x_t`` column per
word, so the same line ``H = tanh(W @ H + U @ X[t] + b)`` runs every word at
once. Words are left-padded with zero columns; while a word's padding lasts,
its column of ``H`` stays at ``h_0 = 0`` so a padded word gets exactly the
``h`` it gets alone.

Saved models are a plain dictionary of tensors, strings and numbers, loaded
with ``torch.load(weights_only=True)``: loading never runs code from the file.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch
from torch import nn

from .vocab import Labels, Vocab, check_word

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}
FORMAT = "rnnlib-model"
FORMAT_VERSION = 1


class RNN(nn.Module):
    """``h_t = f(W @ h_{t-1} + U @ x_t + b)``, ``o = V @ h_T``.

    Parameters: ``W`` (nhidden x nhidden), ``U`` (nhidden x nvocab),
    ``b`` (nhidden x 1, starts at zero) and ``V`` (nclasses x nhidden), drawn
    uniformly from +-1/sqrt(nhidden) like ``torch.nn.RNN`` does.
    """

    def __init__(self, nvocab: int, nhidden: int, nclasses: int,
                 nonlinearity: str = "tanh", seed: int | None = 0):
        super().__init__()
        for name, value in {"nvocab": nvocab, "nhidden": nhidden, "nclasses": nclasses}.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if nclasses < 2:
            raise ValueError(f"nclasses must be at least 2, got {nclasses}")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity={nonlinearity!r}; allowed: {', '.join(NONLINEARITIES)}")
        self.nvocab, self.nhidden, self.nclasses = nvocab, nhidden, nclasses
        self.nonlinearity = nonlinearity
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        bound = 1 / math.sqrt(nhidden)

        def uniform(*shape):
            return nn.Parameter((torch.rand(*shape, generator=gen) * 2 - 1) * bound)

        self.W = uniform(nhidden, nhidden)
        self.U = uniform(nhidden, nvocab)
        self.b = nn.Parameter(torch.zeros(nhidden, 1))
        self.V = uniform(nclasses, nhidden)

    def hidden(self, X: torch.Tensor) -> torch.Tensor:
        """The last ``H`` (nhidden x batch) for one-hot input ``X`` (steps x nvocab x batch)."""
        self.check_input(X)
        f = NONLINEARITIES[self.nonlinearity]
        H = torch.zeros(self.nhidden, X.shape[2], device=X.device, dtype=X.dtype)
        for t in range(X.shape[0]):
            H_new = f(self.W @ H + self.U @ X[t] + self.b)
            started = X[t].sum(dim=0, keepdim=True) > 0  # False on left padding
            H = torch.where(started, H_new, H)
        return H

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits, one row per word: ``(V @ H).T`` of shape (batch x nclasses)."""
        return (self.V @ self.hidden(X)).T

    def check_input(self, X: torch.Tensor) -> None:
        if not isinstance(X, torch.Tensor):
            raise TypeError(f"expected a one-hot tensor, got {type(X).__name__}")
        if X.dim() != 3 or X.shape[1] != self.nvocab or X.shape[0] == 0 or X.shape[2] == 0:
            raise ValueError(f"expected one-hot input of shape (steps, nvocab={self.nvocab}, batch), "
                             f"got {tuple(X.shape)}")
        if not X.is_floating_point():
            raise TypeError(f"expected a floating-point one-hot tensor, got {X.dtype}")


class Classifier:
    """An RNN with the vocabulary and class names it was trained with."""

    def __init__(self, vocab: Vocab, labels: Labels, nhidden: int = 64,
                 nonlinearity: str = "tanh", seed: int | None = 0, rnn: RNN | None = None):
        self.vocab, self.labels = vocab, labels
        self.rnn = rnn if rnn is not None else RNN(len(vocab), nhidden, len(labels), nonlinearity, seed)
        if (self.rnn.nvocab, self.rnn.nclasses) != (len(vocab), len(labels)):
            raise ValueError(f"the RNN expects {self.rnn.nvocab} characters and {self.rnn.nclasses} "
                             f"classes, but the vocabulary has {len(vocab)} and there are {len(labels)} labels")

    @classmethod
    def for_data(cls, X: Sequence[str], y: Sequence[str], **kwargs) -> "Classifier":
        """A fresh classifier whose vocabulary and classes come from ``X`` and ``y``."""
        return cls(Vocab.from_words(X), Labels(sorted(set(y))), **kwargs)

    @property
    def device(self) -> torch.device:
        return self.rnn.W.device

    def encode(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """One-hot batch of ``words`` on the model's device."""
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, (list, tuple)):
            raise TypeError(f"expected a word or a list of words, got {type(words).__name__}")
        for w in words:
            check_word(w)
        return self.vocab.onehot_batch(words, unknown).to(self.device)

    @torch.no_grad()
    def predict_proba(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """Softmax probabilities, one row per word, one column per class."""
        return torch.softmax(self.rnn(self.encode(words, unknown)), dim=1).cpu()

    def predict(self, words: Sequence[str], unknown: str = "error") -> list[str]:
        """The most probable class name of each word."""
        return self.labels.decode(self.predict_proba(words, unknown).argmax(dim=1))

    def save(self, path: str | os.PathLike) -> None:
        """Write a versioned, code-free model file."""
        rnn = self.rnn
        torch.save({
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "chars": self.vocab.chars,
            "classes": self.labels.classes,
            "config": {"nhidden": rnn.nhidden, "nonlinearity": rnn.nonlinearity},
            "state": {k: v.detach().cpu() for k, v in rnn.state_dict().items()},
        }, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Classifier":
        """Read a file written by ``save``; refuse anything else with a one-line message."""
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"no model file at {path}") from None
        except Exception as err:  # torch raises many kinds for a damaged file
            raise ValueError(f"{path} is not a readable rnnlib model file "
                             f"({type(err).__name__}: {str(err).splitlines()[0][:120]})") from None
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise ValueError(f"{path} is not an rnnlib model file")
        if blob.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path} is an rnnlib model of format version {blob.get('version')}; "
                             f"this rnnlib reads version {FORMAT_VERSION}")
        try:
            vocab, labels = Vocab(blob["chars"]), Labels(blob["classes"])
            config, state = blob["config"], blob["state"]
            rnn = RNN(len(vocab), config["nhidden"], len(labels), config["nonlinearity"], seed=None)
            rnn.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{path} is a damaged rnnlib model file ({str(err).splitlines()[0][:120]})") from None
        return cls(vocab, labels, rnn=rnn)
