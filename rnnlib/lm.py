"""A character language model from the same ``W``, ``U``, ``V``: ``o_t = V @ h_t`` predicts character t+1.

Notebook 15 ('A language model') writes it out. One model for every language: a word
``w`` of language ``L`` is read as ``<L> w_1 .. w_n`` and its targets are ``w_1 .. w_n <end>``,
so the first input tells the model which language to write. The loss is the cross-entropy
summed over the steps; its gradient reaches every ``h_t`` (``RNN.backward`` at every step).

    lm.sample("German", n=5, temperature=0.8, seed=0)     new words, letter by letter
    lm.log2_prob(words, "French")                          log2 P(word | language), <end> included
    lm.bits_per_char(X, y)                                 -mean log2 P per symbol, <end> included
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .checks import check_int, check_positive, check_seed
from .model import RNN, check_dropout, dropped, softmax_minus_onehot
from .text import MAX_WORD_LENGTH, Batches, Labels, Vocab, check_words


class LanguageModel:
    """An ``RNN`` with ``len(vocab) + len(languages)`` symbols in (characters, a start per language)
    and ``len(vocab) + 1`` out (characters, then ``<end>``). ``dropout`` drops entries of ``h_t``
    on their way to ``V`` while training."""

    def __init__(self, vocab: Vocab, languages: Labels | Sequence[str], nhidden: int = 128, cell: str = "gru",
                 seed: int = 0, dtype: str | None = None, dropout: float = 0.0, rnn: RNN | None = None):
        if not isinstance(vocab, Vocab):
            raise TypeError(f"LanguageModel takes a Vocab, got {type(vocab).__name__}")
        self.vocab = vocab
        self.labels = languages if isinstance(languages, Labels) else Labels(list(languages), minimum=1)
        self.dropout, self.end = check_dropout(dropout), len(vocab)
        self.rnn = rnn or RNN(len(vocab) + len(self.labels), nhidden, len(vocab) + 1, cell, seed, dtype)
        self.generator = torch.Generator().manual_seed(seed)

    @classmethod
    def from_data(cls, X: Sequence[str], y: Sequence[str], **kwargs) -> "LanguageModel":
        return cls(Vocab.from_words(X), Labels(sorted(set(y)), minimum=1), **kwargs)

    def start(self, language: str) -> int:
        """The input symbol that starts a word of ``language``."""
        return len(self.vocab) + self.labels.encode([language]).item()

    def encode(self, X: Sequence[str], y: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
        """Inputs ``<L> w_1 .. w_n`` and targets ``w_1 .. w_n <end>`` of each word."""
        languages = self.labels.encode(y).tolist()
        codes = [self.vocab.encode(w) for w in check_words(X)]
        if len(codes) != len(languages):
            raise ValueError(f"{len(codes)} words but {len(languages)} languages")
        return ([[len(self.vocab) + k] + c for c, k in zip(codes, languages)], [c + [self.end] for c in codes])

    def _losses(self, codes, mask, targets, weight=1.0):
        """The trace, every step's loss and its gradient on the logits, the right guesses, the masks."""
        trace = self.rnn.forward(codes, mask)
        loss, dO, guess = softmax_minus_onehot(trace.H[1:] @ self.rnn.V.T, targets, weight)
        real = torch.ones_like(loss, dtype=torch.bool) if mask is None else mask
        return trace, loss * real, dO * real[..., None], (guess == targets) & real

    def gradient(self, codes: torch.Tensor, mask: torch.Tensor | None, targets: torch.Tensor,
                 reduction: str) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Summed loss, right next-symbol guesses and symbols of a batch; the loss's gradient into ``rnn.grad``."""
        count = int(targets.numel() if mask is None else mask.sum())
        weight, V = 1 / count if reduction == "mean" else 1.0, self.rnn.V
        trace = self.rnn.forward(codes, mask)
        H, keep = dropped(trace.H[1:], self.dropout, self.generator)     # o_t = V @ (keep_t * h_t)
        loss, dO, guess = softmax_minus_onehot(H @ V.T, targets, weight)
        real = torch.ones_like(loss, dtype=torch.bool) if mask is None else mask
        dO *= real[..., None]
        self.rnn.grads["V"].copy_(dO.reshape(-1, self.rnn.nout).T @ H.reshape(-1, self.rnn.nhidden))
        dH = torch.zeros_like(trace.H)
        dH[1:] = dO @ V
        if keep is not None:
            dH[1:] *= keep
        self.rnn.backward(trace, dH)
        return (loss * real).sum(), ((guess == targets) & real).sum(), count

    def word_log_probs(self, data: Batches) -> torch.Tensor:
        """Per word: natural log P(word), right next-symbol guesses, symbols (a ``words x 3`` tensor)."""
        def per_word(codes, targets):
            _, loss, _, right = self._losses(codes, None, targets)
            return torch.stack([-loss.sum(0), right.sum(0).to(loss), torch.full_like(loss[0], codes.shape[0])], 1)
        return data.apply(per_word)

    def evaluate(self, data: Batches) -> tuple[float, float]:
        """Mean cross-entropy per symbol (in nats) and next-symbol accuracy."""
        log_p, right, count = self.word_log_probs(data).sum(0).tolist()
        return -log_p / count, right / count

    def log2_prob(self, words: Sequence[str], language: str) -> torch.Tensor:
        """``log2 P(word | language)`` of each word, ``<end>`` included."""
        words = check_words(words)
        return self.word_log_probs(Batches(*self.encode(words, [language] * len(words)), self.rnn.device))[:, 0] \
            / math.log(2)

    def bits_per_char(self, X: Sequence[str], y: Sequence[str]) -> float:
        """``-log2 P`` per symbol over the words ``X`` of languages ``y`` (each word's ``<end>`` counts as one)."""
        return self.evaluate(Batches(*self.encode(X, y), self.rnn.device))[0] / math.log(2)

    def classify(self, words: Sequence[str], priors: dict[str, float] | None = None) -> list[str]:
        """The language ``L`` that makes ``P(word | L) P(L)`` largest (Bayes' rule); equal priors when None."""
        scores = torch.stack([self.log2_prob(words, L).cpu() + math.log2((priors or {}).get(L, 1.0))
                              for L in self.labels.classes])
        return self.labels.decode(scores.argmax(dim=0))

    @torch.no_grad()
    def sample(self, language: str, n: int = 1, temperature: float = 1.0, seed: int = 0,
               max_length: int = 30, steps: bool = False):
        """``n`` new words of ``language``, each letter drawn from ``softmax(V @ h_t / temperature)``.

        A word ends at ``<end>`` or after ``max_length`` letters. With ``steps=True``, also each
        word's distributions over the next symbol (``letters + 1 x nout``, one row per step).
        """
        check_int("n", n)
        check_positive("temperature", temperature)
        check_int("max_length", max_length)
        if n > 10_000 or max_length > MAX_WORD_LENGTH or not 0.01 <= temperature <= 100:
            raise ValueError(f"sample at most 10,000 words of at most {MAX_WORD_LENGTH} letters, at a temperature "
                             f"from 0.01 to 100; got n={n}, max_length={max_length}, temperature={temperature}")
        generator = torch.Generator().manual_seed(check_seed("seed", seed))
        x = torch.full((1, n), self.start(language), device=self.rnn.device)
        h, drawn, dists, ended = None, [], [], torch.zeros(n, dtype=torch.bool)
        for _ in range(max_length + 1):                      # each draw feeds the next x_t
            h = self.rnn.forward(x, h0=h).H[-1]
            p = torch.softmax((h @ self.rnn.V.T).double().cpu() / temperature, dim=1)
            if not torch.isfinite(p).all():
                raise ValueError(f"the model's scores stopped being finite after {len(drawn)} letters "
                                 f"(h overflowed in this {self.rnn.cell.name} model): it cannot sample")
            x = torch.multinomial(p, 1, generator=generator).T.to(self.rnn.device)
            drawn.append(x[0].cpu())
            if steps:
                dists.append(p)
            ended |= drawn[-1] == self.end
            if ended.all():
                break
        columns, words, trails = torch.stack(drawn, dim=1).tolist(), [], []
        for k, column in enumerate(columns):
            length = column.index(self.end) if self.end in column else max_length
            words.append(self.vocab.decode(column[:length]))
            if steps:
                trails.append(torch.stack([p[k] for p in dists[:length + 1]]))
        return (words, trails) if steps else words
