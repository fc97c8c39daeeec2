"""Training throughput of the course's trainers against torch.nn.RNN and torch.nn.GRU; the limit; notebook and frame times.

    python benchmarks/bench.py                  # everything
    python benchmarks/bench.py --skip-notebooks # training and frames only (about a minute)

Prints ``name=value`` lines:

* ``per_record_records_per_s``, ``minibatch_records_per_s``: ``rnnlib.train.fit`` with
  ``trainer="per_record"``, and ``trainer="minibatch", batch_size=32``;
* ``vectorized_padded_records_per_s``: ``fit(batch_size=32, equal_lengths=False)``, the
  shuffled, left-padded masked batches of notebook 11;
* ``vectorized_records_per_s``: ``fit``'s default (``train_vectorized`` on batches of
  equal-length words: ``rnnlib.rnn.forward``, the loss's gradient written out, ``rnnlib.bptt``,
  ``rnnlib.optim``'s Adam on one vector of all parameters);
* ``nn_rnn_<setup>_records_per_s`` for the ways a PyTorch user writes this model with
  ``torch.nn.RNN`` + ``torch.nn.Linear``, shuffled batches of 32 each epoch:
  ``onehot_packed`` (one-hot input, ``pack_padded_sequence``), ``embedding_packed``
  (``nn.Embedding(nvocab, nhidden)`` then ``pack_padded_sequence``) and ``embedding_gather``
  (``nn.Embedding``, right padding, each word's last ``h`` gathered from the output);
  ``ours_vs_best_nn_rnn``: ours divided by the fastest of those, measured in the same run;
* ``nn_rnn_embedding_equal_lengths_records_per_s``: for information, nn.RNN fed our
  equal-length batches (no padding, no packing); ``ours_vs_nn_rnn_equal_lengths``;
* the same for the GRU: ``gru_records_per_s`` (ours, ``cell="gru"``), ``nn_gru_<setup>_records_per_s``,
  ``best_nn_gru``, ``ours_gru_vs_best_nn_gru``, ``nn_gru_embedding_equal_lengths_records_per_s``;
* ``ours_valid_accuracy``, ``nn_rnn_valid_accuracy`` (the best of the nn.RNN setups above,
  each also printed), ``ours_gru_valid_accuracy``, ``nn_gru_valid_accuracy``: after the same
  epochs, same optimizer (Adam: ours written out on one vector, the torch setups the fused
  ``torch.optim.Adam``), lr, clipping;
* ``ours_narrow_u_valid_accuracy``: ours again, with ``U`` drawn from +-1/sqrt(nhidden) as
  ``torch.nn.RNN`` draws ``weight_ih``, instead of ``RNN``'s +-1 (for information);
* ``limit_seconds_per_epoch`` (``gru_limit_seconds_per_epoch``): the matrix products no trainer
  of this model can avoid (``H @ W.T`` forward and ``dZ @ W`` backward at every step, ``dW``,
  and those of ``V``), timed on their own for one epoch of our batches;
  ``ours_seconds_per_epoch``, ``ours_vs_limit`` (``ours_gru_seconds_per_epoch``, ``ours_gru_vs_limit``):
  how many times that our epoch takes;
* ``notebooks_seconds``: every notebook executed, on copies in a temporary folder, each
  from the start of its kernel to the end of its last cell (``run_notebooks.execute``);
* ``anim_ms_per_frame``: from ``benchmarks/bench_anim.py``.

The machine may be busy with other work, so the compared trainers run epoch after epoch in
turn, each keeps its fastest epoch, and every training figure is timed in CPU seconds of this
process (``time.process_time``), which other processes disturb far less than the wall clock.
Everything runs on one CPU thread, like the notebooks: our matrices are too small for several
threads to pay.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnlib.data import split, words
from rnnlib.model import Classifier
from rnnlib.text import Batches
from rnnlib.train import Step, evaluate, fit, train_vectorized

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NHIDDEN, BATCH_SIZE, LR, CLIP = 64, 32, 0.005, 1.0
NN_SETUPS = ("onehot_packed", "embedding_packed", "embedding_gather")


def records_per_s(clf: Classifier, X: list[str], y: list[str], **settings) -> float:
    """Throughput of one epoch of ``fit`` (no evaluation), in CPU seconds of this process."""
    start = time.process_time()
    fit(clf, X, y, epochs=1, lr=LR, clip=CLIP, **settings)
    return len(X) / (time.process_time() - start)


class TorchClassifier(nn.Module):
    """The course's model from torch.nn parts: nn.RNN or nn.GRU for the recurrence, nn.Linear for V.

    ``setup`` says how the characters go in (see the module's docstring). With
    ``nn.Embedding`` the recurrence's input is an ``nhidden`` vector, as PyTorch users write it.
    """

    def __init__(self, nvocab: int, nhidden: int, nclasses: int, setup: str, cell: str):
        super().__init__()
        self.setup, self.nvocab = setup, nvocab
        self.embedding = None if setup == "onehot_packed" else nn.Embedding(nvocab, nhidden)
        nin = nvocab if self.embedding is None else nhidden
        self.rnn = nn.GRU(nin, nhidden) if cell == "gru" else nn.RNN(nin, nhidden, nonlinearity="tanh")
        self.V = nn.Linear(nhidden, nclasses, bias=False)

    def forward(self, codes: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if self.setup == "equal_lengths":                          # codes: steps x batch, no padding
            return self.V(self.rnn(self.embedding(codes))[1][0])
        lengths = torch.tensor([len(c) for c in codes])
        padded = nn.utils.rnn.pad_sequence(codes)                  # steps x batch, right padding
        inputs = F.one_hot(padded, self.nvocab).float() if self.embedding is None else self.embedding(padded)
        if self.setup == "embedding_gather":
            out, _ = self.rnn(inputs)                              # every step's h of every word
            return self.V(out[lengths - 1, torch.arange(len(codes))])
        packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths, enforce_sorted=False)
        _, h_last = self.rnn(packed)          # (1, batch, nhidden): each word's h at its own last step
        return self.V(h_last[0])


class Trainer:
    """Epoch after epoch of one trainer, so that several can take turns on a busy machine."""

    def __init__(self, model, run_epoch: Callable[[random.Random], object]):
        self.model, self.run_epoch, self.rng = model, run_epoch, random.Random(0)
        self.seconds: list[float] = []

    def epoch(self) -> None:
        start = time.process_time()
        self.run_epoch(self.rng)
        self.seconds.append(time.process_time() - start)


def autograd_epochs(model: TorchClassifier, word_tensors: list[torch.Tensor], targets: torch.Tensor,
                    data: Batches) -> Callable:
    """One epoch of autograd training with the fused ``torch.optim.Adam``, our lr and clipping."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)

    def batches(rng: random.Random):
        if model.setup == "equal_lengths":                        # our batches: (codes, None, targets)
            return [(codes, target) for codes, _, target in data.equal_lengths(BATCH_SIZE, rng)]
        order = list(range(len(word_tensors)))
        rng.shuffle(order)
        return [([word_tensors[i] for i in order[s:s + BATCH_SIZE]], targets[order[s:s + BATCH_SIZE]])
                for s in range(0, len(order), BATCH_SIZE)]

    def run_epoch(rng: random.Random) -> None:
        for inputs, target in batches(rng):
            loss = F.cross_entropy(model(inputs), target)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=CLIP)
            optimizer.step()
    return run_epoch


