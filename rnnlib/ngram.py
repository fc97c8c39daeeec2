"""The opponent of the RNN language model: a character n-gram model with interpolated Kneser-Ney smoothing.

Notebook 15 ('Kneser-Ney') writes it out. It reads the same symbols as ``rnnlib.lm.LanguageModel``:
a word ``w_1 .. w_n`` is predicted letter by letter, then ``<end>``, from a start context ``^``; one
table of counts per language (the RNN's first input names the language, so both condition on it).
The next symbol's probability after the last ``k`` symbols (the context ``c``) is::

    P(w | c) = (max(a(c w) - D, 0) + D * types(c) * P(w | c without its first symbol)) / a(c)

``a(c w)`` is the count of ``c w`` for the longest n-grams (and those that start at ``^``: nothing
stands before them), and for shorter ones the number of different symbols seen just before ``c w``
(Kneser and Ney's continuation count: a piece that ends many different words counts more than one
frequent word); ``a(c) = sum_w a(c w)``, ``types(c)`` = how many ``w`` follow ``c``. Below the one-symbol
context stands the uniform distribution over every symbol, so an unseen letter keeps some probability.
``choose`` picks the order and ``D`` on a held-out part of the training words.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import torch

from .checks import check_int, check_positive, check_seed
from .data import split
from .text import MAX_WORD_LENGTH, Labels, Vocab, check_words

START, END = "\x02", "\x03"              # ^ and <end>: not printable, so never a letter of a Vocab


def count(words: Iterable[str], longest: int) -> list[dict]:
    """Per context length ``k < longest``: context -> (raw counts, continuation counts) of the next symbol."""
    raw = [defaultdict(Counter) for _ in range(longest)]
    for word in words:
        history = START + word
        for i, w in enumerate(word + END):                       # history[:i + 1] is what came before w
            for k in range(min(longest, i + 2)):
                raw[k][history[i + 1 - k:i + 1]][w] += 1
    continuation = [defaultdict(Counter) for _ in range(longest)]
    for k in range(1, longest):
        for context, following in raw[k].items():
            for w in following:                                  # one more symbol seen before context[1:] + w
                continuation[k - 1][context[1:]][w] += 1
    return [{c: (raw[k][c], continuation[k].get(c)) for c in raw[k]} for k in range(longest)]


class NgramLM:
    """Interpolated Kneser-Ney of ``order`` (contexts of up to ``order - 1`` symbols) and discount
    ``0 < discount <= 1``, one table per language, over ``len(vocab) + 1`` symbols (letters, ``<end>``)."""

    def __init__(self, vocab: Vocab, languages: Labels | Sequence[str], order: int = 5, discount: float = 0.8):
        if not isinstance(vocab, Vocab):
            raise TypeError(f"NgramLM takes a Vocab, got {type(vocab).__name__}")
        self.vocab, self.symbols = vocab, vocab.chars + [END]
        self.labels = languages if isinstance(languages, Labels) else Labels(list(languages), minimum=1)
        self.order = check_int("order", order)
        if not (isinstance(discount, (int, float)) and 0 < discount <= 1):
            raise ValueError(f"discount must be a number above 0 and at most 1, got {discount!r}")
        self.discount, self.tables = discount, {}

    @classmethod
    def from_data(cls, X: Sequence[str], y: Sequence[str], **kwargs) -> "NgramLM":
        return cls(Vocab.from_words(X), Labels(sorted(set(y)), minimum=1), **kwargs).fit(X, y)

    def fit(self, X: Sequence[str], y: Sequence[str], longest: int | None = None) -> "NgramLM":
        """Count the n-grams of the words ``X`` of languages ``y`` (up to ``longest``, by default ``order``)."""
        X, languages = check_words(X), self.labels.encode(y).tolist()
        if len(X) != len(languages):
            raise ValueError(f"{len(X)} words but {len(languages)} languages")
        for k, name in enumerate(self.labels.classes):
            self.tables[name] = count((self._word(w) for w, m in zip(X, languages) if m == k),
                                      longest or self.order)
        return self

    def _word(self, word: str) -> str:
        return self.vocab.decode(self.vocab.encode(word))         # normalised; refused if a letter is unknown

    def chains(self, language: str, histories: list[str], targets: list[str]) -> torch.Tensor:
        """Per (history, target): ``a(c w)``, ``a(c)``, ``types(c)`` for contexts of length 0 .. order-1
        (zeros where the context was never seen); a ``targets x order x 3`` tensor."""
        self.labels.encode([language])                           # an unknown language is refused here
        table = self.tables[language]
        flat = []
        for history, w in zip(histories, targets):
            levels = min(self.order, len(history) + 1)
            for k in range(levels):
                entry = table[k].get(history[len(history) - k:])
                if entry is None:                                # nor was any longer context
                    levels = k
                    break
                counts = entry[0] if k == self.order - 1 or k == len(history) else entry[1]
                flat += (counts.get(w, 0), counts.total(), len(counts))
            flat += (0, 0, 0) * (self.order - levels)
        return torch.tensor(flat, dtype=torch.float64).reshape(len(histories), self.order, 3)

    def interpolate(self, chains: torch.Tensor) -> torch.Tensor:
        """``P(w | history)`` of each row of ``chains``: from the uniform distribution up to the longest context."""
        D, p = self.discount, torch.full(chains.shape[:1], 1 / len(self.symbols), dtype=torch.float64)
        for c, total, types in chains.permute(1, 2, 0):          # context length 0, 1, ...: longer on top
            p = torch.where(total > 0, ((c - D).clamp(min=0) + D * types * p) / total.clamp(min=1), p)
        return p

    def _symbols(self, words: list[str]) -> tuple[list[str], list[str], list[int]]:
        """Every symbol to predict in ``words``: what came before it, the symbol, the word's number."""
        histories, targets, owner = [], [], []
        for i, w in enumerate(words):
            word = self._word(w)
            histories += [START + word[:j] for j in range(len(word) + 1)]
            targets += word + END
            owner += [i] * (len(word) + 1)
        return histories, targets, owner

    def log2_prob(self, words: Sequence[str], language: str) -> torch.Tensor:
        """``log2 P(word | language)`` of each word, ``<end>`` included."""
        words = check_words(words)
        histories, targets, owner = self._symbols(words)
        log2p = self.interpolate(self.chains(language, histories, targets)).log2()
        return torch.zeros(len(words), dtype=torch.float64).index_add_(0, torch.tensor(owner), log2p)

    def bits_per_char(self, X: Sequence[str], y: Sequence[str]) -> float:
        """``-log2 P`` per symbol over the words ``X`` of languages ``y`` (each word's ``<end>`` counts as one)."""
        X = check_words(X)
        if len(X) != len(y):
            raise ValueError(f"{len(X)} words but {len(y)} languages")
        total = sum(self.log2_prob([w for w, L in zip(X, y) if L == name], name).sum().item()
                    for name in sorted(set(y)))
        return -total / sum(len(self._word(w)) + 1 for w in X)

    def classify(self, words: Sequence[str], priors: dict[str, float] | None = None) -> list[str]:
        """The language ``L`` that makes ``P(word | L) P(L)`` largest (Bayes' rule); equal priors when None."""
        scores = torch.stack([self.log2_prob(words, L) + math.log2((priors or {}).get(L, 1.0))
                              for L in self.labels.classes])
        return self.labels.decode(scores.argmax(dim=0))

    def next_distribution(self, language: str, letters: str = "") -> torch.Tensor:
        """``P(symbol | the word so far)`` for every symbol (the vocabulary's letters, then ``<end>``)."""
        return self.interpolate(self.chains(language, [START + letters] * len(self.symbols), self.symbols))

    def sample(self, language: str, n: int = 1, seed: int = 0, max_length: int = 30) -> list[str]:
        """``n`` words drawn letter by letter; a word ends at ``<end>`` or after ``max_length`` letters."""
        check_int("n", n)
        check_int("max_length", max_length)
        if n > 10_000 or max_length > MAX_WORD_LENGTH:
            raise ValueError(f"sample at most 10,000 words of at most {MAX_WORD_LENGTH} letters; "
                             f"got n={n}, max_length={max_length}")
        generator, words = torch.Generator().manual_seed(check_seed("seed", seed)), []
        for _ in range(n):
            word = ""
            while len(word) < max_length:
                s = self.symbols[torch.multinomial(self.next_distribution(language, word), 1, generator=generator)]
                if s == END:
                    break
                word += s
            words.append(word)
        return words


