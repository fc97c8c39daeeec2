"""What a beginner may throw at the library: random strings, bad arguments, diverging training."""
import math

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
        assert any(w.strip() == "" or set(normalize(w)) - set(VOCAB.chars) for w in words)
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


# ------------------------------------------------ issue 14: nothing lost, nothing silent
# Finding 1 and 2: saving is atomic, and every failure is an OSError naming the path.
def _folder(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"),
                                     RuntimeError("[enforce fail at inline_container.cc:747] . open file failed"),
                                     KeyboardInterrupt()])
def test_a_save_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failure):
    target = tmp_path / "model.pt"
    CLF.save(target)
    before = target.read_bytes()

    def half_a_save(obj, f):
        f.write(b"PK\x03\x04 half a model")
        raise failure

    monkeypatch.setattr("rnnlib.model.torch.save", half_a_save)
    expected = KeyboardInterrupt if isinstance(failure, KeyboardInterrupt) else OSError
    with pytest.raises(expected) as err:
        CLF.save(target)
    assert target.read_bytes() == before
    assert _folder(tmp_path) == ["model.pt"]
    if expected is OSError:
        message = str(err.value)
        assert str(target) in message and "\n" not in message and "the file there is unchanged" in message
        assert "inline_container" not in message or "enforce" in message  # torch's text only as the reason


@pytest.mark.parametrize("where, error, message", [
    ("{tmp}", IsADirectoryError, "is a folder; give a file name such as"),
    ("{tmp}/no/such/m.pt", FileNotFoundError, "the folder {tmp}/no/such does not exist"),
    ("{tmp}/a_file/m.pt", NotADirectoryError, "the folder {tmp}/a_file is a file"),
])
def test_save_to_a_bad_place_is_an_os_error_naming_it(tmp_path, where, error, message):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(error, match=message.format(tmp=tmp_path)) as err:
        CLF.save(where.format(tmp=tmp_path))
    assert isinstance(err.value, OSError)
    assert _folder(tmp_path) == ["a_file"]


def test_save_into_an_unwritable_folder_is_an_os_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("rnnlib.model.tempfile.mkstemp", refuse)  # as root, chmod cannot refuse us
    with pytest.raises(PermissionError, match=f"cannot save the model to {tmp_path}/m.pt: cannot write in"):
        CLF.save(tmp_path / "m.pt")


def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "m.pt"
    CLF.save(target)
    target.chmod(0o640)
    CLF.save(target)
    assert target.stat().st_mode & 0o777 == 0o640


# Finding 3 and 4: non-finite scores or weights never become an answer.
def overflowing_relu():
    clf = Classifier(VOCAB, Labels(["English", "French", "German"]), nhidden=6, nonlinearity="relu", seed=0)
    with torch.no_grad():
        clf.rnn.W.fill_(1.0)
        clf.rnn.U.fill_(1.0)
    return clf


def test_non_finite_scores_are_an_error_not_class_0():
    clf = overflowing_relu()
    long_word = "katze" * 2000
    with pytest.raises(ValueError, match=r"the scores of 'katzekatze.*\.\.\.' \(10000 characters\) are not "
                                         r"finite: h overflowed in this relu RNN; use shorter words or a tanh"):
        clf.predict(["cat", long_word])
    assert clf.predict(["cat"])  # a short word still works


def test_evaluate_counts_non_finite_scores_as_wrong():
    clf = overflowing_relu()
    long_word = "katze" * 2000
    label = clf.labels.classes[0]  # what argmax over nan names
    loss, accuracy = evaluate(clf, [long_word], [label])
    assert accuracy == 0.0 and not math.isfinite(loss)


