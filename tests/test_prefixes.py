"""rnnlib.prefixes: h at every step, softmax(V@h_t) per prefix, its frames and player (notebook 12)."""
import io

import PIL.Image
import pytest
import torch

from rnnlib.model import Classifier
from rnnlib.prefixes import (PredictionPainter, hidden_steps, prediction_frames, prediction_label,
                             prediction_player, prefix_probabilities)
from rnnlib.vocab import Labels, Vocab

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def classifier(nhidden=4, nclasses=3, nonlinearity="tanh"):
    clf = Classifier(Vocab("acehktz"), Labels([f"class{i}" for i in range(nclasses)]), nhidden=nhidden,
                     nonlinearity=nonlinearity, seed=1)
    with torch.no_grad():
        clf.rnn.b.copy_(torch.linspace(-0.5, 0.5, nhidden).reshape(-1, 1))  # padding must not matter
        clf.rnn.V.mul_(4)
    return clf


def by_hand(clf, word):
    """h_1 ... h_T from the definition, one character at a time."""
    rnn, f = clf.rnn, {"tanh": torch.tanh, "relu": torch.relu}[clf.rnn.nonlinearity]
    h, columns = torch.zeros(rnn.nhidden, 1), []
    for c in word:
        h = f(rnn.W @ h + rnn.U @ clf.vocab.onehot(c) + rnn.b)
        columns.append(h)
    return torch.cat(columns, dim=1).detach()


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_hidden_steps_are_the_recurrence_for_every_word_of_a_batch(nonlinearity):
    clf = classifier(nonlinearity=nonlinearity)
    words = ["cat", "katze", "a"]
    steps = hidden_steps(clf, words)
    for word, H in zip(words, steps):
        assert H.shape == (4, len(word))
        torch.testing.assert_close(H, by_hand(clf, word))
        torch.testing.assert_close(H[:, -1:], clf.rnn.hidden(clf.encode([word])).detach())
    torch.testing.assert_close(hidden_steps(clf, "katze")[0], steps[1])


def test_prefix_probabilities_are_the_predictions_of_the_prefixes():
    clf = classifier()
    (P,) = prefix_probabilities(clf, ["katze"])
    assert P.shape == (5, 3)
    torch.testing.assert_close(P.sum(dim=1), torch.ones(5))
    prefixes = ["k", "ka", "kat", "katz", "katze"]
    torch.testing.assert_close(P, clf.predict_proba(prefixes))


def test_prediction_label():
    assert prediction_label("katze", 3, [0.2, 0.091, 0.709], ["English", "French", "German"]) == \
        "t = 3 · prefix 'kat' · English 0.20 · French 0.09 · German 0.71"


def png_size(data):
    assert data.startswith(PNG_SIGNATURE)
    return PIL.Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("nhidden, nclasses", [(4, 3), (64, 3), (128, 18)])
def test_painter_draws_one_frame_per_step(nhidden, nclasses):
    clf = classifier(nhidden=nhidden, nclasses=nclasses)
    painter = PredictionPainter(clf, "Katze")       # normalised, as the model sees it
    assert painter.word == "katze"
    frames = [painter.png(t) for t in range(1, 6)]
    assert len({png_size(f) for f in frames}) == 1
    assert len(set(frames)) == 5                      # every step looks different
    torch.testing.assert_close(painter.P, prefix_probabilities(clf, ["katze"])[0])
    assert painter.label(2).startswith("t = 2 · prefix 'ka' · class0 ")
    for t in (0, 6):
        with pytest.raises(ValueError, match="between 1 and 5"):
            painter.png(t)


def test_painter_redraws_the_same_frame_the_same_way():
    painter = PredictionPainter(classifier(), "chat")
    first = painter.png(2)
    painter.png(4)
    assert painter.png(2) == first


def test_prediction_player_frames_and_word_box():
    clf = classifier()
    player = prediction_player(clf, "katze")
    labels = [frame.children[0].value for frame in player.stack.children]
    P = prefix_probabilities(clf, ["katze"])[0]
    assert labels == [prediction_label("katze", t, P[t - 1].tolist(), clf.labels.classes) for t in range(1, 6)]
    assert player.slider.max == 4 and player.play.max == 4
    player.word_box.value = "dog"                   # no such characters: a message, the old frames stay
    assert "outside the vocabulary" in player.message.value and len(player.stack.children) == 5
    player.word_box.value = "chat"
    assert player.message.value == "" and len(player.stack.children) == 4 and player.slider.max == 3
    assert len(prediction_frames(clf, "cat")) == 3
