"""rnnlib.modelfile: a model file round-trips; a damaged, hostile or special file is refused in one line,
before it can cost more than its size; saving is whole or not at all and destroys nothing it should not."""
import errno
import json
import os
import re
import signal
import stat
from pathlib import Path

import pytest
import torch

from rnnlib import modelfile
from rnnlib.lm import LanguageModel
from rnnlib.model import Classifier
from rnnlib.text import Labels, Vocab

VOCAB, LABELS = Vocab("acehktz"), Labels(["English", "French", "German"])


def classifier(**kwargs) -> Classifier:
    return Classifier(VOCAB, LABELS, **{"nhidden": 5, "seed": 1, **kwargs})


@pytest.fixture
def saved(tmp_path) -> Path:
    return modelfile.save(classifier(), tmp_path / "m.rnn")


def folder(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def parts(path: Path) -> tuple[bytes, dict, bytes]:
    first, line, body = path.read_bytes().split(b"\n", 2)
    return first + b"\n", json.loads(line), body


def write(path: Path, first: bytes, header: dict | bytes, body: bytes) -> Path:
    path.write_bytes(first + (header if isinstance(header, bytes) else json.dumps(header).encode()) + b"\n" + body)
    return path


@pytest.fixture(autouse=True)
def no_hang():
    """A FIFO or a device must be refused at once: fail instead of waiting for ever."""
    def hung(*args):
        raise TimeoutError("hung for 20 s")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["classifier", "language-model"])
def test_a_model_comes_back_as_it_was_saved_with_its_dtype(tmp_path, kind, dtype):
    model = classifier(dtype=dtype, cell="gru") if kind == "classifier" else \
        LanguageModel(VOCAB, ["English", "German"], nhidden=5, cell="tanh", dtype=dtype, dropout=0.25, seed=2)
    back = modelfile.load(modelfile.save(model, tmp_path / "m.rnn", {"epochs": 3}))
    assert type(back) is type(model) and back.rnn.dtype == dtype and back.rnn.theta.dtype == model.rnn.theta.dtype
    assert torch.equal(back.rnn.theta, model.rnn.theta)
    assert (back.vocab, back.labels.classes, back.rnn.cell.name) == (model.vocab, model.labels.classes,
                                                                     model.rnn.cell.name)
    if kind == "classifier":
        assert torch.equal(back.predict_proba(["katze"]), model.predict_proba(["katze"]))  # float64 works in use
    else:
        assert back.dropout == 0.25 and back.sample("German", n=3, seed=1) == model.sample("German", n=3, seed=1)


# ------------------------------------------------------------------ damaged files
def damaged(saved: Path, how: str) -> Path:
    first, header, body = parts(saved)
    blob = saved.read_bytes()
    cases = {
        "zero-byte": b"", "truncated": blob[:-1], "appended": blob + b"\0", "header only": blob[:len(first) + 20],
        "wrong magic": b"PK\x03\x04" + blob, "wrong version": blob.replace(b"rnnlib-model 2", b"rnnlib-model 7", 1),
        "bad json": first + b"{nope\n" + body, "deep json": first + b"[" * 100_000 + b"\n" + body,
        "not an object": first + b"[1, 2]\n" + body, "huge header": first + b"x" * (modelfile.MAX_HEADER_BYTES + 10),
        "checksum": blob[:-1] + bytes([blob[-1] ^ 1]),
    }
    if how in cases:
        saved.write_bytes(cases[how])
        return saved
    key, value = how.split("=", 1)
    return write(saved, first, {**header, key: json.loads(value)}, body)


