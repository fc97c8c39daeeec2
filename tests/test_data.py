import hashlib
import io
import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from rnnlib import data
from rnnlib.data import DataError
from rnnlib.vocab import normalize

# The surnames files: $RNNLIB_DATA/names (the root conftest.py points it at ../shared/data when that exists).
DATA_DIR = Path(os.environ.get("RNNLIB_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data").resolve()
SHARED_NAMES = DATA_DIR / "names"


def require(path: Path) -> None:
    """Skip when ``path`` is missing, with the reason; with CI set, fail instead: CI must run every test."""
    if path.exists():
        return
    reason = f"no {path} (set RNNLIB_DATA to the folder that holds names/, see the README's Tests section)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure, not a skip: {reason}")
    pytest.skip(reason)


@pytest.fixture
def needs_names_fixture():
    require(SHARED_NAMES)


needs_names = pytest.mark.usefixtures("needs_names_fixture")


# ------------------------------------------------------------------ words
def test_words_are_real_lower_case_alphabetic_and_disjoint():
    X, y = data.words(per_language=500)
    assert Counter(y) == {"English": 500, "French": 500, "German": 500}
    assert all(w.isalpha() and w == normalize(w) and len(w) >= 2 for w in X)
    languages_of = {}
    for w, label in zip(X, y):
        languages_of.setdefault(w, set()).add(label)
    assert all(len(s) == 1 for s in languages_of.values())
    assert {"und", "les", "which"} <= set(X)
    assert "die" not in X and "the" not in X  # English and German; English and French (loan)


def test_words_are_deterministic_for_a_seed():
    assert data.words(per_language=100, seed=1) == data.words(per_language=100, seed=1)
    assert data.words(per_language=100, seed=1) != data.words(per_language=100, seed=2)


def test_words_more_languages():
    X, y = data.words(languages="en,fr,de,es", per_language=50)
    assert set(y) == {"English", "French", "German", "Spanish"}


def test_words_bad_arguments():
    with pytest.raises(ValueError, match="unknown language codes \\['xx'\\]"):
        data.words(languages=["en", "xx"])
    with pytest.raises(ValueError, match="at least two different languages"):
        data.words(languages=["en", "en"])
    with pytest.raises(ValueError, match="per_language must be a positive integer"):
        data.words(per_language=0)


# ------------------------------------------------------------------ split
def test_split_is_stratified_disjoint_and_seeded():
    X = [f"w{i}" for i in range(100)]
    y = ["a"] * 80 + ["b"] * 20
    X_train, X_valid, y_train, y_valid = data.split(X, y, valid_fraction=0.25, seed=3)
    assert Counter(y_valid) == {"a": 20, "b": 5}
    assert Counter(y_train) == {"a": 60, "b": 15}
    assert sorted(X_train + X_valid) == sorted(X)
    assert dict(zip(X_train + X_valid, y_train + y_valid)) == dict(zip(X, y))
    assert data.split(X, y, 0.25, seed=3) == (X_train, X_valid, y_train, y_valid)


