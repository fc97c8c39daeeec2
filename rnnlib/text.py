"""Characters and labels as numbers: the one normalisation rule, vocabularies, batches.

Wherever a word enters the library it is stripped, case folded (``ß`` -> ``ss``), then NFC: ``" Katze "`` and
``"katze"`` are the same characters (notebook 1). A word left empty or longer than ``MAX_WORD_LENGTH`` is refused.
"""
from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import torch

from .checks import check_choice, quote  # noqa: F401 (quote: text.quote, the messages' cut repr)

UNKNOWN_POLICIES = ("error", "skip")
MAX_WORD_LENGTH = 1000
APPLY_CELLS = 1 << 16  # characters Batches.apply hands its function at once: bounded memory


def normalize(word: str) -> str:
    """The course's one normalisation rule: strip, case fold, NFC.

    >>> normalize(" Straße "), normalize("CAFE\u0301") == "café"
    ('strasse', True)
    """
    check_word(word)
    folded = fold(word.strip()) if len(word) <= 4 * MAX_WORD_LENGTH else word   # bounded before it is folded
    if not folded:
        raise ValueError("empty word: a word needs at least one character other than spaces")
    if len(folded) > MAX_WORD_LENGTH:
        raise ValueError(f"{quote(folded)} is too long: a word has at most {MAX_WORD_LENGTH:,} characters")
    return folded


def fold(text: str) -> str:
    """Case folding, then NFC: what ``normalize`` does to the characters of a word."""
    return unicodedata.normalize("NFC", text.casefold())


def check_word(word: object) -> None:
    """A one-line ``TypeError`` unless ``word`` is a string."""
    if not isinstance(word, str):
        raise TypeError(f"expected a word as a str, got {type(word).__name__}: {quote(word)}")


def check_words(words: object) -> list[str]:
    """``words`` as a list, if it is a non-empty list or tuple of strings; else a one-line error."""
    if not isinstance(words, (list, tuple)):
        raise TypeError(f"expected a list of words, got {type(words).__name__}")
    if not words:
        raise ValueError("expected a list of words, got an empty one")
    for w in words:
        check_word(w)
    return list(words)


