"""What a beginner may throw at the library: random strings, bad arguments, diverging training."""
import string

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlib.model import Classifier
from rnnlib.train import TrainingDiverged, evaluate, fit
from rnnlib.vocab import Labels, Vocab, normalize

VOCAB = Vocab.from_words(["cat", "chat", "katze", "über", "été"])
CLF = Classifier(VOCAB, Labels(["English", "French", "German"]), nhidden=6, seed=0)
TRAIN_X = ["cat", "dog", "house", "chat", "chien", "maison", "katze", "hund", "haus"] * 3
TRAIN_Y = ["English"] * 3 + ["French"] * 3 + ["German"] * 3
TRAIN_Y = TRAIN_Y * 3


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=12))
def test_any_string_is_encoded_or_refused_with_a_one_line_message(word):
    try:
        codes = VOCAB.encode(word)
    except ValueError as err:
        message = str(err)
        assert "\n" not in message
        assert ("empty word" in message) or ("outside the vocabulary" in message)
    else:
        assert VOCAB.decode(codes) == normalize(word)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_skip_never_returns_garbage(word):
    try:
        codes = VOCAB.encode(word, unknown="skip")
    except ValueError as err:
        assert "\n" not in str(err)
    else:
        kept = "".join(c for c in normalize(word) if c in VOCAB)
        assert VOCAB.decode(codes) == kept and codes


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="acehktzüéXQ ", min_size=0, max_size=8), min_size=1, max_size=4))
def test_prediction_gives_probabilities_or_a_clear_error(words):
    try:
        p = CLF.predict_proba(words)
    except ValueError as err:
        assert "\n" not in str(err)
        assert any(w == "" or set(normalize(w)) - set(VOCAB.chars) for w in words)
    else:
        assert p.shape == (len(words), 3)
        assert torch.isfinite(p).all()
        torch.testing.assert_close(p.sum(dim=1), torch.ones(len(words)))


@pytest.mark.parametrize("word", ["KATZE", "Katze", "katze"])
def test_case_is_normalised_the_same_in_training_and_prediction(word):
    torch.testing.assert_close(CLF.predict_proba([word]), CLF.predict_proba(["katze"]))


def test_decomposed_accents_predict_like_composed_ones():
    torch.testing.assert_close(CLF.predict_proba(["e\u0301te\u0301"]), CLF.predict_proba(["été"]))


@pytest.mark.parametrize("bad, error, message", [
    (None, TypeError, "expected a word or a list of words, got NoneType"),
    (42, TypeError, "expected a word or a list of words, got int"),
    ([42], TypeError, "expected a word as a str, got int"),
    ([""], ValueError, "empty word"),
    (["cat", "dog"], ValueError, "outside the vocabulary: 'dgo'"),
])
def test_prediction_bad_input(bad, error, message):
    with pytest.raises(error, match=message):
        CLF.predict(bad)


def small_classifier():
    return Classifier.from_data(TRAIN_X, TRAIN_Y, nhidden=8, seed=0)


def test_same_seed_same_trained_weights():
    a, b = small_classifier(), small_classifier()
    ha = fit(a, TRAIN_X, TRAIN_Y, TRAIN_X, TRAIN_Y, epochs=3, batch_size=4, seed=7, progress=False)
    hb = fit(b, TRAIN_X, TRAIN_Y, TRAIN_X, TRAIN_Y, epochs=3, batch_size=4, seed=7, progress=False)
    for p, q in zip(a.rnn.parameters(), b.rnn.parameters()):
        assert torch.equal(p, q)
    assert ha.train_loss == hb.train_loss and ha.valid_accuracy == hb.valid_accuracy


def test_training_learns_the_toy_data():
    clf = small_classifier()
    history = fit(clf, TRAIN_X, TRAIN_Y, epochs=30, batch_size=9, lr=0.05, progress=False)
    assert history.train_loss[-1] < history.train_loss[0] / 3
    assert evaluate(clf, TRAIN_X, TRAIN_Y)[1] == 1.0


def test_non_finite_loss_stops_training_naming_epoch_and_batch():
    clf = small_classifier()
    with torch.no_grad():
        clf.rnn.V.fill_(float("inf"))
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, batch 1: try a lower learning rate .* clipping"):
        fit(clf, TRAIN_X, TRAIN_Y, epochs=2, progress=False)


def test_exploding_training_is_caught():
    clf = small_classifier()
    with torch.no_grad():
        clf.rnn.V.mul_(1e38)
    with pytest.raises(TrainingDiverged, match="loss became"):
        fit(clf, TRAIN_X, TRAIN_Y, epochs=5, batch_size=1, lr=1e30, optimizer="sgd", clip=None, progress=False)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=0), ValueError, "epochs must be a positive integer"),
    (dict(batch_size=-2), ValueError, "batch_size must be a positive integer"),
    (dict(lr=float("nan")), ValueError, "lr must be a finite number above 0"),
    (dict(optimizer="adagrad"), ValueError, "allowed: adam, rmsprop, sgd"),
    (dict(loss_reduction="max"), ValueError, "allowed: mean, sum"),
])
def test_fit_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        fit(small_classifier(), TRAIN_X, TRAIN_Y, progress=False, **kwargs)


def test_fit_bad_data():
    clf = small_classifier()
    with pytest.raises(ValueError, match="X_train has 27 records but y_train has 26"):
        fit(clf, TRAIN_X, TRAIN_Y[:-1], progress=False)
    with pytest.raises(ValueError, match=r"unknown labels \['Dutch'\]; known: \['English', 'French', 'German'\]"):
        fit(clf, TRAIN_X, TRAIN_Y[:-1] + ["Dutch"], progress=False)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        fit(clf, TRAIN_X + ["xylophon"], TRAIN_Y + ["German"], progress=False)
    with pytest.raises(TypeError, match="not a single string"):
        fit(clf, "cat", "English", progress=False)
    with pytest.raises(ValueError, match="X_train is empty"):
        fit(clf, [], [], progress=False)
    with pytest.raises(ValueError, match="give both X_valid and y_valid"):
        fit(clf, TRAIN_X, TRAIN_Y, X_valid=TRAIN_X, progress=False)
    with pytest.raises(TypeError, match="expected a word as a str, got int"):
        fit(clf, TRAIN_X[:-1] + [3], TRAIN_Y, progress=False)
