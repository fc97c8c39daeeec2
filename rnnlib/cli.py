"""The command line: train a classifier or a language model on words or surnames; predict; sample.

    python -m rnnlib train --data words --out words.rnn
    python -m rnnlib predict --model words.rnn cat chat katze
    python -m rnnlib train-lm --data surnames --out names.rnn
    python -m rnnlib sample --model names.rnn --language Irish --count 5

train and train-lm show their progress on stderr (not with --quiet), then print valid_accuracy=
or valid_bits_per_char=<float> on stdout. predict prints one line per word, three tab-separated
fields: the word, its most probable language, that probability. sample prints one new word a line.

Words are printed as they are when every character is printable, the output's encoding has
them all and the word does not begin with a quote; otherwise as a Python string literal,
repr(word), with \\x.., \\u.. escapes. So a tab, a newline, an ANSI escape or a right-to-left
mark never reaches the terminal raw, a line is always one record, and no word is lost.

Errors: one "error: ..." line on stderr (long inputs cut), status 2 for a bad command line (found
before any work), 1 for bad data, file or word (the other words are still predicted); never a
traceback. A closed pipe (| head -1) ends quietly, status 141. SIGINT and SIGTERM end with one
line (status 130, 143) and no temporary file, --out as it was unless the line says it was saved.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from . import modelfile
from .checks import SEED_MAX, check_int, check_positive, check_seed, one_line, quote
from .data import split, surnames, words
from .download import DataError
from .lm import LanguageModel
from .model import Classifier
from .rnn import CELLS
from .text import UNKNOWN_POLICIES, Labels, Vocab
from .train import TrainingDiverged, fit

# A flag left out takes its value here, per command and data set: the words task's settings, picked from a
# few tries on seed 0 (benchmarks/models.py runs them on five seeds; README, "Results"); surnames adapt them.
DEFAULTS = {
    "train": {"words": {"epochs": 12, "batch_size": 32, "hidden": 256, "lr": 0.002, "cell": "gru", "dropout": 0.5},
              "surnames": {"epochs": 20, "batch_size": 64, "hidden": 256, "lr": 0.001, "cell": "gru", "dropout": 0.5}},
    "train-lm": {data: {"epochs": 10, "batch_size": 32, "hidden": 256, "lr": 0.005, "cell": "gru", "dropout": 0.1}
                 for data in ("words", "surnames")},
}
WORDS_LANGUAGES, WORDS_PER_LANGUAGE = ["en", "fr", "de"], 12000
VALID_FRACTION, SPLIT_SEED = 0.2, 0  # one validation set for every --seed, so that runs compare
MAX_LR = 100.0  # fit refuses more
COMMAND_LINE_CELLS = tuple(name for name in CELLS if name != "identity")  # identity: the bag of notebook 5, a lesson, not a model


class CommandLineError(Exception):
    """A bad command line that argparse's own checks cannot see."""


