"""The course's data: real words of several languages, and the surnames data set.

>>> X, y = words()                       # English, French and German words, offline
>>> X[:3], y[:3]                         # doctest: +SKIP
(['musst', 'présenter', 'calls'], ['German', 'French', 'English'])
>>> X_train, X_valid, y_train, y_valid = split(X, y, valid_fraction=0.2, seed=0)

``surnames()`` gives the 18-language surnames of the PyTorch name-classification
tutorial. It looks for the files in ``$RNNLIB_DATA/names``, then in the user
cache (``~/.cache/rnnlib/names``), and otherwise downloads the tutorial's
``data.zip`` into that cache, checking every file against a pinned sha256 sum.
"""
from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .checks import check_int
from .vocab import normalize

DATA_ENV = "RNNLIB_DATA"
NAMES_URL = "https://download.pytorch.org/tutorial/data.zip"

# wordfreq's codes for a few of its languages; any other code is shown as is.
LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "sv": "Swedish", "pl": "Polish", "fi": "Finnish",
}

# sha256 of each file of data/names/ in the tutorial's data.zip.
NAMES_SHA256 = {
    "Arabic.txt": "6f424a8dbe51cbbbabab7a57d38b617210125e4e3991f3c657cb79b8f104bafc",
    "Chinese.txt": "49263ef55a8cb1740e841d65cad8214b2f9b5b869bc534c811746422496fa91e",
    "Czech.txt": "145bbbd6d0816578f03388e92c264d39ef1c60df920b081d371fa5c5cc055a8e",
    "Dutch.txt": "924f32b635170eae561f84538632138fc07d4c8bbd70ba3fb980de1ecc4d2af3",
    "English.txt": "9cca037066d3d5989e24bc01801416162de506b5e28e15b7c092a47905d29bf2",
    "French.txt": "81e65b36c60ed5b89a17422f6edcadbb89546f38ad69e960e64e7ba682012a95",
    "German.txt": "7449cd590b97a733e18d613a4155decd77ec35dc5f8aadd7a82204dce4f051db",
    "Greek.txt": "3555b5186de7f401e6d991b088e9e644ca3099116477818c25ab5793801389e6",
    "Irish.txt": "cf8c7013256252a88d2503127b87282a11f21b2ff6db1bded68834c19a1ec058",
    "Italian.txt": "f88414c27d0606a11a678b4859277828c2565d6cc4d9ee932deef6e94f3b35e4",
    "Japanese.txt": "e0e717e114fec3e7eade4d9dabe0067c475f43147e36a22b47902ee76ad9e67f",
    "Korean.txt": "cd54221ccb362a6cba4c78828838cf3268a0e59744767a37cf6ec4b74036b136",
    "Polish.txt": "45bab898af2f60ed3a728bbf6980e28821011a7caa53227553b5785903a40826",
    "Portuguese.txt": "50a8735f41f4f73757c8ce5b16cb0275cd86b2b214bcbc8c9805f508cb131c53",
    "Russian.txt": "43b3e64ce351f77f1ac9e0cdf7566012d127f4371875fd25208845b5c9d6f7c3",
    "Scottish.txt": "78d0252711d87d948ea86fe34826c51d2d794a8e52d15b5d6f7b6244d45d62dd",
    "Spanish.txt": "1bcb462ed3316756a85781d68232bddae04498fdddd5d9219c53fd1fbdeba7a7",
    "Vietnamese.txt": "f3f9e4164ab47601178a6e45b216464a64122f49d05541f24bf18a757253281d",
}
JUNK_LINES = {"To The First Page"}
# Bounds on what we read: the largest names file is 86 KB and data.zip 2.9 MB.
MAX_NAMES_FILE = 1 << 20
MAX_DOWNLOAD = 64 << 20


class DataError(RuntimeError):
    """The data could not be found, downloaded or verified."""


