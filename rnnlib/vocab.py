"""Characters and labels as numbers: vocabularies, encoding, one-hot vectors.

What a word is, the one rule applied everywhere a word enters the library
(building a vocabulary, training, evaluation, prediction, the command line):

    word -> leading and trailing whitespace removed
         -> case folded (``str.casefold``: lower case, and ``ß`` -> ``ss``)
         -> Unicode NFC form

A word with no character left (``""``, ``"   "``) is refused. Inner spaces
stay: they are characters like any other, so ``"de la cruz"`` is one word
for a vocabulary that holds a space (the surnames' does) and is refused, or
skipped over with ``unknown="skip"``, by one that does not.

So ``"Katze"``, ``" katze "`` and a decomposed ``"e" + U+0301`` spelling of
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

from .checks import check_choice

UNKNOWN_POLICIES = ("error", "skip")


def normalize(word: str) -> str:
    """The course's one normalisation rule: strip, case fold, NFC.

    >>> normalize(" Straße "), normalize("CAFE\u0301") == "café"
    ('strasse', True)
    """
    check_word(word)
    word = fold(word.strip())
    if not word:
        raise ValueError("empty word: a word needs at least one character other than spaces")
    return word


def fold(text: str) -> str:
    """Case folding, then NFC: what ``normalize`` does to the characters of a word."""
    return unicodedata.normalize("NFC", text.casefold())


def check_word(word: object) -> None:
    """Raise a one-line error unless ``word`` is a string (``normalize`` refuses an empty one)."""
    if not isinstance(word, str):
        raise TypeError(f"expected a word as a str, got {type(word).__name__}: {word!r}")


def hint(missing: Iterable[str], chars: Iterable[str]) -> str:
    """What to do about characters outside the vocabulary ``chars``, grouped by kind.

    >>> hint("ñ-1", "abcn")
    "'ñ' is not in the vocabulary but 'n' is: write 'n'; '-' separates words: give the parts one at a time; '1' is a digit: the model knows only letters"
    """
    chars = set(chars)
    accents, separators, digits = [], [], []
    for c in missing:
        base = unicodedata.normalize("NFD", c)[0]
        if base != c and base in chars:
            accents.append(f"{c!r} is not in the vocabulary but {base!r} is: write {base!r}")
        elif c.isdigit():
            digits.append(repr(c))
        elif not c.isalpha():
            separators.append(repr(c))
    hints = accents
    if separators:
        hints.append(f"{', '.join(separators)} {'separates' if len(separators) == 1 else 'separate'} "
                     f"words: give the parts one at a time")
    if digits:
        hints.append(f"{', '.join(digits)} {'is a digit' if len(digits) == 1 else 'are digits'}: "
                     f"the model knows only letters")
    return "; ".join(hints)


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
        check_choice("unknown", unknown, UNKNOWN_POLICIES)
        return self._codes(normalize(word), unknown)

    def _codes(self, word: str, unknown: str) -> list[int]:
        codes = [self.index[c] for c in word if c in self.index]
        missing = sorted({c for c in word if c not in self.index}) if len(codes) < len(word) else []
        if missing and unknown == "error":
            tip = hint(missing, self.chars)
            if len(missing) < len(set(word)):  # something would be left to predict from
                tip += ("; or " if tip else "") + "pass unknown='skip' to drop them"
            raise ValueError(
                f"{word!r} has characters outside the vocabulary: {''.join(missing)!r}; "
                f"the vocabulary holds {''.join(self.chars)!r}{f' ({tip})' if tip else ''}"
            )
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
        folded = fold(c)  # not stripped: a space is a character of the surnames' vocabulary
        if len(folded) != 1:  # "ß" -> "ss", "ﬁ" -> "fi", "İ" -> "i" + a dot above
            raise ValueError(f"onehot takes one character, but {c!r} normalises to {folded!r} "
                             f"({len(folded)} characters): use onehot_word")
        (i,) = self._codes(folded, "error")
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
        steps, chars, columns = [], [], []             # where the ones go, for one assignment
        for b, codes in enumerate(encoded):
            steps += range(maxlen - len(codes), maxlen)
            chars += codes
            columns += [b] * len(codes)
        X = torch.zeros(maxlen, len(self), len(words))
        X[steps, chars, columns] = 1.0
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
