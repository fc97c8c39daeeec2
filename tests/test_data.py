import hashlib
import io
import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from rnnlib import data, download
from rnnlib.download import DataError
from rnnlib.text import normalize

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
    X, y = data.words(languages=["en", "fr", "de", "es"], per_language=50)
    assert set(y) == {"English", "French", "German", "Spanish"}


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(languages=["en", "xx"]), ValueError, r"unknown language codes \['xx'\]"),
    (dict(languages=["en"]), ValueError, "at least two different languages"),
    (dict(languages=["en", "en", "fr"]), ValueError, r"each language once, please: \['en', 'en', 'fr'\] names one"),
    (dict(languages=None), TypeError, "languages must be a list of wordfreq codes such as"),
    (dict(languages=["en", 3]), TypeError, "languages must be a list of wordfreq codes"),
    (dict(languages=["x" * 100_000, "en"]), ValueError, r"unknown language codes \['xxxx.*\.\.\. \(100,004 "
                                                         r"characters\)"),
    (dict(per_language=0), ValueError, "per_language must be a positive integer"),
    (dict(per_language=1.5), ValueError, "per_language must be a positive integer"),
    (dict(min_length=0), ValueError, "min_length must be a positive integer"),
    (dict(min_length=100), ValueError, "no word of 'en' is left with min_length=100"),
    (dict(per_language=100, min_length=8), ValueError, r"only 17 of the 400 most frequent 'en' words are alphabetic, "
                                                       r"of at least 8 letters .*: fewer than per_language=100"),
    (dict(seed=None), ValueError, "seed must be a whole number from 0 to 2\\*\\*64 - 1, got None"),
    (dict(seed=-1), ValueError, "seed must be a whole number"), (dict(seed="0"), ValueError, "got '0'"),
    (dict(seed=1.5), ValueError, "got 1.5"), (dict(seed=True), ValueError, "got True"),
])
def test_words_refuses_bad_arguments_before_any_work(kwargs, error, message):
    with pytest.raises(error, match=message) as err:
        data.words(**kwargs)
    assert len(str(err.value)) < 400


def test_words_gives_what_it_is_asked_or_says_why_not():
    X, y = data.words(per_language=100, min_length=4)
    assert Counter(y) == {"English": 100, "French": 100, "German": 100} and min(map(len, X)) >= 4


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


@pytest.mark.parametrize("kwargs, message", [
    (dict(valid_fraction=1.5), "valid_fraction must be a number between 0 and 1, got 1.5"),
    (dict(valid_fraction="0.2"), "valid_fraction must be a number between 0 and 1, got '0.2'"),
    (dict(valid_fraction=float("nan")), "got nan"), (dict(valid_fraction=0), "got 0"),
    (dict(seed=None), "seed must be a whole number"), (dict(seed="0"), "seed must be a whole number"),
    (dict(seed=-1), "seed must be a whole number"), (dict(seed=1.5), "seed must be a whole number"),
])
def test_split_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match="X has 2 records but y has 1"):
        data.split(["a", "b"], ["x"])
    with pytest.raises(ValueError, match=message):
        data.split(["a", "b"], ["x", "y"], **kwargs)


# --------------------------------------------------------------- surnames
def test_clean_surnames_drops_junk_and_duplicates_and_reports_multi_language():
    pairs = [("Abbott", "English"), ("Abbott", "English"), ("Abbott", "Scottish"),
             ("To The First Page", "Russian"), ("Ivanov", "Russian")]
    kept, report = data.clean_surnames(pairs)
    assert kept == [("Abbott", "English"), ("Abbott", "Scottish"), ("Ivanov", "Russian")]
    assert (report.raw, report.junk, report.duplicates, report.kept) == (5, 1, 1, 3)
    assert report.multi_language == {"abbott": ["English", "Scottish"]}


def test_a_junk_line_is_junk_whatever_its_spaces():
    kept, report = data.clean_surnames([("To The First\xa0 Page", "Russian"), ("To  The First Page", "Russian"),
                                        ("First", "English")])
    assert kept == [("First", "English")] and report.junk == 2


def test_clean_surnames_compares_names_as_the_model_sees_them():
    pairs = [("Weiss", "German"), ("Weiß", "German"), ("An", "Vietnamese"), ("an", "Vietnamese"),
             ("Weiss", "English")]
    kept, report = data.clean_surnames(pairs)
    assert kept == [("Weiss", "German"), ("An", "Vietnamese"), ("Weiss", "English")]
    assert report.duplicates == 2
    assert report.multi_language == {"weiss": ["German", "English"]}