# --------------------------------------------------------------------- words
def words(
    languages: Sequence[str] = ("en", "fr", "de"),
    per_language: int = 12000,
    min_length: int = 2,
    seed: int = 0,
) -> tuple[list[str], list[str]]:
    """Real words of each language from ``wordfreq``'s offline lists.

    For each language we take its ``per_language`` most frequent words that
    are alphabetic (accents allowed) and at least ``min_length`` long, in the
    course's normal form (``rnnlib.vocab.normalize``: case folded, NFC). A
    word found in the frequency list of more than one of the languages
    (``"in"``, ``"die"`` in English and German) is dropped from all of them:
    it has no single right answer. What remains is shuffled with
    ``seed``. Returns ``(X, y)``: the words and their language names.
    """
    import wordfreq

    if isinstance(languages, str):
        raise TypeError(f"languages must be a list of wordfreq codes such as ['en', 'fr'], got the string "
                        f"{languages!r}")
    languages = list(languages)
    available = wordfreq.available_languages(wordlist="best")
    unknown = [code for code in languages if code not in available]
    if unknown:
        raise ValueError(f"unknown language codes {unknown}; wordfreq has {', '.join(sorted(available))}")
    if len(set(languages)) < 2:
        raise ValueError(f"need at least two different languages, got {languages}")
    check_int("per_language", per_language)
    check_int("min_length", min_length)

    def keep(w: str) -> bool:
        return w.isalpha() and len(w) >= min_length

    # Look a few times deeper than we keep, so that "in another language's
    # list" means more than "in its top per_language".
    lists = {}
    for code in languages:
        ranked = [normalize(w) for w in wordfreq.top_n_list(code, 4 * per_language, wordlist="best")]
        lists[code] = list(dict.fromkeys(w for w in ranked if keep(w)))
    seen_in = Counter(w for ranked in lists.values() for w in set(ranked))
    X, y = [], []
    for code in languages:
        kept = [w for w in lists[code] if seen_in[w] == 1][:per_language]
        X += kept
        y += [LANGUAGE_NAMES.get(code, code)] * len(kept)
    order = list(range(len(X)))
    random.Random(seed).shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def split(
    X: Sequence, y: Sequence, valid_fraction: float = 0.2, seed: int = 0
) -> tuple[list, list, list, list]:
    """A stratified, seeded split: ``X_train, X_valid, y_train, y_valid``.

    One rule for every class of ``n`` records: ``round(valid_fraction * n)``
    of them go to validation, but never all of them and, when there are two
    or more, never none. So every class keeps at least one record to train
    on (a class of one record is only trained on), and every class of two or
    more records is also validated.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} records but y has {len(y)}")
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be between 0 and 1, got {valid_fraction}")
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


# ------------------------------------------------------------------ surnames
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

    * ``To The First Page`` lines (scraping leftovers in Russian.txt) go;
    * a (name, language) pair seen before goes: duplicates must not end up on
      both sides of a train/validation split. Names are compared as the model
      sees them (``normalize``), so ``Weiß`` duplicates ``Weiss`` and ``An``
      duplicates ``an``; the first spelling is kept;
    * a name listed under several languages (``Abbott``: English, Scottish)
      is kept under each, and listed in ``report.multi_language``.
    """
    report = CleaningReport(raw=len(pairs))
    seen, kept = set(), []
    for name, language in pairs:
        key = (normalize(name), language)
        if name in JUNK_LINES:
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


def surnames(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    url: str = NAMES_URL,
) -> tuple[list[str], list[str]]:
    """The 18-language surnames data set, cleaned (see ``clean_surnames``).

    Returns ``(X, y)``: surnames as written (``"Nguyen"``) and language names.
    What the cleaning removed: ``clean_surnames(read_names_dir(find_names_dir()))[1]``.
    """
    names_dir = find_names_dir(data_dir, download=download, url=url)
    kept, _ = clean_surnames(read_names_dir(names_dir))
    return [name for name, _ in kept], [language for _, language in kept]


