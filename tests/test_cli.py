"""The command line, ``python -m rnnlib``: what it prints and saves, and what it does with hostile input.

Training here is tiny (50 words per language, one epoch, h of 8): these tests check what the commands
print, save and refuse, not how accurate the defaults are (benchmarks/ measures that). Most run
``rnnlib.cli.main`` in this process; a few run ``python -m rnnlib`` in a fresh interpreter, as a user
does: no traceback, a closed pipe, an ASCII terminal, SIGTERM and SIGINT.
"""
import ast
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlib import cli, modelfile
from rnnlib.download import DataError, find_names_dir
from rnnlib.lm import LanguageModel
from rnnlib.model import Classifier
from rnnlib.text import Labels, Vocab

TINY = ["--per-language", "50", "--epochs", "1", "--hidden", "8", "--quiet"]
WORDS = ["cat", "chat", "Katze", "über"]
ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def call(*args: str) -> tuple[int, str, str]:
    """``rnnlib.cli.main(ARGS)`` in this process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main([str(a) for a in args])
        except SystemExit as exit_:                  # argparse exits by itself on a bad command line
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


def start(*args: str, code: str | None = None, **kwargs) -> subprocess.Popen:
    """``python -m rnnlib ARGS`` (or ``python -c CODE ARGS``) in a fresh interpreter."""
    command = [sys.executable, *(["-c", code] if code else ["-m", "rnnlib"]), *map(str, args)]
    kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "env": ENV, **kwargs}
    return subprocess.Popen(command, **kwargs)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert lines[0].isprintable() and len(lines[0]) < 700, lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    paths = {"train": folder / "words.rnn", "train-lm": folder / "lm.rnn"}
    for command, path in list(paths.items()):
        status, out, err = call(command, "--data", "words", *TINY, "--out", path)
        assert status == 0 and err == "", err
        paths[command + " stdout"] = out
    return paths


@pytest.fixture
def old_model(tmp_path) -> tuple[Path, bytes]:
    """A model file already at --out: it must survive every failure."""
    path = modelfile.save(Classifier(Vocab("abc"), Labels(["x", "y"]), nhidden=2), tmp_path / "old.rnn")
    return path, path.read_bytes()


def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ what the commands print and save
def test_train_prints_the_validation_accuracy_and_saves_a_classifier(models):
    assert re.fullmatch(r"valid_accuracy=[01]\.\d{4}\n", models["train stdout"])
    clf = modelfile.load(models["train"])
    assert isinstance(clf, Classifier) and clf.labels.classes == ["English", "French", "German"]
    assert clf.rnn.nhidden == 8 and clf.rnn.cell.name == "gru" and clf.rnn.dtype == "float32"   # gru: the default


def test_train_lm_prints_bits_per_char_and_saves_a_language_model(models):
    bits = float(re.fullmatch(r"valid_bits_per_char=(\d+\.\d{4})\n", models["train-lm stdout"]).group(1))
    lm = modelfile.load(models["train-lm"])
    assert isinstance(lm, LanguageModel) and lm.rnn.cell.name == "gru" and lm.rnn.nhidden == 8
    assert 1 < bits < 8                                # about log2(32 symbols) = 5 for an untrained model


def test_train_in_a_fresh_interpreter(tmp_path):
    status, out, err = finish(start("train", "--data", "words", *TINY, "--cell", "relu", "--dtype", "float64",
                                    "--out", tmp_path / "m.rnn"))
    assert status == 0 and err == "" and re.fullmatch(r"valid_accuracy=[01]\.\d{4}\n", out), err
    clf = modelfile.load(tmp_path / "m.rnn")
    assert clf.rnn.dtype == "float64" and clf.rnn.cell.name == "relu"   # loaded as it was saved
    assert clf.predict_proba(["cat"]).dtype == torch.float64


def test_predict_prints_word_language_probability_as_the_library(models):
    status, out, err = call("predict", "--model", models["train"], *WORDS)
    assert status == 0 and err == ""
    clf = modelfile.load(models["train"])
    p = clf.predict_proba(WORDS)
    assert out.splitlines() == [f"{w}\t{clf.labels.classes[int(k)]}\t{float(q):.2f}"
                                for w, q, k in zip(WORDS, *p.max(dim=1))]


def test_sample_prints_count_seeded_words_of_the_vocabulary(models):
    status, out, err = call("sample", "--model", models["train-lm"], "--language", "german", "--count", "7",
                            "--seed", "3", "--max-length", "12")
    assert status == 0 and err == "" and len(out.splitlines()) == 7
    lm = modelfile.load(models["train-lm"])
    words = [ast.literal_eval(w) if w.startswith("'") else w for w in out.splitlines()]
    assert words == lm.sample("German", n=7, seed=3, max_length=12)       # '' is an empty word, printed as such
    assert call("sample", "--model", models["train-lm"], "--language", "German", "--count", "7", "--seed", "4",
                "--max-length", "12")[1] != out


def test_a_symbolic_link_as_out_is_followed_and_said(tmp_path, old_model):
    target, _ = old_model
    (tmp_path / "link.rnn").symlink_to(target)
    status, out, err = call("train", "--data", "words", *TINY[:-1], "--out", tmp_path / "link.rnn")
    assert status == 0 and (tmp_path / "link.rnn").is_symlink()
    assert f"model saved to {target} (the file the link {tmp_path / 'link.rnn'} points to)" in err
    assert modelfile.load(target).rnn.nhidden == 8


# ------------------------------------------------------------------ output a pipe or a terminal can trust
HOSTILE = ["c\tat", "ca\nt", "\x1b[31mcat", "\u202ecat", "'cat", '"cat', "cat\x00", "über", "\udcffcat"]


def test_a_word_is_printed_as_it_is_or_escaped_so_that_a_line_is_one_record(models):
    status, out, err = call("predict", "--model", models["train"], "--unknown", "skip", *HOSTILE)
    assert status == 0 and err == ""
    lines = out.split("\n")[:-1]
    assert len(lines) == len(HOSTILE) and out.isascii() is False    # über is printed as it is
    for line, word in zip(lines, HOSTILE):
        field, language, p = line.split("\t")
        assert field.isprintable() and language in ("English", "French", "German") and re.fullmatch(r"[01]\.\d\d", p)
        assert field == word if word == "über" else field == repr(word) and ast.literal_eval(field) == word


def test_language_names_from_a_model_file_follow_the_same_rule(tmp_path):
    path = modelfile.save(Classifier(Vocab("abc"), Labels(["\x1b[31mred", "a\tb"]), nhidden=2), tmp_path / "m.rnn")
    status, out, err = call("predict", "--model", path, "--unknown", "skip", "abc", "--", "-ba")  # -- ends the flags
    assert status == 0 and err == "" and len(out.splitlines()) == 2
    for line, word in zip(out.splitlines(), ["abc", "-ba"]):
        assert line.split("\t")[:2] in ([word, repr("\x1b[31mred")], [word, repr("a\tb")])


def test_error_lines_escape_the_word_and_cut_a_long_one(models):
    status, out, err = call("predict", "--model", models["train"], "\x1b[2J\u202ec4t", "x" * 200_000, "cat")
    assert status == 1 and out.startswith("cat\t")
    first, second = err.splitlines()
    assert first.startswith(r"error: '\x1b[2J\u202ec4t': '\x1b[2j\u202ec4t' has characters outside the vocabulary")
    assert second.startswith("error: 'xxxx") and "(200,000 characters) is too long: a word has at most 1,000" \
        in second and len(second) < 300


def test_an_ascii_terminal_gets_escapes_never_lost_words(models):
    env = {**ENV, "PYTHONIOENCODING": "ascii"}
    status, out, err = finish(start("predict", "--model", models["train"], "--unknown", "skip", "über", "cat", "ж",
                                    env=env))
    assert status == 1 and out.isascii() and err.isascii()
    first, second = out.splitlines()
    assert first.split("\t")[0] == r"'\xfcber'" and ast.literal_eval(first.split("\t")[0]) == "über"
    assert second.startswith("cat\t")
    assert re.fullmatch(r"error: '\\u0436' has no character of the vocabulary 'a.*\\xfc'", one_error_line(err))


def test_a_closed_pipe_ends_quietly(models):
    proc = start("predict", "--model", models["train"], *["cat"] * 600)
    proc.stdout.close()                              # the reader is gone before the first line
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == b""


# ------------------------------------------------------------------ one line for every bad command line
TRAIN = ["train", "--data", "words", "--out", "{tmp}/m.rnn"]
BAD_COMMAND_LINES = [
    (TRAIN + ["--hidden", "0"], "argument --hidden: expected a positive whole number (the model has at most "
                                "50,000,000 numbers: about 7,000 for tanh, 7,000 for relu, 4,000 for gru), got '0'"),
    (TRAIN + ["--hidden", "1.5"], "argument --hidden: expected a positive whole number"),
    (TRAIN + ["--epochs", "0"], "argument --epochs: expected a whole number from 1 to 1,000, got '0'"),
    (TRAIN + ["--epochs", "1001"], "from 1 to 1,000, got '1001'"), (TRAIN + ["--epochs", "ten"], "got 'ten'"),
    (TRAIN + ["--batch-size", "10001"], "argument --batch-size: expected a whole number from 1 to 10,000"),
    (TRAIN + ["--lr", "1e39"], "argument --lr: expected a number above 0 and at most 100, got '1e39'"),
    (TRAIN + ["--lr", "inf"], "got 'inf'"), (TRAIN + ["--lr", "nan"], "got 'nan'"), (TRAIN + ["--lr", "0"], "got '0'"),
    (TRAIN + ["--seed", "-1"], "argument --seed: expected a whole number from 0 to 18446744073709551615"),
    (TRAIN + ["--seed", "1.5"], "got '1.5'"), (TRAIN + ["--seed", str(2**64)], "got '18446744073709551616'"),
    (TRAIN + ["--seed", "9" * 5000], "(5,000 characters)"),
    (TRAIN + ["--per-language", "1"], "argument --per-language: expected a whole number from 2 to 100,000"),
    (TRAIN + ["--languages", "en,en,fr"], "argument --languages: expected distinct comma-separated wordfreq codes"),
    (TRAIN + ["--languages", "en,,fr"], "got 'en,,fr'"),
    (TRAIN + ["--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    (TRAIN + ["--cell", "lstm"], "argument --cell: invalid choice: 'lstm' (choose from 'tanh', 'relu', 'gru')"),
    (TRAIN + ["--dropout", "0.5", "--dropout-typo"], "unrecognized arguments: --dropout-typo"),
    (TRAIN + ["--dropout", "1"], "expected a number from 0 to below 1"),
    (["train-lm", "--data", "words", "--out", "m.rnn", "--dropout", "1"], "expected a number from 0 to below 1"),
    (["train-lm", "--data", "words", "--out", "m.rnn", "--dropout", "nan"], "got 'nan'"),
    (["train", "--data", "x" * 200_000, "--out", "m.rnn"], "characters cut ...] xxxxx"),
    (["train", "--data", "cats", "--out", "m.rnn"], "invalid choice: 'cats' (choose from 'words', 'surnames')"),
    (["train", "--data", "words"], "the following arguments are required: --out"),
    (["sample", "--model", "m", "--language", "a", "--count", "1001"], "argument --count: expected a whole number "
                                                                        "from 1 to 1,000"),
    (["sample", "--model", "m", "--language", "a", "--max-length", "101"], "from 1 to 100, got '101'"),
    (["sample", "--model", "m", "--language", "a", "--temperature", "0.001"], "argument --temperature: expected a "
                                                                              "number from 0.01 to 100"),
    (["sample", "--model", "m", "--language", "a", "--temperature", "inf"], "got 'inf'"),
    (["predict", "--model", "m"], "the following arguments are required: WORD"),
    (["predict", "--model", "m", "--unknown", "drop", "cat"], "invalid choice: 'drop'"),
    ([], "the following arguments are required: {train,train-lm,predict,sample}"),
]


@pytest.mark.parametrize("args, message", BAD_COMMAND_LINES, ids=range(len(BAD_COMMAND_LINES)))
def test_a_bad_command_line_is_one_line_and_status_2_before_any_work(tmp_path, monkeypatch, args, message):
    for work in ("words", "surnames", "fit"):
        monkeypatch.setattr(cli, work, lambda *a, **k: pytest.fail("worked before the command line was checked"))
    status, out, err = call(*[a.format(tmp=tmp_path) for a in args])
    line = one_error_line(err)
    assert status == 2 and out == "" and message in line and re.search(r"\(see: python -m rnnlib.*--help\)$", line)


@pytest.mark.parametrize("out, message", [
    ("{tmp}", "--out: cannot save to '{tmp}': it is a folder; give a file name such as '{tmp}/model.rnn'"),
    ("{tmp}/none/m.rnn", "the folder '{tmp}/none' does not exist"),
    ("{tmp}/fifo", "it is not a regular file (a FIFO, a device or a socket)"),
    ("{tmp}/loop", "Too many levels of symbolic links"),
    ("{tmp}/notes.txt", "it is a file that is not an rnnlib model file, which saving would destroy"),
    ("{tmp}/" + "x" * 300 + ".rnn", "File name too long: a file name has at most 255 bytes here"),
    ("/sys/m.rnn" if os.geteuid() == 0 else "/proc/m.rnn", "cannot write in the folder"),
])
def test_an_out_that_cannot_be_written_is_refused_before_loading_or_training(tmp_path, monkeypatch, out, message):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "notes.txt").write_text("my notes")
    for work in ("words", "fit"):
        monkeypatch.setattr(cli, work, lambda *a, **k: pytest.fail("worked before --out was checked"))
    status, _, err = call("train", "--data", "words", "--out", out.format(tmp=tmp_path))
    assert status == 2 and message.format(tmp=tmp_path) in one_error_line(err)
    assert (tmp_path / "notes.txt").read_text() == "my notes" and not temporaries(tmp_path)


@pytest.mark.parametrize("args, message", [
    (["--languages", "en,xx"], "--data words: unknown language codes ['xx']; wordfreq has "),
    (["--hidden", "1000000"], "--hidden 1000000: a model of 3,000,096,000,000 numbers is too big for this course "
                              "(at most 50,000,000): use a smaller nhidden"),
    (["--per-language", "30000", "--languages", "en,vi"], "most frequent 'vi' words are alphabetic"),
])
def test_a_bad_setting_found_with_the_data_is_refused_before_training(tmp_path, monkeypatch, args, message):
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("trained"))
    status, out, err = call("train", "--data", "words", "--per-language", "50", *args, "--out", tmp_path / "m.rnn")
    assert status == 2 and out == "" and message in one_error_line(err)


def test_surnames_take_no_words_flags(tmp_path):
    status, _, err = call("train", "--data", "surnames", "--languages", "en,fr", "--out", tmp_path / "m.rnn")
    assert status == 2 and "--languages and --per-language are only for --data words" in one_error_line(err)


# ------------------------------------------------------------------ bad files, bad words: status 1
@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no model file at"),
    (lambda p: p.write_bytes(b""), "is not an rnnlib model file (it is empty)"),
    (lambda p: p.write_text("my notes\n"), "is not an rnnlib model file"),
    (lambda p: p.write_bytes(TRUNCATED), "damaged rnnlib model file"),
    (lambda p: os.mkfifo(p), "is not a regular file (a FIFO, a device or a socket)"),
    (lambda p: p.mkdir(), "is a folder, not a model file"),
    (lambda p: p.symlink_to(p), "Too many levels of symbolic links"),
    (lambda p: p.symlink_to("/dev/zero"), "is not a regular file"),
])
def test_a_bad_model_file_is_one_line_and_status_1(tmp_path, models, make, message):
    path = tmp_path / "model.rnn"
    make(path)
    for command in (["predict", "--model", path, "cat"], ["sample", "--model", path, "--language", "German"]):
        status, out, err = call(*command)
        assert status == 1 and out == "" and message in one_error_line(err)


TRUNCATED = modelfile.MAGIC + b" 2\n{\"kind\": \"classifier\", \"cell\": \"tanh\"}\n"


def test_each_command_takes_its_kind_of_model_and_sample_names_the_languages(models):
    status, _, err = call("predict", "--model", models["train-lm"], "cat")
    assert status == 1 and "holds a language model (from train-lm; for sample); this command needs a classifier" \
        in one_error_line(err)
    status, _, err = call("sample", "--model", models["train"], "--language", "German")
    assert status == 1 and "holds a classifier (from train; for predict)" in one_error_line(err)
    status, _, err = call("sample", "--model", models["train-lm"], "--language", "Klingon")
    assert status == 2 and "--language 'Klingon': this model knows 'English, French, German'" in one_error_line(err)


def test_predict_every_word_it_can_and_report_each_it_cannot(models):
    words = ["cat", "hello-world", "chat", "   ", "123", " cat", "", "katze" * 4000]
    started = time.perf_counter()
    status, out, err = call("predict", "--model", models["train"], *words)
    assert time.perf_counter() - started < 5             # the 20,000-character word is refused, not run
    assert status == 1
    assert [line.split("\t")[0] for line in out.splitlines()] == ["cat", "chat", " cat"]
    assert out.splitlines()[0].split("\t")[1:] == out.splitlines()[2].split("\t")[1:]  # " cat" is "cat"
    errors = err.splitlines()
    assert len(errors) == 5 and all(line.startswith("error: ") and line.isprintable() for line in errors)
    assert errors[0].startswith("error: 'hello-world' has characters outside the vocabulary: '-'; ")
    assert errors[0].endswith("('-' separates words: give the parts one at a time; or use --unknown skip "
                              "to drop them)")
    assert errors[1] == "error: '   ': empty word: a word needs at least one character other than spaces"
    assert errors[2].endswith("('1', '2', '3' are digits: the model knows only letters)")
    assert errors[3] == "error: '': empty word: a word needs at least one character other than spaces"
    assert "(20,000 characters) is too long: a word has at most 1,000 characters" in errors[4]


def test_unknown_skip_fails_only_a_word_with_nothing_left(models):
    words = ["cat", "hello-world", "new york", "123", "chat"]
    status, out, err = call("predict", "--model", models["train"], "--unknown", "skip", *words)
    assert status == 1
    assert [line.split("\t")[0] for line in out.splitlines()] == ["cat", "hello-world", "new york", "chat"]
    assert one_error_line(err).startswith("error: '123' has no character of the vocabulary")


# ------------------------------------------------------------------ nothing a user had is lost
def test_a_diverging_training_is_said_and_not_saved(old_model, monkeypatch):
    path, before = old_model

    def exploding(vocab, labels, **kwargs):             # a model that cannot but diverge: its loss is nan at once
        clf = Classifier(vocab, labels, **{**kwargs, "cell": "relu"})
        clf.rnn.W.fill_(1e30)
        return clf

    monkeypatch.setattr(cli, "Classifier", exploding)
    status, out, err = call("train", "--data", "words", *TINY, "--out", path)
    assert status == 1 and out == ""
    assert re.fullmatch(r"error: training diverged: the loss became (nan|inf) at update 1 of epoch 1: try a lower "
                        rf"learning rate than lr=0.002; nothing was saved, '{path}' is as it was", one_error_line(err))
    assert path.read_bytes() == before and not temporaries(path.parent)


def test_a_full_disk_while_saving_keeps_the_old_file(old_model, monkeypatch):
    path, before = old_model

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modelfile.os, "fsync", full)
    status, _, err = call("train", "--data", "words", *TINY, "--out", path)
    assert status == 1 and one_error_line(err) == \
        f"error: cannot save to '{path}' (No space left on device); the file there is unchanged"
    assert path.read_bytes() == before and not temporaries(path.parent)


SLOW_SAVE = """
import os, sys, time
def slow_fsync(fd):                      # the save is under way: its temporary file is written
    print("saving", flush=True)
    time.sleep(60)
