"""The memory task, the GRU's opened update gate, and the gradient at the first step against autograd."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlib.memory import first_step_gradient, memory_classifier, memory_task, open_update_gate, update_gate
from rnnlib.train import evaluate, fit


def test_the_class_is_the_first_symbol_and_the_rest_are_distractors():
    X, y = memory_task(7, 500, classes=3, distractors=2, seed=1)
    assert len(X) == len(y) == 500 and {len(w) for w in X} == {8}
    assert [w[0] for w in X] == y and set(y) == set("abc")
    assert set("".join(w[1:] for w in X)) == set("de")
    assert memory_task(7, 500, 3, 2, seed=1) == (X, y) and memory_task(7, 500, 3, 2, seed=2) != (X, y)
    assert memory_task(0, 3, seed=0)[0] == memory_task(0, 3, seed=0)[1]      # no distractor: the word is its class


@pytest.mark.parametrize("kwargs, message", [
    ({"length": -1}, "length must be an integer of at least 0"),
    ({"n": 0}, "n must be a positive integer"),
    ({"classes": 1}, "classes must be an integer of at least 2"),
    ({"classes": 20, "distractors": 7}, r"classes \+ distractors must be at most 26, got 20 \+ 7"),
    ({"length": 1000}, "length must be below 1000"),
    ({"seed": -1}, "seed must be a whole number"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    settings = {"length": 5, "n": 10} | kwargs
    with pytest.raises(ValueError, match=message):
        memory_task(**settings)


def test_the_classifier_knows_every_symbol_whatever_was_drawn():
    clf = memory_classifier(3, 2, nhidden=4)
    assert clf.vocab.chars == list("abcde") and clf.labels.classes == list("abc")
    assert clf.predict(["aaa", "eed"]) and len(clf.predict_proba(["a"])[0]) == 3


def test_an_opened_update_gate_is_torch_nn_grus_and_keeps_sigmoid_of_its_bias():
    clf = memory_classifier(nhidden=5, cell="gru", seed=3, dtype="float64")
    open_update_gate(clf, 3.0)
    rnn, nh = clf.rnn, 5
    assert torch.equal(rnn.b[nh:2 * nh], torch.full((nh, 1), 3.0, dtype=torch.float64))
    assert not rnn.b[:nh].any() and not rnn.b[2 * nh:].any()
    module = nn.GRU(rnn.nin, nh).double()
    with torch.no_grad():
        module.weight_hh_l0.copy_(rnn.W)
        module.weight_ih_l0.copy_(rnn.U)
        module.bias_ih_l0.copy_(rnn.b[:, 0])
        module.bias_hh_l0.zero_()
    word = memory_task(6, 1, seed=4)[0][0]
    codes = torch.tensor(clf.vocab.encode(word))
    theirs, _ = module(F.one_hot(codes, rnn.nin).double())
    torch.testing.assert_close(clf.states(word).T, theirs.detach(), rtol=1e-12, atol=1e-12)
    z = update_gate(clf, word)
    assert z.shape == (nh, 7)
    # h_0 = 0: the first update gate reads only its input column and the bias
    torch.testing.assert_close(z[:, 0], torch.sigmoid(rnn.U[nh:2 * nh, codes[0]] + 3.0))
    with pytest.raises(ValueError, match="only a GRU has an update gate"):
        open_update_gate(memory_classifier(nhidden=4), 1.0)


@pytest.mark.parametrize("cell", ["tanh", "gru"])
def test_first_step_gradient_is_autograds(cell):
    clf = memory_classifier(nhidden=6, cell=cell, seed=5, dtype="float64")
    X, y = memory_task(9, 8, seed=6)
    rnn = clf.rnn
    W, U, b, V = (M.clone().requires_grad_() for M in (rnn.W, rnn.U, rnn.b, rnn.V))
    codes = torch.tensor([clf.vocab.encode(w) for w in X]).T
    H = [torch.zeros(len(X), 6, dtype=torch.float64)]
    for step_codes in codes:                        # h_t from autograd's own operations, each kept
        Ux = F.embedding(step_codes, U.T) + b.T
        Wh = H[-1] @ W.T
        if cell == "gru":
            r, z = torch.sigmoid(Ux[:, :12] + Wh[:, :12]).chunk(2, dim=1)
            new = (1 - z) * torch.tanh(Ux[:, 12:] + r * Wh[:, 12:]) + z * H[-1]
        else:
            new = torch.tanh(Ux + Wh)
        new.retain_grad()
        H.append(new)
    F.cross_entropy(H[-1] @ V.T, clf.labels.encode(y)).backward()
    expected = (H[1].grad.norm() / H[-1].grad.norm()).item()
    assert first_step_gradient(clf, X, y) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="words of one length"):
        first_step_gradient(clf, ["ae", "aef"], ["a", "a"])


def test_the_opened_gru_keeps_the_gradient_that_the_tanh_rnn_loses():
    X, y = memory_task(50, 256, seed=7)
    tanh = first_step_gradient(memory_classifier(nhidden=32, seed=0), X, y)
    gru = memory_classifier(nhidden=32, cell="gru", seed=0)
    open_update_gate(gru, 3.0)
    assert tanh < 1e-8 < 1e-2 < first_step_gradient(gru, X, y)


def test_an_opened_gru_learns_to_remember_over_30_steps():
    X, y = memory_task(30, 64 * 100, seed=8)
    clf = memory_classifier(nhidden=16, cell="gru", seed=0)
    open_update_gate(clf, 3.0)
    fit(clf, X, y, batch_size=64, lr=0.01)
    assert evaluate(clf, *memory_task(30, 500, seed=9))[1] > 0.95
