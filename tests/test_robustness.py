"""What a beginner may throw at the library: random strings, every bad argument, long words, diverging training.

Each refusal is one line that says what was wrong and what is allowed, and comes before any work.
(The model file's probes are in test_modelfile.py, the command line's in test_cli.py.)
"""
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlib import checks, data
from rnnlib.lm import LanguageModel
from rnnlib.model import RNN, Classifier
from rnnlib.text import MAX_WORD_LENGTH, Batches, Labels, Vocab, normalize
from rnnlib.train import TrainingDiverged, evaluate, fit

VOCAB = Vocab.from_words(["cat", "chat", "katze", "über", "été"])
LABELS = Labels(["English", "French", "German"])
CLF = Classifier(VOCAB, LABELS, nhidden=6, seed=0)
TRAIN_X = ["cat", "hat", "the", "chat", "tache", "été", "katze", "über", "zeche"]
TRAIN_Y = ["English"] * 3 + ["French"] * 3 + ["German"] * 3


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=12))
def test_any_string_is_encoded_or_refused_with_a_one_line_message(word):
    try:
        codes = VOCAB.encode(word)
    except ValueError as err:
        message = str(err)
        assert message.isprintable() and len(message) < 1000      # a hint names at most 10 characters
        assert ("empty word" in message) or ("outside the vocabulary" in message)
    else:
        assert VOCAB.decode(codes) == normalize(word)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_skip_never_returns_garbage(word):
    try:
        codes = VOCAB.encode(word, unknown="skip")
    except ValueError as err:
        assert str(err).isprintable()
    else:
        kept = "".join(c for c in normalize(word) if c in VOCAB)
        assert VOCAB.decode(codes) == kept and codes


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="acehktzüéXQ \t\x1b\u202e", min_size=0, max_size=8), min_size=1, max_size=4))
def test_prediction_gives_probabilities_or_a_clear_error(words):
    try:
        p = CLF.predict_proba(words)
    except ValueError as err:
        assert str(err).isprintable()
        assert any(w.strip() == "" or set(normalize(w)) - set(VOCAB.chars) for w in words)
    else:
        assert p.shape == (len(words), 3) and torch.isfinite(p).all()
        torch.testing.assert_close(p.sum(dim=1), torch.ones(len(words)))


@pytest.mark.parametrize("word", ["KATZE", "Katze", " katze\t", "katze"])
def test_case_and_spaces_are_normalised_the_same_in_training_and_prediction(word):
    torch.testing.assert_close(CLF.predict_proba([word]), CLF.predict_proba(["katze"]))
    torch.testing.assert_close(CLF.predict_proba(["e\u0301te\u0301"]), CLF.predict_proba(["été"]))


@pytest.mark.parametrize("bad, error, message", [
    (None, TypeError, "expected a list of words, got NoneType"), (42, TypeError, "got int"),
    ([42], TypeError, "expected a word as a str, got int"), ([], ValueError, "got an empty one"),
    ([""], ValueError, "empty word"), (["cat", "dog"], ValueError, "'dog' has characters outside the vocabulary"),
])
def test_prediction_bad_input(bad, error, message):
    with pytest.raises(error, match=message):
        CLF.predict(bad)


# ------------------------------------------------------------------ what a word may cost
def test_a_20000_character_word_is_refused_at_once_not_padded():
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"\(20,000 characters\) is too long: a word has at most 1,000 characters"):
        CLF.predict_proba(["cat", "katze" * 4000])
    assert time.perf_counter() - started < 1.0


def test_words_of_different_lengths_are_not_padded_to_the_longest(monkeypatch):
    """One long word among short ones: each length runs on its own (Batches), never a 1000-step batch of all."""
    seen = []
    forward = CLF.rnn.forward
    monkeypatch.setattr(CLF.rnn, "forward", lambda codes, *a: seen.append(tuple(codes.shape)) or forward(codes, *a))
    p = CLF.predict_proba(["cat"] * 50 + ["katze" * 200])
    assert p.shape == (51, 3) and sorted(seen) == [(3, 50), (MAX_WORD_LENGTH, 1)]


def test_many_long_words_run_in_bounded_chunks():
    data_ = Batches([[0] * MAX_WORD_LENGTH] * 300, [0] * 300)
    shapes = []
    data_.apply(lambda codes, targets: shapes.append(codes.shape) or torch.zeros(codes.shape[1]))
    assert max(r * c for r, c in shapes) <= 1 << 16 and sum(c for _, c in shapes) == 300