def test_tanh_is_the_default_and_stays_finite_on_long_words():
    clf = Classifier(VOCAB, Labels(["a", "b"]), nhidden=6)
    assert clf.rnn.nonlinearity == "tanh"
    with torch.no_grad():
        clf.rnn.W.fill_(1.0)
        clf.rnn.U.fill_(1.0)
    assert torch.isfinite(clf.predict_proba(["katze" * 2000])).all()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_model_file_with_non_finite_weights_is_refused(tmp_path, value):
    path = tmp_path / "m.pt"
    CLF.save(path)
    blob = torch.load(path, weights_only=True)
    blob["state"]["U"][0, 0] = value
    torch.save(blob, path)
    with pytest.raises(ValueError, match=r"damaged rnnlib model file: the file has weights that are not "
                                         r"finite \(nan or inf\) in U"):
        Classifier.load(path)


def test_a_model_with_non_finite_weights_is_not_saved(tmp_path):
    clf = Classifier(VOCAB, Labels(["a", "b"]), nhidden=4)
    with torch.no_grad():
        clf.rnn.V[0, 0] = float("nan")
    with pytest.raises(ValueError, match="not finite .* in V"):
        clf.save(tmp_path / "m.pt")
    assert _folder(tmp_path) == []


# Finding 10 and 13: a damaged state dict is refused with the whole reason, before allocating.
@pytest.mark.parametrize("change, message", [
    (lambda b: b["state"].pop("V"), "missing V"),
    (lambda b: b["state"].update(extra=torch.zeros(2)), "unexpected extra"),
    (lambda b: b["state"].update(W=torch.zeros(3, 3)), r"W has shape \(3, 3\), expected \(6, 6\)"),
    (lambda b: b["state"].update(b=torch.zeros(6, 1, dtype=torch.long)), "b is not a tensor of floats"),
    (lambda b: b["config"].update(nhidden=-4), "nhidden must be a positive integer"),
    (lambda b: b["config"].update(nonlinearity="sigmoid"), "nonlinearity='sigmoid'; allowed: tanh, relu"),
    (lambda b: b.update(chars=["ab"]), "single characters"),
    (lambda b: b.pop("classes"), "it lacks classes"),
])
def test_a_damaged_model_file_says_what_is_wrong(tmp_path, change, message):
    path = tmp_path / "m.pt"
    CLF.save(path)
    blob = torch.load(path, weights_only=True)
    change(blob)
    torch.save(blob, path)
    with pytest.raises(ValueError, match=f"{path} is a damaged rnnlib model file: .*{message}") as err:
        Classifier.load(path)
    assert "\n" not in str(err.value)


