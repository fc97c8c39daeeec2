"""rnnlib.embeddings: cosines, nearest columns, the 2-D projection, final h, k-NN and the new V (notebook 12)."""
import math

import pytest
import torch

from rnnlib.embeddings import cosine_similarities, final_hidden, fit_readout, knn_predict, nearest, project_2d
from rnnlib.model import Classifier
from rnnlib.vocab import Labels, Vocab


def classifier(nhidden=5, classes=("a", "b", "c"), nonlinearity="tanh"):
    clf = Classifier(Vocab("acehktz"), Labels(list(classes)), nhidden=nhidden, nonlinearity=nonlinearity, seed=3)
    with torch.no_grad():
        clf.rnn.b.copy_(torch.linspace(-0.5, 0.5, nhidden).reshape(-1, 1))  # padding must not matter
    return clf


def test_cosine_similarities_of_known_columns():
    M = torch.tensor([[1.0, 0.0, -2.0, 1.0],
                      [0.0, 3.0, 0.0, 1.0]])
    S = cosine_similarities(M)
    expected = torch.tensor([[1, 0, -1, 1 / math.sqrt(2)],
                             [0, 1, 0, 1 / math.sqrt(2)],
                             [-1, 0, 1, -1 / math.sqrt(2)],
                             [1 / math.sqrt(2), 1 / math.sqrt(2), -1 / math.sqrt(2), 1]])
    torch.testing.assert_close(S, expected)


def test_cosine_similarities_refuses_a_vector():
    with pytest.raises(ValueError, match="matrix"):
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
    M = torch.randn(6, 40, generator=gen) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1]).reshape(-1, 1)
    P = project_2d(M)
    assert P.shape == (40, 2)
    centred = M - M.mean(dim=1, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(centred @ centred.T).flip(0)
    torch.testing.assert_close((P ** 2).sum(dim=0), eigenvalues[:2], rtol=1e-4, atol=1e-4)  # variance kept
    torch.testing.assert_close(P[:, 0] @ P[:, 1], torch.tensor(0.0), atol=1e-3, rtol=0)     # uncorrelated
    for k in range(2):                                   # the sign rule: the largest coordinate is positive
        assert P[P[:, k].abs().argmax(), k] > 0
    torch.testing.assert_close(project_2d(-M), P)        # so a flipped matrix gives the same picture


def test_final_hidden_is_each_words_last_h_alone():
    clf = classifier()
    words = ["cat", "katze", "a", "chat"]
    H = final_hidden(clf, words, batch_size=3)
    assert H.shape == (5, 4)
    for j, word in enumerate(words):
        torch.testing.assert_close(H[:, j:j + 1], clf.rnn.hidden(clf.encode([word])).detach())
    with pytest.raises(ValueError):
        final_hidden(clf, "cat")


def test_knn_predict_votes_of_the_nearest():
    H_train = torch.tensor([[1.0, 1.0, 0.9, 0.0, 0.1, -1.0],
                            [0.0, 0.1, 0.0, 1.0, 1.0, 0.0]])
    t_train = torch.tensor([0, 0, 1, 1, 1, 2])
    H = torch.tensor([[1.0, 0.0, -1.0], [0.05, 1.0, 0.1]])
    assert knn_predict(H_train, t_train, H, k=1).tolist() == [0, 1, 2]
    assert knn_predict(H_train, t_train, H, k=3).tolist() == [0, 1, 1]
    assert knn_predict(H_train, t_train, H, k=2)[2] == 1        # one vote for class 2, one for 1: the lower wins
    with pytest.raises(ValueError):
        knn_predict(H_train, t_train, H, k=7)
    with pytest.raises(ValueError):
        knn_predict(H_train, t_train[:3], H)


def test_fit_readout_learns_separable_h_and_is_seeded():
    gen = torch.Generator().manual_seed(1)
    centres = torch.tensor([[2.0, -2.0, 0.0], [0.0, 0.0, 2.0]])
    targets = torch.randint(0, 3, (300,), generator=gen)
    H = centres[:, targets] + 0.3 * torch.randn(2, 300, generator=gen)
    V = fit_readout(H, targets, 3, batch_size=32, lr=0.05, epochs=5, seed=0)
    assert V.shape == (3, 2) and not V.requires_grad
    assert ((V @ H).argmax(dim=0) == targets).float().mean() > 0.95
    torch.testing.assert_close(fit_readout(H, targets, 3, batch_size=32, lr=0.05, epochs=5, seed=0), V)


def test_fit_readout_makes_one_update_per_batch(monkeypatch):
    import rnnlib.embeddings
    steps = []
    original = rnnlib.embeddings.optimizer_step
    monkeypatch.setattr(rnnlib.embeddings, "optimizer_step", lambda *a: (steps.append(1), original(*a))[1])
    fit_readout(torch.randn(4, 100), torch.zeros(100, dtype=torch.long), 2, batch_size=64, epochs=3)
    assert len(steps) == 3 * 2
    with pytest.raises(ValueError):
        fit_readout(torch.randn(4, 10), torch.zeros(9, dtype=torch.long), 2)


def test_fit_readout_makes_torch_optim_adams_updates():
    """The gradient and Adam written out give the updates of autograd and torch.optim.Adam."""
    gen = torch.Generator().manual_seed(2)
    H, targets = torch.randn(5, 70, generator=gen), torch.randint(0, 3, (70,), generator=gen)
    V = torch.zeros(3, 5, requires_grad=True)
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
    assert not torch.equal(ours, torch.zeros(3, 5))
    torch.testing.assert_close(ours, V.detach())
