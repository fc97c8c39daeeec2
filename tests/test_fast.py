"""rnnlib.fast makes the same updates as the plain autograd loop of RNN.hidden, to float tolerance."""
import random

import pytest
import torch
import torch.nn.functional as F

from rnnlib.fast import EqualLengthWords, Recurrence, equal_length_batches, logits
from rnnlib.model import RNN, Classifier
from rnnlib.train import TrainingDiverged, fit
from rnnlib.vocab import Labels, Vocab

VOCAB = Vocab("abcdefghijklmnopqrstuvwxyzäöüéèß")
LABELS = Labels(["English", "French", "German"])
TRAIN = [("the", "English"), ("house", "English"), ("night", "English"), ("water", "English"),
         ("a", "English"), ("is", "English"), ("maison", "French"), ("nuit", "French"),
         ("eau", "French"), ("chat", "French"), ("élève", "French"), ("y", "French"),
         ("haus", "German"), ("nacht", "German"), ("wasser", "German"), ("katze", "German"),
         ("schadenfreude", "German"), ("straße", "German"), ("ja", "German"), ("und", "German")]


@pytest.mark.parametrize("relu", [False, True])
def test_hand_backward_passes_gradcheck(relu):
    gen = torch.Generator().manual_seed(0)
    codes = torch.tensor([[0, 2, 1], [2, 2, 0], [1, 0, 0], [3, 1, 2], [0, 0, 0]])  # 5 steps, 3 words
    U, b, W, V = (torch.randn(*shape, generator=gen, dtype=torch.double, requires_grad=True)
                  for shape in [(4, 5), (4, 1), (4, 4), (2, 4)])
    assert torch.autograd.gradcheck(lambda *M: Recurrence.apply(codes, *M, relu), (U, b, W, V))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_logits_and_gradients_equal_the_masked_loop(nonlinearity):
    rnn = RNN(len(VOCAB), 16, len(LABELS), nonlinearity=nonlinearity, seed=1)
    with torch.no_grad():
        rnn.b.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(1))
    words = ["katze", "hause", "water", "nuits"]   # five letters each: no padding
    target = torch.tensor([2, 2, 0, 1])
    codes = torch.tensor([VOCAB.encode(w) for w in words]).T
    grads = []
    for logits_of in (lambda: rnn(VOCAB.onehot_batch(words)), lambda: logits(rnn, codes)):
        rnn.zero_grad()
        F.cross_entropy(logits_of(), target).backward()
        grads.append([p.grad.clone() for p in rnn.parameters()])
    with torch.no_grad():
        torch.testing.assert_close(logits(rnn, codes), rnn(VOCAB.onehot_batch(words)))
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs)


def test_equal_length_batches_hold_every_word_once_and_reshuffle():
    lengths = [len(VOCAB.encode(w)) for w, _ in TRAIN]  # straße: 7 codes (ss)
    rng = random.Random(0)
    first, second = equal_length_batches(lengths, 2, rng), equal_length_batches(lengths, 2, rng)
    for batches in (first, second):
        assert sorted(i for batch in batches for i in batch) == list(range(len(TRAIN)))
        assert all(len({lengths[i] for i in batch}) == 1 and len(batch) <= 2 for batch in batches)
    assert first != second
    assert len(first) == EqualLengthWords([VOCAB.encode(w) for w, _ in TRAIN]).nbatches(2)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("optimizer, lr, clip, lr_schedule, reduction", [
    ("adam", 0.05, 1.0, "constant", "mean"), ("sgd", 0.5, 0.1, "constant", "mean"),
    ("rmsprop", 0.005, None, "constant", "mean"), ("adam", 0.05, None, "linear", "sum"),
    ("sgd", 0.05, 0.5, "linear", "sum")])