def hint(missing: Iterable[str], chars: Iterable[str]) -> str:
    """What to do about characters outside the vocabulary ``chars``, grouped by kind.

    >>> hint("ñ-1", "abcn")
    "'ñ' is not in the vocabulary but 'n' is: write 'n'; '-' separates words: give the parts one at a time; '1' is a digit: the model knows only letters"
    """
    chars = set(chars)
    accents, separators, digits = [], [], []
    for c in list(missing)[:10]:                                   # a hint, not an inventory
        base = unicodedata.normalize("NFD", c)[0]
        if base != c and base in chars:
            accents.append(f"{c!r} is not in the vocabulary but {base!r} is: write {base!r}")
        elif c.isdigit():
            digits.append(repr(c))
        elif not c.isalpha():
            separators.append(repr(c))
    hints = accents
    if separators:
        hints.append(f"{', '.join(separators)} separate{'s' * (len(separators) == 1)} words: give the parts "
                     f"one at a time")
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
                raise ValueError(f"a vocabulary holds single characters, got {quote(c)}")
            if fold(c) != c or not c.isprintable():   # normalize would never let it through
                raise ValueError(f"{c!r} can never occur in a normalised word (it folds to {fold(c)!r}, or is "
                                 f"not printable): a vocabulary holds lower-case, NFC, printable characters")
        if not chars or len(set(chars)) != len(chars):
            raise ValueError(f"a vocabulary holds at least one character, each once; got {quote(''.join(chars))}")
        self.chars: list[str] = chars
        self.index: dict[str, int] = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_words(cls, words: Iterable[str]) -> "Vocab":
        """The sorted set of characters in ``words`` (after normalisation)."""
        words = check_words(words if isinstance(words, (str, list, tuple)) else list(words))
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
        """The integers of ``word``'s characters; a character outside the vocabulary is refused
        (``unknown="error"``) or dropped (``"skip"``, which refuses a word left empty)."""
        check_choice("unknown", unknown, UNKNOWN_POLICIES)
        return self._codes(normalize(word), unknown)

    def _codes(self, word: str, unknown: str) -> list[int]:
        codes = [self.index[c] for c in word if c in self.index]
        missing = sorted({c for c in word if c not in self.index}) if len(codes) < len(word) else []
        if missing and unknown == "error":
            tip = hint(missing, self.chars)
            if len(missing) < len(set(word)):  # something would be left to predict from
                tip += ("; or " if tip else "") + "pass unknown='skip' to drop them"
            raise ValueError(f"{quote(word)} has characters outside the vocabulary: {quote(''.join(missing))}; "
                             f"the vocabulary holds {quote(''.join(self.chars), 100)}{f' ({tip})' if tip else ''}")
        if not codes:
            raise ValueError(f"{quote(word)} has no character of the vocabulary {quote(''.join(self.chars), 100)}")
        return codes

    def decode(self, codes: Iterable[int]) -> str:
        """The word whose characters have these integers."""
        return "".join(self.chars[index(i, len(self), "a character code")] for i in codes)

    def onehot(self, c: str, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The one-hot column ``x_t`` of character ``c``: shape ``(len(vocab), 1)``."""
        if not isinstance(c, str) or len(c) != 1:
            raise ValueError(f"onehot takes one character, got {c!r}")
        folded = fold(c)  # not stripped: a space is a character of the surnames' vocabulary
        if len(folded) != 1:  # "ß" -> "ss", "ﬁ" -> "fi", "İ" -> "i" + a dot above
            raise ValueError(f"onehot takes one character, but {c!r} normalises to {folded!r} "
                             f"({len(folded)} characters): use onehot_word")
        (i,) = self._codes(folded, "error")
        x = torch.zeros(len(self), 1, dtype=dtype or torch.get_default_dtype())
        x[i, 0] = 1.0
        return x

    def onehot_word(self, word: str, unknown: str = "error", dtype: torch.dtype | None = None) -> torch.Tensor:
        """All of a word's ``x_t`` stacked: shape ``(len(word), len(vocab), 1)``, a batch of one word."""
        return self.onehot_batch([word], unknown, dtype)

    def onehot_batch(self, words: Sequence[str], unknown: str = "error", dtype: torch.dtype | None = None
                     ) -> torch.Tensor:
        """A batch ``(maxlen, len(vocab), batch)``: column ``b`` of ``X[t]`` is word ``b``'s ``x_t``, a shorter
        word gets zero columns first (left-padded), so every word ends at the last step."""
        encoded = [self.encode(w, unknown) for w in check_words(words)]
        maxlen = max(len(codes) for codes in encoded)
        steps, chars, columns = [], [], []             # where the ones go, for one assignment
        for b, codes in enumerate(encoded):
            steps += range(maxlen - len(codes), maxlen)
            chars += codes
            columns += [b] * len(codes)
        X = torch.zeros(maxlen, len(self), len(words), dtype=dtype or torch.get_default_dtype())
        X[steps, chars, columns] = 1.0
        return X


def index(i: object, n: int, what: str) -> int:
    """``i`` if it is a whole number from 0 to ``n - 1`` (an int, or a tensor holding one), else a ``ValueError``."""
    try:
        k = int(i)
        ok = not isinstance(i, (bool, str)) and bool(k == i) and 0 <= k < n
    except (TypeError, ValueError, RuntimeError):
        ok = False
    if not ok:
        raise ValueError(f"{what} must be a whole number from 0 to {n - 1}, got {quote(i)}")
    return k


class Labels:
    """Label encoding of the targets: class names <-> integers 0..n-1."""

    def __init__(self, classes: Iterable[str], minimum: int = 2):
        classes = list(classes) if not isinstance(classes, str) else None
        if classes is None or not all(isinstance(c, str) and c for c in classes):
            raise TypeError(f"class names are non-empty strings, got {quote(classes)}")
        if len(set(classes)) != len(classes):
            raise ValueError("class names must be distinct")
        if len(classes) < minimum:
            raise ValueError(f"need at least {minimum} classes, got {quote(classes)}")
        self.classes: list[str] = classes
        self.index: dict[str, int] = {c: i for i, c in enumerate(classes)}

    def __len__(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        return f"Labels({self.classes!r})"

    def encode(self, y: Iterable[str]) -> torch.Tensor:
        """Integer targets, a ``long`` tensor."""
        if isinstance(y, str):
            raise TypeError(f"expected a list of labels, got the string {quote(y)}")
        y = list(y)
        unknown = sorted({label for label in y if label not in self.index}, key=str)
        if unknown:
            raise ValueError(f"unknown labels {quote(unknown, 80)}; known: {quote(self.classes, 200)}")
        return torch.tensor([self.index[label] for label in y], dtype=torch.long)

    def decode(self, codes: Iterable[int]) -> list[str]:
        """The class names of these integers; one outside 0..n-1 is an error (never a wrapped index)."""
        return [self.classes[index(i, len(self), "a class number")] for i in codes]


class Batches:
    """Encoded words (``inputs[i]``, a list of codes) and their ``targets``, grouped by length once: a target
    is a class number, or a list as long as the word (a language model's next symbols). A batch is
    ``(codes, mask, targets)``, ``codes`` steps x batch (notebook 11)."""

    def __init__(self, inputs: Sequence[Sequence[int]], targets: Sequence, device: torch.device | str = "cpu"):
        if len(inputs) != len(targets) or not len(inputs):
            raise ValueError(f"{len(inputs)} words and {len(targets)} targets: give as many, at least one")
        self.inputs, self.targets, self.device = inputs, targets, device
        self.members: dict[int, list[int]] = defaultdict(list)     # length -> its words' numbers
        for i, codes in enumerate(inputs):
            self.members[len(codes)].append(i)
        self.groups = {n: (self._tensor([inputs[i] for i in ids]), self._tensor([targets[i] for i in ids]))
                       for n, ids in self.members.items()}          # length -> (T x words, targets)

    def _tensor(self, rows: list) -> torch.Tensor:
        t = torch.tensor(rows, dtype=torch.long, device=self.device)
        return t.T.contiguous() if t.dim() == 2 else t               # steps x words

    def __len__(self) -> int:
        return len(self.inputs)

    def equal_lengths(self, batch_size: int, rng: random.Random) -> list[tuple]:
        """Batches of words of one length (no padding, mask ``None``), shuffled within each length and among them."""
        batches = []
        for n in sorted(self.groups):
            codes, targets = self.groups[n]
            order = list(range(codes.shape[1]))
            rng.shuffle(order)
            order = torch.tensor(order, device=self.device)
            codes, targets = codes[:, order], targets[..., order]
            batches += [(codes[:, s:s + batch_size], None, targets[..., s:s + batch_size])
                        for s in range(0, len(order), batch_size)]
        rng.shuffle(batches)
        return batches

    def padded(self, batch_size: int, rng: random.Random) -> list[tuple]:
        """Shuffled batches of any lengths, left-padded, with their mask (notebook 11's loop)."""
        order = list(range(len(self)))
        rng.shuffle(order)
        return [self.pad(order[s:s + batch_size]) for s in range(0, len(order), batch_size)]

    def pad(self, ids: Sequence[int]) -> tuple:
        """Words ``ids`` left-padded with code 0: ``(codes, mask, targets)``."""
        T = max(len(self.inputs[i]) for i in ids)
        rows = [[0] * (T - len(self.inputs[i])) + list(self.inputs[i]) for i in ids]
        mask = torch.tensor([[False] * (T - len(self.inputs[i])) + [True] * len(self.inputs[i]) for i in ids],
                            device=self.device).T
        targets = [self.targets[i] if isinstance(self.targets[i], int) else
                   [0] * (T - len(self.inputs[i])) + list(self.targets[i]) for i in ids]
        return self._tensor(rows), None if mask.all() else mask, self._tensor(targets)

    def apply(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``fn(codes, targets)`` over the words of each length, at most ``APPLY_CELLS`` characters at once (no
        padding, no mask), its rows put back in the words' order."""
        out = None
        for n, (codes, targets) in self.groups.items():
            ids = torch.tensor(self.members[n], device=self.device)
            step = max(1, APPLY_CELLS // n)
            for s in range(0, codes.shape[1], step):
                rows = fn(codes[:, s:s + step], targets[..., s:s + step])
                if out is None:
                    out = rows.new_empty((len(self),) + rows.shape[1:])
                out[ids[s:s + step]] = rows
        return out