@needs_names
def test_surnames_from_shared_data():
    X, y = data.surnames(data_dir=SHARED_NAMES.parent, download=False)
    _, report = data.clean_surnames(data.read_names_dir(SHARED_NAMES))
    assert report.raw == 20074 and report.junk == 24  # all in Russian.txt, one with a no-break space
    assert len(X) == len(y) == report.kept == 20074 - 24 - report.duplicates
    assert len(set(y)) == 18
    assert len({(normalize(x), label) for x, label in zip(X, y)}) == len(X)  # no duplicates left
    assert "To The First Page" not in X
    assert (report.duplicates, report.kept) == (2045, 18005)
    assert all(c.isprintable() for x in X for c in x)     # every name can be in a vocabulary
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
    files = {f"data/names/{f}": (SHARED_NAMES / f).read_bytes() for f in download.NAMES_SHA256}
    files["data/eng-fra.txt"] = b"other tutorial data\n"
    return files


def test_download_from_a_local_zip_verifies_and_extracts(tmp_path, real_zip_files):
    archive = tmp_path / "data.zip"
    archive.write_bytes(_zip(real_zip_files))
    target = tmp_path / "cache"
    download.download_names(target, url=archive.as_uri())
    assert sorted(p.name for p in (target / "names").iterdir()) == sorted(download.NAMES_SHA256)
    download.verify_names_dir(target / "names")
    assert not [p for p in target.iterdir() if p.name != "names"]  # no leftovers


def test_surnames_downloads_into_the_user_cache(tmp_path, monkeypatch, real_zip_files):
    archive = tmp_path / "data.zip"
    archive.write_bytes(_zip(real_zip_files))
    monkeypatch.delenv(download.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    X, y = data.surnames(url=archive.as_uri())
    assert (tmp_path / "xdg" / "rnnlib" / "names" / "Korean.txt").is_file()
    assert len(set(y)) == 18
    archive.unlink()  # the second call uses the cache, no download
    assert data.surnames() == (X, y)


def test_checksum_mismatch_is_refused(tmp_path, real_zip_files):
    real_zip_files["data/names/Greek.txt"] += b"Papadopoulos\n"
    with pytest.raises(DataError, match="checksum mismatch for Greek.txt"):
        download.extract_names(_zip(real_zip_files), tmp_path)
    assert not (tmp_path / "names").exists()


def test_path_traversal_is_refused(tmp_path, real_zip_files):
    real_zip_files["../../evil.txt"] = b"owned"
    with pytest.raises(DataError, match="outside"):
        download.extract_names(_zip(real_zip_files), tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists()


def test_incomplete_or_non_zip_download_is_refused(tmp_path):
    with pytest.raises(DataError, match="not a zip"):
        download.extract_names(b"<html>404</html>", tmp_path)
    with pytest.raises(DataError, match="lacks 18 names files"):
        download.extract_names(_zip({"data/names/Nowhere.txt": b"x"}), tmp_path)


def test_no_network_and_no_copy_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(download.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="could not download .* put the 18 files"):
        data.surnames(url="http://127.0.0.1:9/data.zip")  # port 9 (discard): refused
    with pytest.raises(DataError, match="surnames data not found: put the 18 files"):
        data.surnames(download=False)


def test_damaged_local_copy_is_refused(tmp_path):
    names = tmp_path / "names"
    names.mkdir()
    for f in download.NAMES_SHA256:
        (names / f).write_text("Smith\n")
    with pytest.raises(DataError, match="damaged or not the tutorial's"):
        data.surnames(data_dir=tmp_path)


def test_pinned_sums_match_the_shared_list():
    sums = SHARED_NAMES.parent / "names.sha256"
    require(sums)
    listed = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())
    assert listed == download.NAMES_SHA256
    assert all(hashlib.sha256((SHARED_NAMES / f).read_bytes()).hexdigest() == h for f, h in listed.items())


# ------------------------------------------------ issue 14: findings 9, 12, 14
def test_words_takes_a_list_of_codes_not_a_string():
    with pytest.raises(TypeError, match=r"languages must be a list of wordfreq codes such as \['en', 'fr'\], "
                                        r"got 'en,fr'"):
        data.words(languages="en,fr")


@pytest.mark.parametrize("valid_fraction", [0.2, 0.5, 0.9, 0.99])
def test_split_one_rule_every_class_keeps_a_record_to_train_on(valid_fraction):
    X = [f"w{i}" for i in range(13)]
    y = ["one"] + ["two"] * 2 + ["three"] * 3 + ["seven"] * 7
    _, _, y_train, y_valid = data.split(X, y, valid_fraction=valid_fraction, seed=0)
    n = Counter(y)
    for label in n:
        assert Counter(y_train)[label] >= 1  # every class is trained on
        if n[label] >= 2:
            assert Counter(y_valid)[label] >= 1  # and validated when it can be
        expected = min(max(round(valid_fraction * n[label]), 1), n[label] - 1)
        assert Counter(y_valid)[label] == expected
    assert Counter(y_valid)["one"] == 0


@needs_names
def test_surnames_returns_one_shape_two_parallel_lists_of_strings():
    result = data.surnames(data_dir=SHARED_NAMES.parent, download=False)
    assert isinstance(result, tuple) and len(result) == 2
    X, y = result
    assert isinstance(X, list) and isinstance(y, list) and len(X) == len(y) > 0
    assert all(isinstance(w, str) and w for w in X) and set(map(type, y)) == {str}


def _names_folder(root: Path) -> Path:
    names = root / "names"
    names.mkdir(parents=True)
    for f in download.NAMES_SHA256:
        (names / f).write_bytes((SHARED_NAMES / f).read_bytes())
    return names


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("must not download when RNNLIB_DATA is set")

    monkeypatch.setattr(download, "download_names", refuse)


@needs_names
@pytest.mark.parametrize("damage, message", [
    (lambda names: (names / "Greek.txt").unlink(), "{names}/Greek.txt is missing"),
    (lambda names: [(names / f).unlink() for f in ("Greek.txt", "Irish.txt", "Czech.txt")],
     r"{names}/Czech.txt is missing \(and 2 more of the 18 files\)"),
    (lambda names: [p.unlink() for p in names.iterdir()] and names.rmdir() or names.write_text("x"),
     "{names} is a file; it must be a folder"),
    (lambda names: [p.unlink() for p in names.iterdir()] and names.rmdir(), "there is no folder {names}"),
    (lambda names: (names / "Greek.txt").write_text("Smith\n"), "Greek.txt has sha256"),
])
def test_a_broken_rnnlib_data_names_the_folder_and_the_file(tmp_path, monkeypatch, no_download, damage, message):
    names = _names_folder(tmp_path / "data")
    damage(names)
    monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DataError, match=message.format(names=names)) as err:
        data.surnames()
    if "sha256" not in message:
        assert str(err.value).startswith(f"{download.DATA_ENV}={tmp_path / 'data'}: ")


