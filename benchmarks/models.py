"""The course's models against the baselines on the words task (issue 23): one ``name=value`` a line.

    python benchmarks/models.py              # everything, about 13 minutes on 2 cores (765 s measured)
    python benchmarks/models.py --small      # the notebooks' small models (a few seconds each)

The split is the command line's: ``rnnlib.data.words(per_language=12000)`` (English, French,
German), ``split(X, y, valid_fraction=0.2, seed=0)``; every figure is on its 7,200 validation
words. Nothing is chosen on them: the logistic regressions' ``l2`` and the Kneser-Ney model's
order and discount are chosen on a held-out fifth of the training words. The RNNs' settings
(``SETTINGS``, the command line's defaults) are the exception: they were picked during development
from a few tries with seed 0 on these validation words, which can only flatter the RNN. They run
here with seeds 0-4, each figure printed as the median with ``_min`` and ``_max``:

* ``words_accuracy_majority``, ``words_accuracy_bag_lr``, ``words_accuracy_ngram_lr``: no
  recurrence (``rnnlib.baselines``); ``ngram_lr_l2`` the penalty chosen;
* ``words_accuracy_rnn``: the classifier (``rnnlib.model.Classifier``) trained by ``fit``;
* ``lm_valid_bits_per_char_rnn``: one ``LanguageModel`` for the three languages;
  ``lm_valid_bits_per_char_ngram``: interpolated Kneser-Ney, one table per language
  (``rnnlib.ngram``), ``ngram_order`` and ``ngram_discount`` as chosen;
* ``words_accuracy_lm_bayes``: the RNN language model as a classifier (Bayes' rule, the training
  set's class priors); ``words_accuracy_ngram_bayes``: the same with the Kneser-Ney model;
* ``lm_samples_new_fraction``: of the RNN LM's samples (``SAMPLES`` per language, temperature 1),
  the share that is no training word; ``lm_samples_valid_fraction``: the share that is a
  validation word (a real word it never saw); ``lm_samples_own_language_fraction``: the share
  the classifier of the same seed assigns to the language that generated it.

The RNNs train in two processes of one thread each (the machine's two cores); ``seconds`` is
the wall time of the whole run.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from rnnlib.baselines import LogisticRegression, bag_of_characters, majority, ngrams  # noqa: E402
from rnnlib.data import split, words  # noqa: E402
from rnnlib.lm import LanguageModel  # noqa: E402
from rnnlib.model import Classifier  # noqa: E402
from rnnlib.ngram import choose  # noqa: E402
from rnnlib.text import Labels, Vocab  # noqa: E402
from rnnlib.train import fit  # noqa: E402

SETTINGS = {   # model (Classifier / LanguageModel keywords), training (fit keywords)
    "full": {"classifier": ({"cell": "gru", "nhidden": 256, "dropout": 0.5},
                            {"epochs": 12, "lr": 0.002, "lr_schedule": "linear", "batch_size": 32}),
             "lm": ({"cell": "gru", "nhidden": 256, "dropout": 0.1},
                    {"epochs": 10, "lr": 0.005, "lr_schedule": "linear", "batch_size": 32})},
    "small": {"classifier": ({"cell": "tanh", "nhidden": 64}, {"epochs": 2, "lr": 0.005, "batch_size": 32}),
              "lm": ({"cell": "gru", "nhidden": 64}, {"epochs": 2, "lr": 0.01, "batch_size": 32})},
}
SEEDS = range(5)
SAMPLES = 200                               # sampled words per language and seed
L2S = (1e-5, 3e-5, 1e-4)                    # the penalties the held-out words choose from


def data():
    X, y = words(per_language=12000)
    return X, y, *split(X, y, valid_fraction=0.2, seed=0)


def accuracy(guesses, truth) -> float:
    return sum(g == t for g, t in zip(guesses, truth)) / len(truth)


def train_classifier(size: str, seed: int, nhidden: int | None = None) -> tuple[float, torch.Tensor]:
    """Validation accuracy of the classifier of ``seed``, and its weights."""
    torch.set_num_threads(1)
    X, y, X_train, X_valid, y_train, y_valid = data()
    model, training = SETTINGS[size]["classifier"]
    model = dict(model, **({"nhidden": nhidden} if nhidden else {}))
    clf = Classifier(Vocab.from_words(X), Labels(sorted(set(y))), seed=seed, **model)
    history = fit(clf, X_train, y_train, X_valid, y_valid, seed=seed, **training)
    return history.valid_accuracy[-1], clf.rnn.theta


def train_lm(size: str, seed: int) -> tuple[float, float, dict[str, list[str]]]:
    """Validation bits per character and Bayes accuracy of the language model of ``seed``; its samples."""
    torch.set_num_threads(1)
    X, y, X_train, X_valid, y_train, y_valid = data()
    model, training = SETTINGS[size]["lm"]
    lm = LanguageModel(Vocab.from_words(X), Labels(sorted(set(y)), minimum=1), seed=seed, **model)
    fit(lm, X_train, y_train, seed=seed, **training)
    priors = {L: y_train.count(L) / len(y_train) for L in lm.labels.classes}
    samples = {L: lm.sample(L, n=SAMPLES, temperature=1.0, seed=seed) for L in lm.labels.classes}
    return lm.bits_per_char(X_valid, y_valid), accuracy(lm.classify(X_valid, priors), y_valid), samples


def show(name: str, values: list[float], digits: int = 4) -> None:
    print(f"{name}={statistics.median(values):.{digits}f}")
    if len(values) > 1:
        print(f"{name}_min={min(values):.{digits}f}")
        print(f"{name}_max={max(values):.{digits}f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the notebooks' small models")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="how many seeds (from 0)")
    parser.add_argument("--classifier-hidden", type=int, help="nhidden of the full classifier (default 256)")
    args = parser.parse_args()

    size, seeds, started = "small" if args.small else "full", list(range(args.seeds)), time.perf_counter()
    torch.set_num_threads(1)
    with ProcessPoolExecutor(max_workers=2) as pool:               # the RNNs train while the baselines run
        lms = [pool.submit(train_lm, size, s) for s in seeds]
        classifiers = [pool.submit(train_classifier, size, s, args.classifier_hidden) for s in seeds]
        X, y, X_train, X_valid, y_train, y_valid = data()
        print(f"words_accuracy_majority={accuracy([majority(y_train)] * len(y_valid), y_valid):.4f}")
        bag = LogisticRegression(bag_of_characters, l2=1e-4)
        bag.fit(X_train, y_train)
        print(f"words_accuracy_bag_lr={bag.accuracy(X_valid, y_valid):.4f}")
        X_fit, X_held, y_fit, y_held = split(X_train, y_train, valid_fraction=0.2, seed=1)
        held = {}
        for l2 in L2S:
            held[l2] = LogisticRegression(ngrams, l2=l2)
            held[l2].fit(X_fit, y_fit)
            held[l2] = held[l2].accuracy(X_held, y_held)
        best = LogisticRegression(ngrams, l2=max(held, key=held.get))
        best.fit(X_train, y_train)
        print(f"words_accuracy_ngram_lr={best.accuracy(X_valid, y_valid):.4f}")
        print(f"ngram_lr_l2={best.l2:g}")
        kn, _ = choose(X_train, y_train, Vocab.from_words(X))
        priors = {L: y_train.count(L) / len(y_train) for L in kn.labels.classes}
        print(f"lm_valid_bits_per_char_ngram={kn.bits_per_char(X_valid, y_valid):.4f}")
        print(f"ngram_order={kn.order}")
        print(f"ngram_discount={kn.discount:g}")
        print(f"words_accuracy_ngram_bayes={accuracy(kn.classify(X_valid, priors), y_valid):.4f}")
        sys.stdout.flush()
        classifiers, lms = [f.result() for f in classifiers], [f.result() for f in lms]
    show("words_accuracy_rnn", [a for a, _ in classifiers])
    show("lm_valid_bits_per_char_rnn", [b for b, _, _ in lms])
    show("words_accuracy_lm_bayes", [a for _, a, _ in lms])
    train_words, valid_words = set(X_train), set(X_valid)
    new, in_valid, own = [], [], []
    model, _ = SETTINGS[size]["classifier"]
    model = dict(model, **({"nhidden": args.classifier_hidden} if args.classifier_hidden else {}))
    for (_, theta), (_, _, samples) in zip(classifiers, lms):
        clf = Classifier(Vocab.from_words(X), Labels(sorted(set(y))), **model)
        clf.rnn.theta.copy_(theta)
        drawn = [(w, L) for L, ws in samples.items() for w in ws]
        new.append(sum(w not in train_words for w, _ in drawn) / len(drawn))
        in_valid.append(sum(w in valid_words for w, _ in drawn) / len(drawn))
        real = [(w, L) for w, L in drawn if w]                      # an empty sample (<end> first) counts as wrong
        own.append(accuracy(clf.predict([w for w, _ in real]), [L for _, L in real]) * len(real) / len(drawn))
    show("lm_samples_new_fraction", new, 3)
    show("lm_samples_valid_fraction", in_valid, 3)
    show("lm_samples_own_language_fraction", own, 3)
    print(f"seconds={time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
