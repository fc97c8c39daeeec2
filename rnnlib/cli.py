"""The command line: train a classifier on words or surnames, and predict with it.

    python -m rnnlib train --data words --out model.pt
    python -m rnnlib train --data surnames --epochs 12 --out surnames.pt
    python -m rnnlib predict --model model.pt cat chat katze

``train`` shows a progress bar on stderr and ends by printing ``valid_accuracy=<float>`` on
stdout. ``predict`` prints one tab-separated line per word: the word, its most probable
language, and that probability. A word it cannot predict gets one ``error: ...`` line on
stderr instead, the other words are still predicted, and the exit status is 1. Any other bad
input ends with one ``error: ...`` line on stderr and exit status 2 (a bad command line) or 1
(bad data, file or word), before any work and never with a traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .checks import SEED_MAX, check_int, check_positive, check_seed
from .data import split, surnames, words
from .download import DataError
from .model import NONLINEARITIES, Classifier, check_writable
from .train import fit
from .vocab import UNKNOWN_POLICIES

# Settings for a flag left out, per data set, chosen on seeds 0, 1, 2 (one CPU thread, the fast
# trainer of rnnlib.fast). tanh, as everywhere in the course: h stays bounded for any word length.
# Both data sets overfit (seed 0: training accuracy 0.994 and 0.943): a wider h with a lower lr did best.
# Measured figures: README, "Command line".
DEFAULTS = {
    "words": {"epochs": 12, "batch_size": 32, "hidden": 256, "lr": 0.002, "nonlinearity": "tanh"},
    "surnames": {"epochs": 20, "batch_size": 64, "hidden": 256, "lr": 0.001, "nonlinearity": "tanh"},
}
WORDS_LANGUAGES = "en,fr,de"
WORDS_PER_LANGUAGE = 12000
VALID_FRACTION = 0.2
SPLIT_SEED = 0  # one validation set for every --seed, so that runs compare


class CommandLineError(Exception):
    """A bad command line that argparse's own checks cannot see."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line gives one ``error: ...`` line, not the usage text."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def argument(cast, check, what: str):
    """An argparse type: ``cast(text)`` passed through ``check`` (the library's own check)."""
    def convert(text: str):
        try:
            return check("value", cast(text))
        except ValueError:  # argparse puts the flag's name in front: "argument --seed: expected ..."
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    return convert


positive_int = argument(int, check_int, "a positive whole number")
positive_float = argument(float, check_positive, "a positive number")
seed_int = argument(int, check_seed, f"a whole number from 0 to {SEED_MAX} (2**64 - 1)")
at_least_two = argument(int, lambda name, n: check_int(name, n, minimum=2),
                        "a whole number of at least 2 (a word to train on and one to validate on)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m rnnlib", description="Train an RNN that tells the language of a word, "
                    "and predict with it.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,predict}",
                                     parser_class=Parser)

    train = commands.add_parser("train", help="train a classifier and save it",
                                description="Train the vectorized RNN (rnnlib.train.fit) and save it.")
    train.add_argument("--data", choices=sorted(DEFAULTS), required=True,
                       help="words: English/French/German words (wordfreq); surnames: 18 languages")
    train.add_argument("--languages", metavar="CODES",
                       help=f"--data words only: comma-separated wordfreq codes (default {WORDS_LANGUAGES})")
    train.add_argument("--per-language", type=at_least_two, metavar="N",
                       help=f"--data words only: words per language, at least 2 (default {WORDS_PER_LANGUAGE})")
    for flag, kind, meta in [("--epochs", positive_int, "N"), ("--batch-size", positive_int, "B"),
                             ("--hidden", positive_int, "H"), ("--lr", positive_float, "LR")]:
        key = flag[2:].replace("-", "_")
        defaults = ", ".join(f"{data} {DEFAULTS[data][key]}" for data in sorted(DEFAULTS))
        train.add_argument(flag, type=kind, metavar=meta, help=f"default: {defaults}")
    train.add_argument("--nonlinearity", choices=sorted(NONLINEARITIES), help="default: tanh")
    train.add_argument("--seed", type=seed_int, default=0, help="seeds the weights and the shuffling (default 0)")
    train.add_argument("--quiet", action="store_true", help="no progress bar, no per-epoch figures")
    train.add_argument("--out", required=True, metavar="MODEL", help="where to save the model (.pt)")
    train.set_defaults(run=run_train)

    predict = commands.add_parser("predict", help="print the most probable language of each word",
                                  description="Print word, language and probability, tab-separated.")
    predict.add_argument("--model", required=True, metavar="MODEL", help="a file saved by train")
    predict.add_argument("--unknown", choices=UNKNOWN_POLICIES, default="error",
                         help="a character the model has never seen: refuse the word (default) "
                              "or skip the character")
    predict.add_argument("words", nargs="+", metavar="WORD")
    predict.set_defaults(run=run_predict)
    return parser


