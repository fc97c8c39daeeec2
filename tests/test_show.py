"""rnnlib.show: the players' frames show the numbers of the one forward and the one backward pass,
their widgets work with no kernel, and the pictures draw (checked against loops written out here)."""
import html
import io
import re

import matplotlib
import numpy as np
import PIL.Image
import pytest
import torch
import torch.nn.functional as F
from ipywidgets.widgets.widget_link import Link

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnlib.bptt import backward  # noqa: E402
from rnnlib.lm import LanguageModel  # noqa: E402
from rnnlib.model import Classifier  # noqa: E402
from rnnlib.rnn import CELLS, forward  # noqa: E402
from rnnlib.show import frames as show_frames  # noqa: E402
from rnnlib.show.draw import Cells, png  # noqa: E402
from rnnlib.show.frames import backward_player, matrix_player, scalar_player  # noqa: E402
from rnnlib.show.heatmaps import gate_player, prediction_player, sampling_player  # noqa: E402
from rnnlib.show.pictures import backward_steps, plot_backward, plot_unrolled, scalar_matrices  # noqa: E402
from rnnlib.text import Labels, Vocab  # noqa: E402

VOCAB = Vocab("acehktz")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
F_OF = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def matrices(nhidden=3, seed=0, nclasses=3):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1
            for shape in ((nhidden, nhidden), (nhidden, len(VOCAB)), (nhidden, 1), (nclasses, nhidden))]


def hand_loop(word, W, U, b, f):
    """h_0 .. h_T straight from h_t = f(W @ h_{t-1} + U @ x_t + b), x_t one-hot."""
    hs = [torch.zeros(W.shape[0], 1, dtype=W.dtype)]
    for c in word:
        x = torch.zeros(len(VOCAB), 1, dtype=W.dtype)
        x[VOCAB.index[c]] = 1
        hs.append(f(W @ hs[-1] + U @ x + b))
    return hs


def labels(player):
    return [html.unescape(f.children[0].value) for f in player.stack.children]


# ---------------------------------------------------------------- the forward players (notebooks 2, 3, 5)

@pytest.fixture
def painters(monkeypatch):
    """Every StepPainter made, with the arguments it was made with."""
    made, original = [], show_frames.StepPainter

    class Recording(original):
        def __init__(self, *args):
            made.append((self, args))
            super().__init__(*args)
    monkeypatch.setattr(show_frames, "StepPainter", Recording)
    return made


@pytest.mark.parametrize("cell", ["tanh", "relu", "identity"])
def test_matrix_frames_show_the_numbers_of_the_recurrence(cell, painters):
    W, U, b, _ = matrices(nhidden=4, seed=1)
    player = matrix_player("Katze", VOCAB, W, U, b, cell)
    hs = hand_loop("katze", W, U, b, F_OF[cell])
    trace = forward(CELLS[cell], W, U, b, torch.tensor(VOCAB.encode("katze"))[:, None])
    assert [label for label in labels(player)] == [
        f"t = {t} · x_t = '{c}' · h_t = [{', '.join(f'{v:.2f}' for v in trace.H[t, 0].tolist())}]"
        for t, c in enumerate("katze", start=1)]
    for label, h in zip(labels(player), hs[1:]):                   # and those are the loop's numbers
        shown = [float(v) for v in re.search(r"\[(.*)\]", label)[1].split(", ")]
        np.testing.assert_allclose(shown, h.flatten().tolist(), atol=0.005 + 1e-9)
    ((painter, _),) = painters                                     # the last frame drawn: step 5
    h_prev, x = hs[4], F.one_hot(torch.tensor(VOCAB.index["e"]), 7).double()[:, None]
    for cells, expected in ((painter.h_prev, h_prev), (painter.Wh, W @ h_prev), (painter.Ux, U @ x),
                            (painter.x, x), (painter.z, W @ h_prev + U @ x + b), (painter.h, hs[5])):
        np.testing.assert_allclose(cells.mesh.get_array().ravel(), expected.flatten().numpy(), rtol=1e-12)
    assert painter.boxes[0].get_x() == painter.at["U"] + VOCAB.index["e"]      # the column x_5 picks, boxed