@pytest.mark.parametrize("how, message", [
    ("zero-byte", "is not an rnnlib model file (it is empty)"),
    ("truncated", "damaged rnnlib model file: {short:,} bytes where its header says {size:,} (truncated, or with"),
    ("appended", "{long:,} bytes where its header says {size:,}"),
    ("header only", "damaged rnnlib model file: Unterminated string"),
    ("wrong magic", "is not an rnnlib model file"),
    ("wrong version", "of format '7'; this rnnlib reads format 2: train the model again"),
    ("bad json", "damaged rnnlib model file: Expecting property name"),
    ("deep json", "damaged rnnlib model file: maximum recursion depth"),
    ("not an object", "its header is not a JSON object"),
    ("huge header", "damaged rnnlib model file"),
    ("checksum", "its numbers do not match their checksum"),
    ('kind="pickle"', "kind='pickle'; allowed: classifier, language-model"),
    ('cell="lstm"', "cell='lstm'; allowed: tanh, relu, identity, gru"),
    ('dtype="float16"', "dtype='float16'; allowed: float32, float64"),
    ("nhidden=-5", "nhidden must be a positive integer, got -5"),
    ("nhidden=true", "nhidden must be a positive integer, got True"),
    ('nhidden="5"', "nhidden must be a positive integer, got '5'"),
    ('chars="ACE"', "'A' can never occur in a normalised word"),
    ('chars="aa"', "each once"),
    ('chars=["a", "c"]', "its vocabulary or its classes are missing"),
    ('classes="abc"', "its vocabulary or its classes are missing"),
    ("classes=[1, 2]", "class names are non-empty strings"),
    ("numbers=55", "its header says 55 numbers where its sizes need 80"),
    ("numbers=1e400", "its header says inf numbers"),
    ('dropout="0.5"', "its dropout is '0.5', not a number from 0 to below 1"),
    ("dropout=1", "its dropout is 1"),
])
def test_a_damaged_file_is_refused_in_one_line_naming_it(saved, how, message):
    size = saved.stat().st_size
    path = damaged(saved, how)
    with pytest.raises(ValueError) as err:
        modelfile.load(path)
    text = str(err.value)
    assert message.format(size=size, short=size - 1, long=size + 1) in text
    assert text.startswith(repr(str(path))) and "\n" not in text and len(text) < 400, text


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_weights_that_are_not_finite_are_refused_even_with_a_good_checksum(saved, value):
    first, header, body = parts(saved)
    theta = torch.frombuffer(bytearray(body), dtype=torch.float32).clone()
    theta[3] = float(value)
    body = theta.numpy().tobytes()
    header["sha256"] = __import__("hashlib").sha256(body).hexdigest()
    with pytest.raises(ValueError, match=r"has weights that are not finite \(nan or inf\): it is damaged"):
        modelfile.load(write(saved, first, header, body))


def test_a_small_file_claiming_a_big_model_is_refused_before_anything_is_allocated(saved, monkeypatch):
    first, header, body = parts(saved)
    nh = 5000                                  # 25 million numbers, 200 MB as float64: in a file of 500 bytes
    header.update(nhidden=nh, dtype="float64", numbers=nh * (nh + len(VOCAB) + 1) + len(LABELS) * nh)
    path = write(saved, first, header, body)
    assert path.stat().st_size < 1000
    monkeypatch.setattr(modelfile, "RNN", lambda *a, **k: pytest.fail("built the model before checking the size"))
    monkeypatch.setattr(modelfile, "bytearray", lambda n: pytest.fail(f"allocated {n:,} bytes"), raising=False)
    with pytest.raises(ValueError, match=r"bytes where its header says 200,\d{3},\d{3} \(truncated"):
        modelfile.load(path)


def test_a_header_claiming_more_than_a_model_may_have_is_refused(saved):
    first, header, body = parts(saved)
    nh = 8000
    header.update(nhidden=nh, numbers=nh * (nh + len(VOCAB) + 1) + len(LABELS) * nh)
    with pytest.raises(ValueError, match="more than the 50,000,000 a model may have"):
        modelfile.load(write(saved, first, header, body))


def test_a_file_larger_than_any_model_is_refused_by_its_size_before_reading(saved):
    with open(saved, "r+b") as f:                 # sparse: no disk used
        f.truncate(modelfile.MAX_FILE_BYTES + 1)
    with pytest.raises(ValueError, match=f"is {modelfile.MAX_FILE_BYTES + 1:,} bytes; a model file has at most"):
        modelfile.load(saved)


# ------------------------------------------------------------------ special files
def test_special_files_are_refused_at_once_without_blocking(tmp_path, saved):
    os.mkfifo(tmp_path / "fifo")                   # opened for reading without a writer: blocking would hang
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "to-fifo").symlink_to(tmp_path / "fifo")
    (tmp_path / "to-model").symlink_to(saved)
    for path, error, message in [
        (tmp_path / "fifo", ValueError, "is not a regular file (a FIFO, a device or a socket): not a model file"),
        (tmp_path / "to-fifo", ValueError, "is not a regular file"),
        (Path("/dev/zero"), ValueError, "is not a regular file"),
        (tmp_path, IsADirectoryError, "is a folder, not a model file"),
        (tmp_path / "loop1", OSError, "cannot read .*: Too many levels of symbolic links"),
        (tmp_path / "missing", FileNotFoundError, "no model file at"),
    ]:
        with pytest.raises(error) as err:
            modelfile.load(path)
        assert re.search(message, str(err.value)) if message.startswith("cannot") else message in str(err.value)
    assert torch.equal(modelfile.load(tmp_path / "to-model").rnn.theta, modelfile.load(saved).rnn.theta)


