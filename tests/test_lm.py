"""The language model: its gradient against autograd, its probabilities, its sampler."""
import math

import pytest
import torch
import torch.nn.functional as F

from rnnlib.lm import LanguageModel
from rnnlib.text import Batches, Labels, Vocab
from rnnlib.train import fit

VOCAB = Vocab("abcdehiklmnorstuwz")
LANGUAGES = Labels(["English", "German"])
X = ["the", "house", "water", "and", "haus", "wasser", "und", "katze", "er", "a"]
Y = ["English"] * 4 + ["German"] * 4 + ["German", "English"]


def autograd_loss(lm, X, Y, keep=None):
    """The summed cross-entropy over every step, from one-hot inputs, by autograd."""
    p = {name: M.detach().clone().requires_grad_() for name, M in lm.rnn.params.items()}
    total, nin = 0.0, lm.rnn.nin
    for k, (inputs, targets) in enumerate(zip(*lm.encode(X, Y))):
        h = torch.zeros(p["W"].shape[1], 1, dtype=torch.float64)
        for t, (c, target) in enumerate(zip(inputs, targets)):
            x = F.one_hot(torch.tensor([c]), nin).T.double()
            h = torch.tanh(p["W"] @ h + p["U"] @ x + p["b"]) if lm.rnn.cell.name == "tanh" else None
            o = p["V"] @ (h if keep is None else h * keep[k][t])
            total = total + F.cross_entropy(o.T, torch.tensor([target]), reduction="sum")
    total.backward()
    return total, {name: M.grad for name, M in p.items()}


def test_gradient_equals_autograd_on_a_padded_batch():
    lm = LanguageModel(VOCAB, LANGUAGES, nhidden=6, cell="tanh", seed=1, dtype="float64")
    data = Batches(*lm.encode(X, Y))
    codes, mask, targets = data.pad(list(range(len(X))))
    assert mask is not None
    loss, right, count = lm.gradient(codes, mask, targets, "sum")
    assert count == sum(len(w) + 1 for w in X)                  # every letter and each <end>
    reference, grads = autograd_loss(lm, X, Y)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-12)
    for name, g in grads.items():
        torch.testing.assert_close(lm.rnn.grads[name], g, rtol=1e-10, atol=1e-12)


def test_dropout_gradient_equals_autograd_with_the_same_dropped_entries():
    lm = LanguageModel(VOCAB, LANGUAGES, nhidden=6, cell="tanh", seed=2, dtype="float64", dropout=0.3)
    words, languages = ["the", "and"], ["English", "English"]   # equal lengths: one batch, no mask
    codes, mask, targets = Batches(*lm.encode(words, languages)).pad([0, 1])
    assert mask is None
    state = lm.generator.get_state()
    lm.gradient(codes, mask, targets, "sum")
    lm.generator.set_state(state)
    keep = (torch.rand((codes.shape[0], codes.shape[1], 6), generator=lm.generator).double() >= 0.3) / 0.7
    _, grads = autograd_loss(lm, words, languages,
                             keep=[[keep[t, k][:, None] for t in range(codes.shape[0])] for k in range(2)])
    for name, g in grads.items():
        torch.testing.assert_close(lm.rnn.grads[name], g, rtol=1e-10, atol=1e-12)


def test_probabilities_bits_and_bayes():
    lm = LanguageModel(VOCAB, LANGUAGES, nhidden=16, seed=0)
    fit(lm, X * 20, Y * 20, epochs=4, batch_size=8, lr=0.02)
    log2p = torch.cat([lm.log2_prob([w], L) for w, L in zip(X, Y)])
    assert (log2p < 0).all()
    bits = lm.bits_per_char(X, Y)
    assert bits == pytest.approx(-log2p.sum().item() / sum(len(w) + 1 for w in X), rel=1e-5)
    assert bits < 1.5                                           # it learned these ten words
    assert lm.classify(X) == Y
    assert lm.classify(["haus"], priors={"English": 1e-30, "German": 1.0}) == ["German"]


def test_sampling_is_seeded_bounded_and_made_of_the_vocabulary():
    lm = LanguageModel(VOCAB, LANGUAGES, nhidden=16, seed=0)
    fit(lm, X * 20, Y * 20, epochs=4, batch_size=8, lr=0.02)
    first = lm.sample("German", n=20, temperature=1.0, seed=3, max_length=12)
    assert first == lm.sample("German", n=20, temperature=1.0, seed=3, max_length=12)
    assert first != lm.sample("German", n=20, temperature=1.0, seed=4, max_length=12)
    assert all(set(w) <= set(VOCAB.chars) and len(w) <= 12 for w in first)
    cold = lm.sample("German", n=5, temperature=0.01, seed=0)
    assert len(set(cold)) == 1                                   # nearly the arg max: one word
    words, steps = lm.sample("English", n=3, seed=1, steps=True)
    for w, p in zip(words, steps):
        assert p.shape == (len(w) + 1, len(VOCAB) + 1) and torch.allclose(p.sum(1), torch.ones(len(w) + 1).double())


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0), "n must be a positive integer"), (dict(temperature=0.0), "temperature must be"),
    (dict(n=10**6), "at most 10,000 words"), (dict(max_length=10**6), "at most 1000 letters"),
    (dict(seed=-1), "seed must be"),
])
def test_sampling_refuses_bad_settings(kwargs, message):
    lm = LanguageModel(VOCAB, LANGUAGES, nhidden=4, seed=0)
    with pytest.raises(ValueError, match=message):
        lm.sample("English", **kwargs)
    with pytest.raises(ValueError, match="unknown labels"):
        lm.sample("Klingon")