def test_scalar_player_is_the_same_painter_with_1x1_matrices(painters):
    assert labels(scalar_player("cat", VOCAB, weight=2)) == [
        "t = 1 · x_t = 'c' (1) · h = 1", "t = 2 · x_t = 'a' (0) · h = 2", "t = 3 · x_t = 't' (5) · h = 9"]
    ((_, (_, _, W, U, b, cell, _)),) = painters
    assert (W.tolist(), U.tolist(), b.tolist(), cell) == ([[2]], [list(range(7))], [[0]], "identity")
    assert labels(scalar_player("cat", VOCAB, weight=0.5)) == [
        "t = 1 · x_t = 'c' (1) · h = 1.00", "t = 2 · x_t = 'a' (0) · h = 0.50", "t = 3 · x_t = 't' (5) · h = 5.25"]
    assert labels(scalar_player("z" * 30, VOCAB, weight=2))[-1].endswith(f"h = {6 * (2 ** 30 - 1)}")   # exact


@pytest.mark.parametrize("weight", [1, 2])
def test_the_sums_of_notebooks_2_and_3(weight):
    for word in ["cat", "chat", "katze"]:
        closed_form = sum(weight ** (len(word) - t) * VOCAB.index[c] for t, c in enumerate(word, start=1))
        assert labels(scalar_player(word, VOCAB, weight))[-1].endswith(f"h = {closed_form}")


def test_player_plays_with_no_kernel():
    player = matrix_player("cat", VOCAB, *matrices()[:3])
    pairs = {(link.source, link.target) for link in player.links if isinstance(link, Link)}
    assert pairs == {((player.play, "value"), (player.stack, "selected_index")),
                     ((player.slider, "value"), (player.stack, "selected_index"))}
    assert [(c.min, c.max) for c in (player.play, player.slider)] == [(0, 2), (0, 2)]
    assert player.play.interval == 800 and player.slider.description == "t"
    assert "rnn-word-box" in player.word_box._dom_classes and player.word_box.description == "word"
    for f in player.stack.children:
        label, image = f.children
        assert "rnn-frame-label" in label._dom_classes and bytes(image.value).startswith(PNG_SIGNATURE)
    assert len({bytes(f.children[1].value) for f in player.stack.children}) == 3    # each step its own picture


def test_player_picture_is_its_last_frame_after_a_new_word():
    player = matrix_player("cat", VOCAB, *matrices()[:3])
    player.word_box.value = "tea"
    last = bytes(player.stack.children[-1].children[1].value)
    picture = player.picture()
    assert picture.data == last and picture.format == "png" and "image/png" in picture._repr_mimebundle_()[0]
    assert picture.data != bytes(matrix_player("cat", VOCAB, *matrices()[:3]).stack.children[-1].children[1].value)


def test_word_box_renders_a_new_word_and_reports_a_bad_one_in_one_line():
    player = matrix_player("cat", VOCAB, *matrices()[:3])
    player.word_box.value = "katze"
    assert len(player.stack.children) == 5 and player.slider.max == player.play.max == 4
    assert labels(player)[4].startswith("t = 5 · x_t = 'e'")
    before = player.stack.children
    player.word_box.value = "dog"
    assert "outside the vocabulary" in player.message.value and "\n" not in player.message.value
    assert player.stack.children == before and player.slider.max == 4
    player.word_box.value = "<b>"
    assert "<b>" not in player.message.value                        # escaped, not HTML
    player.word_box.value = "chat"
    assert player.message.value == "" and len(player.stack.children) == 4 and player.play.max == 3


def test_a_new_word_stops_play_and_starts_at_its_first_frame():
    player = matrix_player("katze", VOCAB, *matrices()[:3])
    player.play.playing, player.play.value, player.slider.value = True, 4, 4
    player.word_box.value = "chat"
    assert not player.play.playing
    assert player.play.value == player.slider.value == player.stack.selected_index == 0


@pytest.mark.parametrize("W_shape, U_shape, b_shape, expected", [
    ((3, 4), (3, 7), (3, 1), "W must be nhidden x nhidden"),
    ((3, 3), (3, 6), (3, 1), "U must be nhidden x len.vocab. = 3 x 7, got shape 3 x 6"),
    ((3, 3), (3, 7), (1, 3), "b must be nhidden x 1 = 3 x 1, got shape 1 x 3"),
    ((3, 3), (3, 7), (3,), "b must be nhidden x 1 = 3 x 1, got shape 3$"),
])
def test_bad_matrices_get_one_line_errors_naming_the_shape(W_shape, U_shape, b_shape, expected):
    W, U, b = torch.zeros(W_shape), torch.zeros(U_shape), torch.zeros(b_shape)
    for call in (matrix_player, plot_unrolled):
        with pytest.raises(ValueError, match=expected):
            call("cat", VOCAB, W, U, b)
    with pytest.raises(ValueError, match=expected):
        backward_player("cat", VOCAB, W, U, b, torch.zeros(2, W_shape[1]), 0)