# ------------------------------------------------------------------ saving
@pytest.mark.parametrize("where, error, message", [
    ("{tmp}", IsADirectoryError, "it is a folder; give a file name such as '{tmp}/model.rnn'"),
    ("{tmp}/fifo", OSError, "it is not a regular file"),
    ("/dev/null", OSError, "it is not a regular file"),
    ("{tmp}/loop1", OSError, "Too many levels of symbolic links"),
    ("{tmp}/to-fifo", OSError, "it is not a regular file"),
    ("{tmp}/no/such/m.rnn", FileNotFoundError, "the folder '{tmp}/no/such' does not exist"),
    ("{tmp}/notes.txt/m.rnn", NotADirectoryError, "the folder '{tmp}/notes.txt' is a file"),
    ("{tmp}/notes.txt", FileExistsError, "it is a file that is not an rnnlib model file, which saving would destroy"),
    ("{tmp}/" + "x" * 256, OSError, "File name too long: a file name has at most 255 bytes here, a path at most 4095"),
    ("{tmp}/" + "d/" * 2100 + "m.rnn", OSError, "File name too long"),
])
def test_save_refuses_a_bad_target_before_writing_and_destroys_nothing(tmp_path, where, error, message):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "to-fifo").symlink_to(tmp_path / "fifo")
    (tmp_path / "notes.txt").write_text("my notes")
    before = folder(tmp_path)
    target = where.format(tmp=tmp_path)
    for attempt in (modelfile.target_of, lambda t: modelfile.save(classifier(), t)):
        with pytest.raises(error) as err:
            attempt(target)
        assert message.format(tmp=tmp_path) in str(err.value)
        assert "\n" not in str(err.value) and len(str(err.value)) < 500
    assert folder(tmp_path) == before and (tmp_path / "notes.txt").read_text() == "my notes"
    assert (tmp_path / "loop1").is_symlink() and stat.S_ISFIFO((tmp_path / "fifo").stat().st_mode)


def test_save_into_a_folder_it_cannot_write_is_refused(tmp_path):
    if os.geteuid() == 0:                          # root writes anywhere a chmod allows: take a folder no one can
        target, message = Path("/sys/m.rnn"), "cannot write in the folder '/sys'"
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        target, message = tmp_path / "ro" / "m.rnn", "cannot write in the folder"
    with pytest.raises(OSError, match=message):
        modelfile.save(classifier(), target)


def test_a_symbolic_link_is_followed_and_kept(tmp_path, saved):
    link = tmp_path / "link.rnn"
    link.symlink_to(saved)
    assert modelfile.target_of(link) == saved
    model = classifier(seed=9)
    assert modelfile.save(model, link) == saved
    assert link.is_symlink() and torch.equal(modelfile.load(saved).rnn.theta, model.rnn.theta)
    dangling = tmp_path / "dangling.rnn"
    dangling.symlink_to(tmp_path / "new.rnn")        # a link to a file not made yet: the file is made
    assert modelfile.save(model, dangling) == tmp_path / "new.rnn" and dangling.is_symlink()


def test_an_empty_file_and_a_model_file_may_be_replaced(tmp_path, saved):
    (tmp_path / "empty.rnn").touch()
    modelfile.save(classifier(), tmp_path / "empty.rnn")
    modelfile.save(classifier(seed=3), saved)
    assert torch.equal(modelfile.load(saved).rnn.theta, classifier(seed=3).rnn.theta)


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt(),
                                     SystemExit(143)])
def test_a_save_that_fails_half_way_leaves_the_old_file_and_no_temporary(saved, monkeypatch, failure):
    before, seen = saved.read_bytes(), []

    def fails(fd):
        seen.extend(p.name for p in saved.parent.iterdir() if p.name.endswith(".tmp"))
        raise failure

    monkeypatch.setattr(modelfile.os, "fsync", fails)       # the disk fills, or a signal comes, mid-save
    with pytest.raises(type(failure)) as err:
        modelfile.save(classifier(seed=5), saved)
    assert len(seen) == 1 and len(seen[0]) < 40              # there was a temporary file, of a short name
    assert saved.read_bytes() == before and folder(saved.parent) == ["m.rnn"]
    if isinstance(failure, OSError):
        assert str(err.value) == f"cannot save to {str(saved)!r} (No space left on device); the file there is unchanged"


def test_the_temporary_file_has_a_short_name_whatever_the_target_is_called(tmp_path):
    longest = tmp_path / ("m" * 250 + ".rnn")                # 254 bytes: allowed, and no room for a suffix
    assert modelfile.load(modelfile.save(classifier(), longest)).rnn.nhidden == 5


def test_save_keeps_the_permissions_of_the_file_it_replaces(saved):
    saved.chmod(0o640)
    modelfile.save(classifier(seed=2), saved)
    assert saved.stat().st_mode & 0o777 == 0o640


def test_a_model_with_weights_that_are_not_finite_is_not_saved(tmp_path):
    model = classifier()
    model.rnn.V[0, 0] = float("nan")
    with pytest.raises(ValueError, match="not finite .* diverged; it is not saved"):
        modelfile.save(model, tmp_path / "m.rnn")
    assert folder(tmp_path) == []
    with pytest.raises(TypeError, match="save takes a Classifier or a LanguageModel, got RNN"):
        modelfile.save(model.rnn, tmp_path / "m.rnn")
