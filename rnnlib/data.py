"""The course's data: real words of several languages, and the surnames data set.

>>> X, y = words()                       # English, French and German words, offline
>>> X[:3], y[:3]                         # doctest: +SKIP
(['musst', 'présenter', 'calls'], ['German', 'French', 'English'])
>>> X_train, X_valid, y_train, y_valid = split(X, y, valid_fraction=0.2, seed=0)

``surnames()`` gives the 18-language surnames of the PyTorch name-classification tutorial, cleaned;
``rnnlib.download`` finds (or downloads, safely) its files.
"""
from __future__ import annotations

import os
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .checks import check_int, check_seed, quote
from .download import NAMES_SHA256, NAMES_URL, find_names_dir
from .text import normalize

# wordfreq's codes for a few of its languages; any other code is shown as is.
LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "sv": "Swedish", "pl": "Polish", "fi": "Finnish",
}
JUNK_LINES = {"To The First Page"}


def words(languages: Sequence[str] = ("en", "fr", "de"), per_language: int = 12000, min_length: int = 2,
          seed: int = 0) -> tuple[list[str], list[str]]:
    """``(X, y)``: each language's ``per_language`` most frequent words in ``wordfreq``'s offline lists that
    are alphabetic (accents allowed) and at least ``min_length`` long, normalised, shuffled with ``seed``,
    and their language names. A word in the lists of two of the languages (``"die"``: English and German)
    is dropped from all: it has no single right answer. Asking for more words of a language than it has
    so (or for a language twice) is an error, never a shorter answer."""
    import wordfreq

    if not isinstance(languages, (list, tuple)) or not all(isinstance(code, str) for code in languages):
        raise TypeError(f"languages must be a list of wordfreq codes such as ['en', 'fr'], got {quote(languages)}")
    languages = list(languages)
    available = wordfreq.available_languages(wordlist="best")
    unknown = [code for code in languages if code not in available]
    if unknown:
        raise ValueError(f"unknown language codes {quote(unknown, 80)}; wordfreq has {', '.join(sorted(available))}")
    if len(set(languages)) != len(languages):
        raise ValueError(f"each language once, please: {quote(languages, 80)} names one twice")
    if len(languages) < 2:
        raise ValueError(f"need at least two different languages, got {languages}")
    check_int("per_language", per_language)
    check_int("min_length", min_length)
    check_seed("seed", seed)

    lists = {}  # looked at 4 times deeper than kept: "in another language's list" means more than in its top words
    for code in languages:
        ranked = [normalize(w) for w in wordfreq.top_n_list(code, 4 * per_language, wordlist="best")]
        lists[code] = list(dict.fromkeys(w for w in ranked if w.isalpha() and len(w) >= min_length))
    seen_in = Counter(w for ranked in lists.values() for w in set(ranked))
    X, y = [], []
    for code in languages:
        kept = [w for w in lists[code] if seen_in[w] == 1][:per_language]
        if not kept:
            raise ValueError(f"no word of {code!r} is left with min_length={min_length}: "
                             f"wordfreq's frequent words are shorter; try a min_length below 15")
        if len(kept) < per_language:
            raise ValueError(f"only {len(kept):,} of the {4 * per_language:,} most frequent {code!r} words are "
                             f"alphabetic, of at least {min_length} letters and in no other language's list: fewer than "
                             f"per_language={per_language:,}; ask for fewer words, or shorter ones")
        X += kept
        y += [LANGUAGE_NAMES.get(code, code)] * len(kept)
    order = list(range(len(X)))
    random.Random(seed).shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def split(X: Sequence, y: Sequence, valid_fraction: float = 0.2, seed: int = 0) -> tuple[list, list, list, list]:
    """A stratified, seeded split: ``X_train, X_valid, y_train, y_valid``. Of each class of ``n`` records,
    ``round(valid_fraction * n)`` go to validation, but never all and, when there are two or more, never
    none: every class is trained on, and every class of two or more records is also validated."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} records but y has {len(y)}")
    if not isinstance(valid_fraction, (int, float)) or isinstance(valid_fraction, bool) or not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be a number between 0 and 1, got {quote(valid_fraction)}")
    check_seed("seed", seed)
    by_class = defaultdict(list)
    for i, label in enumerate(y):
        by_class[label].append(i)
    rng = random.Random(seed)
    train_idx, valid_idx = [], []
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        nvalid = min(max(round(valid_fraction * len(idx)), 1), len(idx) - 1)
        valid_idx += idx[:nvalid]
        train_idx += idx[nvalid:]
    rng.shuffle(train_idx)
    rng.shuffle(valid_idx)
    return ([X[i] for i in train_idx], [X[i] for i in valid_idx],
            [y[i] for i in train_idx], [y[i] for i in valid_idx])


@dataclass
class CleaningReport:
    """What ``clean_surnames`` removed, and what it kept but you should know."""

    raw: int = 0
    junk: int = 0
    duplicates: int = 0
    kept: int = 0
    multi_language: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"{self.raw} lines: dropped {self.junk} junk lines and {self.duplicates} duplicate "
                f"(name, language) pairs, kept {self.kept}; {len(self.multi_language)} names "
                f"carry more than one language")


def clean_surnames(pairs: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], CleaningReport]:
    """Drop junk lines and duplicates; report names of several languages.

    * ``To The First Page`` lines (scraping leftovers in Russian.txt) go, whatever spaces they have (one
      holds a no-break space, which no vocabulary may hold);
    * a (name, language) pair seen before goes, so that no duplicate ends up on both sides of a split.
      Names are compared as the model sees them (``Weiß`` duplicates ``Weiss``); the first spelling stays;
    * a name of several languages (``Abbott``: English, Scottish) stays under each, listed in
      ``report.multi_language``.
    """
    report = CleaningReport(raw=len(pairs))
    seen, kept = set(), []
    for name, language in pairs:
        key = (normalize(name), language)
        if " ".join(name.split()) in JUNK_LINES:
            report.junk += 1
        elif key in seen:
            report.duplicates += 1
        else:
            seen.add(key)
            kept.append((name, language))
    report.kept = len(kept)
    languages_of = defaultdict(list)
    for name, language in kept:
        languages_of[normalize(name)].append(language)
    report.multi_language = {n: langs for n, langs in sorted(languages_of.items()) if len(langs) > 1}
    return kept, report


def surnames(data_dir: str | os.PathLike | None = None, download: bool = True, url: str = NAMES_URL
             ) -> tuple[list[str], list[str]]:
    """The 18-language surnames data set, cleaned: ``(X, y)``, surnames as written (``"Nguyen"``) and language
    names. What the cleaning removed: ``clean_surnames(read_names_dir(find_names_dir()))[1]``."""
    names_dir = find_names_dir(data_dir, download=download, url=url)
    kept, _ = clean_surnames(read_names_dir(names_dir))
    return [name for name, _ in kept], [language for _, language in kept]


def read_names_dir(names: Path) -> list[tuple[str, str]]:
    """(name, language) for every non-blank line of every ``<Language>.txt``."""
    pairs = []
    for filename in sorted(NAMES_SHA256):
        language = filename.removesuffix(".txt")
        text = (Path(names) / filename).read_text(encoding="utf-8")
        pairs += [(line.strip(), language) for line in text.splitlines() if line.strip()]
    return pairs
