"""fit and Classifier are the loops that notebooks 7, 9 and 10 write out.

Each test trains the same starting matrices twice, once with ``fit`` and once with
the loop as a notebook writes it (shuffled with ``random.Random(seed)``, the
cross-entropy of the batch, clipping to norm 1, one Adam step per batch), and
checks that the matrices end up equal. These checks used to run in the
notebooks themselves.
"""
import random

import pytest
import torch
import torch.nn.functional as F

from rnnlib.model import Classifier
from rnnlib.train import evaluate, fit
from rnnlib.vocab import Labels, Vocab

VOCAB = Vocab("abcdefghijklmnopqrstuvwxyzäöüéèß")
LABELS = Labels(["English", "French", "German"])
TRAIN = [("the", "English"), ("house", "English"), ("night", "English"), ("water", "English"),
         ("maison", "French"), ("nuit", "French"), ("eau", "French"), ("chat", "French"),
         ("haus", "German"), ("nacht", "German"), ("wasser", "German"), ("katze", "German"),
         ("mother", "English"), ("père", "French"), ("straße", "German"), ("élève", "French"),
         ("dog", "English"), ("hund", "German"), ("chien", "French"), ("bird", "English")] * 2
WORDS = [w for w, _ in TRAIN]
CLASSES = [c for _, c in TRAIN]
NHIDDEN = 16


def written_out(start: dict[str, torch.Tensor], nonlinearity: str, batch_size: int,
                vectorized: bool, lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """One epoch of the notebooks' loop from the matrices ``start``; returns the trained matrices."""
    f = torch.tanh if nonlinearity == "tanh" else torch.relu
    p = {name: M.clone().requires_grad_() for name, M in start.items()}
    optimizer = torch.optim.Adam(p.values(), lr=lr)
    targets = LABELS.encode(CLASSES)
    order = list(range(len(WORDS)))
    random.Random(seed).shuffle(order)
    for s in range(0, len(order), batch_size):
        batch = order[s:s + batch_size]
        if vectorized:  # notebook 10: the batch as the columns of H, left padding, masked
            X = VOCAB.onehot_batch([WORDS[i] for i in batch])
            H = torch.zeros(NHIDDEN, len(batch))
            for t in range(X.shape[0]):
                started = X[t].sum(dim=0, keepdim=True) > 0
                H = torch.where(started, f(p["W"] @ H + p["U"] @ X[t] + p["b"]), H)
            loss = F.cross_entropy((p["V"] @ H).T, targets[batch])
        else:  # notebooks 7 and 9: each word of the batch on its own
            loss = 0
            for i in batch:
                h = torch.zeros(NHIDDEN, 1)
                for x_t in VOCAB.onehot_word(WORDS[i]):
                    h = f(p["W"] @ h + p["U"] @ x_t + p["b"])
                loss = loss + F.cross_entropy((p["V"] @ h).T, targets[i:i + 1])
            loss = loss / len(batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), max_norm=1.0)
        optimizer.step()
    return {name: M.detach() for name, M in p.items()}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batch_size, vectorized", [(1, False), (8, False), (8, True)])
def test_fit_makes_the_updates_of_the_written_out_loop(nonlinearity, batch_size, vectorized):
    clf = Classifier(VOCAB, LABELS, nhidden=NHIDDEN, nonlinearity=nonlinearity, seed=3)
    start = {name: M.detach().clone() for name, M in clf.rnn.named_parameters()}
    # equal_lengths=False: the padded, masked loop that notebook 10 writes out, not fit's faster trainer
    fit(clf, WORDS, CLASSES, epochs=1, batch_size=batch_size, vectorized=vectorized, equal_lengths=False,
        optimizer="adam", lr=0.01, loss_reduction="mean", clip=1.0, seed=0, progress=False)
    mine = written_out(start, nonlinearity, batch_size, vectorized, lr=0.01)
    for name, M in mine.items():
        torch.testing.assert_close(M, getattr(clf.rnn, name).detach(), rtol=1e-4, atol=1e-5)


def test_classifier_predicts_with_the_written_out_loop():
    clf = Classifier(VOCAB, LABELS, nhidden=NHIDDEN, seed=5)
    r = clf.rnn
    with torch.no_grad():
        r.b.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(0))
        mine = []
        for word in WORDS:
            h = torch.zeros(NHIDDEN, 1)
            for x_t in VOCAB.onehot_word(word):
                h = torch.tanh(r.W @ h + r.U @ x_t + r.b)
            mine.append(torch.softmax((r.V @ h).T, dim=1))
    torch.testing.assert_close(clf.predict_proba(WORDS), torch.cat(mine))
    targets = LABELS.encode(CLASSES)
    accuracy = (torch.cat(mine).argmax(dim=1) == targets).float().mean().item()
    assert evaluate(clf, WORDS, CLASSES)[1] == pytest.approx(accuracy)