def load_data(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    if args.data == "words":
        codes = [code.strip() for code in (args.languages or WORDS_LANGUAGES).split(",")]
        return words(languages=codes, per_language=args.per_language or WORDS_PER_LANGUAGE)
    if args.languages is not None or args.per_language is not None:
        raise CommandLineError("--languages and --per-language are only for --data words")
    return surnames()


def run_train(args: argparse.Namespace) -> int:
    settings = {key: getattr(args, key) if getattr(args, key) is not None else default
                for key, default in DEFAULTS[args.data].items()}
    out = Path(args.out)
    try:  # before training, not after it
        check_writable(out)
    except OSError as err:
        raise CommandLineError(f"--out: {err}") from None
    X, y = load_data(args)
    X_train, X_valid, y_train, y_valid = split(X, y, valid_fraction=VALID_FRACTION, seed=SPLIT_SEED)
    if not X_valid:  # split keeps a class's only record for training
        raise CommandLineError(f"{args.data}: every language has a single record, so none is left to "
                               f"validate on; give at least 2 per language")
    clf = Classifier.from_data(X, y, nhidden=settings["hidden"], nonlinearity=settings["nonlinearity"],
                              seed=args.seed)
    say = (lambda *lines: None) if args.quiet else (lambda *lines: print(*lines, sep="\n", file=sys.stderr))
    say(f"{args.data}: {len(X_train)} to train on, {len(X_valid)} to validate; "
        f"{len(clf.labels)} classes, {len(clf.vocab)} characters",
        "settings: " + ", ".join(f"{key}={value}" for key, value in settings.items()) + f", seed={args.seed}")
    history = fit(clf, X_train, y_train, X_valid, y_valid, epochs=settings["epochs"],
                  batch_size=settings["batch_size"], lr=settings["lr"], lr_schedule="linear",
                  seed=args.seed, progress=not args.quiet)
    for epoch, (loss, accuracy) in enumerate(zip(history.valid_loss, history.valid_accuracy), 1):
        say(f"epoch {epoch}: valid loss {loss:.3f}, valid accuracy {accuracy:.3f}")
    clf.save(out)  # whole or not at all; its OSError names the file
    say(f"model saved to {out}")
    print(f"valid_accuracy={history.valid_accuracy[-1]:.4f}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Predict every word that can be; one ``error:`` line on stderr for each that cannot."""
    clf = Classifier.load(args.model)
    failed = 0
    for word in args.words:
        try:
            probabilities = clf.predict_proba([word], unknown=args.unknown)[0]
        except (ValueError, TypeError) as err:
            # The library's hint names its keyword; here it is a flag.
            message = str(err).replace("pass unknown='skip'", "use --unknown skip")
            if not message.startswith(repr(word)):  # say which word, once
                message = f"{word!r}: {message}"
            print(f"error: {message}", file=sys.stderr)
            failed += 1
            continue
        p, k = probabilities.max(dim=0)
        print(f"{word}\t{clf.labels.classes[int(k)]}\t{float(p):.2f}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Our matrices are small: one thread is faster than several competing for the cores.
    torch.set_num_threads(1)
    try:
        return args.run(args)
    except CommandLineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, DataError, FloatingPointError) as err:
        # OSError covers FileNotFoundError; the library's messages are already one line.
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
