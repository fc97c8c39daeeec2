"""Characters and labels as numbers: vocabularies, encoding, one-hot vectors.

The normalisation rule, applied everywhere a word enters the library
(building a vocabulary, training, prediction):

    word -> case folded (``str.casefold``: lower case, and ``ß`` -> ``ss``) -> Unicode NFC form

so ``"Katze"``, ``"katze"`` and a decomposed ``"e" + U+0301`` spelling of
``"é"`` all meet the model as the same characters. Case folding is lower
case plus a few mappings such as ``ß`` -> ``ss``: it is the rule ``wordfreq``
applies to its word lists, so ``"Straße"`` typed by a reader meets the model
as the ``"strasse"`` it was trained on. Accents are kept: ``é`` and ``ü`` are
strong hints of a language.

Shapes follow the course's notation, column vectors throughout:

* ``onehot(c)`` is a ``(len(vocab), 1)`` column ``x_t``;
* ``onehot_word(word)`` is ``(len(word), len(vocab), 1)``: one column per step;
* ``onehot_batch(words)`` is ``(maxlen, len(vocab), batch)``: at step ``t``,
  ``X[t]`` holds one column per word, left-padded with zero columns.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import torch

UNKNOWN_POLICIES = ("error", "skip")


def normalize(word: str) -> str:
    """The course's one normalisation rule: case folding, then NFC.

    >>> normalize("Straße"), normalize("CAFE\u0301") == "café"
    ('strasse', True)
    """
    check_word(word)
    return unicodedata.normalize("NFC", word.casefold())


def check_word(word: object) -> None:
    """Raise a one-line error unless ``word`` is a non-empty string."""
    if not isinstance(word, str):
        raise TypeError(f"expected a word as a str, got {type(word).__name__}: {word!r}")
    if word == "":
        raise ValueError("empty word: a word needs at least one character")


class Vocab:
    """A character vocabulary: ``index[c]`` is the integer of character ``c``."""

    def __init__(self, chars: Iterable[str]):
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"a vocabulary holds single characters, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("a vocabulary cannot hold the same character twice")
        if not chars:
            raise ValueError("a vocabulary needs at least one character")
        self.chars: list[str] = chars
        self.index: dict[str, int] = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_words(cls, words: Iterable[str]) -> "Vocab":
        """The sorted set of characters in ``words`` (after normalisation)."""
        words = list(words)
        if not words:
            raise ValueError("cannot build a vocabulary from no words")
        return cls(sorted({c for w in words for c in normalize(w)}))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, c: object) -> bool:
        return c in self.index

    def __repr__(self) -> str:
        return f"Vocab({''.join(self.chars)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.chars == other.chars

    def encode(self, word: str, unknown: str = "error") -> list[int]:
        """The integers of ``word``'s characters.

        ``unknown="error"`` (the default) refuses a character outside the
        vocabulary; ``unknown="skip"`` drops it, and refuses a word left empty.
        """
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown={unknown!r}; allowed: {', '.join(UNKNOWN_POLICIES)}")
        word = normalize(word)
        missing = sorted({c for c in word if c not in self.index})
        if missing and unknown == "error":
            raise ValueError(
                f"{word!r} has characters outside the vocabulary: {''.join(missing)!r}; "
                f"the vocabulary holds {''.join(self.chars)!r} (pass unknown='skip' to drop them)"
            )
        codes = [self.index[c] for c in word if c in self.index]
        if not codes:
            raise ValueError(f"{word!r} has no character of the vocabulary {''.join(self.chars)!r}")
        return codes

    def decode(self, codes: Iterable[int]) -> str:
        """The word whose characters have these integers."""
        out = []
        for i in codes:
            i = int(i)
            if not 0 <= i < len(self.chars):
                raise ValueError(f"code {i} is outside the vocabulary's range 0..{len(self.chars) - 1}")
            out.append(self.chars[i])
        return "".join(out)

    def onehot(self, c: str) -> torch.Tensor:
        """The one-hot column ``x_t`` of character ``c``: shape ``(len(vocab), 1)``."""
        if not isinstance(c, str) or len(c) != 1:
            raise ValueError(f"onehot takes one character, got {c!r}")
        (i,) = self.encode(c)
        x = torch.zeros(len(self), 1)
        x[i, 0] = 1.0
        return x

    def onehot_word(self, word: str, unknown: str = "error") -> torch.Tensor:
        """All of a word's ``x_t`` stacked: shape ``(len(word), len(vocab), 1)``."""
        codes = torch.tensor(self.encode(word, unknown))
        X = torch.zeros(len(codes), len(self), 1)
        X[torch.arange(len(codes)), codes, 0] = 1.0
        return X

    def onehot_batch(self, words: Sequence[str], unknown: str = "error") -> torch.Tensor:
        """A batch as a 3-D tensor ``(maxlen, len(vocab), batch)``, words left-padded.

        Column ``b`` of ``X[t]`` is word ``b``'s ``x_t``; a word shorter than the
        longest gets zero columns first, so every word ends at the last step.
        """
        if isinstance(words, str) or not len(words):
            raise ValueError("onehot_batch takes a non-empty list of words")
        encoded = [self.encode(w, unknown) for w in words]
        maxlen = max(len(codes) for codes in encoded)
        X = torch.zeros(maxlen, len(self), len(words))
        for b, codes in enumerate(encoded):
            start = maxlen - len(codes)
            X[torch.arange(start, maxlen), torch.tensor(codes), b] = 1.0
        return X


class Labels:
    """Label encoding of the targets: class names <-> integers 0..n-1."""

    def __init__(self, classes: Iterable[str]):
        classes = list(classes)
        if len(set(classes)) != len(classes):
            raise ValueError("class names must be distinct")
        if len(classes) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {classes!r}")
        self.classes: list[str] = classes
        self.index: dict[str, int] = {c: i for i, c in enumerate(classes)}

    @classmethod
    def from_targets(cls, y: Iterable[str]) -> "Labels":
        """The classes of ``y`` in order of first appearance."""
        return cls(dict.fromkeys(y))

    def __len__(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        return f"Labels({self.classes!r})"

    def encode(self, y: Iterable[str]) -> torch.Tensor:
        """Integer targets, a ``long`` tensor."""
        y = list(y)
        unknown = sorted({label for label in y if label not in self.index})
        if unknown:
            raise ValueError(f"unknown labels {unknown!r}; known: {self.classes!r}")
        return torch.tensor([self.index[label] for label in y], dtype=torch.long)

    def decode(self, codes: Iterable[int]) -> list[str]:
        return [self.classes[int(i)] for i in codes]
