"""The animation shows the true numbers of the recurrence, and its widgets are wired for a kernel-less page.

rnnlib.steps (the numbers), rnnlib.cells and rnnlib.pictures (the drawings), rnnlib.player (the widgets).
"""
from ipywidgets.widgets.widget_link import Link
import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnlib.cells import FramePainter, render_frames  # noqa: E402
from rnnlib.pictures import plot_unrolled, plot_unrolled_scalar, render_scalar_frames  # noqa: E402
from rnnlib.player import matrix_player, scalar_player  # noqa: E402
from rnnlib.steps import unroll, unroll_scalar  # noqa: E402
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
    steps = unroll(word, VOCAB, W, U, b, nonlinearity)
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
    steps = unroll("katze", VOCAB, W.numpy().astype(np.float64), U.numpy())
    expected = direct_recurrence("katze", W, U, torch.zeros(3, 1), torch.tanh)
    torch.testing.assert_close(steps[-1].h, expected[-1])


def test_unroll_normalises_the_word():
    W, U, b = random_parameters()
    assert [s.char for s in unroll("KATZE", VOCAB, W, U, b)] == list("katze")


def test_scalar_sums():
    sums = {"cat": 1 + 0 + 5, "chat": 1 + 3 + 0 + 5, "katze": 4 + 0 + 5 + 6 + 2}
    assert sums == {"cat": 6, "chat": 9, "katze": 17}
    for word, total in sums.items():
        steps = unroll_scalar(word, VOCAB, weight=1)
        assert steps[-1].h.item() == total
        assert [s.Ux.item() for s in steps] == [VOCAB.index[c] for c in word]  # U @ x_t: the index


def test_scalar_weighted_sums():
    for word in ["cat", "chat", "katze"]:
        steps = unroll_scalar(word, VOCAB, weight=2)
        n = len(word)
        closed_form = sum(2 ** (n - t) * VOCAB.index[c] for t, c in enumerate(word, start=1))
        assert steps[-1].h.item() == closed_form
        for step in steps:
            assert step.h.item() == 2 * step.h_prev.item() + step.Ux.item()
    assert unroll_scalar("cat", VOCAB, weight=2)[-1].h.item() == (1 * 2 + 0) * 2 + 5


def test_player_labels_match_the_steps():
    W, U, b = random_parameters(nhidden=4)
    player = matrix_player("katze", VOCAB, W, U, b)
    steps = unroll("katze", VOCAB, W, U, b)
    assert len(player.stack.children) == len(steps)
    for frame, step in zip(player.stack.children, steps):
        label, image = frame.children
        assert "rnn-frame-label" in label._dom_classes
        h = ", ".join(f"{v:.2f}" for v in step.h.flatten().tolist())
        assert label.value == f"t = {step.t} · x_t = '{step.char}' · h_t = [{h}]"
        assert bytes(image.value).startswith(PNG_SIGNATURE)


def test_scalar_player_labels():
    player = scalar_player("cat", VOCAB, weight=2)
    labels = [frame.children[0].value for frame in player.stack.children]
    assert labels == ["t = 1 · x_t = 'c' (1) · h = 1", "t = 2 · x_t = 'a' (0) · h = 2", "t = 3 · x_t = 't' (5) · h = 9"]


def test_player_is_linked_in_the_browser():
    W, U, b = random_parameters()
    player = matrix_player("cat", VOCAB, W, U, b)
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
    player = matrix_player("cat", VOCAB, W, U, b)
    player.word_box.value = "katze"
    assert len(player.stack.children) == 5 and player.slider.max == 4 and player.play.max == 4
    assert player.stack.children[4].children[0].value.startswith("t = 5 · x_t = 'e'")
    player.word_box.value = "dog"  # no such characters: a message, the old frames stay
    assert "outside the vocabulary" in player.message.value
    assert len(player.stack.children) == 5
    player.word_box.value = "chat"
    assert player.message.value == "" and len(player.stack.children) == 4


