"""Training throughput of the course's trainers against torch.nn.RNN; the limit; notebook and frame times.

    python benchmarks/bench.py                  # everything
    python benchmarks/bench.py --skip-notebooks # training and frames only (about a minute)

Prints ``name=value`` lines:

* ``per_record_records_per_s``, ``minibatch_records_per_s``: ``rnnlib.train.fit`` with
  ``batch_size=1``, and ``batch_size=32, vectorized=False``;
* ``vectorized_padded_records_per_s``: ``fit(batch_size=32, equal_lengths=False)``, the
  left-padded masked loop as notebook 10 first writes it;
* ``vectorized_records_per_s``: ``fit``'s default, the fast trainer of ``rnnlib.fast``
  (equal-length batches, columns of ``U``, backward through time by hand, one update of
  one vector of all parameters: ``Trainer`` and ``rnnlib.train.fast_epoch``);
* ``nn_rnn_<setup>_records_per_s`` for the ways a PyTorch user writes this model with
  ``torch.nn.RNN`` + ``torch.nn.Linear``, shuffled batches of 32 each epoch:
  ``onehot_packed`` (one-hot input, ``pack_padded_sequence``), ``embedding_packed``
  (``nn.Embedding(nvocab, nhidden)`` then ``pack_padded_sequence``) and ``embedding_gather``
  (``nn.Embedding``, right padding, each word's last ``h`` gathered from the output);
  ``ours_vs_best_nn_rnn``: ours divided by the fastest of those, measured in the same run;
* ``nn_rnn_embedding_equal_lengths_records_per_s``: for information, nn.RNN fed our
  equal-length batches (no padding, no packing); ``ours_vs_nn_rnn_equal_lengths``;
* ``ours_valid_accuracy``, ``nn_rnn_valid_accuracy`` (the best of the nn.RNN setups above,
  each also printed) after the same epochs, same optimizer (Adam: ours written out on one
  vector, the nn.RNN setups ``fit``'s fused ``torch.optim.Adam``), lr, clipping;
* ``ours_narrow_u_valid_accuracy``: ours again, with ``U`` drawn from +-1/sqrt(nhidden) as
  ``torch.nn.RNN`` draws ``weight_ih``, instead of ``RNN``'s +-1 (for information: that start
  learns slower, like the one-hot nn.RNN setup);
* ``limit_seconds_per_epoch``: the matrix products no trainer of this model can avoid
  (``H @ W.T`` forward and ``dZ @ W`` backward at every step, ``dW``, and those of ``V``),
  timed on their own for one epoch of our batches; ``ours_seconds_per_epoch`` and
  ``ours_vs_limit``: how many times that our epoch takes;
* ``notebooks_seconds``: every notebook executed, on copies in a temporary folder, each
  from the start of its kernel to the end of its last cell (``run_notebooks.execute``);
* ``anim_ms_per_frame``: from ``benchmarks/bench_anim.py``.

The machine may be busy with other work, so the compared trainers run epoch after epoch in
turn, each keeps its fastest epoch, and every training figure is timed in CPU seconds of this process
(``time.process_time``), which other processes on the machine disturb far less than the wall
clock. Everything runs on one CPU thread, like the
notebooks: our matrices are too small for several threads to pay.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnlib.data import split, words
from rnnlib.fast import EqualLengthWords, Trainer as FastTrainer
from rnnlib.model import Classifier
from rnnlib.train import evaluate, fast_epoch, fit, make_optimizer, train_epoch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NHIDDEN, BATCH_SIZE, LR, CLIP = 64, 32, 0.005, 1.0
NN_RNN_SETUPS = ("onehot_packed", "embedding_packed", "embedding_gather")


def records_per_s(clf: Classifier, X: list[str], y: list[str], **settings) -> float:
    """Throughput of one epoch of ``fit`` (no evaluation), in CPU seconds of this process."""
    start = time.process_time()
    fit(clf, X, y, epochs=1, lr=LR, clip=CLIP, progress=False, **settings)
    return len(X) / (time.process_time() - start)


class TorchRNNClassifier(nn.Module):
    """The course's model from torch.nn parts: nn.RNN for the recurrence, nn.Linear for V.

    ``setup`` says how the characters go in (see the module's docstring). With
    ``nn.Embedding`` the RNN's input is an ``nhidden`` vector, as PyTorch users write it.
    """

    def __init__(self, nvocab: int, nhidden: int, nclasses: int, setup: str):
        super().__init__()
        self.setup, self.nvocab = setup, nvocab
        self.embedding = None if setup == "onehot_packed" else nn.Embedding(nvocab, nhidden)
        self.rnn = nn.RNN(nvocab if self.embedding is None else nhidden, nhidden, nonlinearity="tanh")
        self.V = nn.Linear(nhidden, nclasses, bias=False)

    def forward(self, codes: list[torch.Tensor]) -> torch.Tensor:
        lengths = torch.tensor([len(c) for c in codes])
        padded = nn.utils.rnn.pad_sequence(codes)                  # steps x batch, right padding
        if self.embedding is None:
            inputs = F.one_hot(padded, self.nvocab).float()
        else:
            inputs = self.embedding(padded)
        if self.setup == "embedding_gather":
            out, _ = self.rnn(inputs)                              # every step's h of every word
            return self.V(out[lengths - 1, torch.arange(len(codes))])
        if self.setup == "equal_lengths":                          # no padding at all
            return self.V(self.rnn(inputs)[1][0])
        packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths, enforce_sorted=False)
        _, h_last = self.rnn(packed)          # (1, batch, nhidden): each word's h at its own last step
        return self.V(h_last[0])


class Trainer:
    """Epoch after epoch of one trainer, so that several can take turns on a busy machine.

    ``run_epoch(batches)`` trains one epoch on the batches (lists of word numbers) that
    ``batches(rng)`` draws; only ``run_epoch`` is timed.
    """

    def __init__(self, model: nn.Module, run_epoch: Callable[[list[list[int]]], object],
                 batches: Callable[[random.Random], list[list[int]]]):
        self.model, self.run_epoch, self.batches = model, run_epoch, batches
        self.rng = random.Random(0)
        self.seconds: list[float] = []

    def epoch(self) -> None:
        batches = self.batches(self.rng)
        start = time.process_time()
        self.run_epoch(batches)
        self.seconds.append(time.process_time() - start)


def autograd_epochs(model: nn.Module, logits_of: Callable, targets: torch.Tensor) -> Callable:
    """``train_epoch`` with ``fit``'s fused Adam, lr and clipping: what the nn.RNN setups run."""
    optimizer = make_optimizer("adam", model.parameters(), LR)
    return lambda batches: train_epoch(model, optimizer, logits_of, targets, batches, clip=CLIP)


def fast_epochs(clf: Classifier, fast_words: EqualLengthWords, targets: torch.Tensor) -> Callable:
    """What ``fit`` runs by default: ``rnnlib.fast.Trainer``, the same Adam, lr and clipping."""
    trainer = FastTrainer(clf.rnn, "adam", lambda k: LR, CLIP)

    def run_epoch(batches: list[list[int]]) -> None:
        fast_epoch(trainer, fast_words.epoch_codes(batches, targets))
        trainer.write_back()
    return run_epoch


def shuffled_batches(n: int, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    return [order[start:start + BATCH_SIZE] for start in range(0, n, BATCH_SIZE)]


@torch.no_grad()
def nn_rnn_accuracy(model: TorchRNNClassifier, codes: list[torch.Tensor], targets: torch.Tensor) -> float:
    model.eval()
    correct = sum((model(codes[s:s + 512]).argmax(dim=1) == targets[s:s + 512]).sum().item()
                  for s in range(0, len(codes), 512))
    return correct / len(codes)


def limit_seconds(fast_words: EqualLengthWords, nclasses: int) -> float:
    """One epoch of the unavoidable matrix products alone, on random matrices of our batches' shapes."""
    n = NHIDDEN
    W, V = torch.randn(n, n), torch.randn(nclasses, n)
    start = time.process_time()
    for batch in fast_words.batches(BATCH_SIZE, random.Random(0)):
        steps, B = fast_words.lengths[batch[0]], len(batch)
        H = torch.randn(steps, B, n)
        for t in range(1, steps):
            H[t - 1] @ W.T                                         # forward: h_{t-1} @ W.T
            H[t] @ W                                               # backward: dz_t @ W
        H[1:].reshape(-1, n).T @ H[:-1].reshape(-1, n)             # dW, all steps at once
        dO = H[-1] @ V.T                                           # o = V @ h
        dO.T @ H[-1]                                               # dV
        dO @ V                                                     # dh_T
    return time.process_time() - start


def training_benchmarks(per_language: int, rounds: int) -> dict[str, float]:
    X, y = words(per_language=per_language)
    X_train, X_valid, y_train, y_valid = split(X, y, valid_fraction=0.2, seed=0)
    clf = Classifier.from_data(X, y, nhidden=NHIDDEN)
    results = {}
    # The per-record trainers are slow: a tenth of the words gives a steady figure.
    few = len(X_train) // 10
    results["per_record_records_per_s"] = records_per_s(
        clf, X_train[:few], y_train[:few], batch_size=1, vectorized=False)
    results["minibatch_records_per_s"] = records_per_s(
        clf, X_train[:few], y_train[:few], batch_size=BATCH_SIZE, vectorized=False)
    results["vectorized_padded_records_per_s"] = records_per_s(
        Classifier.from_data(X, y, nhidden=NHIDDEN), X_train, y_train, batch_size=BATCH_SIZE,
        equal_lengths=False)

    targets = clf.labels.encode(y_train)
    codes = [clf.vocab.encode(w) for w in X_train]
    fast_words = EqualLengthWords(codes)
    ours = Classifier.from_data(X, y, nhidden=NHIDDEN)
    narrow = Classifier.from_data(X, y, nhidden=NHIDDEN)
    with torch.no_grad():  # U drawn from +-1/sqrt(nhidden), as nn.RNN's weight_ih, rather than +-1
        narrow.rnn.U.div_(NHIDDEN ** 0.5)
    trainers = {name: Trainer(clf_.rnn, fast_epochs(clf_, fast_words, targets), partial(fast_words.batches, BATCH_SIZE))
                for name, clf_ in [("ours", ours), ("ours_narrow_u", narrow)]}
    word_tensors = [torch.tensor(c) for c in codes]
    torch.manual_seed(0)
    for setup in NN_RNN_SETUPS + ("equal_lengths",):
        model = TorchRNNClassifier(len(clf.vocab), NHIDDEN, len(clf.labels), setup)
        logits_of = lambda batch, model=model: model([word_tensors[i] for i in batch])  # noqa: E731
        trainers[setup] = Trainer(
            model, autograd_epochs(model, logits_of, targets),
            partial(fast_words.batches, BATCH_SIZE) if setup == "equal_lengths"
            else partial(shuffled_batches, len(X_train)))
    for _ in range(rounds):
        for trainer in trainers.values():
            trainer.epoch()

    def speed(name: str) -> float:
        return len(X_train) / min(trainers[name].seconds)

    results["vectorized_records_per_s"] = speed("ours")
    valid_codes = [torch.tensor(clf.vocab.encode(w)) for w in X_valid]
    valid_targets = clf.labels.encode(y_valid)
    accuracy = {}
    for setup in NN_RNN_SETUPS:
        results[f"nn_rnn_{setup}_records_per_s"] = speed(setup)
        accuracy[setup] = nn_rnn_accuracy(trainers[setup].model, valid_codes, valid_targets)
        results[f"nn_rnn_{setup}_valid_accuracy"] = accuracy[setup]
    best = max(NN_RNN_SETUPS, key=speed)
    results["best_nn_rnn"] = best
    results["ours_vs_best_nn_rnn"] = speed("ours") / speed(best)
    results["nn_rnn_embedding_equal_lengths_records_per_s"] = speed("equal_lengths")
    results["ours_vs_nn_rnn_equal_lengths"] = speed("ours") / speed("equal_lengths")
    results["epochs"] = rounds
    results["ours_valid_accuracy"] = evaluate(ours, X_valid, y_valid)[1]
    results["nn_rnn_valid_accuracy"] = max(accuracy.values())
    results["ours_narrow_u_valid_accuracy"] = evaluate(narrow, X_valid, y_valid)[1]
    limit = min(limit_seconds(fast_words, len(clf.labels)) for _ in range(3))
    results["limit_seconds_per_epoch"] = limit
    results["ours_seconds_per_epoch"] = min(trainers["ours"].seconds)
    results["ours_vs_limit"] = min(trainers["ours"].seconds) / limit
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
    frame = anim_ms_per_frame()
    if frame is not None:
        print(f"anim_ms_per_frame={frame:.1f}", flush=True)
    if not args.skip_notebooks:
        print(f"notebooks_seconds={notebooks_seconds():.1f}")


if __name__ == "__main__":
    main()