def test_split_bad_arguments():
    with pytest.raises(ValueError, match="X has 2 records but y has 1"):
        data.split(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.split(["a", "b"], ["x", "y"], valid_fraction=1.5)


# --------------------------------------------------------------- surnames
def test_clean_surnames_drops_junk_and_duplicates_and_reports_multi_language():
    pairs = [("Abbott", "English"), ("Abbott", "English"), ("Abbott", "Scottish"),
             ("To The First Page", "Russian"), ("Ivanov", "Russian")]
    kept, report = data.clean_surnames(pairs)
    assert kept == [("Abbott", "English"), ("Abbott", "Scottish"), ("Ivanov", "Russian")]
    assert (report.raw, report.junk, report.duplicates, report.kept) == (5, 1, 1, 3)
    assert report.multi_language == {"abbott": ["English", "Scottish"]}


def test_clean_surnames_compares_names_as_the_model_sees_them():
    pairs = [("Weiss", "German"), ("Weiß", "German"), ("An", "Vietnamese"), ("an", "Vietnamese"),
             ("Weiss", "English")]
    kept, report = data.clean_surnames(pairs)
    assert kept == [("Weiss", "German"), ("An", "Vietnamese"), ("Weiss", "English")]
    assert report.duplicates == 2
    assert report.multi_language == {"weiss": ["German", "English"]}


@needs_names
def test_surnames_from_shared_data():
    X, y, report = data.surnames(data_dir=SHARED_NAMES.parent, download=False, return_report=True)
    assert report.raw == 20074 and report.junk == 23  # all in Russian.txt
    assert len(X) == len(y) == report.kept == 20074 - 23 - report.duplicates
    assert len(set(y)) == 18
    assert len({(normalize(x), label) for x, label in zip(X, y)}) == len(X)  # no duplicates left
    assert "To The First Page" not in X
    assert (report.duplicates, report.kept) == (2045, 18006)
    assert report.multi_language["abel"] == ["English", "French", "German", "Russian", "Spanish"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def real_zip_files():
    require(SHARED_NAMES)
    files = {f"data/names/{f}": (SHARED_NAMES / f).read_bytes() for f in data.NAMES_SHA256}
    files["data/eng-fra.txt"] = b"other tutorial data\n"
    return files


def test_download_from_a_local_zip_verifies_and_extracts(tmp_path, real_zip_files):
    archive = tmp_path / "data.zip"
    archive.write_bytes(_zip(real_zip_files))
    target = tmp_path / "cache"
    data.download_names(target, url=archive.as_uri())
    assert sorted(p.name for p in (target / "names").iterdir()) == sorted(data.NAMES_SHA256)
    data.verify_names_dir(target / "names")
    assert not [p for p in target.iterdir() if p.name != "names"]  # no leftovers


def test_surnames_downloads_into_the_user_cache(tmp_path, monkeypatch, real_zip_files):
    archive = tmp_path / "data.zip"
    archive.write_bytes(_zip(real_zip_files))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    X, y = data.surnames(url=archive.as_uri())
    assert (tmp_path / "xdg" / "rnnlib" / "names" / "Korean.txt").is_file()
    assert len(set(y)) == 18
    archive.unlink()  # the second call uses the cache, no download
    assert data.surnames() == (X, y)


def test_checksum_mismatch_is_refused(tmp_path, real_zip_files):
    real_zip_files["data/names/Greek.txt"] += b"Papadopoulos\n"
    with pytest.raises(DataError, match="checksum mismatch for Greek.txt"):
        data.extract_names(_zip(real_zip_files), tmp_path)
    assert not (tmp_path / "names").exists()


def test_path_traversal_is_refused(tmp_path, real_zip_files):
    real_zip_files["../../evil.txt"] = b"owned"
    with pytest.raises(DataError, match="outside"):
        data.extract_names(_zip(real_zip_files), tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists()


def test_incomplete_or_non_zip_download_is_refused(tmp_path):
    with pytest.raises(DataError, match="not a zip"):
        data.extract_names(b"<html>404</html>", tmp_path)
    with pytest.raises(DataError, match="lacks 18 names files"):
        data.extract_names(_zip({"data/names/Nowhere.txt": b"x"}), tmp_path)


def test_no_network_and_no_copy_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="could not download .* put the 18 files"):
        data.surnames(url="http://127.0.0.1:9/data.zip")  # port 9 (discard): refused
    with pytest.raises(DataError, match="surnames data not found: put the 18 files"):
        data.surnames(download=False)


def test_damaged_local_copy_is_refused(tmp_path):
    names = tmp_path / "names"
    names.mkdir()
    for f in data.NAMES_SHA256:
        (names / f).write_text("Smith\n")
    with pytest.raises(DataError, match="damaged or not the tutorial's"):
        data.surnames(data_dir=tmp_path)


def test_pinned_sums_match_the_shared_list():
    sums = SHARED_NAMES.parent / "names.sha256"
    require(sums)
    listed = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())
    assert listed == data.NAMES_SHA256
    assert all(hashlib.sha256((SHARED_NAMES / f).read_bytes()).hexdigest() == h for f, h in listed.items())