def test_bad_arguments_get_one_line_errors():
    W, U, b, V = matrices()
    with pytest.raises(TypeError, match="W must be a torch tensor or a numpy array, got list"):
        matrix_player("cat", VOCAB, [[1.0]], U, b)
    with pytest.raises(ValueError, match="cell='gru'; allowed: tanh, relu, identity"):
        matrix_player("cat", VOCAB, W, U, b, cell="gru")
    with pytest.raises(ValueError, match="U holds nan or inf"):
        matrix_player("cat", VOCAB, W, U * float("nan"), b)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        matrix_player("dog", VOCAB, W, U, b)                       # the first word: the caller's error
    with pytest.raises(TypeError, match="weight must be a number"):
        scalar_player("cat", VOCAB, weight="2")
    with pytest.raises(ValueError, match="target must be a class number from 0 to 2, got 3"):
        backward_player("cat", VOCAB, W, U, b, V, 3)
    with pytest.raises(ValueError, match="V must be nclasses x nhidden = 3 x 3, got shape 3 x 2"):
        plot_backward("cat", VOCAB, W, U, b, V[:, :2], 0)


def test_numpy_matrices_and_no_bias_give_the_same_frames():
    W, U, b, _ = matrices()
    assert labels(matrix_player("katze", VOCAB, W.numpy(), U.numpy())) == \
        labels(matrix_player("katze", VOCAB, W, U, torch.zeros(3, 1, dtype=torch.float64)))


# ---------------------------------------------------------------- the backward player (notebook 8)

def autograd_backward(word, W, U, b, V, target):
    """dL/dh_t and each step's share of dL/dU, by autograd: one copy of U per step."""
    Us = [U.clone().requires_grad_() for _ in word]
    hs = [torch.zeros(W.shape[0], 1, dtype=W.dtype)]
    for c, U_t in zip(word, Us):
        hs.append(torch.tanh(W @ hs[-1] + U_t[:, [VOCAB.index[c]]] + b))
        hs[-1].retain_grad()
    F.cross_entropy((V @ hs[-1]).T, torch.tensor([target])).backward()
    return [h.grad.flatten() for h in hs[1:]], [U_t.grad for U_t in Us]


def test_backward_steps_are_autograds():
    W, U, b, V = matrices(nhidden=4, seed=3)
    codes = VOCAB.encode("katze")
    dh, dU = backward_steps(codes, W, U, b, V, 2, "tanh")
    dh_auto, dU_auto = autograd_backward("katze", W, U, b, V, 2)
    torch.testing.assert_close(dh, torch.stack(dh_auto), rtol=1e-10, atol=1e-12)
    for k in range(5):                                              # dL/dU summed over steps T..t
        torch.testing.assert_close(dU[k], sum(dU_auto[k:]), rtol=1e-10, atol=1e-12)
    assert not torch.equal(dU[0], dU[4])


def test_backward_player_shows_bptts_numbers_from_t_T_down_to_1(monkeypatch):
    W, U, b, V = matrices(nhidden=4, seed=3)
    figures, draw_figure = [], show_frames.backward_figure
    monkeypatch.setattr(show_frames, "backward_figure", lambda *a: figures.append(draw_figure(*a)) or figures[-1])
    player = backward_player("katze", VOCAB, W, U, b, V, 2)
    dU_auto = autograd_backward("katze", W, U, b, V, 2)[1]
    for fig, t in zip(figures, range(5, 0, -1)):                     # each frame: dL/dU summed over steps 5..t
        np.testing.assert_allclose(quadmeshes(fig)[-1].get_array().ravel(), sum(dU_auto[t - 1:]).flatten().numpy(),
                                   rtol=1e-10, atol=1e-14)
    trace = forward(CELLS["tanh"], W, U, b, torch.tensor(VOCAB.encode("katze"))[:, None])
    dH = torch.zeros_like(trace.H)
    dH[-1] = (torch.softmax(trace.H[-1] @ V.T, dim=1) - F.one_hot(torch.tensor([2]), 3)) @ V
    dh = backward(trace, W, 7, dH, steps=True).dh[:, 0]
    expected = [f"t = {t} · x_t = '{c}' · dL/dh_t = [{', '.join(f'{v:.3f}' for v in dh[t].tolist())}] · "
                f"|dL/dh_t| = {dh[t].norm():.3f} · U column '{c}'" for t, c in reversed(list(enumerate("katze", 1)))]
    assert labels(player) == expected
    norms = [float(re.search(r"\|dL/dh_t\| = ([\d.]+)", label)[1]) for label in labels(player)]
    np.testing.assert_allclose(norms, [h.norm() for h in autograd_backward("katze", W, U, b, V, 2)[0][::-1]],
                               atol=0.0005 + 1e-9)
    player.word_box.value = "zz"
    assert labels(player)[0].startswith("t = 2 · x_t = 'z'") and len(player.stack.children) == 2