# ------------------------------------------------------------------ API misuse
@pytest.mark.parametrize("make, error, message", [
    (lambda: Classifier("abc", LABELS), TypeError, "Classifier takes a Vocab and a Labels, got str"),
    (lambda: Classifier(VOCAB, ["a", "b"]), TypeError, "got Vocab and list: use Classifier.from_data"),
    (lambda: LanguageModel("abc", ["a"]), TypeError, "LanguageModel takes a Vocab, got str"),
    (lambda: LanguageModel(VOCAB, ["a"], dropout="0.5"), ValueError, "dropout must be a number from 0 to below 1"),
    (lambda: LanguageModel(VOCAB, ["a"], dropout=1.0), ValueError, "dropout must be a number from 0 to below 1"),
    (lambda: Vocab("ABC"), ValueError, "'A' can never occur in a normalised word"),
    (lambda: LABELS.decode([-1]), ValueError, "a class number must be a whole number from 0 to 2, got -1"),
    (lambda: RNN(3, 1_000_000, 2), ValueError, r"too big for this course \(at most 50,000,000\)"),
    (lambda: RNN(3, 0, 2), ValueError, "nhidden must be a positive integer, got 0"),
    (lambda: RNN(3, 4, 2, cell="x" * 10_000), ValueError, r"cell='xxxx.*\.\.\. \(10,000 characters\); allowed: tanh"),
    (lambda: RNN(3, 4, 2, dtype="float16"), ValueError, "allowed: float32, float64"),
    (lambda: checks.check_device("tpu"), ValueError, "device='tpu'; allowed: 'cpu', or 'cuda'"),
])
def test_misuse_is_refused_in_one_line(make, error, message):
    with pytest.raises(error, match=message) as err:
        make()
    assert len(str(err.value)) < 300 and str(err.value).isprintable()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("make", [lambda: checks.check_device("cuda"), lambda: RNN(3, 4, 2, device="cuda"),
                                  lambda: RNN(3, 4, 2).to("cuda:0")])
def test_a_device_this_machine_lacks_is_refused_naming_what_it_has(make):
    with pytest.raises(ValueError, match="'cuda(:0)?' is not available on this machine; available: cpu"):
        make()


@pytest.mark.parametrize("seed", [None, -1, "0", 1.5, True, 2**64, float("nan")])
@pytest.mark.parametrize("make", [
    lambda s: RNN(3, 4, 2, seed=s), lambda s: Classifier(VOCAB, LABELS, seed=s),
    lambda s: LanguageModel(VOCAB, ["a"], seed=s), lambda s: data.split(["a", "b"], ["x", "x"], seed=s),
    lambda s: fit(Classifier(VOCAB, LABELS, nhidden=3), TRAIN_X, TRAIN_Y, seed=s),
    lambda s: LanguageModel(VOCAB, ["a"], nhidden=3).sample("a", seed=s),
], ids=["RNN", "Classifier", "LanguageModel", "split", "fit", "sample"])
def test_every_seed_is_a_whole_number_from_0_to_2_to_the_64(make, seed):
    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*64 - 1, got "):
        make(seed)


def test_a_float64_model_trains_predicts_and_stays_float64():
    clf = Classifier.from_data(TRAIN_X, TRAIN_Y, nhidden=4, dtype="float64")
    fit(clf, TRAIN_X, TRAIN_Y, epochs=2, batch_size=3)
    assert clf.rnn.theta.dtype == torch.float64 and clf.predict_proba(["cat"]).dtype == torch.float64
    assert clf.predict(TRAIN_X[:2]) and 0 <= evaluate(clf, TRAIN_X, TRAIN_Y)[1] <= 1


# ------------------------------------------------------------------ divergence is said, not saved
@pytest.mark.parametrize("lr", [1e9, 1e39, float("inf"), float("nan"), -1.0, 0.0])
def test_a_learning_rate_that_can_only_diverge_is_refused_before_any_update(lr):
    clf = Classifier.from_data(TRAIN_X, TRAIN_Y, nhidden=4)
    before = clf.rnn.theta.clone()
    with pytest.raises(ValueError, match="lr must be"):
        fit(clf, TRAIN_X, TRAIN_Y, lr=lr)
    assert torch.equal(clf.rnn.theta, before)


def test_weights_that_stop_being_finite_stop_training_and_are_not_saved(tmp_path):
    from rnnlib import modelfile

    clf = Classifier.from_data(TRAIN_X, TRAIN_Y, nhidden=4, cell="relu")
    clf.rnn.W.fill_(1e30)
    with pytest.raises(TrainingDiverged, match="the loss became (nan|inf) at update 1 of epoch 1: try a lower"):
        fit(clf, TRAIN_X * 4, TRAIN_Y * 4, epochs=2)
    clf.rnn.W.fill_(float("inf"))
    with pytest.raises(ValueError, match="not finite .* it is not saved"):
        modelfile.save(clf, tmp_path / "m.rnn")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_scores_are_an_error_not_class_0():
    clf = Classifier(VOCAB, LABELS, nhidden=6, cell="relu", seed=0)
    clf.rnn.W.fill_(1.0)
    clf.rnn.U.fill_(1.0)
    with pytest.raises(ValueError, match="the scores of word 1 are not finite: h overflowed in this relu RNN"):
        clf.predict(["cat", "katze" * 200])
    assert clf.predict(["cat"])                        # a short word still works
    loss, accuracy = evaluate(clf, ["katze" * 200], ["English"])
    assert accuracy == 0.0                             # never counted right by the arg max of nan
