"""The animation shows the true numbers of the recurrence, and its widgets are wired for a kernel-less page."""
from ipywidgets.widgets.widget_link import Link
import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnlib import anim  # noqa: E402
from rnnlib.vocab import Vocab  # noqa: E402

VOCAB = Vocab("acehktz")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def random_parameters(nhidden: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(nhidden, nhidden, generator=gen)
    U = torch.randn(nhidden, len(VOCAB), generator=gen)
    b = torch.randn(nhidden, 1, generator=gen)
    return W, U, b


def direct_recurrence(word, W, U, b, f):
    """Every h_t, straight from the definition h_t = f(W @ h_{t-1} + U @ x_t + b)."""
    h, hs = torch.zeros(W.shape[0], 1), []
    for c in word:
        x = torch.zeros(len(VOCAB), 1)
        x[VOCAB.index[c]] = 1
        h = f(W @ h + U @ x + b)
        hs.append(h)
    return hs


@pytest.mark.parametrize("nonlinearity, f", [("tanh", torch.tanh), ("relu", torch.relu), (None, lambda z: z)])
@pytest.mark.parametrize("word", ["cat", "chat", "katze"])
def test_unroll_is_the_recurrence(word, nonlinearity, f):
    W, U, b = random_parameters(seed=len(word))
    steps = anim.unroll(word, VOCAB, W, U, b, nonlinearity)
    expected = direct_recurrence(word, W, U, b, f)
    assert [s.t for s in steps] == list(range(1, len(word) + 1))
    assert "".join(s.char for s in steps) == word
    h_prev = torch.zeros(3, 1)
    for step, h in zip(steps, expected):
        torch.testing.assert_close(step.x, VOCAB.onehot(step.char))
        torch.testing.assert_close(step.h_prev, h_prev)
        torch.testing.assert_close(step.Wh, W @ h_prev)
        torch.testing.assert_close(step.Ux, U[:, VOCAB.index[step.char]].reshape(-1, 1))
        torch.testing.assert_close(step.z, step.Wh + step.Ux + b)
        torch.testing.assert_close(step.h, h)
        h_prev = h


def test_unroll_accepts_numpy_and_no_bias():
    W, U, _ = random_parameters()
    steps = anim.unroll("katze", VOCAB, W.numpy().astype(np.float64), U.numpy())
    expected = direct_recurrence("katze", W, U, torch.zeros(3, 1), torch.tanh)
    torch.testing.assert_close(steps[-1].h, expected[-1])


def test_unroll_normalises_the_word():
    W, U, b = random_parameters()
    assert [s.char for s in anim.unroll("KATZE", VOCAB, W, U, b)] == list("katze")


def test_scalar_sums():
    sums = {"cat": 1 + 0 + 5, "chat": 1 + 3 + 0 + 5, "katze": 4 + 0 + 5 + 6 + 2}
    assert sums == {"cat": 6, "chat": 9, "katze": 17}
    for word, total in sums.items():
        steps = anim.unroll_scalar(word, VOCAB, weight=1)
        assert steps[-1].h == total
        assert [s.x for s in steps] == [VOCAB.index[c] for c in word]


def test_scalar_weighted_sums():
    for word in ["cat", "chat", "katze"]:
        steps = anim.unroll_scalar(word, VOCAB, weight=2)
        n = len(word)
        closed_form = sum(2 ** (n - t) * VOCAB.index[c] for t, c in enumerate(word, start=1))
        assert steps[-1].h == closed_form
        for step in steps:
            assert step.h == 2 * step.h_prev + step.x
    assert anim.unroll_scalar("cat", VOCAB, weight=2)[-1].h == (1 * 2 + 0) * 2 + 5


def test_player_labels_match_the_steps():
    W, U, b = random_parameters(nhidden=4)
    player = anim.player("katze", VOCAB, W, U, b)
    steps = anim.unroll("katze", VOCAB, W, U, b)
    assert len(player.stack.children) == len(steps)
    for frame, step in zip(player.stack.children, steps):
        label, image = frame.children
        assert "rnn-frame-label" in label._dom_classes
        h = ", ".join(f"{v:.2f}" for v in step.h.flatten().tolist())
        assert label.value == f"t = {step.t} · x_t = '{step.char}' · h_t = [{h}]"
        assert bytes(image.value).startswith(PNG_SIGNATURE)


def test_scalar_player_labels():
    player = anim.scalar_player("cat", VOCAB, weight=2)
    labels = [frame.children[0].value for frame in player.stack.children]
    assert labels == ["t = 1 · x_t = 'c' (1) · h = 1", "t = 2 · x_t = 'a' (0) · h = 2", "t = 3 · x_t = 't' (5) · h = 9"]


def test_player_is_linked_in_the_browser():
    W, U, b = random_parameters()
    player = anim.player("cat", VOCAB, W, U, b)
    links = [w for w in player.links if isinstance(w, Link)]
    pairs = {(link.source[0], link.source[1], link.target[0], link.target[1]) for link in links}
    assert (player.play, "value", player.stack, "selected_index") in pairs
    assert (player.slider, "value", player.stack, "selected_index") in pairs
    for control in (player.play, player.slider):
        assert (control.min, control.max) == (0, 2)
    assert player.slider.description == "t"
    assert player.word_box.description == "word" and "rnn-word-box" in player.word_box._dom_classes
    assert player.play.interval == 800


def test_word_box_renders_a_new_word_and_reports_a_bad_one():
    W, U, b = random_parameters()
    player = anim.player("cat", VOCAB, W, U, b)
    player.word_box.value = "katze"
    assert len(player.stack.children) == 5 and player.slider.max == 4 and player.play.max == 4
    assert player.stack.children[4].children[0].value.startswith("t = 5 · x_t = 'e'")
    player.word_box.value = "dog"  # no such characters: a message, the old frames stay
    assert "outside the vocabulary" in player.message.value
    assert len(player.stack.children) == 5
    player.word_box.value = "chat"
    assert player.message.value == "" and len(player.stack.children) == 4


@pytest.mark.parametrize("W_shape, U_shape, b_shape, expected", [
    ((3, 4), (3, 7), (3, 1), "nhidden x nhidden"),
    ((3, 3), (3, 6), (3, 1), "3 x 7"),
    ((3, 3), (4, 7), (3, 1), "3 x 7"),
    ((3, 3), (3, 7), (1, 3), "3 x 1"),
    ((3, 3), (3, 7), (3,), "3 x 1"),
])
def test_bad_shapes_name_the_expected_shape(W_shape, U_shape, b_shape, expected):
    W, U, b = torch.zeros(W_shape), torch.zeros(U_shape), torch.zeros(b_shape)
    for call in (anim.unroll, anim.player, anim.plot_unrolled):
        with pytest.raises(ValueError, match=expected):
            call("cat", VOCAB, W, U, b)


def test_bad_arguments_get_one_line_errors():
    W, U, b = random_parameters()
    with pytest.raises(TypeError, match="W must be a torch tensor or a numpy array"):
        anim.unroll("cat", VOCAB, [[1.0]], U, b)
    with pytest.raises(ValueError, match="nonlinearity"):
        anim.unroll("cat", VOCAB, W, U, b, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        anim.unroll("dog", VOCAB, W, U, b)
    with pytest.raises(TypeError, match="weight must be a number"):
        anim.unroll_scalar("cat", VOCAB, weight="2")


def test_frames_and_pictures_render():
    W, U, b = random_parameters(nhidden=4)
    step = anim.unroll("katze", VOCAB, W, U, b)[1]
    assert anim.render_frame(step, VOCAB, W, U, b).startswith(PNG_SIGNATURE)
    scalar_step = anim.unroll_scalar("katze", VOCAB, 2)[1]
    assert anim.render_scalar_frame(scalar_step, VOCAB).startswith(PNG_SIGNATURE)
    for fig in (anim.plot_unrolled("katze", VOCAB, W, U, b, nonlinearity="relu"),
                anim.plot_unrolled_scalar("katze", VOCAB, 2)):
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)


def test_large_matrices_render_without_writing_every_value():
    W, U = torch.randn(40, 40), torch.randn(40, len(VOCAB))
    painter = anim.FramePainter("cat", VOCAB, W, U)
    assert painter.W.fontsize is None  # cells too small to hold a number
    assert painter.png(anim.unroll("cat", VOCAB, W, U)[0]).startswith(PNG_SIGNATURE)
