"""The optimizers against torch.optim, and the three trainers against the autograd loops of notebooks 7, 9, 10."""
import math
import random

import pytest
import torch
import torch.nn.functional as F

from rnnlib.model import Classifier
from rnnlib.optim import RHO, Optimizer, clip_norm
from rnnlib.text import Batches, Labels, Vocab
from rnnlib.train import History, Step, TrainingDiverged, evaluate, fit, train_minibatch, train_per_record, \
    train_vectorized

VOCAB = Vocab("abcdefghijklmnopqrstuvwxyzäöüéè")
LABELS = Labels(["English", "French", "German"])
DATA = [("the", "English"), ("house", "English"), ("night", "English"), ("water", "English"), ("a", "English"),
        ("is", "English"), ("maison", "French"), ("nuit", "French"), ("eau", "French"), ("chat", "French"),
        ("élève", "French"), ("y", "French"), ("haus", "German"), ("nacht", "German"), ("wasser", "German"),
        ("katze", "German"), ("schadenfreude", "German"), ("straße", "German"), ("ja", "German"), ("und", "German")]
X, Y = [w for w, _ in DATA], [label for _, label in DATA]


@pytest.mark.parametrize("kind, theirs", [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
    ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=RHO)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01)),
])
def test_optimizers_make_torch_optims_steps(kind, theirs):
    mine, ref = torch.ones(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64, requires_grad=True)
    ours, optimizer = Optimizer(kind, mine), theirs([ref])
    for k in range(1, 8):
        ref.grad = torch.tensor([0.1, -2.0, 30.0, 0.0], dtype=torch.float64) * k * (-1) ** k
        ours.step(ref.grad, optimizer.param_groups[0]["lr"])
        optimizer.step()
    torch.testing.assert_close(mine, ref.detach(), rtol=1e-12, atol=1e-14)


def test_clipping_is_clip_grad_norm():
    g = torch.tensor([3.0, 4.0], dtype=torch.float64)
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    p.grad = g.clone()
    assert torch.nn.utils.clip_grad_norm_([p], 1.0).item() == clip_norm(g, 1.0).item() == 5.0
    torch.testing.assert_close(g, p.grad)
    assert clip_norm(g, 10.0).item() == pytest.approx(1.0) and torch.equal(g, p.grad)   # shorter: unchanged


def autograd_copy(clf):
    return {name: M.detach().clone().requires_grad_() for name, M in clf.rnn.params.items()}


def logits_one_word(p, word):
    h = torch.zeros(p["W"].shape[1], 1, dtype=torch.float64)
    for x in VOCAB.onehot_word(word, dtype=torch.float64):
        h = torch.tanh(p["W"] @ h + p["U"] @ x + p["b"])
    return (p["V"] @ h).T


def logits_padded(p, words):
    X = VOCAB.onehot_batch(words, dtype=torch.float64)
    H = torch.zeros(p["W"].shape[1], len(words), dtype=torch.float64)
    for x in X:
        H = torch.where(x.sum(0, keepdim=True) > 0, torch.tanh(p["W"] @ H + p["U"] @ x + p["b"]), H)
    return (p["V"] @ H).T


def reference_epoch(p, batches, logits_of, lr_at, clip, weight_decay=0.0):
    """Notebook 9's loop, autograd and torch.optim.Adam (AdamW with weight decay); ``batches``: lists of word numbers."""
    optimizer = (torch.optim.AdamW(p.values(), lr=lr_at(0), weight_decay=weight_decay) if weight_decay
                 else torch.optim.Adam(p.values(), lr=lr_at(0)))
    targets = LABELS.encode(Y)
    for k, batch in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(k)
        loss = F.cross_entropy(logits_of(p, batch), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), clip)
        optimizer.step()


@pytest.mark.parametrize("trainer", ["per_record", "minibatch", "padded", "equal_lengths"])
def test_trainers_make_the_autograd_loops_updates(trainer):
    clf = Classifier(VOCAB, LABELS, nhidden=8, seed=1, dtype="float64")
    clf.rnn.b.uniform_(-0.3, 0.3, generator=torch.Generator().manual_seed(1))   # padding must not matter
    p = autograd_copy(clf)
    data = Batches(*clf.encode(X, Y))
    lr_at, order = (lambda k: 0.05 * (1 - k / 40)), list(range(len(X)))
    step = Step(clf, "adam", lr_at, clip=1.0)
    random.Random(3).shuffle(order)
    if trainer == "per_record":
        train_per_record(clf, data, step, random.Random(3))
        batches, logits_of = [[i] for i in order], lambda p, b: logits_one_word(p, X[b[0]])
    elif trainer == "minibatch":
        train_minibatch(clf, data, step, random.Random(3), batch_size=6)
        batches = [order[s:s + 6] for s in range(0, len(order), 6)]
        logits_of = lambda p, b: torch.cat([logits_one_word(p, X[i]) for i in b])  # noqa: E731
    elif trainer == "padded":
        train_vectorized(clf, data, step, random.Random(3), batch_size=6, equal_lengths=False)
        batches, logits_of = [order[s:s + 6] for s in range(0, len(order), 6)], \
            lambda p, b: logits_padded(p, [X[i] for i in b])
    else:
        equal = data.equal_lengths(2, random.Random(3))          # what train_vectorized draws
        train_vectorized(clf, data, step, random.Random(3), batch_size=2)
        number = {tuple(codes): i for i, codes in enumerate(data.inputs)}
        batches = [[number[tuple(codes[:, j].tolist())] for j in range(codes.shape[1])] for codes, _, _ in equal]
        assert all(mask is None and len({len(X[i]) for i in b}) == 1 for b, (_, mask, _) in zip(batches, equal))
        logits_of = lambda p, b: logits_padded(p, [X[i] for i in b])  # noqa: E731
    reference_epoch(p, batches, logits_of, lr_at, 1.0)
    for name, M in clf.rnn.params.items():
        torch.testing.assert_close(M, p[name].detach(), rtol=1e-9, atol=1e-11)