class Stopped(BaseException):
    """SIGINT or SIGTERM, raised where the program is (``handle``): saving removes its temporary file."""

    @staticmethod
    def handle(signum: int, frame) -> None:
        for s in (signal.SIGINT, signal.SIGTERM):  # one is enough: we are on our way out, cleaning up
            signal.signal(s, signal.SIG_IGN)
        raise Stopped(signum)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line gives one ``error: ...`` line, not the usage text."""

    def error(self, message: str):
        self.exit(2, f"error: {one_line(message)} (see: {self.prog} --help)\n")


def flag(cast: Callable, check: Callable, what: str) -> Callable:
    """An argparse type: ``cast(text)``, refused if ``check`` raises or returns False; ``.what`` is what is allowed."""
    def convert(text: str):
        try:
            if check(value := cast(text)) is not False:
                return value
        except (ValueError, OverflowError):
            pass
        raise argparse.ArgumentTypeError(f"expected {what}, got {quote(text)}")  # argparse names the flag
    convert.what = what
    return convert


def whole(low: int, high: int) -> Callable:
    return flag(int, lambda n: check_int("value", n, low, high), f"a whole number from {low:,} to {high:,}")


most_hidden = ", ".join(f"{int(math.sqrt(modelfile.MAX_NUMBERS / CELLS[c].gates)) // 100 * 100:,} for {c}"
                        for c in COMMAND_LINE_CELLS)
TYPES = {
    "epochs": whole(1, 1000), "batch_size": whole(1, 10_000), "per_language": whole(2, 100_000),
    "hidden": flag(int, lambda n: check_int("value", n), f"a positive whole number (the model has at most "
                   f"{modelfile.MAX_NUMBERS:,} numbers: about {most_hidden})"),
    "lr": flag(float, lambda x: check_positive("value", x, MAX_LR), f"a number above 0 and at most {MAX_LR:g}"),
    "dropout": flag(float, lambda p: 0 <= p < 1, "a number from 0 to below 1"),
    "seed": flag(int, lambda n: check_seed("value", n), f"a whole number from 0 to {SEED_MAX} (2**64 - 1)"),
    "languages": flag(lambda text: [code.strip() for code in text.split(",")], lambda codes: all(codes) and
                      len(set(codes)) == len(codes), "distinct comma-separated wordfreq codes such as en,fr,de"),
    "count": whole(1, 1000), "max_length": whole(1, 100),
    "temperature": flag(float, lambda x: check_positive("value", x, 100.0, 0.01), "a number from 0.01 to 100"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m rnnlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,train-lm,predict,sample}",
                                     parser_class=Parser)
    for command, what in [("train", "a classifier of languages (rnnlib.model.Classifier)"),
                          ("train-lm", "a language model, one for all languages (rnnlib.lm.LanguageModel)")]:
        sub = commands.add_parser(command, help=f"train {what} and save it",
                                  description=f"Train {what} with rnnlib.train.fit and save it.")
        sub.add_argument("--data", choices=("words", "surnames"), required=True,
                         help="words: English/French/German words (wordfreq); surnames: 18 languages")
        sub.add_argument("--out", required=True, metavar="FILE", help="where to save the model: a new file or a "
                         "model file to replace (checked before training); a symbolic link is followed")
        sub.add_argument("--cell", choices=COMMAND_LINE_CELLS, help=f"default: {DEFAULTS[command]['words']['cell']}")
        for key in [key for key in DEFAULTS[command]["words"] if key != "cell"]:
            defaults = ", ".join(f"{data} {DEFAULTS[command][data][key]}" for data in DEFAULTS[command])
            sub.add_argument(f"--{key.replace('_', '-')}", type=TYPES[key], metavar=key[0].upper(),
                             help=f"{TYPES[key].what}; default: {defaults}")
        sub.add_argument("--seed", type=TYPES["seed"], default=0, help=f"{TYPES['seed'].what}; default 0")
        sub.add_argument("--languages", type=TYPES["languages"], metavar="CODES",
                         help=f"--data words only: {TYPES['languages'].what} (default {','.join(WORDS_LANGUAGES)})")
        sub.add_argument("--per-language", type=TYPES["per_language"], metavar="N",
                         help=f"--data words only: {TYPES['per_language'].what} (default {WORDS_PER_LANGUAGE})")
        sub.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
        sub.add_argument("--quiet", action="store_true", help="no progress bar, no per-epoch figures")
        sub.set_defaults(run=run_train)

    predict = commands.add_parser("predict", help="print the most probable language of each word", description=
                                  "Print word, language, probability, tab-separated (as python -m rnnlib --help says).")
    predict.add_argument("--model", required=True, metavar="FILE", help="a classifier saved by train")
    predict.add_argument("--unknown", choices=UNKNOWN_POLICIES, default="error",
                         help="a character the model has never seen: refuse the word (default) or skip the character")
    predict.add_argument("words", nargs="+", metavar="WORD", help="at most 1,000 characters (after -- if it begins "
                         "with -)")
    predict.set_defaults(run=run_predict)

    sample = commands.add_parser("sample", help="print new words of a language from a language model",
                                 description="Print new words, one a line, drawn letter by letter.")
    sample.add_argument("--model", required=True, metavar="FILE", help="a language model saved by train-lm")
    sample.add_argument("--language", required=True, metavar="L", help="one of the model's languages, e.g. German")
    for key, default in [("count", 10), ("temperature", 1.0), ("seed", 0), ("max_length", 30)]:
        sample.add_argument(f"--{key.replace('_', '-')}", type=TYPES[key], default=default, metavar=key[0].upper(),
                            help=f"{TYPES[key].what}; default {default}")
    sample.set_defaults(run=run_sample)
    return parser


def run_train(args: argparse.Namespace) -> int:
    lm = args.command == "train-lm"
    settings = {key: default if getattr(args, key) is None else getattr(args, key)
                for key, default in DEFAULTS[args.command][args.data].items()}
    if args.data != "words" and (args.languages is not None or args.per_language is not None):
        raise CommandLineError("--languages and --per-language are only for --data words")
    try:
        args.target = modelfile.target_of(args.out)         # before any work: nothing is lost late
    except OSError as err:
        raise CommandLineError(f"--out: {err}") from None
    args.before = fingerprint(args.target)
    try:                                             # (surnames raises DataError, not a ValueError)
        X, y = surnames() if args.data == "surnames" else \
            words(languages=args.languages or WORDS_LANGUAGES, per_language=args.per_language or WORDS_PER_LANGUAGE)
    except ValueError as err:
        raise CommandLineError(f"--data words: {err}") from None
    options = {"nhidden": settings["hidden"], "cell": settings["cell"], "seed": args.seed, "dtype": args.dtype,
               "dropout": settings["dropout"]}
    vocab, labels = Vocab.from_words(X), Labels(sorted(set(y)))       # as from_data; a bad datum is status 1
    try:
        model = LanguageModel(vocab, labels, **options) if lm else Classifier(vocab, labels, **options)
    except ValueError as err:                        # the one left: the model's size
        raise CommandLineError(f"--hidden {settings['hidden']}: {err}") from None
    X_train, X_valid, y_train, y_valid = split(X, y, valid_fraction=VALID_FRACTION, seed=SPLIT_SEED)
    say = (lambda *lines: None) if args.quiet else (lambda *lines: print(*lines, sep="\n", file=sys.stderr))
    say(f"{args.data}: {len(X_train)} to train on, {len(X_valid)} to validate; "
        f"{len(model.labels)} languages, {len(model.vocab)} characters",
        "settings: " + ", ".join(f"{key}={value}" for key, value in settings.items()) + f", seed={args.seed}")
    history = fit(model, X_train, y_train, X_valid, y_valid, epochs=settings["epochs"],
                  batch_size=settings["batch_size"], lr=settings["lr"], lr_schedule="linear",
                  seed=args.seed, progress=not args.quiet)
    figure = [loss / math.log(2) for loss in history.valid_loss] if lm else history.valid_accuracy
    for epoch, value in enumerate(figure, 1):
        say(f"epoch {epoch}: valid {'bits per char' if lm else 'accuracy'} {value:.3f}")
    saved = modelfile.save(model, args.target, {**settings, "data": args.data, "seed": args.seed})
    say(f"model saved to {saved}" + (f" (the file the link {args.out} points to)" if saved != Path(args.out) else ""))
    print(f"valid_{'bits_per_char' if lm else 'accuracy'}={figure[-1]:.4f}")
    return 0


def fingerprint(path: Path) -> tuple | None:
    info = os.stat(path) if os.path.exists(path) else None
    return info and (info.st_ino, info.st_mtime_ns, info.st_size)


def outcome(args: argparse.Namespace | None) -> str:
    """What became of --out, for a training run that did not end as planned."""
    if getattr(args, "target", None) is None:
        return ""
    if fingerprint(args.target) != args.before:
        return f"; the model had been saved to {args.target}"
    return "; nothing was saved" + ("" if args.before is None else f", {quote(args.out, 100)} is as it was")


def load(path: str, kind: type) -> Classifier | LanguageModel:
    """The model in ``path`` if it is a ``kind``: predict needs a classifier, sample a language model."""
    model, names = modelfile.load(path), {Classifier: "a classifier (from train; for predict)",
                                           LanguageModel: "a language model (from train-lm; for sample)"}
    if not isinstance(model, kind):
        raise ValueError(f"{quote(path, 100)} holds {names[type(model)]}; this command needs {names[kind]}")
    return model


def run_predict(args: argparse.Namespace) -> int:
    """Predict every word that can be; one ``error:`` line on stderr for each that cannot."""
    model, status = load(args.model, Classifier), 0
    for word in args.words:
        try:
            probabilities = model.predict_proba([word], unknown=args.unknown)[0]
        except (ValueError, TypeError) as err:
            message = str(err).replace("pass unknown='skip'", "use --unknown skip")  # a flag here
            status = fail(message if message.startswith(quote(word)) else f"{quote(word)}: {message}")
            continue
        p, k = probabilities.max(dim=0)
        print(f"{shown(word)}\t{shown(model.labels.classes[int(k)])}\t{float(p):.2f}")
    return status


def run_sample(args: argparse.Namespace) -> int:
    model = load(args.model, LanguageModel)
    language = next((L for L in model.labels.classes if L.casefold() == args.language.casefold()), None)
    if language is None:
        raise CommandLineError(f"--language {quote(args.language)}: this model knows "
                               f"{quote(', '.join(model.labels.classes), 300)}")
    for word in model.sample(language, n=args.count, temperature=args.temperature, seed=args.seed,
                             max_length=args.max_length):
        print(shown(word))
    return 0


def shown(text: str) -> str:
    """A word as printed (the module's rule): as it is, or as ``repr(text)``."""
    try:
        plain = text.isprintable() and text[:1] not in ("", "'", '"') and \
            bool(text.encode(getattr(sys.stdout, "encoding", None) or "utf-8"))
    except (UnicodeEncodeError, LookupError):
        plain = False
    return text if plain else repr(text)


def fail(message: object, status: int = 1) -> int:
    try:
        print(f"error: {one_line(str(message) or type(message).__name__)}", file=sys.stderr or sys.__stderr__)
    except (OSError, AttributeError):               # no stderr (2>&-) or a closed pipe: nothing left to tell
        pass
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    for stream in (sys.stdout, sys.stderr):         # a word the encoding lacks is escaped, never lost
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    handlers = {s: signal.signal(s, Stopped.handle) for s in (signal.SIGINT, signal.SIGTERM)
                if threading.current_thread() is threading.main_thread()}
    args = None
    try:
        args = build_parser().parse_args(argv)
        torch.set_num_threads(1)  # our matrices are small: one thread beats several competing for the cores
        status = args.run(args)
        sys.stdout.flush()                          # a closed pipe shows here, not at exit
        return status
    except CommandLineError as err:
        return fail(err, 2)
    except TrainingDiverged as err:
        return fail(f"training diverged: {err}{outcome(args)}")
    except BrokenPipeError:                         # the reader has gone (| head): end quietly
        if sys.stdout is sys.__stdout__:            # and leave Python's flush at exit no pipe to fail on
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (ValueError, TypeError, OSError, DataError) as err:
        return fail(err)
    except (Stopped, KeyboardInterrupt) as err:
        signum = err.args[0] if isinstance(err, Stopped) else signal.SIGINT
        return fail(f"stopped by {signal.Signals(signum).name}{outcome(args)}", 128 + signum)
    except MemoryError:
        return fail("out of memory: use a smaller --hidden or --batch-size")
    except Exception as err:                        # a bug of ours: still one line
        return fail(f"unexpected {type(err).__name__}: {err} (a bug of rnnlib: please report it)")
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
