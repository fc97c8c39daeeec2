"""The command line, ``python -m rnnlib``: output formats, the saved model, and one-line errors.

Training here is tiny (a few hundred words, one epoch): these tests check what the commands
print and save, not how accurate the defaults are (benchmarks/bench.py measures that).
"""
import re
import subprocess
import sys

import pytest

from rnnlib.cli import main
from rnnlib.data import DataError, find_names_dir
from rnnlib.model import Classifier

TINY = ["--per-language", "150", "--epochs", "1", "--hidden", "8", "--quiet"]
WORDS = ["cat", "chat", "Katze", "über"]


def run_module(*args: str) -> subprocess.CompletedProcess:
    """``python -m rnnlib ARGS`` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "rnnlib", *args], capture_output=True, text=True,
                          timeout=120)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """``rnnlib.cli.main(ARGS)`` in this process: exit status, stdout, stderr."""
    try:
        status = main(list(args))
    except SystemExit as exit_:  # argparse exits by itself on a bad command line
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "words.pt"
    result = run_module("train", "--data", "words", *TINY, "--out", str(path))
    return path, result


def test_train_prints_only_the_validation_accuracy_on_stdout(trained):
    path, result = trained
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"valid_accuracy=\d\.\d+", lines[0]), result.stdout
    assert 0 <= float(lines[0].split("=")[1]) <= 1


def test_train_saves_a_model_that_loads(trained):
    path, _ = trained
    clf = Classifier.load(path)
    assert clf.labels.classes == ["English", "French", "German"]
    assert clf.rnn.nhidden == 8 and clf.rnn.nonlinearity == "tanh"
    assert "ü" in clf.vocab


def test_predict_prints_word_language_probability_per_line(trained):
    path, _ = trained
    result = run_module("predict", "--model", str(path), *WORDS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(WORDS)
    expected = Classifier.load(path).predict(WORDS)
    for line, word, language in zip(lines, WORDS, expected):
        printed_word, printed_language, probability = line.split("\t")
        assert (printed_word, printed_language) == (word, language)
        assert re.fullmatch(r"[01]\.\d\d", probability)
        assert 1 / 3 - 0.01 <= float(probability) <= 1  # the largest of three probabilities


def test_predict_the_same_as_the_library(trained, capsys):
    path, _ = trained
    status, out, _ = run_main(capsys, "predict", "--model", str(path), *WORDS)
    probabilities = Classifier.load(path).predict_proba(WORDS).max(dim=1).values
    assert status == 0
    assert [float(line.split("\t")[2]) for line in out.splitlines()] == \
        [round(p, 2) for p in probabilities.tolist()]


def surnames_available() -> bool:
    try:
        find_names_dir(download=False)
    except DataError:
        return False
    return True


@pytest.mark.skipif(not surnames_available(), reason="no local copy of the surnames data (set RNNLIB_DATA)")
def test_surnames_train_with_explicit_settings(tmp_path, capsys):
    path = tmp_path / "surnames.pt"
    status, out, _ = run_main(capsys, "train", "--data", "surnames", "--epochs", "1", "--hidden", "8",
                              "--batch-size", "256", "--lr", "0.01", "--seed", "3", "--quiet",
                              "--out", str(path))
    assert status == 0
    assert re.fullmatch(r"valid_accuracy=\d\.\d+\n", out)
    clf = Classifier.load(path)
    assert len(clf.labels) == 18 and clf.rnn.nhidden == 8


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("args, status, message", [
    (["predict", "--model", "{tmp}/missing.pt", "cat"], 1, "no model file"),
    (["predict", "--model", "{tmp}/notes.txt", "cat"], 1, "not a readable rnnlib model"),
    (["predict", "--model", "{model}", "c4t"], 1, "outside the vocabulary: '4'"),
    (["predict", "--model", "{model}", "c4t"], 1, "use --unknown skip"),
    (["predict", "--model", "{model}", "--unknown", "skip", "444"], 1, "no character of the vocabulary"),
    (["predict", "--model", "{model}", "--unknown", "drop", "c4t"], 2, "invalid choice"),
    (["predict", "--model", "{model}", ""], 1, "empty word"),
    (["predict", "--model", "{model}"], 2, "required: WORD"),
    (["train", "--data", "words", "--languages", "en,xx", "--out", "{tmp}/m.pt"], 1, "unknown language codes"),
    (["train", "--data", "words", "--languages", "en", "--out", "{tmp}/m.pt"], 1, "at least two"),
    (["train", "--data", "surnames", "--languages", "en,fr", "--out", "{tmp}/m.pt"], 2, "only for --data words"),
    (["train", "--data", "words", "--epochs", "0", "--out", "{tmp}/m.pt"], 2, "--epochs"),
    (["train", "--data", "words", "--epochs", "ten", "--out", "{tmp}/m.pt"], 2, "positive whole number"),
    (["train", "--data", "words", "--lr", "-1", "--out", "{tmp}/m.pt"], 2, "--lr"),
    (["train", "--data", "words", "--lr", "inf", "--out", "{tmp}/m.pt"], 2, "positive number"),
    (["train", "--data", "cats", "--out", "{tmp}/m.pt"], 2, "invalid choice"),
    (["train", "--data", "words"], 2, "--out"),
    (["train", "--data", "words", "--out", "{tmp}/no/such/folder/m.pt"], 2, "does not exist"),
    (["train", "--data", "words", "--out", "{tmp}"], 2, "is a directory"),
    ([], 2, "required"),
])
def test_bad_input_gives_one_error_line(trained, tmp_path, capsys, args, status, message):
    (tmp_path / "notes.txt").write_text("not a model\n")
    model, _ = trained
    args = [a.format(tmp=tmp_path, model=model) for a in args]
    got_status, out, err = run_main(capsys, *args)
    assert got_status == status
    assert message in one_error_line(err)
    assert out == ""


def test_a_word_outside_the_vocabulary_prints_no_prediction_at_all(trained, capsys):
    model, _ = trained
    status, out, err = run_main(capsys, "predict", "--model", str(model), "cat", "c4t")
    assert status == 1 and out == ""
    assert "'c4t'" in one_error_line(err)


def test_unknown_skip_predicts_as_if_the_character_were_not_there(trained, capsys):
    model, _ = trained
    status, out, _ = run_main(capsys, "predict", "--model", str(model), "--unknown", "skip", "c4t", "Straße")
    _, expected, _ = run_main(capsys, "predict", "--model", str(model), "ct", "strasse")
    assert status == 0
    assert [line.split("\t")[1:] for line in out.splitlines()] == \
        [line.split("\t")[1:] for line in expected.splitlines()]


def test_errors_in_a_fresh_interpreter_have_no_traceback(tmp_path):
    for args, status in [(["predict", "--model", str(tmp_path / "missing.pt"), "cat"], 1),
                         (["train", "--data", "words", "--batch-size", "-3", "--out", "m.pt"], 2)]:
        result = run_module(*args)
        assert result.returncode == status
        one_error_line(result.stderr)