def test_weight_decay_makes_adamws_updates():
    clf = Classifier(VOCAB, LABELS, nhidden=8, seed=2, dtype="float64")
    p = autograd_copy(clf)
    lr_at, order = (lambda k: 0.05 * (1 - k / 40)), list(range(len(X)))
    train_per_record(clf, Batches(*clf.encode(X, Y)), Step(clf, "adam", lr_at, 1.0, weight_decay=0.5),
                     random.Random(4))
    random.Random(4).shuffle(order)
    reference_epoch(p, [[i] for i in order], lambda p, b: logits_one_word(p, X[b[0]]), lr_at, 1.0, weight_decay=0.5)
    for name, M in clf.rnn.params.items():
        torch.testing.assert_close(M, p[name].detach(), rtol=1e-9, atol=1e-11)


def test_dropout_gradient_equals_autograd_with_the_same_dropped_entries():
    clf = Classifier(VOCAB, LABELS, nhidden=6, seed=3, dtype="float64", dropout=0.4)
    words = ["house", "maison", "wasser", "katze", "night"]
    codes, mask, targets = Batches(*clf.encode(words, ["English", "French", "German", "German", "English"])).pad(
        list(range(5)))
    state = clf.generator.get_state()
    loss, _, _ = clf.gradient(codes, mask, targets, "mean")
    clf.generator.set_state(state)
    keep = (torch.rand((5, 6), generator=clf.generator).double() >= 0.4) / 0.6
    p = autograd_copy(clf)
    H = logits_padded({**p, "V": torch.eye(6, dtype=torch.float64)}, words)     # h_T of each word, as rows
    reference = F.cross_entropy((H * keep) @ p["V"].T, targets)
    reference.backward()
    assert loss.item() / 5 == pytest.approx(reference.item(), rel=1e-12)
    for name, M in p.items():
        torch.testing.assert_close(clf.rnn.grads[name], M.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(clf.outputs(codes, mask), H.detach() @ p["V"].detach().T)   # none dropped here


def test_equal_length_batches_hold_every_word_once_and_reshuffle():
    data = Batches([VOCAB.encode(w) for w in X], LABELS.encode(Y).tolist())
    rng = random.Random(0)
    first, second = data.equal_lengths(2, rng), data.equal_lengths(2, rng)
    for batches in (first, second):
        assert sum(codes.shape[1] for codes, _, _ in batches) == len(X)
        assert all(mask is None and codes.shape[1] <= 2 for codes, mask, _ in batches)
    assert [c.tolist() for c, _, _ in first] != [c.tolist() for c, _, _ in second]


def test_fit_learns_and_evaluate_is_fits_figure():
    clf = Classifier(VOCAB, LABELS, nhidden=16, seed=0)
    history = fit(clf, X, Y, X, Y, epochs=30, batch_size=4, lr=0.02, seed=0)
    assert isinstance(history, History) and len(history.valid_accuracy) == 30
    assert history.valid_accuracy[-1] > 0.9 and history.train_loss[-1] < history.train_loss[0] / 3
    assert evaluate(clf, X, Y) == (history.valid_loss[-1], history.valid_accuracy[-1])
    again = Classifier(VOCAB, LABELS, nhidden=16, seed=0)
    fit(again, X, Y, epochs=30, batch_size=4, lr=0.02, seed=0)
    assert torch.equal(again.rnn.theta, clf.rnn.theta)            # the same seed, the same model


def test_a_diverging_fit_is_an_error_naming_the_epoch():
    clf = Classifier(VOCAB, LABELS, nhidden=8, cell="relu", seed=0)
    clf.rnn.W.fill_(3.0)
    with pytest.raises(TrainingDiverged, match="weights grew past 1e.06 in epoch 1: try a lower learning rate"):
        fit(clf, X * 5, Y * 5, epochs=3, lr=50.0, optimizer="sgd", clip=None)
    clf.rnn.W.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="the loss became nan at update 1 of epoch 1"):
        fit(clf, X, Y, epochs=3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs must be a positive integer"), (dict(lr=math.inf), "lr must be a finite number"),
    (dict(lr=1e39), "lr must be at most 100"), (dict(lr=-1.0), "lr must be a finite number above 0"),
    (dict(optimizer="adagrad"), "allowed: sgd, rmsprop, adam"), (dict(trainer="fast"), "allowed: per_record"),
    (dict(clip=0.0), "clip must be"), (dict(seed=-1), "seed must be a whole number"),
    (dict(seed="0"), "seed must be"), (dict(seed=1.5), "seed must be"), (dict(seed=None), "seed must be"),
    (dict(lr_schedule="cosine"), "allowed: constant, linear"), (dict(weight_decay=-0.1), "weight_decay must be"),
    (dict(lr=0.1, weight_decay=10.0), "lr \\* weight_decay must be below 1"),
])
def test_fit_refuses_a_bad_argument_before_any_update(kwargs, message):
    clf = Classifier(VOCAB, LABELS, nhidden=4, seed=0)
    before = clf.rnn.theta.clone()
    with pytest.raises(ValueError, match=message):
        fit(clf, X, Y, **kwargs)
    assert torch.equal(clf.rnn.theta, before)