os.fsync = slow_fsync
from rnnlib.cli import main
sys.exit(main(sys.argv[1:]))
"""
SLOW_TRAINING = """
import sys, time
import rnnlib.train as train
step = train.Step.__call__
def slow_step(self, loss, number):       # training is under way: the second update waits
    if number == 2:
        print("training", flush=True)
        time.sleep(60)
    return step(self, loss, number)
train.Step.__call__ = slow_step
from rnnlib.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("code, signum, when", [(SLOW_SAVE, signal.SIGTERM, "saving"),
                                                (SLOW_TRAINING, signal.SIGINT, "training")])
def test_a_signal_while_training_or_saving_leaves_the_old_file_and_no_temporary(old_model, code, signum, when):
    path, before = old_model
    proc = start("train", "--data", "words", *TINY, "--out", path, code=code)
    assert proc.stdout.readline() == f"{when}\n".encode(), finish(proc)
    assert bool(temporaries(path.parent)) == (when == "saving")    # the signal comes mid-save, or mid-training
    proc.send_signal(signum)
    status, out, err = finish(proc)
    assert status == 128 + signum and out == ""
    assert one_error_line(err) == f"error: stopped by {signal.Signals(signum).name}; nothing was saved, " \
                                  f"'{path}' is as it was"
    assert path.read_bytes() == before and not temporaries(path.parent)


