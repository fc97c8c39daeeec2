"""The backward pass written out (rnnlib.backprop) gives autograd's gradients."""
import pytest
import torch

from rnnlib.backprop import autograd_grads, bptt, word_bptt
from rnnlib.model import RNN
from rnnlib.vocab import Vocab

VOCAB = Vocab("acehktz")


def matrices(nhidden=4, nclasses=3, seed=0, bias=0.3):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(nhidden, nhidden, generator=g) * 0.7
    U = torch.randn(nhidden, len(VOCAB), generator=g) * 0.7
    b = torch.randn(nhidden, 1, generator=g) * bias
    V = torch.randn(nclasses, nhidden, generator=g)
    return W, U, b, V


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_word_equals_autograd(nonlinearity, seed):
    W, U, b, V = matrices(seed=seed)
    back = word_bptt("katze", VOCAB, W, U, b, V, 2, nonlinearity)
    expected = autograd_grads(VOCAB.onehot_word("katze"), W, U, b, V, [2], nonlinearity)
    for name, grad in back.grads().items():
        torch.testing.assert_close(grad, expected[name])
    assert [s.t for s in back.steps] == [5, 4, 3, 2, 1]
    assert "".join(s.char for s in back.steps) == "ezt" "ak"
    assert [s.column for s in back.steps] == [VOCAB.index[c] for c in "eztak"]


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_left_padded_batch_with_mask_equals_autograd(nonlinearity):
    W, U, b, V = matrices(bias=0.5)            # b != 0: without the mask the padding would matter
    words = ["cat", "chat", "katze", "tea"]
    X = VOCAB.onehot_batch(words)
    targets = [0, 1, 2, 0]
    back = bptt(X, W, U, b, V, targets, nonlinearity)
    expected = autograd_grads(X, W, U, b, V, targets, nonlinearity)
    for name, grad in back.grads().items():
        torch.testing.assert_close(grad, expected[name])
    rnn = RNN(len(VOCAB), 4, 3, nonlinearity, seed=None)
    with torch.no_grad():
        for name, M in zip("WUbV", (W, U, b, V)):
            getattr(rnn, name).copy_(M)
        loss = torch.nn.functional.cross_entropy(rnn(X), torch.tensor(targets))
    torch.testing.assert_close(back.loss, loss)
    # the first word, "cat", is padded for two steps: no column of U gets its gradient there
    assert [s.column for s in back.steps][-2:] == [None, None]


def test_steps_carry_dh_and_its_norm():
    W, U, b, V = matrices()
    back = word_bptt("katze", VOCAB, W, U, b, V, 1, "tanh")
    first = back.steps[0]
    torch.testing.assert_close(first.dh, V.T @ ((torch.softmax(V @ _h_T(W, U, b), 0) - torch.eye(3)[:, [1]])))
    assert first.norm == pytest.approx(float(first.dh.norm()))
    # dL/dh_{t-1} = W^T dz_t
    for later, earlier in zip(back.steps, back.steps[1:]):
        torch.testing.assert_close(earlier.dh, W.T @ later.dz)
    torch.testing.assert_close(back.dh0, W.T @ back.steps[-1].dz)
    # dU sums, step by step, into the gradient of U
    torch.testing.assert_close(back.steps[-1].dU, back.U)


def _h_T(W, U, b):
    h = torch.zeros(4, 1)
    for x in VOCAB.onehot_word("katze"):
        h = torch.tanh(W @ h + U @ x + b)
    return h


def test_no_nonlinearity_multiplies_by_W_transposed():
    # the linear recurrence: dL/dh_1 = (W^T)^(T-1) dL/dh_T exactly, notebook 5's 1.5**29
    W = 1.5 * torch.eye(4)
    _, U, b, V = matrices()
    back = word_bptt("katze" * 6, VOCAB, W, U, torch.zeros(4, 1), V * 1e-7, 0, None)  # softmax not saturated
    assert back.steps[-1].norm / back.steps[0].norm == pytest.approx(1.5 ** 29, rel=1e-4)


def test_unknown_nonlinearity_is_refused():
    W, U, b, V = matrices()
    with pytest.raises(ValueError, match="nonlinearity"):
        word_bptt("cat", VOCAB, W, U, b, V, 0, "sigmoid")


def test_backward_player_steps_from_T_down_to_1_with_the_gradients():
    from rnnlib.backprop_pictures import backward_player, plot_backward

    W, U, b, V = matrices()
    back = word_bptt("katze", VOCAB, W, U, b, V, 2)
    player = backward_player("katze", VOCAB, W, U, b, V, 2)
    labels = [frame.children[0].value for frame in player.stack.children]
    assert len(labels) == 5 and labels[0].startswith("t = 5 · x_t = 'e'") and labels[-1].startswith("t = 1 ")
    for label, step in zip(labels, back.steps):
        dh = ", ".join(f"{v:.3f}" for v in step.dh.flatten().tolist())
        assert f"dL/dh_t = [{dh}] · |dL/dh_t| = {step.norm:.3f} · U column '{step.char}'" in label
    assert all(frame.children[1].value[:4] == b"\x89PNG" for frame in player.stack.children)
    player.word_box.value = "chat"                       # a new word: its own frames
    assert len(player.stack.children) == 4
    player.word_box.value = "dog"                        # not in the vocabulary: a message, the frames stay
    assert "d" in player.message.value and len(player.stack.children) == 4
    fig = plot_backward("katze", VOCAB, W, U, b, V, 2)
    assert fig.axes