# ---------------------------------------------------------------- pictures

def quadmeshes(fig):
    return [c for c in fig.axes[0].collections if isinstance(c, matplotlib.collections.QuadMesh)]


@pytest.mark.parametrize("cell", ["tanh", "relu", "identity"])
def test_plot_unrolled_draws_every_h_of_forward(cell):
    W, U, b, _ = matrices(seed=4)
    fig = plot_unrolled("katze", VOCAB, W, U, b, cell)
    assert isinstance(fig, matplotlib.figure.Figure)
    meshes = quadmeshes(fig)                                         # x_1..x_5, then h_0..h_5
    for mesh, h in zip(meshes[5:], hand_loop("katze", W, U, b, F_OF[cell])):
        np.testing.assert_allclose(mesh.get_array().ravel(), h.flatten().numpy(), rtol=1e-12)
    assert len(meshes) == 11
    png(fig)


def test_plot_unrolled_of_the_integer_loop():
    fig = plot_unrolled("cat", VOCAB, *scalar_matrices(VOCAB, 2), cell="identity")
    assert [m.get_array().item() for m in quadmeshes(fig)[3:]] == [0, 1, 2, 9]
    assert "W = [[2]]" in fig.axes[0].texts[0].get_text()


def test_plot_backward_draws_dh_and_the_summed_dU():
    W, U, b, V = matrices(nhidden=4, seed=3)
    fig = plot_backward("katze", VOCAB, W, U, b, V, 2)
    dh_auto, dU_auto = autograd_backward("katze", W, U, b, V, 2)
    meshes = quadmeshes(fig)                                         # x_1..x_5, dL/dh_1..5, dL/dU
    for mesh, dh in zip(meshes[5:10], dh_auto):
        np.testing.assert_allclose(mesh.get_array().ravel(), dh.numpy(), rtol=1e-10)
    np.testing.assert_allclose(meshes[10].get_array().ravel(), sum(dU_auto).flatten().numpy(), rtol=1e-10)
    png(fig)


def test_cells_fit_a_long_number_into_its_cell():
    fig = plt.figure(figsize=(2, 1))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 2), ylim=(1, 0))                                 # one inch, 72 points, per cell
    cells = Cells(ax, 0, 0, 1, 2, matplotlib.colors.Normalize(0, 1e10), fmt="{:.0f}", fontsize=20)
    long, short = (p.get_extents().width for p in cells.set([6442450938, 1]).numbers.get_paths())
    assert long == pytest.approx(0.9 * 72) and short < long


# ---------------------------------------------------------------- the heat-map players (notebooks 13 to 15)

def classifier(cell="tanh", nhidden=4, seed=1):
    clf = Classifier(VOCAB, Labels(["English", "French", "German"]), nhidden=nhidden, cell=cell, seed=seed,
                     dtype="float64")
    clf.rnn.b.copy_(torch.linspace(-0.5, 0.5, clf.rnn.b.shape[0])[:, None])
    clf.rnn.V.mul_(4)
    return clf


def grey_pixels(data: bytes) -> int:
    """Pixels of the steps still to come (``TO_COME``, 0.9 grey, give or take the 256-colour palette)."""
    rgb = np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2) <= 3) & (abs(rgb.mean(axis=2) - 229.5) < 12)).sum())


def test_prediction_player_shows_softmax_of_V_h_t_of_every_prefix():
    clf = classifier()
    player = prediction_player(clf, "katze")
    p = clf.rnn.params
    hs = hand_loop("katze", p["W"], p["U"], p["b"], torch.tanh)
    for t, label in enumerate(labels(player), start=1):
        probabilities = torch.softmax(p["V"] @ hs[t], dim=0).flatten()
        assert label == f"t = {t} · prefix '{'katze'[:t]}' · " + " · ".join(
            f"{c} {v:.2f}" for c, v in zip(["English", "French", "German"], probabilities.tolist()))
    images = [bytes(f.children[1].value) for f in player.stack.children]
    assert len({PIL.Image.open(io.BytesIO(i)).size for i in images}) == 1 and len(set(images)) == 5
    grey = [grey_pixels(i) for i in images]                          # frame k: the 4 - k columns still to come
    column = (grey[0] - grey[-1]) / 4
    assert column > 100 and all(abs(a - b - column) < 0.1 * column for a, b in zip(grey, grey[1:]))
    player.word_box.value = "dog"
    assert "outside the vocabulary" in player.message.value and len(player.stack.children) == 5
    player.word_box.value = "chat"
    assert player.message.value == "" and labels(player)[3].startswith("t = 4 · prefix 'chat'")


