"""Training: per-record, minibatch and vectorized SGD, one epoch each; ``fit`` runs them; ``evaluate``.

    train_per_record    notebook 7: one word, one update
    train_minibatch     notebook 10: each word of a batch run on its own, one update with their mean gradient
    train_vectorized    notebook 11: the whole batch at once; batches of equal-length words by default
                        (no padding: 'Where the speed comes from'), or shuffled and left-padded

All three get their gradient from the model (the written-out loss gradient and
``rnnlib.bptt``), clip it and move the parameters with ``rnnlib.optim``: one copy of each.
An epoch returns its summed loss, its right guesses and how many targets it saw.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .checks import check_choice, check_int, check_positive, check_seed
from .optim import OPTIMIZERS, Optimizer, clip_norm
from .text import Batches

LR_SCHEDULES = ("constant", "linear")
MAX_WEIGHT = 1e6       # no model of this course comes near it; past it, training has diverged


class TrainingDiverged(FloatingPointError):
    """The loss or the weights became infinite or NaN."""


@dataclass
class History:
    """Per-epoch figures of a training run (losses are means per target)."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def records_per_second(self, nrecords: int) -> float:
        return nrecords * len(self.seconds) / sum(self.seconds)


class Step:
    """Clip the model's gradient, then one update of ``optimizer`` with the learning rate of update ``k``.

    ``weight_decay`` first shrinks every weight by ``lr * weight_decay`` of itself, apart from the
    gradient (decoupled, as ``torch.optim.AdamW``): a pull towards zero that Adam does not rescale.
    """

    def __init__(self, model, optimizer: str, lr_at: Callable[[int], float], clip: float | None,
                 weight_decay: float = 0.0):
        self.model, self.lr_at, self.clip, self.weight_decay = model, lr_at, clip, weight_decay
        self.optimizer = Optimizer(optimizer, model.rnn.theta)

    def __call__(self, loss: torch.Tensor, number: int) -> float:
        """One update after a batch of summed ``loss``; returns that loss (refused if not finite)."""
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(f"the loss became {value} at update {number}")
        clip_norm(self.model.rnn.grad, self.clip)
        lr = self.lr_at(self.optimizer.k)
        if self.weight_decay:
            self.model.rnn.theta.mul_(1 - lr * self.weight_decay)
        self.optimizer.step(self.model.rnn.grad, lr)
        return value


def train_per_record(model, data: Batches, step: Step, rng: random.Random) -> tuple[float, int, int]:
    """One epoch of per-record SGD (notebook 7): each word in a shuffled order, one update each."""
    order = list(range(len(data)))
    rng.shuffle(order)
    total, right, count = 0.0, 0, 0
    for number, i in enumerate(order, 1):
        loss, r, n = model.gradient(*data.pad([i]), "mean")
        total, right, count = total + step(loss, number), right + int(r), count + n
    return total, right, count


def train_minibatch(model, data: Batches, step: Step, rng: random.Random, batch_size: int,
                    reduction: str = "mean") -> tuple[float, int, int]:
    """One epoch of minibatch SGD (notebook 10): each word run on its own, one update per batch."""
    order = list(range(len(data)))
    rng.shuffle(order)
    grad, total, right, count = model.rnn.grad, 0.0, 0, 0
    for number, start in enumerate(range(0, len(order), batch_size), 1):
        batch, summed, batch_loss, n = order[start:start + batch_size], torch.zeros_like(grad), 0.0, 0
        for i in batch:
            loss, r, k = model.gradient(*data.pad([i]), "sum")
            summed += grad
            batch_loss, right, n = batch_loss + loss, right + int(r), n + k
        grad.copy_(summed / n if reduction == "mean" else summed)
        total, count = total + step(batch_loss, number), count + n
    return total, right, count


def train_vectorized(model, data: Batches, step: Step, rng: random.Random, batch_size: int,
                     reduction: str = "mean", equal_lengths: bool = True) -> tuple[float, int, int]:
    """One epoch of vectorized minibatch SGD (notebook 11): each batch through ``forward`` at once."""
    batches = data.equal_lengths(batch_size, rng) if equal_lengths else data.padded(batch_size, rng)
    total, right, count = 0.0, 0, 0
    for number, (codes, mask, targets) in enumerate(batches, 1):
        loss, r, n = model.gradient(codes, mask, targets, reduction)
        total, right, count = total + step(loss, number), right + int(r), count + n
    return total, right, count