def test_a_new_word_stops_the_play_and_starts_at_its_first_frame():
    W, U, b = random_parameters()
    player = matrix_player("katze", VOCAB, W, U, b)
    player.play.playing, player.play.value, player.slider.value = True, 4, 4   # played to the end, still running
    player.word_box.value = "chat"
    assert not player.play.playing
    assert player.play.value == player.slider.value == player.stack.selected_index == 0


@pytest.mark.parametrize("W_shape, U_shape, b_shape, expected", [
    ((3, 4), (3, 7), (3, 1), "nhidden x nhidden"),
    ((3, 3), (3, 6), (3, 1), "3 x 7"),
    ((3, 3), (4, 7), (3, 1), "3 x 7"),
    ((3, 3), (3, 7), (1, 3), "3 x 1"),
    ((3, 3), (3, 7), (3,), "3 x 1"),
])
def test_bad_shapes_name_the_expected_shape(W_shape, U_shape, b_shape, expected):
    W, U, b = torch.zeros(W_shape), torch.zeros(U_shape), torch.zeros(b_shape)
    for call in (unroll, matrix_player, plot_unrolled):
        with pytest.raises(ValueError, match=expected):
            call("cat", VOCAB, W, U, b)


def test_bad_arguments_get_one_line_errors():
    W, U, b = random_parameters()
    with pytest.raises(TypeError, match="W must be a torch tensor or a numpy array"):
        unroll("cat", VOCAB, [[1.0]], U, b)
    with pytest.raises(ValueError, match="nonlinearity"):
        unroll("cat", VOCAB, W, U, b, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        unroll("dog", VOCAB, W, U, b)
    with pytest.raises(TypeError, match="weight must be a number"):
        unroll_scalar("cat", VOCAB, weight="2")


def test_frames_and_pictures_render():
    W, U, b = random_parameters(nhidden=4)
    step = unroll("katze", VOCAB, W, U, b)[1]
    assert render_frames([step], VOCAB, W, U, b)[0].startswith(PNG_SIGNATURE)
    scalar_step = unroll_scalar("katze", VOCAB, 2)[1]
    assert render_scalar_frames([scalar_step], VOCAB, 2)[0].startswith(PNG_SIGNATURE)
    for fig in (plot_unrolled("katze", VOCAB, W, U, b, nonlinearity="relu"),
                plot_unrolled_scalar("katze", VOCAB, 2)):
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)


def test_large_matrices_render_without_writing_every_value():
    W, U = torch.randn(40, 40), torch.randn(40, len(VOCAB))
    painter = FramePainter("cat", VOCAB, W, U)
    assert painter.W.fontsize is None  # cells too small to hold a number
    assert painter.png(unroll("cat", VOCAB, W, U)[0]).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("weight", [1, 2, 0.5])
def test_the_scalar_loop_is_the_matrix_loop_with_1x1_matrices(weight):
    W, U = torch.tensor([[float(weight)]]), torch.arange(len(VOCAB), dtype=torch.float32).reshape(1, -1)
    for word in ["cat", "chat", "katze"]:
        scalar = unroll_scalar(word, VOCAB, weight)
        matrix = unroll(word, VOCAB, W, U, nonlinearity=None)
        assert [s.h.item() for s in scalar] == [s.h.item() for s in matrix]
        assert all(isinstance(s.h.item(), int) == isinstance(weight, int) for s in scalar)


def test_scalar_loop_stays_exact_for_long_words():
    word = "z" * 30  # 6 * (2**30 - 1): more digits than float32 holds
    assert unroll_scalar(word, VOCAB, weight=2)[-1].h.item() == 6 * (2 ** 30 - 1)


def test_scalar_player_labels_with_a_fractional_weight():
    labels = [frame.children[0].value for frame in scalar_player("cat", VOCAB, weight=0.5).stack.children]
    assert labels == ["t = 1 · x_t = 'c' (1) · h = 1.00", "t = 2 · x_t = 'a' (0) · h = 0.50",
                      "t = 3 · x_t = 't' (5) · h = 5.25"]
