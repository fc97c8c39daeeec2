import pytest
import torch

from rnnlib.model import RNN, Classifier
from rnnlib.vocab import Labels, Vocab

VOCAB = Vocab("acehktz")
LABELS = Labels(["English", "French", "German"])


def recurrence(rnn: RNN, word: str) -> torch.Tensor:
    """h_T computed straight from the definition, one character at a time."""
    h = torch.zeros(rnn.nhidden, 1)
    for c in word:
        h = torch.tanh(rnn.W @ h + rnn.U @ VOCAB.onehot(c) + rnn.b)
    return h


def test_hidden_is_the_recurrence():
    rnn = RNN(len(VOCAB), 5, 3, seed=1)
    with torch.no_grad():
        rnn.b.normal_()
        for word in ["cat", "chat", "katze"]:
            torch.testing.assert_close(rnn.hidden(VOCAB.onehot_word(word)), recurrence(rnn, word))


def test_left_padding_does_not_change_h_even_with_a_bias():
    rnn = RNN(len(VOCAB), 6, 3, seed=2)
    with torch.no_grad():
        rnn.b.fill_(0.5)  # a zero column would move h to tanh(b) without the mask
        words = ["cat", "chat", "katze", "a"]
        H = rnn.hidden(VOCAB.onehot_batch(words))
        for b, word in enumerate(words):
            torch.testing.assert_close(H[:, b:b + 1], rnn.hidden(VOCAB.onehot_word(word)))


def test_output_depends_on_earlier_characters():
    """A published RNN once trained for a month while ignoring all but the last input."""
    rnn = RNN(len(VOCAB), 8, 3, seed=3)
    with torch.no_grad():
        same_end = rnn(VOCAB.onehot_batch(["cat", "hat", "tat", "zkat"]))
    for i in range(1, 4):
        assert not torch.allclose(same_end[0], same_end[i], atol=1e-4)
    # and gradients reach U through the first character
    rnn.zero_grad()
    rnn(VOCAB.onehot_word("katze")).sum().backward()
    assert rnn.U.grad[:, VOCAB.index["k"]].abs().sum() > 0


def test_order_matters_unlike_the_bag_of_characters():
    rnn = RNN(len(VOCAB), 8, 3, seed=4)
    with torch.no_grad():
        cat, act = rnn(VOCAB.onehot_batch(["cat", "act"]))
    assert not torch.allclose(cat, act, atol=1e-4)


def test_same_seed_same_weights_and_relu():
    a, b = RNN(7, 4, 3, seed=5), RNN(7, 4, 3, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    relu = RNN(7, 4, 3, nonlinearity="relu", seed=5)
    assert (relu.hidden(VOCAB.onehot_word("katze")) >= 0).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(nvocab=0, nhidden=4, nclasses=3), "nvocab must be a positive integer"),
    (dict(nvocab=7, nhidden=-1, nclasses=3), "nhidden must be a positive integer"),
    (dict(nvocab=7, nhidden=4, nclasses=1), "nclasses must be an integer of at least 2"),
    (dict(nvocab=7, nhidden=4.5, nclasses=3), "nhidden must be a positive integer"),
    (dict(nvocab=7, nhidden=4, nclasses=3, nonlinearity="sigmoid"), "allowed: tanh, relu"),
])
def test_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RNN(**kwargs)


@pytest.mark.parametrize("X, message", [
    (torch.zeros(3, 6, 1), r"expected one-hot input of shape \(steps, nvocab=7, batch\), got \(3, 6, 1\)"),
    (torch.zeros(3, 7), r"got \(3, 7\)"),
    (torch.zeros(0, 7, 1), r"got \(0, 7, 1\)"),
    (torch.zeros(3, 7, 1, dtype=torch.long), "floating-point"),
    ([[1.0]], "expected a one-hot tensor, got list"),
])
def test_bad_input_shapes(X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        RNN(7, 4, 3)(X)


def test_classifier_mismatch_between_rnn_and_vocabulary():
    with pytest.raises(ValueError, match="expects 5 characters and 3 classes, but the vocabulary has 7"):
        Classifier(VOCAB, LABELS, rnn=RNN(5, 4, 3))


def test_predict_proba_rows_sum_to_one():
    clf = Classifier(VOCAB, LABELS, nhidden=4)
    p = clf.predict_proba(["cat", "chat", "katze"])
    assert p.shape == (3, 3)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(3))
    assert clf.predict("Katze")[0] in LABELS.classes  # normalised like training words


def test_save_load_round_trip(tmp_path):
    clf = Classifier(VOCAB, LABELS, nhidden=4, nonlinearity="relu", seed=9)
    clf.save(tmp_path / "m.pt")
    back = Classifier.load(tmp_path / "m.pt")
    assert back.vocab == VOCAB and back.labels.classes == LABELS.classes
    assert back.rnn.nonlinearity == "relu"
    torch.testing.assert_close(back.predict_proba(["katze", "cat"]), clf.predict_proba(["katze", "cat"]))


def test_load_refuses_foreign_truncated_and_future_files(tmp_path):
    clf = Classifier(VOCAB, LABELS, nhidden=4)
    good = tmp_path / "m.pt"
    clf.save(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    future = tmp_path / "future.pt"
    blob = torch.load(good, weights_only=True)
    torch.save({**blob, "version": 99}, future)
    damaged = tmp_path / "damaged.pt"
    torch.save({**blob, "state": {}}, damaged)
    for path, message in [(truncated, "not a readable rnnlib model file"),
                          (text, "not a readable rnnlib model file"),
                          (foreign, "is not an rnnlib model file"),
                          (future, "format version 99; this rnnlib reads version 1"),
                          (damaged, "damaged rnnlib model file")]:
        with pytest.raises(ValueError, match=message) as err:
            Classifier.load(path)
        assert "\n" not in str(err.value)
    with pytest.raises(FileNotFoundError, match="no model file at"):
        Classifier.load(tmp_path / "missing.pt")


def test_load_never_executes_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('pwned')" % str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pt"
    torch.save({"format": "rnnlib-model", "version": 1, "payload": Evil()}, path)
    with pytest.raises(ValueError, match="not a readable rnnlib model file"):
        Classifier.load(path)
    assert not (tmp_path / "pwned").exists()


def test_from_data_builds_vocabulary_and_sorted_classes():
    clf = Classifier.from_data(["Katze", "chat", " cat"], ["German", "French", "English"], nhidden=4)
    assert clf.vocab.chars == list("acehktz")
    assert clf.labels.classes == ["English", "French", "German"]
    assert clf.rnn.nonlinearity == "tanh"


def test_shapes_are_those_of_the_parameters():
    rnn = RNN(7, 4, 3)
    assert RNN.shapes(7, 4, 3) == {k: tuple(v.shape) for k, v in rnn.state_dict().items()}


def test_save_writes_in_place_no_temporary_left(tmp_path):
    clf = Classifier(VOCAB, LABELS, nhidden=4)
    clf.save(tmp_path / "m.pt")
    clf.save(tmp_path / "m.pt")  # over an existing file
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