TRAINERS = {"per_record": train_per_record, "minibatch": train_minibatch, "vectorized": train_vectorized}


def updates_per_epoch(data: Batches, trainer: str, batch_size: int, equal_lengths: bool) -> int:
    if trainer == "per_record":
        return len(data)
    if trainer == "vectorized" and equal_lengths:
        return sum(-(-len(ids) // batch_size) for ids in data.members.values())
    return -(-len(data) // batch_size)


def fit(model, X_train: Sequence[str], y_train: Sequence, X_valid: Sequence[str] | None = None,
        y_valid: Sequence | None = None, *, epochs: int = 1, batch_size: int = 32, lr: float = 0.005,
        optimizer: str = "adam", clip: float | None = 1.0, lr_schedule: str = "constant",
        trainer: str = "vectorized", equal_lengths: bool = True, loss_reduction: str = "mean",
        weight_decay: float = 0.0, seed: int = 0, progress: bool = False) -> History:
    """Train ``model`` (a ``Classifier`` or a ``LanguageModel``) in place; the per-epoch ``History``.

    ``trainer`` names one of ``TRAINERS``; ``lr_schedule="linear"`` lowers ``lr`` to 0 in
    equal steps over all the updates (notebook 7); ``weight_decay`` is ``Step``'s. Every argument is checked before any
    work; a loss or weights that stop being finite raise ``TrainingDiverged`` (the model then
    holds the updates made, for inspection: save it only if you mean to).
    """
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    check_positive("lr", lr)
    if lr > 100:
        raise ValueError(f"lr must be at most 100 (a step that large only diverges), got {lr!r}")
    if clip is not None:
        check_positive("clip", clip)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    check_choice("trainer", trainer, TRAINERS)
    check_choice("loss_reduction", loss_reduction, ("mean", "sum"))
    if weight_decay:
        check_positive("weight_decay", weight_decay)
        if lr * weight_decay >= 1:
            raise ValueError(f"lr * weight_decay must be below 1 (each update keeps 1 - lr * weight_decay of "
                             f"every weight), got {lr} * {weight_decay}")
    check_seed("seed", seed)
    if (X_valid is None) != (y_valid is None):
        raise ValueError("give both X_valid and y_valid, or neither")
    data = Batches(*model.encode(X_train, y_train), model.rnn.device)
    valid = None if X_valid is None else Batches(*model.encode(X_valid, y_valid), model.rnn.device)
    total_updates = epochs * updates_per_epoch(data, trainer, batch_size, equal_lengths)
    lr_at = (lambda k: lr) if lr_schedule == "constant" else (lambda k: lr * (1 - k / total_updates))
    step = Step(model, optimizer, lr_at, clip, weight_decay)
    options = {"per_record": {}, "minibatch": {"batch_size": batch_size, "reduction": loss_reduction},
               "vectorized": {"batch_size": batch_size, "reduction": loss_reduction,
                              "equal_lengths": equal_lengths}}[trainer]
    rng, history = random.Random(seed), History()
    epoch_range = range(1, epochs + 1)
    if progress:
        from tqdm.auto import tqdm
        epoch_range = tqdm(epoch_range, desc="epochs", leave=False)
    for epoch in epoch_range:
        started = time.perf_counter()
        try:
            total, right, count = TRAINERS[trainer](model, data, step, rng, **options)
        except TrainingDiverged as err:
            raise TrainingDiverged(f"{err} of epoch {epoch}: try a lower learning rate than lr={lr}"
                                   f"{' or gradient clipping' if clip is None else ''}") from None
        largest = model.rnn.theta.abs().max().item()
        if not largest <= MAX_WEIGHT:                      # nan compares False
            raise TrainingDiverged(f"the weights {'grew past ' + f'{MAX_WEIGHT:g}' if math.isfinite(largest) else 'stopped being finite'}"
                                   f" in epoch {epoch}: try a lower learning rate than lr={lr}")
        history.seconds.append(time.perf_counter() - started)
        history.train_loss.append(total / count)
        history.train_accuracy.append(right / count)
        if valid is not None:
            loss, accuracy = model.evaluate(valid)
            history.valid_loss.append(loss)
            history.valid_accuracy.append(accuracy)
    return history


def evaluate(model, X: Sequence[str], y: Sequence) -> tuple[float, float]:
    """The mean loss and the accuracy of ``model`` on ``X``, ``y``, through the same ``forward`` as training."""
    return model.evaluate(Batches(*model.encode(X, y), model.rnn.device))