def test_rnnlib_data_that_is_no_folder(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=f"RNNLIB_DATA={tmp_path}/nowhere: no such folder"):
        data.surnames()
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "file"))
    with pytest.raises(DataError, match="is not a folder"):
        data.surnames()


@needs_names
def test_rnnlib_data_may_be_the_names_folder_itself(tmp_path, monkeypatch, no_download):
    names = _names_folder(tmp_path)
    monkeypatch.setenv(download.DATA_ENV, str(names))
    assert download.find_names_dir() == names


def _bomb_zip(size: int, declared: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/names/English.txt", b"\0" * size)
    payload = buffer.getvalue()
    if declared is not None:  # lie about the size in the central directory and the local header
        payload = payload.replace(size.to_bytes(4, "little"), declared.to_bytes(4, "little"))
    return payload


def test_a_zip_member_declaring_a_huge_size_is_refused_before_reading(tmp_path, monkeypatch):
    payload = _bomb_zip(20 << 20)
    assert len(payload) < 100_000
    read = []
    monkeypatch.setattr(download, "_read_member", lambda *a: read.append(a))
    with pytest.raises(DataError, match=r"'data/names/English.txt': it declares 20,971,520 bytes, more than "
                                        r"the 1,048,576 a names file may have"):
        download.extract_names(payload, tmp_path)
    assert read == []


def test_a_zip_member_lying_about_its_size_is_refused_in_bounded_reads(tmp_path):
    import tracemalloc

    payload = _bomb_zip(20 << 20, declared=100)
    tracemalloc.start()
    with pytest.raises(DataError, match="English.txt"):
        download.extract_names(payload, tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 << 20  # never the 20 MB it inflates to
    assert not (tmp_path / "names").exists()


def test_a_download_larger_than_the_cap_is_refused(tmp_path, monkeypatch):
    big = tmp_path / "data.zip"
    big.write_bytes(b"x" * 5000)
    monkeypatch.setattr(download, "MAX_DOWNLOAD", 4096)
    with pytest.raises(DataError, match="it is 5,000 bytes, more than the 4,096 expected"):
        download.download_names(tmp_path / "cache", url=big.as_uri())


@needs_names
def test_a_failed_download_keeps_the_cached_copy(tmp_path, real_zip_files):
    target = tmp_path / "cache"
    download.extract_names(_zip(real_zip_files), target)
    before = sorted(p.name for p in (target / "names").iterdir())
    real_zip_files["data/names/Greek.txt"] += b"x\n"
    with pytest.raises(DataError):
        download.extract_names(_zip(real_zip_files), target)
    assert sorted(p.name for p in (target / "names").iterdir()) == before
    download.verify_names_dir(target / "names")
