"""The baselines: the majority class, and logistic regression whose written-out gradient is autograd's."""
import pytest
import torch
import torch.nn.functional as F

from rnnlib.baselines import LogisticRegression, bag_of_characters, majority, ngrams

X = ["the", "house", "water", "and", "maison", "nuit", "eau", "chat", "haus", "nacht", "wasser", "katze"]
Y = ["English"] * 4 + ["French"] * 4 + ["German"] * 4


def test_majority_is_the_most_frequent_label_and_the_first_on_a_tie():
    assert majority(["b", "a", "b"]) == "b"
    assert majority(["b", "a"]) == "a"


def test_features_bag_and_marked_pieces():
    assert sorted(bag_of_characters("Abba")) == ["a", "a", "b", "b"]
    assert ngrams("ab") == ["a", "b", "^a", "ab", "b$", "^ab", "ab$", "^ab$"]
    assert ngrams("abcde", longest=2)[-1] == "e$" and "^" not in ngrams("a") and "$" not in ngrams("a")


def test_gradient_equals_autograd_with_the_penalty():
    lr = LogisticRegression(ngrams, l2=0.01)
    lr.fit(X, Y, steps=3)
    lr.theta.copy_(torch.rand(lr.theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5)
    B, target = lr.counts(X), lr.labels.encode(Y)
    loss, g = lr.loss_and_gradient(B, B.to_dense().T.to_sparse_csr(), target)
    theta = lr.theta.clone().requires_grad_()
    Wf, c = theta[:-3].view(3, -1), theta[-3:]
    reference = F.cross_entropy(B.to_dense() @ Wf.T + c, target) + 0.01 / 2 * Wf.square().sum()
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    torch.testing.assert_close(g, theta.grad, rtol=1e-12, atol=1e-14)


def test_counts_are_a_words_features_and_ignore_features_never_seen():
    lr = LogisticRegression(bag_of_characters)
    lr.fit(["aab", "bc"], ["x", "y"], steps=1)
    B = lr.counts(["abba", "zzz"]).to_dense()
    assert B.tolist() == [[2.0, 2.0, 0.0], [0.0, 0.0, 0.0]]          # columns a, b, c


def test_only_the_pieces_see_order():
    words, labels = ["ab", "ba", "aab", "bba", "abb", "baa"] * 5, ["starts a", "starts b"] * 15
    bag = LogisticRegression(bag_of_characters, l2=1e-4)
    bag.fit(words, labels, steps=200, lr=0.1)
    pieces = LogisticRegression(ngrams, l2=1e-4)
    pieces.fit(words, labels, steps=200, lr=0.1)
    assert pieces.accuracy(words, labels) == 1.0
    assert bag.accuracy(words, labels) <= 0.5               # "ab" and "ba" are the same bag
    assert pieces.predict(["abab", "baba"]) == ["starts a", "starts b"]


@pytest.mark.parametrize("kwargs, message", [(dict(l2=-1.0), "l2 must be"), (dict(l2="0.1"), "l2 must be")])
def test_bad_penalty_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LogisticRegression(**kwargs)


def test_bad_training_settings_are_refused():
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        LogisticRegression().fit(X, Y, steps=0)
    with pytest.raises(ValueError, match="12 words but 11 labels"):
        LogisticRegression().fit(X, Y[:11])