def test_errors_in_a_fresh_interpreter_have_no_traceback(tmp_path):
    (tmp_path / "empty.rnn").touch()
    runs = [(start("train", "--data", "words", "--lr", "inf", "--out", tmp_path / "m.rnn"), 2),
            (start("sample", "--model", tmp_path / "empty.rnn", "--language", "x"), 1)]
    for proc, expected in runs:
        status, out, err = finish(proc)
        assert status == expected and out == ""
        one_error_line(err)


def test_help_states_the_output_rule_and_the_limits():
    status, out, _ = call("--help")
    assert status == 0 and out.startswith("usage: python -m rnnlib ")
    assert "as a Python string literal" in out and "status 141" in out
    status, out, _ = call("sample", "--help")
    assert "a whole number from 1 to 1,000; default 10" in out and "from 0.01 to 100" in out


def surnames_available() -> bool:
    try:
        find_names_dir(download=False)
    except DataError:
        return False
    return True


@pytest.mark.skipif(not surnames_available(), reason="no local copy of the surnames data (set RNNLIB_DATA)")
def test_surnames_train_with_explicit_settings(tmp_path):
    status, out, _ = call("train", "--data", "surnames", "--epochs", "1", "--hidden", "8", "--batch-size", "256",
                          "--lr", "0.01", "--seed", "3", "--quiet", "--out", tmp_path / "s.rnn")
    assert status == 0 and re.fullmatch(r"valid_accuracy=\d\.\d+\n", out)
    clf = modelfile.load(tmp_path / "s.rnn")
    assert len(clf.labels) == 18 and clf.rnn.nhidden == 8