def test_fit_makes_the_same_updates_as_the_plain_autograd_loop(nonlinearity, optimizer, lr, clip, lr_schedule,
                                                                reduction):
    """Three epochs, words of 1 to 13 letters, the batches fit draws, through rnn(onehot_batch)."""
    X, y = map(list, zip(*TRAIN))
    clf = Classifier(VOCAB, LABELS, nhidden=12, nonlinearity=nonlinearity, seed=3)
    mine = RNN(len(VOCAB), 12, len(LABELS), nonlinearity=nonlinearity, seed=3)
    clf.rnn.double(), mine.double()       # float64: rounding cannot hide a wrong update in 3 epochs of Adam
    history = fit(clf, X, y, epochs=3, batch_size=3, lr=lr, optimizer=optimizer, clip=clip, lr_schedule=lr_schedule,
                  loss_reduction=reduction, seed=7, progress=False)

    opt = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}[optimizer](
        mine.parameters(), lr=lr)
    nbatches = len(equal_length_batches([len(VOCAB.encode(w)) for w in X], 3, random.Random(0)))
    schedule = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, total_iters=3 * nbatches) \
        if lr_schedule == "linear" else None
    targets = LABELS.encode(y)
    rng = random.Random(7)
    updates = 0
    for epoch in range(3):
        total_loss, correct = 0.0, 0
        for batch in equal_length_batches([len(VOCAB.encode(w)) for w in X], 3, rng):
            logits = mine(VOCAB.onehot_batch([X[i] for i in batch]).double())
            loss = F.cross_entropy(logits, targets[batch], reduction=reduction)
            total_loss += loss.item() * (len(batch) if reduction == "mean" else 1)
            correct += int((logits.argmax(dim=1) == targets[batch]).sum())
            opt.zero_grad()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(mine.parameters(), max_norm=clip)
            opt.step()
            if schedule is not None:
                schedule.step()
            updates += 1
        assert history.train_loss[epoch] == pytest.approx(total_loss / len(X), rel=1e-5)
        assert history.train_accuracy[epoch] == correct / len(X)
    assert updates > 3 * len(X) / 3          # some lengths make a smaller last batch
    for name, M in mine.named_parameters():
        assert not torch.equal(M, RNN(len(VOCAB), 12, len(LABELS), seed=3).double().get_parameter(name))  # it moved
        torch.testing.assert_close(M, clf.rnn.get_parameter(name), rtol=1e-9, atol=1e-10)


def test_a_diverging_fit_keeps_the_updates_made_before_the_bad_batch():
    """relu and a huge lr overflow h: fit stops with TrainingDiverged, and the model holds the updates made."""
    X, y = map(list, zip(*TRAIN))
    clf = Classifier(VOCAB, LABELS, nhidden=12, nonlinearity="relu", seed=3)
    before = {name: p.detach().clone() for name, p in clf.rnn.named_parameters()}
    with pytest.raises(TrainingDiverged, match="at epoch"):
        fit(clf, X * 5, y * 5, epochs=50, batch_size=2, lr=1e6, optimizer="sgd", clip=None, progress=False)
    assert any(not torch.equal(before[name], p) for name, p in clf.rnn.named_parameters())


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_last_hidden_and_evaluate_equal_the_masked_loop(nonlinearity):
    """Words of every length, in any order, chunked: the same h and the same loss as rnn.hidden on one-hots."""
    from rnnlib.fast import last_hidden
    from rnnlib.train import evaluate

    X, y = map(list, zip(*TRAIN))
    clf = Classifier(VOCAB, LABELS, nhidden=12, nonlinearity=nonlinearity, seed=5)
    with torch.no_grad():
        clf.rnn.b.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(5))
        H = clf.rnn.hidden(VOCAB.onehot_batch(X))
        logits = clf.rnn(VOCAB.onehot_batch(X))
    torch.testing.assert_close(last_hidden(clf.rnn, [VOCAB.encode(w) for w in X], batch_size=3), H.T)
    loss, accuracy = evaluate(clf, X, y, batch_size=4)
    targets = LABELS.encode(y)
    assert loss == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)
    assert accuracy == (logits.argmax(dim=1) == targets).sum().item() / len(X)
