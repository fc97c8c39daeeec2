"""Our RNN is torch.nn.RNN + torch.nn.Linear: copy W, U, b, V across and both compute the same.

torch.nn.RNN computes ``h_t = f(x_t @ weight_ih.T + bias_ih + h_{t-1} @ weight_hh.T + bias_hh)``
with one row per word; ours ``h_t = f(W @ h_{t-1} + U @ x_t + b)`` with one column per word.
So ``weight_ih = U``, ``weight_hh = W``, ``bias_ih = b`` (as a row), ``bias_hh = 0``, and
``nn.Linear(nhidden, nclasses, bias=False)`` with ``weight = V`` computes ``o = V @ h``.
"""
import pytest
import torch
from torch import nn

from rnnlib.model import RNN, Classifier
from rnnlib.train import fit
from rnnlib.vocab import Labels, Vocab

VOCAB = Vocab("abcdefghijklmnopqrstuvwxyzäöüéèß")
LABELS = Labels(["English", "French", "German"])
WORDS = ["cat", "chat", "katze", "a", "straße", "élève", "schadenfreude", "ok", "été", "zoo"]
TRAIN = [("the", "English"), ("house", "English"), ("night", "English"), ("water", "English"),
         ("maison", "French"), ("nuit", "French"), ("eau", "French"), ("chat", "French"),
         ("haus", "German"), ("nacht", "German"), ("wasser", "German"), ("katze", "German")]


def torch_twin(rnn: RNN) -> tuple[nn.RNN, nn.Linear]:
    """torch.nn.RNN and Linear layers holding copies of ``rnn``'s W, U, b and V."""
    twin = nn.RNN(rnn.nvocab, rnn.nhidden, nonlinearity=rnn.nonlinearity)
    head = nn.Linear(rnn.nhidden, rnn.nclasses, bias=False)
    with torch.no_grad():
        twin.weight_ih_l0.copy_(rnn.U)
        twin.weight_hh_l0.copy_(rnn.W)
        twin.bias_ih_l0.copy_(rnn.b[:, 0])
        twin.bias_hh_l0.zero_()
        head.weight.copy_(rnn.V)
    return twin, head


@torch.no_grad()
def torch_hidden(twin: nn.RNN, vocab: Vocab, words: list[str]) -> torch.Tensor:
    """Last h of each word from nn.RNN, batched: right padding, packed by length."""
    sequences = [vocab.onehot_word(w)[:, :, 0] for w in words]  # (len, nvocab) each
    padded = nn.utils.rnn.pad_sequence(sequences)                # (maxlen, batch, nvocab)
    lengths = torch.tensor([len(s) for s in sequences])
    packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, enforce_sorted=False)
    _, h_last = twin(packed)                                     # (1, batch, nhidden)
    return h_last[0].T                                           # (nhidden, batch), like ours


def random_rnn(nonlinearity: str, seed: int) -> RNN:
    rnn = RNN(len(VOCAB), 16, len(LABELS), nonlinearity=nonlinearity, seed=seed)
    with torch.no_grad():  # b starts at zero; a nonzero b checks that the padding stays out of h
        rnn.b.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(seed))
    return rnn


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_weights_same_h_and_logits_batched_with_padding(nonlinearity, seed):
    rnn = random_rnn(nonlinearity, seed)
    twin, head = torch_twin(rnn)
    with torch.no_grad():
        ours = rnn.hidden(VOCAB.onehot_batch(WORDS))  # left padding, masked
        logits = rnn(VOCAB.onehot_batch(WORDS))
    theirs = torch_hidden(twin, VOCAB, WORDS)
    torch.testing.assert_close(ours, theirs)
    with torch.no_grad():
        torch.testing.assert_close(logits, head(theirs.T))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_word_by_word_equals_the_batch(nonlinearity):
    """nn.RNN on one unbatched word at a time: no padding at all."""
    rnn = random_rnn(nonlinearity, seed=4)
    twin, _ = torch_twin(rnn)
    with torch.no_grad():
        batch = rnn.hidden(VOCAB.onehot_batch(WORDS))
        for i, word in enumerate(WORDS):
            _, h_last = twin(VOCAB.onehot_word(word)[:, :, 0])  # (len, nvocab): unbatched
            torch.testing.assert_close(batch[:, i], h_last[0])


def test_our_padding_mask_is_what_makes_the_batch_agree():
    """Without the mask, a zero column moves h to f(b): the padded words would differ."""
    rnn = random_rnn("tanh", seed=5)
    twin, _ = torch_twin(rnn)
    with torch.no_grad():
        X = VOCAB.onehot_batch(["a", "schadenfreude"])
        H = torch.zeros(rnn.nhidden, 2)
        for t in range(X.shape[0]):  # the recurrence with no mask
            H = torch.tanh(rnn.W @ H + rnn.U @ X[t] + rnn.b)
    theirs = torch_hidden(twin, VOCAB, ["a", "schadenfreude"])
    assert not torch.allclose(H[:, 0], theirs[:, 0], atol=1e-3)  # "a" was padded 12 steps
    torch.testing.assert_close(H[:, 1], theirs[:, 1])          # the longest word had no padding


@pytest.fixture(scope="module", params=["tanh", "relu"])
def trained(request):
    X, y = zip(*TRAIN)
    clf = Classifier(VOCAB, LABELS, nhidden=12, nonlinearity=request.param, seed=6)
    fit(clf, list(X), list(y), epochs=30, batch_size=4, lr=0.02, seed=0, progress=False)
    return clf


def test_trained_weights_same_predictions(trained):
    twin, head = torch_twin(trained.rnn)
    assert trained.rnn.b.abs().max() > 0  # training moved b away from zero
    with torch.no_grad():
        ours = trained.predict_proba(WORDS)
        theirs = torch.softmax(head(torch_hidden(twin, VOCAB, WORDS).T), dim=1)
    torch.testing.assert_close(ours, theirs)
    assert trained.labels.decode(theirs.argmax(dim=1)) == trained.predict(WORDS)


def test_save_load_round_trip_gives_identical_predictions(trained, tmp_path):
    path = tmp_path / "model.pt"
    trained.save(path)
    loaded = Classifier.load(path)
    assert loaded.vocab == trained.vocab and loaded.labels.classes == trained.labels.classes
    assert loaded.rnn.nonlinearity == trained.rnn.nonlinearity
    assert torch.equal(loaded.predict_proba(WORDS), trained.predict_proba(WORDS))
    for name, param in trained.rnn.named_parameters():
        assert torch.equal(getattr(loaded.rnn, name), param)