def test_gate_player_shows_the_gates_of_the_gru():
    clf = classifier(cell="gru", nhidden=5, seed=2)
    labels_shown = labels(gate_player(clf, "chat"))
    p, n = clf.rnn.params, 5
    h = torch.zeros(n, 1, dtype=torch.float64)
    for t, c in enumerate("chat", start=1):                           # PyTorch's GRU, written out
        x = F.one_hot(torch.tensor(VOCAB.index[c]), 7).double()[:, None]
        Ux, Wh = p["U"] @ x + p["b"], p["W"] @ h
        r, z = torch.sigmoid(Ux[:n] + Wh[:n]), torch.sigmoid(Ux[n:2 * n] + Wh[n:2 * n])
        h = (1 - z) * torch.tanh(Ux[2 * n:] + r * Wh[2 * n:]) + z * h
        shares = " · ".join(f"{c} {v:.2f}" for c, v in zip(["English", "French", "German"],
                                                             torch.softmax(p["V"] @ h, dim=0).flatten().tolist()))
        assert labels_shown[t - 1] == \
            f"t = {t} · x_t = '{c}' · mean z_t = {z.mean():.2f} · mean r_t = {r.mean():.2f} · {shares}"
    with pytest.raises(ValueError, match="gate_player shows the gates of a 'gru' model; this one's cell is 'tanh'"):
        gate_player(classifier(), "chat")


def test_sampling_player_draws_the_letters_of_lm_sample():
    lm = LanguageModel(Vocab("acehkrstz"), ["English", "German"], nhidden=6, seed=4, dtype="float64")
    lm.rnn.V.mul_(3)
    lengths = set()
    for seed in range(4):
        player = sampling_player(lm, "German", temperature=0.7, seed=seed, max_length=8)
        (word,), (P,) = lm.sample("German", 1, 0.7, seed, max_length=8, steps=True)
        drawn = [re.search(r"drew '([^']*)' \(p = ([\d.]+)\)", label) for label in labels(player)]
        symbols = list(word) + (["<end>"] if len(word) < 8 else [])
        assert [m[1] for m in drawn if m] == symbols and len(labels(player)) == len(word) + 1
        names = lm.vocab.chars + ["<end>"]
        assert [float(m[2]) for m in drawn if m] == [round(float(P[k, names.index(s)]), 2) for k, s in enumerate(symbols)]
        assert labels(player)[-1].startswith(f"t = {len(word) + 1} · so far '{word}'")
        lengths.add(len(word))
    assert {0, 8} <= lengths                  # an empty word (<end> first) and one cut at max_length among them
    assert player.word_box.description == "language"
    player.word_box.value = "Spanish"
    assert "unknown labels ['Spanish']" in html.unescape(player.message.value) and len(player.stack.children) == len(word) + 1
    player.word_box.value = "English"
    assert labels(player)[0].startswith("t = 1 · so far ''") and player.message.value == ""
    with pytest.raises(ValueError, match="temperature must be a finite number above 0"):
        sampling_player(lm, "German", temperature=0)


def test_long_words_are_bounded_and_still_fit(painters):
    W, U, b, V = matrices()
    with pytest.raises(ValueError, match="a word of 41 characters is too long to draw here: at most 40"):
        matrix_player("a" * 41, VOCAB, W, U, b)
    with pytest.raises(ValueError, match="at most 200"):
        prediction_player(classifier(), "a" * 201)
    fig = plot_unrolled("katze" * 8, VOCAB, W, U, b)             # 40 steps: wider, still drawn
    assert fig.get_figwidth() > 12.5 and len(quadmeshes(fig)) == 81
    matrix_player("katze" * 8, VOCAB, W, U, b)
    ((painter, _),) = painters
    right = painter.word.texts[-1].get_window_extent(painter.fig.canvas.get_renderer()).x1
    assert right < painter.fig.bbox.width                          # the word's last letter inside the frame
