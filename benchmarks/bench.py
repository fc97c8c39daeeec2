"""Training throughput of the course's three trainers and of torch.nn.RNN; notebook and frame times.

    python benchmarks/bench.py                  # everything
    python benchmarks/bench.py --skip-notebooks # training and frames only (under a minute)

Prints ``name=value`` lines:

* ``per_record_records_per_s``, ``minibatch_records_per_s``, ``vectorized_records_per_s``:
  ``rnnlib.train.fit`` with ``batch_size=1``; ``batch_size=32, vectorized=False``; and
  ``batch_size=32, vectorized=True``, on the same words with the same hidden size;
* ``nn_rnn_records_per_s``: the same minibatch training written with ``torch.nn.RNN`` +
  ``torch.nn.Linear`` (one-hot input, right padding with ``pack_padded_sequence``), same data,
  batch size, hidden size, optimizer and clipping;
* ``vectorized_vs_nn_rnn``: our vectorized throughput divided by nn.RNN's (target >= 0.7);
* ``notebooks_seconds``: every notebook executed, on copies in a temporary folder;
* ``anim_ms_per_frame``: from ``benchmarks/bench_anim.py``.

The machine may be busy with other work, so the two trainers that are compared run epoch after
epoch in turn, and each keeps its fastest epoch. Everything runs on one CPU thread, like the
notebooks: our matrices are too small for several threads to pay.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnlib.data import split, words
from rnnlib.model import Classifier
from rnnlib.train import fit
from rnnlib.vocab import Vocab

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NHIDDEN, BATCH_SIZE, LR, CLIP = 64, 32, 0.005, 1.0


def records_per_s(clf: Classifier, X: list[str], y: list[str], **settings) -> float:
    """Throughput of one epoch of ``fit`` (evaluation excluded)."""
    history = fit(clf, X, y, epochs=1, lr=LR, clip=CLIP, progress=False, **settings)
    return history.records_per_second(len(X))


def onehot_right_padded(vocab: Vocab, words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(steps x batch x nvocab) one-hot input, words padded on the right, and their lengths."""
    codes = [vocab.encode(w) for w in words]
    lengths = torch.tensor([len(c) for c in codes])
    X = torch.zeros(int(lengths.max()), len(words), len(vocab))
    for b, c in enumerate(codes):
        X[torch.arange(len(c)), b, torch.tensor(c)] = 1.0
    return X, lengths


class TorchRNNClassifier(nn.Module):
    """The course's model built from torch.nn parts: nn.RNN for the recurrence, nn.Linear for V."""

    def __init__(self, nvocab: int, nhidden: int, nclasses: int):
        super().__init__()
        self.rnn = nn.RNN(nvocab, nhidden, nonlinearity="tanh")
        self.V = nn.Linear(nhidden, nclasses, bias=False)

    def forward(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(X, lengths, enforce_sorted=False)
        _, h_last = self.rnn(packed)  # (1, batch, nhidden): each word's h at its own last step
        return self.V(h_last[0])


def nn_rnn_epoch(model: TorchRNNClassifier, optimizer: torch.optim.Optimizer, vocab: Vocab,
                 X: list[str], targets: torch.Tensor, rng: random.Random) -> float:
    """One epoch of minibatch training, as ``fit`` does it; returns records per second."""
    order = list(range(len(X)))
    rng.shuffle(order)
    start = time.perf_counter()
    for first in range(0, len(order), BATCH_SIZE):
        idx = order[first:first + BATCH_SIZE]
        inputs, lengths = onehot_right_padded(vocab, [X[i] for i in idx])
        loss = F.cross_entropy(model(inputs, lengths), targets[idx])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        loss.item()  # fit reads the loss every batch too
    return len(X) / (time.perf_counter() - start)


def training_benchmarks(per_language: int, rounds: int) -> dict[str, float]:
    X, y = words(per_language=per_language)
    X_train, _, y_train, _ = split(X, y, valid_fraction=0.2, seed=0)
    clf = Classifier.from_data(X, y, nhidden=NHIDDEN)
    results = {}
    # The per-record trainers are slow: a tenth of the words gives a steady figure.
    few = len(X_train) // 10
    results["per_record_records_per_s"] = records_per_s(
        clf, X_train[:few], y_train[:few], batch_size=1, vectorized=False)
    results["minibatch_records_per_s"] = records_per_s(
        clf, X_train[:few], y_train[:few], batch_size=BATCH_SIZE, vectorized=False)

    torch_model = TorchRNNClassifier(len(clf.vocab), NHIDDEN, len(clf.labels))
    optimizer = torch.optim.Adam(torch_model.parameters(), lr=LR)
    targets = clf.labels.encode(y_train)
    rng = random.Random(0)
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(records_per_s(clf, X_train, y_train, batch_size=BATCH_SIZE, vectorized=True))
        theirs.append(nn_rnn_epoch(torch_model, optimizer, clf.vocab, X_train, targets, rng))
    results["vectorized_records_per_s"] = max(ours)
    results["nn_rnn_records_per_s"] = max(theirs)
    results["vectorized_vs_nn_rnn"] = max(ours) / max(theirs)
    return results


def notebooks_seconds() -> float:
    """Execute every notebook on a copy, so that the committed ones stay as they are."""
    sys.path.insert(0, str(HERE))
    from run_notebooks import SHARED_DATA, execute

    if SHARED_DATA.is_dir():
        os.environ.setdefault("RNNLIB_DATA", str(SHARED_DATA))
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            seconds = execute(copy)
            print(f"{path.stem}_seconds={seconds:.1f}", flush=True)
            total += seconds
    return total


def anim_ms_per_frame() -> float | None:
    sys.path.insert(0, str(HERE))
    try:
        from bench_anim import ms_per_frame
    except ImportError as err:
        print(f"# anim_ms_per_frame skipped: {err}", file=sys.stderr)
        return None
    return ms_per_frame()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=4000,
                        help="words per language for the training benchmarks (default 4000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="epochs each of the two compared trainers runs, in turn (default 3)")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not execute the notebooks")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    print(f"threads={torch.get_num_threads()}")
    print(f"nhidden={NHIDDEN}")
    print(f"batch_size={BATCH_SIZE}")
    for name, value in training_benchmarks(args.per_language, args.rounds).items():
        print(f"{name}={value:.0f}" if name.endswith("_per_s") else f"{name}={value:.2f}", flush=True)
    frame = anim_ms_per_frame()
    if frame is not None:
        print(f"anim_ms_per_frame={frame:.1f}", flush=True)
    if not args.skip_notebooks:
        print(f"notebooks_seconds={notebooks_seconds():.1f}")


if __name__ == "__main__":
    main()