def test_a_small_file_claiming_a_huge_model_is_refused_before_building_it(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    CLF.save(path)
    blob = torch.load(path, weights_only=True)
    blob["config"]["nhidden"] = 12000
    torch.save(blob, path)
    assert path.stat().st_size < 10_000
    built = []
    monkeypatch.setattr("rnnlib.model.RNN.__init__", lambda self, *a, **k: built.append(a))
    with pytest.raises(ValueError, match=r"W has shape \(6, 6\), expected \(12000, 12000\)"):
        Classifier.load(path)
    assert built == []


def test_a_folder_given_as_a_model_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder, not a model file"):
        Classifier.load(tmp_path)


# Finding 5: what a word is, the same in training and prediction.
@pytest.mark.parametrize("word", ["   ", "\t\n", " "])
def test_a_blank_word_is_refused_even_when_the_vocabulary_has_a_space(word):
    spaced = Classifier(Vocab.from_words(["de la cruz", "nguyen"]), Labels(["a", "b"]), nhidden=4)
    assert " " in spaced.vocab
    with pytest.raises(ValueError, match="empty word: a word needs at least one character other than spaces"):
        spaced.predict([word])
    with pytest.raises(ValueError, match="X_train\\[1\\]: empty word"):
        fit(spaced, ["nguyen", word], ["a", "b"], progress=False)


def test_leading_and_trailing_spaces_are_not_part_of_a_word_inner_ones_are():
    spaced = Classifier(Vocab.from_words(["de la cruz", "nguyen"]), Labels(["a", "b"]), nhidden=4)
    torch.testing.assert_close(spaced.predict_proba(["  De la Cruz "]), spaced.predict_proba(["de la cruz"]))
    with pytest.raises(ValueError, match=r"' ' separates words: give the parts one at a time"):
        CLF.predict(["new york"])  # no space in this vocabulary
    assert Vocab.from_words([" cat ", "dog"]) == Vocab.from_words(["cat", "dog"])


# Finding 6 and 7: every argument of fit and evaluate is checked before any work.
def weights(clf):
    return [p.detach().clone() for p in clf.rnn.parameters()]


@pytest.mark.parametrize("kwargs, message", [
    (dict(clip=-1.0), "clip must be a finite number above 0, got -1.0"),
    (dict(clip=0), "clip must be a finite number above 0, got 0"),
    (dict(clip=float("nan")), "clip must be a finite number above 0, got nan"),
    (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
    (dict(epochs=2.5), "epochs must be a positive integer, got 2.5"),
    (dict(lr=-0.1), "lr must be a finite number above 0"),
    (dict(lr_schedule="cosine"), "lr_schedule='cosine'; allowed: constant, linear"),
    (dict(seed=10**23), "seed must be a whole number from 0 to 2\\*\\*64 - 1"),
    (dict(seed=-1), "seed must be a whole number from 0 to 2\\*\\*64 - 1"),
    (dict(X_valid=["cat", "xylophon"], y_valid=["English", "German"]), r"X_valid\[1\]: 'xylophon' has characters"),
    (dict(X_valid=["cat"], y_valid=["Dutch"]), r"y_valid: unknown labels \['Dutch'\]"),
    (dict(X_valid=[], y_valid=[]), "X_valid is empty"),
    (dict(X_valid=["cat"], y_valid=["English", "French"]), "X_valid has 1 records but y_valid has 2"),
])
def test_fit_refuses_a_bad_argument_before_changing_any_weight(kwargs, message):
    clf = small_classifier()
    before = weights(clf)
    with pytest.raises(ValueError, match=message):
        fit(clf, TRAIN_X, TRAIN_Y, progress=False, **{"epochs": 1, **kwargs})
    assert all(torch.equal(p, q) for p, q in zip(before, weights(clf)))


def test_fit_refuses_what_is_not_a_classifier():
    with pytest.raises(TypeError, match="expected a Classifier, got RNN"):
        fit(small_classifier().rnn, TRAIN_X, TRAIN_Y, progress=False)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True])
def test_evaluate_refuses_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {batch_size!r}"):
        evaluate(small_classifier(), TRAIN_X, TRAIN_Y, batch_size=batch_size)


def test_evaluate_refuses_bad_data_by_position():
    with pytest.raises(ValueError, match=r"X\[2\]: 'q' has characters outside the vocabulary"):
        evaluate(small_classifier(), ["cat", "dog", "q"], TRAIN_Y[:3])
    with pytest.raises(ValueError, match="X is empty"):
        evaluate(small_classifier(), [], [])


# Finding 8: a character that case-folds into two.
@pytest.mark.parametrize("c, folded", [("ß", "ss"), ("ﬁ", "fi"), ("İ", "i̇")])
def test_onehot_of_a_character_that_folds_into_two(c, folded):
    vocab = Vocab("fis\u0307")
    with pytest.raises(ValueError, match=f"onehot takes one character, but {c!r} normalises to "
                                         f"{folded!r} \\(2 characters\\): use onehot_word"):
        vocab.onehot(c)
    assert vocab.onehot_word(c).shape == (2, 4, 1)


def test_onehot_of_a_space_in_a_vocabulary_with_a_space():
    vocab = Vocab("ab ")
    assert vocab.onehot(" ").flatten().tolist() == [0.0, 0.0, 1.0]


# One copy of each check: the model, the data, training and the command line say the same.
def test_the_library_refuses_a_seed_torch_cannot_take():
    with pytest.raises(ValueError, match="seed must be a whole number from 0 to 2\\*\\*64 - 1, got 10"):
        Classifier(VOCAB, Labels(["a", "b"]), seed=10**23)