def our_epochs(clf: Classifier, data: Batches) -> Callable:
    """What ``fit`` runs by default: ``train_vectorized`` with ``rnnlib.optim``'s Adam, the same lr and clipping."""
    step = Step(clf, "adam", lambda k: LR, CLIP)
    return lambda rng: train_vectorized(clf, data, step, rng, BATCH_SIZE)


@torch.no_grad()
def nn_accuracy(model: TorchClassifier, codes: list[torch.Tensor], targets: torch.Tensor) -> float:
    model.eval()
    correct = sum((model(codes[s:s + 512]).argmax(dim=1) == targets[s:s + 512]).sum().item()
                  for s in range(0, len(codes), 512))
    return correct / len(codes)


def limit_seconds(data: Batches, nclasses: int, gates: int) -> float:
    """One epoch of the unavoidable matrix products alone, on random matrices of our batches' shapes
    (drawn before the clock starts)."""
    g, n = torch.Generator().manual_seed(0), NHIDDEN
    W, V = torch.rand(gates * n, n, generator=g), torch.rand(nclasses, n, generator=g)
    shapes = [codes.shape for codes, _, _ in data.equal_lengths(BATCH_SIZE, random.Random(0))]
    matrices = [(torch.rand(T + 1, B, n, generator=g), torch.rand(T, B, gates * n, generator=g)) for T, B in shapes]
    start = time.process_time()
    for H, dZ in matrices:
        for t in range(len(dZ)):
            H[t] @ W.T                                             # forward: h_{t-1} @ W.T
        for t in range(1, len(dZ)):
            dZ[t] @ W                                              # backward: dz_t @ W
        dZ.reshape(-1, gates * n).T @ H[:-1].reshape(-1, n)        # dW, all steps at once
        dO = H[-1] @ V.T                                           # o = V @ h
        dO.T @ H[-1]                                               # dV
        dO @ V                                                     # dh_T
    return time.process_time() - start


