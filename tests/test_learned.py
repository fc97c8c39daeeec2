"""rnnlib.learned: cosines, nearest columns, the 2-D projection, h of words and of prefixes, k-NN, a new V
(notebook 13), against computations written out here and against torch.optim.Adam."""
import math

import pytest
import torch

import rnnlib.learned
from rnnlib.learned import (cosine_similarities, final_hidden, fit_readout, knn_predict, nearest,
                            prefix_probabilities, project_2d)
from rnnlib.model import Classifier
from rnnlib.text import Labels, Vocab

VOCAB = Vocab("acehktz")


def classifier(nhidden=5, cell="tanh", dtype="float64"):
    clf = Classifier(VOCAB, Labels(["a", "b", "c"]), nhidden=nhidden, cell=cell, seed=3, dtype=dtype)
    clf.rnn.b.copy_(torch.linspace(-0.5, 0.5, clf.rnn.b.shape[0])[:, None])
    clf.rnn.V.mul_(4)
    return clf


def hand_states(clf, word):
    """h_1 .. h_T as columns, from h_t = f(W @ h_{t-1} + U @ x_t + b)."""
    p, f = clf.rnn.params, {"tanh": torch.tanh, "relu": torch.relu}[clf.rnn.cell.name]
    h, columns = torch.zeros(clf.rnn.nhidden, 1, dtype=p["W"].dtype), []
    for c in word:
        h = f(p["W"] @ h + p["U"][:, [VOCAB.index[c]]] + p["b"])
        columns.append(h)
    return torch.cat(columns, dim=1)


def test_cosine_similarities_of_known_columns():
    M = torch.tensor([[1.0, 0.0, -2.0, 1.0],
                      [0.0, 3.0, 0.0, 1.0]])
    r = 1 / math.sqrt(2)
    torch.testing.assert_close(cosine_similarities(M), torch.tensor([[1, 0, -1, r], [0, 1, 0, r],
                                                                     [-1, 0, 1, -r], [r, r, -r, 1]],
                                                                    dtype=torch.float64))
    with pytest.raises(ValueError, match="expected a matrix"):
        cosine_similarities(torch.ones(3))


def test_nearest_orders_by_cosine_and_skips():
    M = torch.tensor([[1.0, 0.9, 0.0, -1.0],
                      [0.0, 0.1, 1.0, 0.0]])
    names = ["x", "y", "z", "w"]
    assert [n for n, _ in nearest(M, names, M[:, 0], k=4)] == ["x", "y", "z", "w"]
    found = nearest(M, names, M[:, 0], k=2, skip=["x"])
    assert [n for n, _ in found] == ["y", "z"]
    assert found[0][1] == pytest.approx(0.9 / math.sqrt(0.82), abs=1e-4) and found[1][1] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="3 names for 4 columns"):
        nearest(M, names[:3], M[:, 0])