def cache_dir() -> Path:
    """Where downloads are kept: ``$XDG_CACHE_HOME/rnnlib`` or ``~/.cache/rnnlib``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnlib"


def find_names_dir(data_dir=None, download: bool = True, url: str = NAMES_URL) -> Path:
    """The verified ``names/`` directory: given, in ``$RNNLIB_DATA``, cached, or downloaded.

    A folder you name (``data_dir``, or ``$RNNLIB_DATA`` when ``data_dir`` is
    None) must hold the files: if it does not, the error says which folder
    and which file, and nothing is downloaded instead.
    """
    if data_dir is not None:
        return _names_in(Path(data_dir), "data_dir")
    if os.environ.get(DATA_ENV):
        return _names_in(Path(os.environ[DATA_ENV]), DATA_ENV)
    target = cache_dir()
    if _holds_names(target / "names"):
        verify_names_dir(target / "names")
        return target / "names"
    if not download:
        raise DataError(f"surnames data not found: put the 18 files of data/names/ in "
                        f"{target / 'names'} or set {DATA_ENV} to a folder holding names/")
    download_names(target, url)
    return target / "names"


def _holds_names(folder: Path) -> bool:
    return all((folder / f).is_file() for f in NAMES_SHA256)


def _names_in(root: Path, given_as: str) -> Path:
    """``root/names`` (or ``root`` itself) holding the 18 files, verified; else a ``DataError`` saying what is wrong."""
    where = f"{given_as}={root}"
    if not root.is_dir():
        raise DataError(f"{where}: {'is not a folder' if root.exists() else 'no such folder'}; "
                        f"give a folder holding names/ with the 18 <Language>.txt files")
    names = root / "names"
    if names.exists() and not names.is_dir():
        raise DataError(f"{where}: {names} is a file; it must be a folder holding the 18 <Language>.txt files")
    if not names.is_dir() and any((root / f).exists() for f in NAMES_SHA256):
        names = root  # the names folder itself
    if not names.is_dir():
        raise DataError(f"{where}: there is no folder {names}; it must hold the 18 <Language>.txt files "
                        f"of the tutorial's data/names/")
    missing = [f for f in NAMES_SHA256 if not (names / f).is_file()]
    if missing:
        raise DataError(f"{where}: {names / missing[0]} is missing"
                        + (f" (and {len(missing) - 1} more of the 18 files)" if len(missing) > 1 else ""))
    verify_names_dir(names)
    return names


def verify_names_dir(names: Path) -> None:
    """Check every file of ``names`` against its pinned sha256."""
    for filename, expected in NAMES_SHA256.items():
        size = (names / filename).stat().st_size
        if size > MAX_NAMES_FILE:
            raise DataError(f"{names / filename} is {size:,} bytes; the tutorial's files are under "
                            f"{MAX_NAMES_FILE:,}: it is not the tutorial's file")
        digest = hashlib.sha256((names / filename).read_bytes()).hexdigest()
        if digest != expected:
            raise DataError(f"{names / filename} has sha256 {digest[:12]}..., expected "
                            f"{expected[:12]}...: the file is damaged or not the tutorial's")


def read_names_dir(names: Path) -> list[tuple[str, str]]:
    """(name, language) for every non-blank line of every ``<Language>.txt``."""
    pairs = []
    for filename in sorted(NAMES_SHA256):
        language = filename.removesuffix(".txt")
        text = (Path(names) / filename).read_text(encoding="utf-8")
        pairs += [(line.strip(), language) for line in text.splitlines() if line.strip()]
    return pairs


def download_names(target: Path, url: str = NAMES_URL) -> None:
    """Download ``url`` (a zip with ``data/names/*.txt``), verify, extract into ``target/names``."""
    try:
        payload = _fetch(url)
    except (urllib.error.URLError, OSError) as err:
        raise DataError(f"could not download {url} ({err}); without a network, put the 18 files "
                        f"of data/names/ in {target / 'names'} or set {DATA_ENV}") from None
    extract_names(payload, target)


def extract_names(payload: bytes, target: Path) -> None:
    """Extract the names files of a zip safely: verified, and nothing outside ``target``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise DataError("the download is not a zip file") from None
    target = Path(target).resolve()
    wanted = {}  # first every member's name and declared size, before reading any
    for member in archive.infolist():
        dest = (target / member.filename).resolve()
        if not dest.is_relative_to(target):
            raise DataError(f"refusing zip member {member.filename!r}: it would land outside {target}")
        parts = Path(member.filename).parts
        if len(parts) >= 2 and parts[-2] == "names" and parts[-1] in NAMES_SHA256:
            if member.file_size > MAX_NAMES_FILE:
                raise DataError(f"refusing zip member {member.filename!r}: it declares {member.file_size:,} "
                                f"bytes, more than the {MAX_NAMES_FILE:,} a names file may have")
            wanted[parts[-1]] = member
    files = {filename: _read_member(archive, member) for filename, member in wanted.items()}
    missing = sorted(set(NAMES_SHA256) - set(files))
    if missing:
        raise DataError(f"the zip lacks {len(missing)} names files, e.g. {missing[0]}")
    for filename, content in files.items():
        digest = hashlib.sha256(content).hexdigest()
        if digest != NAMES_SHA256[filename]:
            raise DataError(f"checksum mismatch for {filename} in the download: sha256 {digest[:12]}..., "
                            f"expected {NAMES_SHA256[filename][:12]}...")
    # Write into a fresh folder first, so an interrupted run leaves no half set, and move an
    # earlier names/ aside only while the new one takes its place (put back if that fails).
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target, prefix=".names-"))
    final, old = target / "names", None
    try:
        for filename, content in files.items():
            (staging / filename).write_bytes(content)
        if final.exists() or final.is_symlink():
            old = Path(tempfile.mkdtemp(dir=target, prefix=".names-old-"))
            final.rename(old / "names")
        try:
            staging.rename(final)
        except OSError:
            if old is not None:
                (old / "names").rename(final)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """A member's bytes, refused as soon as it passes ``MAX_NAMES_FILE`` (a zip bomb cannot fill memory)."""
    buffer = bytearray()
    try:
        with archive.open(member) as stream:  # the declared size may lie: count what comes out
            while chunk := stream.read(1 << 16):
                buffer += chunk
                if len(buffer) > MAX_NAMES_FILE:
                    raise DataError(f"refusing zip member {member.filename!r}: it inflates past "
                                    f"{MAX_NAMES_FILE:,} bytes, more than a names file may have")
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        raise DataError(f"the download is a damaged zip: {member.filename!r} cannot be read "
                        f"({str(err).splitlines()[0][:120] or type(err).__name__})") from None
    return bytes(buffer)


def _fetch(url: str) -> bytes:
    """GET ``url`` with a progress bar, at most ``MAX_DOWNLOAD`` bytes."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=30) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        if total is not None and total > MAX_DOWNLOAD:
            raise DataError(f"refusing {url}: it is {total:,} bytes, more than the {MAX_DOWNLOAD:,} expected")
        buffer = io.BytesIO()
        with tqdm(total=total, unit="B", unit_scale=True, desc="data.zip") as bar:
            while chunk := response.read(1 << 16):
                buffer.write(chunk)
                bar.update(len(chunk))
                if buffer.tell() > MAX_DOWNLOAD:
                    raise DataError(f"refusing {url}: it sends more than the {MAX_DOWNLOAD:,} bytes expected")
    return buffer.getvalue()
