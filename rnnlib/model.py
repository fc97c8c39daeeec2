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
A file is written whole or not at all (a temporary file renamed over the
target), and a file whose weights do not fit its settings, or are not finite,
is refused before a model is built from it.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from .checks import check_choice, check_int, check_seed
from .vocab import Labels, Vocab

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}
FORMAT = "rnnlib-model"
FORMAT_VERSION = 1


class RNN(nn.Module):
    """``h_t = f(W @ h_{t-1} + U @ x_t + b)``, ``o = V @ h_T``.

    Parameters: ``W`` (nhidden x nhidden), ``U`` (nhidden x nvocab),
    ``b`` (nhidden x 1, starts at zero) and ``V`` (nclasses x nhidden). ``W`` and
    ``V`` are drawn uniformly from +-1/sqrt(nhidden), as ``torch.nn.RNN`` draws its weights, and
    ``U`` from +-1: the bound is 1/sqrt(fan-in) for each, and ``U @ onehot(c)`` reads a
    single column, a fan-in of 1 (``torch.nn.Embedding`` starts from N(0, 1), the same scale).
    """

    def __init__(self, nvocab: int, nhidden: int, nclasses: int,
                 nonlinearity: str = "tanh", seed: int | None = 0):
        super().__init__()
        check_int("nvocab", nvocab)
        check_int("nhidden", nhidden)
        check_int("nclasses", nclasses, minimum=2)
        check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        if seed is not None:
            check_seed("seed", seed)
        self.nvocab, self.nhidden, self.nclasses = nvocab, nhidden, nclasses
        self.nonlinearity = nonlinearity
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        bound = 1 / math.sqrt(nhidden)

        def uniform(*shape, bound=bound):
            return nn.Parameter((torch.rand(*shape, generator=gen) * 2 - 1) * bound)

        self.W = uniform(nhidden, nhidden)
        self.U = uniform(nhidden, nvocab, bound=1.0)  # one column per step: a fan-in of 1
        self.b = nn.Parameter(torch.zeros(nhidden, 1))
        self.V = uniform(nclasses, nhidden)

    @staticmethod
    def shapes(nvocab: int, nhidden: int, nclasses: int) -> dict[str, tuple[int, int]]:
        """The shape of each parameter, in the order of ``state_dict``."""
        return {"W": (nhidden, nhidden), "U": (nhidden, nvocab), "b": (nhidden, 1), "V": (nclasses, nhidden)}

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
    def from_data(cls, X: Sequence[str], y: Sequence[str], **kwargs) -> "Classifier":
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
        return self.vocab.onehot_batch(words, unknown).to(self.device)

    @torch.no_grad()
    def scores(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """The logits ``o = V @ h_T``, one row per word; refuses non-finite ones.

        An RNN without a bound on ``h`` (relu) can overflow on a long word:
        its scores become ``inf`` or ``nan``, and ``argmax`` would silently
        name class 0. That is a ``ValueError`` here (the word is too long for
        this model), never an answer.
        """
        if isinstance(words, str):
            words = [words]
        logits = self.rnn(self.encode(words, unknown))
        bad = ~torch.isfinite(logits).all(dim=1)
        if bad.any():
            i = int(bad.nonzero()[0])
            word = words[i] if len(words[i]) <= 30 else words[i][:27] + "..."
            raise ValueError(
                f"the scores of {word!r} ({len(words[i])} characters) are not finite: h overflowed "
                f"in this {self.rnn.nonlinearity} RNN; use shorter words or a tanh model, whose h stays in -1..1")
        return logits

    def predict_proba(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """Softmax probabilities, one row per word, one column per class."""
        return torch.softmax(self.scores(words, unknown), dim=1).cpu()

    def predict(self, words: Sequence[str], unknown: str = "error") -> list[str]:
        """The most probable class name of each word."""
        return self.labels.decode(self.predict_proba(words, unknown).argmax(dim=1))

    def save(self, path: str | os.PathLike) -> None:
        """Write a versioned, code-free model file, whole or not at all.

        The file is written under a temporary name in the same folder, then
        renamed over ``path``: a failure (a full disk, an interrupt) leaves an
        earlier file at ``path`` as it was, and no temporary file. Any failure
        is an ``OSError`` naming ``path``.
        """
        rnn = self.rnn
        state = {k: v.detach().cpu() for k, v in rnn.state_dict().items()}
        check_finite(state, "the model")
        blob = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "chars": self.vocab.chars,
            "classes": self.labels.classes,
            "config": {"nhidden": rnn.nhidden, "nonlinearity": rnn.nonlinearity},
            "state": state,
        }
        path = Path(path)
        check_writable(path)
        folder = path.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as err:
            raise _os_error(err, f"cannot save the model to {path}: cannot write in {folder} "
                                 f"({err.strerror or err})") from None
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(blob, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _file_mode(path))
            os.replace(tmp, path)
        except BaseException as err:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(err, (OSError, RuntimeError)):  # torch reports write failures as RuntimeError
                reason = getattr(err, "strerror", None) or str(err).splitlines()[0][:120]
                left = "the file there is unchanged" if path.exists() else "nothing was written"
                raise _os_error(err, f"cannot save the model to {path} ({reason}); {left}") from None
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Classifier":
        """Read a file written by ``save``; refuse anything else with a one-line message."""
        if Path(path).is_dir():
            raise IsADirectoryError(f"{path} is a folder, not a model file")
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
            missing = [key for key in ("chars", "classes", "config", "state") if key not in blob]
            if missing:
                raise ValueError(f"it lacks {', '.join(missing)}")
            vocab, labels, config, state = Vocab(blob["chars"]), Labels(blob["classes"]), blob["config"], blob["state"]
            if not isinstance(config, dict) or not isinstance(state, dict):
                raise ValueError("its config and state must be dictionaries")
            nhidden = check_int("nhidden", config.get("nhidden"))
            nonlinearity = check_choice("nonlinearity", config.get("nonlinearity"), NONLINEARITIES)
            # Before building anything: a small file must not make us allocate a big model.
            check_state(state, RNN.shapes(len(vocab), nhidden, len(labels)))
            check_finite(state, "the file")
            rnn = RNN(len(vocab), nhidden, len(labels), nonlinearity, seed=None)
            rnn.load_state_dict(state)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{path} is a damaged rnnlib model file: {str(err).splitlines()[0][:300]}") from None
        return cls(vocab, labels, rnn=rnn)


def check_writable(path: Path) -> None:
    """Refuse, with an ``OSError`` naming it, a ``path`` where ``save`` cannot write a file."""
    if path.is_dir():
        raise IsADirectoryError(f"cannot save the model to {path}: it is a folder; "
                                f"give a file name such as {path / 'model.pt'}")
    folder = path.parent
    if not folder.is_dir():
        kind, why = (NotADirectoryError, "is a file") if folder.exists() else (FileNotFoundError, "does not exist")
        raise kind(f"cannot save the model to {path}: the folder {folder} {why}")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot save the model to {path}: the folder {folder} is not writable")


def check_state(state: dict, shapes: dict[str, tuple[int, ...]]) -> None:
    """Refuse a state dict whose keys or tensor shapes differ from ``shapes``, saying all that differs."""
    problems = []
    missing = [k for k in shapes if k not in state]
    extra = [str(k) for k in state if k not in shapes]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    for key, shape in shapes.items():
        t = state.get(key)
        if key in missing:
            continue
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            problems.append(f"{key} is not a tensor of floats")
        elif tuple(t.shape) != shape:
            problems.append(f"{key} has shape {tuple(t.shape)}, expected {shape} from its settings")
    if problems:
        raise ValueError("; ".join(problems))


def check_finite(state: dict[str, torch.Tensor], what: str) -> None:
    """Refuse weights holding ``nan`` or ``inf``: such a model only predicts garbage."""
    bad = [k for k, t in state.items() if not torch.isfinite(t).all()]
    if bad:
        raise ValueError(f"{what} has weights that are not finite (nan or inf) in {', '.join(bad)}: "
                         f"it comes from a training run that diverged, or it is damaged")


def _os_error(err: BaseException, message: str) -> OSError:
    """An ``OSError`` of the same kind as ``err`` (and its ``errno``) whose text is ``message``."""
    kind = type(err) if isinstance(err, OSError) else OSError
    new = kind(message)
    new.errno = getattr(err, "errno", None)
    return new


def _file_mode(path: Path) -> int:
    """The permissions a new file gets (those of the file it replaces, or the umask's)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