def test_project_2d_is_the_pca_of_the_columns():
    gen = torch.Generator().manual_seed(0)
    M = (torch.rand(6, 40, generator=gen, dtype=torch.float64) - 0.5) * torch.tensor([5.0, 3, 1, .5, .2, .1]).double()[:, None]
    P = project_2d(M)
    assert P.shape == (40, 2)
    centred = M - M.mean(dim=1, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(centred @ centred.T).flip(0)
    torch.testing.assert_close((P.double() ** 2).sum(dim=0), eigenvalues[:2], rtol=1e-4, atol=1e-4)   # variance kept
    assert abs(float(P[:, 0] @ P[:, 1])) < 1e-3                                                      # uncorrelated
    for k in range(2):                                   # the sign rule: the largest coordinate is positive
        assert P[P[:, k].abs().argmax(), k] > 0
    torch.testing.assert_close(project_2d(-M), P)        # so a flipped matrix gives the same picture


@pytest.mark.parametrize("cell", ["tanh", "relu"])
def test_final_hidden_is_each_words_last_h(cell):
    clf = classifier(cell=cell)
    words = ["cat", "katze", "a", "chat", "hat"]
    H = final_hidden(clf, words)
    assert H.shape == (5, 5)
    for j, word in enumerate(words):
        torch.testing.assert_close(H[:, j], hand_states(clf, word)[:, -1])
    with pytest.raises(TypeError, match="expected a list of words"):
        final_hidden(clf, "cat")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        final_hidden(clf, ["dog"])


def test_prefix_probabilities_are_softmax_of_V_h_t():
    clf = classifier()
    P_katze, P_a = prefix_probabilities(clf, ["katze", "a"])
    assert P_katze.shape == (5, 3) and P_a.shape == (1, 3)
    by_hand = torch.softmax(clf.rnn.V @ hand_states(clf, "katze"), dim=0).T
    torch.testing.assert_close(P_katze, by_hand)
    torch.testing.assert_close(P_katze, clf.predict_proba(["k", "ka", "kat", "katz", "katze"]))   # the prefixes as words
    assert not torch.allclose(P_katze[0], P_katze[-1])


def test_knn_predict_votes_of_the_nearest():
    H_train = torch.tensor([[1.0, 1.0, 0.9, 0.0, 0.1, -1.0],
                            [0.0, 0.1, 0.0, 1.0, 1.0, 0.0]])
    t_train = torch.tensor([0, 0, 1, 1, 1, 2])
    H = torch.tensor([[1.0, 0.0, -1.0], [0.05, 1.0, 0.1]])
    assert knn_predict(H_train, t_train, H, k=1).tolist() == [0, 1, 2]
    assert knn_predict(H_train, t_train, H, k=3).tolist() == [0, 1, 1]
    assert knn_predict(H_train, t_train, H, k=2)[2] == 1        # one vote for class 2, one for 1: the lower wins
    with pytest.raises(ValueError, match="k must be between 1 and 6"):
        knn_predict(H_train, t_train, H, k=7)
    with pytest.raises(ValueError, match="6 training columns but 3 targets"):
        knn_predict(H_train, t_train[:3], H)


def separable(n=300, seed=1):
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2.0, -2.0, 0.0], [0.0, 0.0, 2.0]])
    targets = torch.randint(0, 3, (n,), generator=gen)
    H = centres[:, targets] + 0.6 * (torch.rand(2, n, generator=gen) - 0.5)
    return H.double(), targets


def test_fit_readout_learns_separable_h_and_is_seeded():
    H, targets = separable()
    V = fit_readout(H, targets, 3, batch_size=32, lr=0.05, epochs=5, seed=0)
    assert V.shape == (3, 2)
    assert ((V @ H).argmax(dim=0) == targets).double().mean() > 0.95
    torch.testing.assert_close(fit_readout(H, targets, 3, batch_size=32, lr=0.05, epochs=5, seed=0), V)
    assert not torch.equal(fit_readout(H, targets, 3, batch_size=32, lr=0.05, epochs=5, seed=1), V)


def test_fit_readout_makes_one_update_per_batch(monkeypatch):
    updates, Optimizer = [], rnnlib.learned.Optimizer

    class Counting(Optimizer):
        def step(self, g, lr):
            updates.append(lr)
            super().step(g, lr)
    monkeypatch.setattr(rnnlib.learned, "Optimizer", Counting)
    fit_readout(*separable(100), 3, batch_size=64, epochs=3)
    assert len(updates) == 3 * 2
    with pytest.raises(ValueError, match="one column per target"):
        fit_readout(torch.ones(4, 10), torch.zeros(9, dtype=torch.long), 2)


def test_fit_readout_makes_torch_optim_adams_updates():
    """The gradient written out and rnnlib.optim's Adam give the updates of autograd and torch.optim.Adam."""
    gen = torch.Generator().manual_seed(2)
    H = (torch.rand(5, 70, generator=gen) * 2 - 1).double()
    targets = torch.randint(0, 3, (70,), generator=gen)
    V = torch.zeros(3, 5, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([V], lr=0.03)
    order_gen = torch.Generator().manual_seed(4)
    for _ in range(2):
        order = torch.randperm(70, generator=order_gen)
        for start in range(0, 70, 16):
            batch = order[start:start + 16]
            loss = torch.nn.functional.cross_entropy((V @ H[:, batch]).T, targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    ours = fit_readout(H, targets, 3, batch_size=16, lr=0.03, epochs=2, seed=4)
    assert not torch.equal(ours, torch.zeros(3, 5, dtype=torch.float64))
    torch.testing.assert_close(ours, V.detach())
