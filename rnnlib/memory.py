"""A task that needs memory (notebook 14): the class is a word's first symbol, one of ``classes`` (``a b c d``),
followed by ``length`` symbols drawn from ``distractors`` others (``e f g h``); chance is ``1 / classes``.
The words are strings, so a ``Classifier`` reads them like any words.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from .bptt import backward
from .checks import check_int, check_seed
from .model import Classifier, softmax_minus_onehot
from .text import MAX_WORD_LENGTH, Labels, Vocab

SYMBOLS = "abcdefghijklmnopqrstuvwxyz"


def memory_task(length: int, n: int, classes: int = 4, distractors: int = 4, seed: int = 0
                ) -> tuple[list[str], list[str]]:
    """``n`` words of ``1 + length`` symbols and their classes (each word's first symbol)."""
    check_int("length", length, minimum=0)
    check_int("n", n)
    if check_int("classes", classes, minimum=2) + check_int("distractors", distractors) > len(SYMBOLS):
        raise ValueError(f"classes + distractors must be at most {len(SYMBOLS)}, got {classes} + {distractors}")
    if length >= MAX_WORD_LENGTH:
        raise ValueError(f"length must be below {MAX_WORD_LENGTH} (a word has at most {MAX_WORD_LENGTH} "
                         f"characters), got {length}")
    rng = random.Random(check_seed("seed", seed))
    first, rest = rng.choices(SYMBOLS[:classes], k=n), rng.choices(SYMBOLS[classes:classes + distractors], k=n * length)
    return [c + "".join(rest[i * length:(i + 1) * length]) for i, c in enumerate(first)], first


def memory_classifier(classes: int = 4, distractors: int = 4, **kwargs) -> Classifier:
    """A fresh ``Classifier`` over the task's symbols and classes, whatever words were drawn."""
    return Classifier(Vocab(SYMBOLS[:classes + distractors]), Labels(list(SYMBOLS[:classes])), **kwargs)


def open_update_gate(clf: Classifier, bias: float) -> None:
    """Start a GRU's update gate ``z = sigmoid(... + bias)``: it keeps about ``sigmoid(bias)`` of ``h`` per step."""
    if clf.rnn.cell.name != "gru":
        raise ValueError(f"only a GRU has an update gate, this classifier's cell is {clf.rnn.cell.name!r}")
    nh = clf.rnn.nhidden
    clf.rnn.b[nh:2 * nh] = bias                         # gate order r, z, n: z is the second block


def update_gate(clf: Classifier, word: str) -> torch.Tensor:
    """A GRU's ``z_1 .. z_T`` for one word, the columns of an ``nhidden x T`` matrix."""
    (codes,), _ = clf.encode([word])
    trace = clf.rnn.forward(torch.tensor(codes, device=clf.rnn.device)[:, None])
    return torch.stack([kept[1][0] for kept in trace.saved], dim=1).cpu()


def first_step_gradient(clf: Classifier, words: Sequence[str], targets: Sequence[str]) -> float:
    """``|dL/dh_1| / |dL/dh_T|`` of the mean loss over ``words`` (all of one length), from one backward pass:
    how much of the gradient is left at the first step (notebook 9's vanishing gradient)."""
    codes, labels = clf.encode(words, targets)
    if len({len(c) for c in codes}) != 1:
        raise ValueError("first_step_gradient takes words of one length (step 1 is then every word's first)")
    rnn = clf.rnn
    trace = rnn.forward(torch.tensor(codes, device=rnn.device).T)
    _, dO, _ = softmax_minus_onehot(trace.H[-1] @ rnn.V.T, torch.tensor(labels, device=rnn.device), 1 / len(labels))
    dh = backward(trace, rnn.W, rnn.nin, dO @ rnn.V, steps=True).dh            # the loss reads only h_T
    return (dh[1].norm() / dh[-1].norm()).item()
