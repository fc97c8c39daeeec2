"""Training: per-record SGD, minibatch SGD, and the vectorized minibatch.

All three minimise the same cross-entropy; they differ in how many records
each update sees and in how the records of a batch are computed:

* ``batch_size=1``: per-record SGD, one update per word;
* ``batch_size=B, vectorized=False``: the loss of ``B`` words, each run through
  the RNN on its own, summed or averaged, then one update;
* ``batch_size=B, vectorized=True``: the ``B`` words run at once as the
  columns of ``H`` (see ``RNN.hidden``).
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .checks import check_choice, check_int, check_positive, check_seed
from .model import Classifier

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
LR_SCHEDULES = ("constant", "linear")


class TrainingDiverged(FloatingPointError):
    """The loss became infinite or NaN."""


@dataclass
class History:
    """Per-epoch figures of a training run."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def records_per_second(self, nrecords: int) -> float:
        """Training throughput over all epochs (evaluation excluded)."""
        return nrecords * len(self.seconds) / sum(self.seconds)


def pick_device(prefer: str | None = None) -> torch.device:
    """``cuda`` if there is one, else ``mps`` (Apple), else the CPU; or ``prefer``."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's generators."""
    random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate(clf: Classifier, X: Sequence[str], y: Sequence[str], batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``clf`` on ``(X, y)``.

    A word whose scores are not finite (an overflowed relu ``h``) counts as
    wrong, never as a guess of class 0; the loss is then ``inf`` or ``nan``.
    """
    _check_data(clf, X, y, "X", "y")
    check_int("batch_size", batch_size)
    targets = clf.labels.encode(y).to(clf.device)
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), batch_size):
        logits = clf.rnn(clf.encode(X[start:start + batch_size]))
        target = targets[start:start + batch_size]
        total_loss += F.cross_entropy(logits, target, reduction="sum").item()
        finite = torch.isfinite(logits).all(dim=1)
        correct += ((logits.argmax(dim=1) == target) & finite).sum().item()
    return total_loss / len(X), correct / len(X)


def fit(
    clf: Classifier,
    X_train: Sequence[str],
    y_train: Sequence[str],
    X_valid: Sequence[str] | None = None,
    y_valid: Sequence[str] | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    vectorized: bool = True,
    lr: float = 0.005,
    optimizer: str = "adam",
    loss_reduction: str = "mean",
    clip: float | None = 1.0,
    lr_schedule: str = "constant",
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``clf`` in place; shuffle every epoch; return the per-epoch ``History``.

    ``clip`` bounds the gradient's norm before each update (``None``: no
    clipping). ``lr_schedule="linear"`` lowers the learning rate from ``lr``
    to 0 in equal steps over all the updates, as notebook 6 does with
    ``LinearLR``: big steps while the model is far off, small ones at the end.
    A non-finite loss stops training with ``TrainingDiverged``.
    """
    check_fit_arguments(clf, X_train, y_train, X_valid, y_valid, epochs=epochs, batch_size=batch_size,
                        lr=lr, optimizer=optimizer, loss_reduction=loss_reduction, clip=clip,
                        lr_schedule=lr_schedule, seed=seed)
    from tqdm.auto import tqdm

    targets = clf.labels.encode(y_train).to(clf.device)

    seed_everything(seed)
    rng = random.Random(seed)
    opt = OPTIMIZERS[optimizer](clf.rnn.parameters(), lr=lr)
    history = History()
    order = list(range(len(X_train)))
    nbatches = math.ceil(len(order) / batch_size)
    schedule = None
    if lr_schedule == "linear":
        schedule = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0,
                                                     total_iters=epochs * nbatches)
    for epoch in range(1, epochs + 1):
        rng.shuffle(order)
        clf.rnn.train()
        start_time = time.perf_counter()
        total_loss, correct = 0.0, 0
        bar = tqdm(range(nbatches), desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
        for batch in bar:
            idx = order[batch * batch_size:(batch + 1) * batch_size]
            words = [X_train[i] for i in idx]
            target = targets[idx]
            if vectorized:
                logits = clf.rnn(clf.encode(words))
            else:  # one word at a time, as in per-record SGD
                logits = torch.cat([clf.rnn(clf.encode([w])) for w in words])
            loss = F.cross_entropy(logits, target, reduction=loss_reduction)
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"loss became {loss.item()} at epoch {epoch}, batch {batch + 1}: "
                    f"try a lower learning rate than lr={lr} or gradient clipping (clip={clip})")
            opt.zero_grad()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(clf.rnn.parameters(), clip)
            opt.step()
            if schedule is not None:
                schedule.step()
            batch_loss = loss.item() * (len(idx) if loss_reduction == "mean" else 1)
            total_loss += batch_loss
            correct += (logits.argmax(dim=1) == target).sum().item()
        history.seconds.append(time.perf_counter() - start_time)
        history.train_loss.append(total_loss / len(order))
        history.train_accuracy.append(correct / len(order))
        clf.rnn.eval()
        if X_valid is not None:
            valid_loss, valid_acc = evaluate(clf, X_valid, y_valid)
            history.valid_loss.append(valid_loss)
            history.valid_accuracy.append(valid_acc)
    return history


def check_fit_arguments(clf: Classifier, X_train: Sequence[str], y_train: Sequence[str],
                        X_valid: Sequence[str] | None, y_valid: Sequence[str] | None, *, epochs: int,
                        batch_size: int, lr: float, optimizer: str, loss_reduction: str, clip: float | None,
                        lr_schedule: str, seed: int) -> None:
    """Every check of ``fit``'s arguments, run before any work: a bad one is a one-line error."""
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    check_positive("lr", lr)
    if clip is not None:
        check_positive("clip", clip)  # a clip <= 0 or nan would silently wreck every update
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("loss_reduction", loss_reduction, ("mean", "sum"))
    check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    check_seed("seed", seed)
    _check_data(clf, X_train, y_train, "X_train", "y_train")
    if (X_valid is None) != (y_valid is None):
        raise ValueError("give both X_valid and y_valid, or neither")
    if X_valid is not None:
        _check_data(clf, X_valid, y_valid, "X_valid", "y_valid")


def _check_data(clf: Classifier, X: Sequence[str], y: Sequence[str], xname: str, yname: str) -> None:
    """Lists of the same non-zero length, every word encodable and every label known."""
    if not isinstance(clf, Classifier):
        raise TypeError(f"expected a Classifier, got {type(clf).__name__}")
    if isinstance(X, str) or isinstance(y, str):
        raise TypeError(f"{xname} and {yname} must be lists of words and labels, not a single string")
    if len(X) != len(y):
        raise ValueError(f"{xname} has {len(X)} records but {yname} has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{xname} is empty: no records to train or evaluate on")
    for i, w in enumerate(X):
        try:
            clf.vocab.encode(w)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{xname}[{i}]: {err}") from None
    try:
        clf.labels.encode(y)
    except ValueError as err:
        raise ValueError(f"{yname}: {err}") from None