def training_benchmarks(per_language: int, rounds: int) -> dict[str, float | str]:
    X, y = words(per_language=per_language)
    X_train, X_valid, y_train, y_valid = split(X, y, valid_fraction=0.2, seed=0)
    clf = Classifier.from_data(X, y, nhidden=NHIDDEN)
    results: dict[str, float | str] = {}
    # The per-record trainers are slow: a tenth of the words gives a steady figure.
    few = len(X_train) // 10
    results["per_record_records_per_s"] = records_per_s(clf, X_train[:few], y_train[:few], trainer="per_record")
    results["minibatch_records_per_s"] = records_per_s(
        clf, X_train[:few], y_train[:few], batch_size=BATCH_SIZE, trainer="minibatch")
    results["vectorized_padded_records_per_s"] = records_per_s(
        Classifier.from_data(X, y, nhidden=NHIDDEN), X_train, y_train, batch_size=BATCH_SIZE, equal_lengths=False)

    data = Batches(*clf.encode(X_train, y_train))
    targets = torch.tensor(data.targets)
    ours = {name: Classifier.from_data(X, y, nhidden=NHIDDEN, cell="gru" if name == "ours_gru" else "tanh")
            for name in ("ours", "ours_narrow_u", "ours_gru")}
    ours["ours_narrow_u"].rnn.U.div_(NHIDDEN ** 0.5)  # U from +-1/sqrt(nhidden), as nn.RNN's weight_ih
    trainers = {name: Trainer(c, our_epochs(c, data)) for name, c in ours.items()}
    word_tensors = [torch.tensor(c) for c in data.inputs]
    torch.manual_seed(0)
    for cell in ("rnn", "gru"):
        for setup in NN_SETUPS + ("equal_lengths",):
            model = TorchClassifier(len(clf.vocab), NHIDDEN, len(clf.labels), setup, cell)
            trainers[f"nn_{cell}_{setup}"] = Trainer(model, autograd_epochs(model, word_tensors, targets, data))
    for _ in range(rounds):
        for trainer in trainers.values():
            trainer.epoch()

    def speed(name: str) -> float:
        return len(X_train) / min(trainers[name].seconds)

    valid_codes = [torch.tensor(clf.vocab.encode(w)) for w in X_valid]
    valid_targets = clf.labels.encode(y_valid)
    accuracy = {}
    for cell, mine in (("rnn", "ours"), ("gru", "ours_gru")):
        results["vectorized_records_per_s" if cell == "rnn" else "gru_records_per_s"] = speed(mine)
        for setup in NN_SETUPS:
            name = f"nn_{cell}_{setup}"
            results[f"{name}_records_per_s"] = speed(name)
            accuracy[name] = results[f"{name}_valid_accuracy"] = nn_accuracy(
                trainers[name].model, valid_codes, valid_targets)
        best = max(NN_SETUPS, key=lambda setup: speed(f"nn_{cell}_{setup}"))
        results[f"best_nn_{cell}"] = best
        results[f"{mine}_vs_best_nn_{cell}"] = speed(mine) / speed(f"nn_{cell}_{best}")
        results[f"nn_{cell}_embedding_equal_lengths_records_per_s"] = speed(f"nn_{cell}_equal_lengths")
        results[f"{mine}_vs_nn_{cell}_equal_lengths"] = speed(mine) / speed(f"nn_{cell}_equal_lengths")
    results["epochs"] = rounds
    results["ours_valid_accuracy"] = evaluate(ours["ours"], X_valid, y_valid)[1]
    results["nn_rnn_valid_accuracy"] = max(accuracy[f"nn_rnn_{s}"] for s in NN_SETUPS)
    results["ours_gru_valid_accuracy"] = evaluate(ours["ours_gru"], X_valid, y_valid)[1]
    results["nn_gru_valid_accuracy"] = max(accuracy[f"nn_gru_{s}"] for s in NN_SETUPS)
    results["ours_narrow_u_valid_accuracy"] = evaluate(ours["ours_narrow_u"], X_valid, y_valid)[1]
    for prefix, mine, gates in (("", "ours", 1), ("gru_", "ours_gru", 3)):
        limit = min(limit_seconds(data, len(clf.labels), gates) for _ in range(3))
        results[f"{prefix}limit_seconds_per_epoch"] = limit
        results[f"{mine}_seconds_per_epoch"] = min(trainers[mine].seconds)
        results[f"{mine}_vs_limit"] = min(trainers[mine].seconds) / limit
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
            try:
                seconds = execute(copy)
            except Exception as err:  # a failing cell: say which, and time the others
                print(f"{path.stem}_error={type(err).__name__}: {str(err).splitlines()[-1][:200]}", flush=True)
                continue
            print(f"{path.stem}_seconds={seconds:.1f}", flush=True)
            total += seconds
    return total


def anim_ms_per_frame() -> float:
    """``bench_anim.ms_per_frame``: the median over its seeds of one frame of notebook 5's player."""
    sys.path.insert(0, str(HERE))
    from bench_anim import SEEDS, ms_per_frame

    return statistics.median(ms_per_frame(seed) for seed in SEEDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=4000,
                        help="words per language for the training benchmarks (default 4000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="epochs each of the compared trainers runs, in turn (default 3)")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not execute the notebooks")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    print(f"threads={torch.get_num_threads()}")
    print(f"nhidden={NHIDDEN}")
    print(f"batch_size={BATCH_SIZE}")
    for name, value in training_benchmarks(args.per_language, args.rounds).items():
        if isinstance(value, str) or name == "epochs":
            print(f"{name}={value}")
        elif name.endswith("_per_s"):
            print(f"{name}={value:.0f}")
        else:
            print(f"{name}={value:.3f}" if "accuracy" in name or "seconds" in name else f"{name}={value:.2f}")
    print(f"anim_ms_per_frame={anim_ms_per_frame():.1f}", flush=True)
    if not args.skip_notebooks:
        print(f"notebooks_seconds={notebooks_seconds():.1f}")


if __name__ == "__main__":
    main()