def choose(X: Sequence[str], y: Sequence[str], vocab: Vocab, orders: Iterable[int] = range(2, 10),
           discounts: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0), held_out: float = 0.2,
           seed: int = 0) -> tuple[NgramLM, dict[tuple[int, float], float]]:
    """The order and discount with the fewest bits per character on ``held_out`` of the training words
    ``X`` (never the validation words); that model counted again on all of ``X``, and every figure tried."""
    orders, discounts = list(orders), list(discounts)
    for o in orders:
        check_int("order", o)
    for D in discounts:
        check_positive("discount", D)
    X_fit, X_held, y_fit, y_held = split(X, y, valid_fraction=held_out, seed=seed)
    model = NgramLM(vocab, sorted(set(y))).fit(X_fit, y_fit, longest=max(orders))
    symbols = {L: model._symbols([w for w, m in zip(X_held, y_held) if m == L])[:2] for L in sorted(set(y_held))}
    count_held, tried = sum(len(targets) for _, targets in symbols.values()), {}
    for model.order in orders:                       # the tables of the longest order hold the shorter ones
        chains = [model.chains(L, *symbols[L]) for L in symbols]
        for model.discount in discounts:
            tried[model.order, model.discount] = -sum(model.interpolate(c).log2().sum().item()
                                                      for c in chains) / count_held
    order, discount = min(tried, key=tried.get)
    return NgramLM(vocab, sorted(set(y)), order, discount).fit(X, y), tried
