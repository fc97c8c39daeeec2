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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .checks import check_choice, check_int, check_positive, check_seed
from .fast import EqualLengthWords, Trainer, last_hidden
from .model import Classifier

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
LR_SCHEDULES = ("constant", "linear")


def make_optimizer(name: str, parameters: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """``OPTIMIZERS[name]``; Adam fused (one call updates all four matrices): the same steps, faster."""
    parameters = list(parameters)
    if name == "adam" and all(p.device.type in ("cpu", "cuda") for p in parameters):
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    return OPTIMIZERS[name](parameters, lr=lr)


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


@torch.no_grad()
def evaluate(clf: Classifier, X: Sequence[str], y: Sequence[str], batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``clf`` on ``(X, y)``.

    The logits are ``clf.rnn``'s, computed words of one length at a time
    (``rnnlib.fast.last_hidden``). A word whose scores are not finite (an
    overflowed relu ``h``) counts as wrong, never as a guess of class 0; the
    loss is then ``inf`` or ``nan``.
    """
    codes = _check_data(clf, X, y, "X", "y")
    check_int("batch_size", batch_size)
    return evaluate_codes(clf, codes, clf.labels.encode(y), batch_size)


@torch.no_grad()
def evaluate_codes(clf: Classifier, codes: Sequence[Sequence[int]], targets: torch.Tensor,
                   batch_size: int = 512) -> tuple[float, float]:
    """``evaluate`` for words already checked and encoded (``fit`` checks its validation words once)."""
    logits = last_hidden(clf.rnn, codes, batch_size) @ clf.rnn.V.T
    targets = targets.to(logits.device)
    loss = F.cross_entropy(logits, targets, reduction="sum").item()
    finite = torch.isfinite(logits).all(dim=1)
    correct = ((logits.argmax(dim=1) == targets) & finite).sum().item()
    return loss / len(codes), correct / len(codes)


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
    equal_lengths: bool = True,
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
    to 0 in equal steps over all the updates, as notebook 7 does with
    ``LinearLR``: big steps while the model is far off, small ones at the end.
    A non-finite loss stops training with ``TrainingDiverged``.

    ``vectorized=True`` runs each batch at once; with ``equal_lengths=True`` (the
    default) through ``rnnlib.fast``: batches of words of one length, reshuffled every
    epoch, and the hand-written backward pass (notebook 10, "Where the speed comes
    from"); with ``equal_lengths=False`` as notebook 10 writes the loop first: shuffled
    batches, left-padded, through the masked ``RNN.hidden``. ``vectorized=False`` runs
    each word of a batch on its own (notebook 9). One epoch is ``train_epoch`` (notebook 9's
    loop), or ``fast_epoch`` for the fast trainer.
    """
    codes, valid_codes = check_fit_arguments(
        clf, X_train, y_train, X_valid, y_valid, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
        loss_reduction=loss_reduction, clip=clip, lr_schedule=lr_schedule, seed=seed)
    from tqdm.auto import tqdm

    targets = clf.labels.encode(y_train).to(clf.device)
    valid_targets = None if y_valid is None else clf.labels.encode(y_valid)
    rng = random.Random(seed)
    if vectorized and equal_lengths:  # the fast trainer: notebook 10, "Where the speed comes from"
        fast_words = EqualLengthWords(codes, clf.device)
        total_updates = epochs * fast_words.nbatches(batch_size)
        lr_at = (lambda k: lr) if lr_schedule == "constant" else (lambda k: lr * (1 - k / total_updates))
        trainer = Trainer(clf.rnn, optimizer, lr_at, clip, loss_reduction)

        def run_epoch(description: str) -> tuple[float, int]:
            batches = fast_words.epoch_codes(fast_words.batches(batch_size, rng), targets)
            try:
                return fast_epoch(trainer, tqdm(batches, desc=description, disable=not progress, leave=False))
            finally:
                trainer.write_back()   # the model holds every update made, even after an error
    else:
        if vectorized:  # each batch left-padded, through the masked loop of RNN.hidden
            logits_of = lambda batch: clf.rnn(clf.encode([X_train[i] for i in batch]))  # noqa: E731
        else:  # one word at a time, as in per-record SGD
            logits_of = lambda batch: torch.cat([clf.rnn(clf.encode([X_train[i]])) for i in batch])  # noqa: E731
        opt = make_optimizer(optimizer, clf.rnn.parameters(), lr)
        schedule = None if lr_schedule == "constant" else torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=1.0, end_factor=0.0, total_iters=epochs * math.ceil(len(X_train) / batch_size))

        def run_epoch(description: str) -> tuple[float, int]:
            order = list(range(len(X_train)))
            rng.shuffle(order)
            batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
            return train_epoch(clf.rnn, opt, logits_of, targets,
                               tqdm(batches, desc=description, disable=not progress, leave=False),
                               reduction=loss_reduction, clip=clip, schedule=schedule)

    history = History()
    for epoch in range(1, epochs + 1):
        clf.rnn.train()
        start_time = time.perf_counter()
        try:
            total_loss, correct = run_epoch(f"epoch {epoch}/{epochs}")
        except TrainingDiverged as err:
            raise TrainingDiverged(f"{err.args[0]} at epoch {epoch}, batch {err.args[1]}: try a lower learning "
                                   f"rate than lr={lr} or gradient clipping (clip={clip})") from None
        history.seconds.append(time.perf_counter() - start_time)
        history.train_loss.append(total_loss / len(X_train))
        history.train_accuracy.append(correct / len(X_train))
        clf.rnn.eval()
        if X_valid is not None:
            valid_loss, valid_acc = evaluate_codes(clf, valid_codes, valid_targets)
            history.valid_loss.append(valid_loss)
            history.valid_accuracy.append(valid_acc)
    return history


def train_epoch(rnn: torch.nn.Module, optimizer: torch.optim.Optimizer,
                logits_of: Callable[[list[int]], torch.Tensor], targets: torch.Tensor,
                batches: Iterable[list[int]], reduction: str = "mean", clip: float | None = 1.0,
                schedule: torch.optim.lr_scheduler.LRScheduler | None = None) -> tuple[float, int]:
    """One epoch of minibatch SGD, one update per batch: notebook 09_minibatch's ``train_epoch``.

    ``logits_of(batch)`` gives the logits of the words numbered ``batch``. Returns the
    epoch's summed loss and its number of correct guesses (``fit`` divides by the words).
    """
    total_loss, correct = 0.0, 0
    for number, batch in enumerate(batches, 1):
        logits, target = logits_of(batch), targets[batch]
        loss = F.cross_entropy(logits, target, reduction=reduction)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(f"loss became {value}", number)
        optimizer.zero_grad()
        loss.backward()                                   # the gradient of the batch's loss
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(rnn.parameters(), max_norm=clip)
        optimizer.step()                                  # one update per batch
        if schedule is not None:
            schedule.step()
        total_loss += value * (len(batch) if reduction == "mean" else 1)
        correct += (logits.argmax(dim=1) == target).sum()
    return total_loss, int(correct)


def fast_epoch(trainer: Trainer, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, int]:
    """``train_epoch`` for the fast trainer: ``batches`` holds each batch's codes and targets.

    The same loop, with ``trainer.step`` for the loss and gradient and ``trainer.update``
    for clipping and the optimizer step (notebook 10, "Where the speed comes from").
    """
    total_loss, correct = 0.0, 0
    for number, (codes, target) in enumerate(batches, 1):
        loss, right = trainer.step(codes, target)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(f"loss became {value}", number)
        trainer.update()
        total_loss += value * (len(target) if trainer.reduction == "mean" else 1)
        correct += right
    return total_loss, int(correct)


def check_fit_arguments(clf: Classifier, X_train: Sequence[str], y_train: Sequence[str],
                        X_valid: Sequence[str] | None, y_valid: Sequence[str] | None, *, epochs: int,
                        batch_size: int, lr: float, optimizer: str, loss_reduction: str, clip: float | None,
                        lr_schedule: str, seed: int) -> tuple[list[list[int]], list[list[int]] | None]:
    """Every check of ``fit``'s arguments, run before any work: a bad one is a one-line error.

    Returns the codes of ``X_train`` and of ``X_valid`` (``None`` without it), which the
    checks had to compute anyway.
    """
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    check_positive("lr", lr)
    if clip is not None:
        check_positive("clip", clip)  # a clip <= 0 or nan would silently wreck every update
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("loss_reduction", loss_reduction, ("mean", "sum"))
    check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    check_seed("seed", seed)
    codes = _check_data(clf, X_train, y_train, "X_train", "y_train")
    if (X_valid is None) != (y_valid is None):
        raise ValueError("give both X_valid and y_valid, or neither")
    valid_codes = None if X_valid is None else _check_data(clf, X_valid, y_valid, "X_valid", "y_valid")
    return codes, valid_codes


def _check_data(clf: Classifier, X: Sequence[str], y: Sequence[str], xname: str, yname: str) -> list[list[int]]:
    """Lists of the same non-zero length, every word encodable and every label known; the words' codes."""
    if not isinstance(clf, Classifier):
        raise TypeError(f"expected a Classifier, got {type(clf).__name__}")
    if isinstance(X, str) or isinstance(y, str):
        raise TypeError(f"{xname} and {yname} must be lists of words and labels, not a single string")
    if len(X) != len(y):
        raise ValueError(f"{xname} has {len(X)} records but {yname} has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{xname} is empty: no records to train or evaluate on")
    codes = []
    for i, w in enumerate(X):
        try:
            codes.append(clf.vocab.encode(w))
        except (TypeError, ValueError) as err:
            raise type(err)(f"{xname}[{i}]: {err}") from None
    try:
        clf.labels.encode(y)
    except ValueError as err:
        raise ValueError(f"{yname}: {err}") from None
    return codes
