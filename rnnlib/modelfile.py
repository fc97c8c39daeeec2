"""Model files: versioned, bounded, written whole or not at all, and never run as code.

A file is one line ``rnnlib-model 2``, one line of JSON (kind, cell, sizes, dtype, vocabulary, classes,
settings, the sha256 of the numbers), then ``theta`` as little-endian floats of the model's dtype. ``load``
reads no pickle and no code, and checks the file's size against its header before it allocates, so that
what a file can cost is bounded by its size. ``save`` writes a temporary file beside the target and
renames it over the target: a failure or a signal leaves what was there as it was.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

import torch

from .checks import check_choice, check_int, quote
from .lm import LanguageModel
from .model import DTYPES, RNN, Classifier
from .rnn import CELLS
from .text import Labels, Vocab

MAGIC, VERSION = b"rnnlib-model", 2
MAX_NUMBERS = 50_000_000                                  # the largest model RNN allows
MAX_HEADER_BYTES = 1 << 20
MAX_FILE_BYTES = MAX_HEADER_BYTES + 8 * MAX_NUMBERS
KINDS = {"classifier": Classifier, "language-model": LanguageModel}
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not block us


def target_of(path: str | os.PathLike) -> Path:
    """The file ``save(model, path)`` would write: ``path``, or the file a symbolic link there points to (the
    link stays). What can be known before training is checked now, with an ``OSError`` naming the path: a
    link loop, a folder or a special file, an existing file that is not a model file (not ours to replace),
    a missing or unwritable folder, a name too long (a temporary file is made and removed there).
    """
    path = Path(path)
    try:
        try:
            target = Path(os.path.realpath(path, strict=True)) if path.is_symlink() else path
        except FileNotFoundError:                         # a link to nothing yet: the file it would make
            target = Path(os.path.realpath(path))
        info = target.stat() if target.exists() else None
        if info is not None and stat.S_ISREG(info.st_mode) and info.st_size and _first_bytes(target) != MAGIC + b" ":
            raise FileExistsError(errno.EEXIST, "it is a file that is not an rnnlib model file, which saving would "
                                  "destroy; give another name, or remove it first")
    except OSError as err:
        raise _refused(err, path) from None
    where = _named(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"cannot save to {where}: it is a folder; give a file name such as "
                                f"{_named(path / 'model.rnn')}")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OSError(f"cannot save to {where}: it is not a regular file (a FIFO, a device or a socket)")
    folder = target.parent
    if not folder.is_dir():
        raise (NotADirectoryError if folder.exists() else FileNotFoundError)(
            f"cannot save to {where}: the folder {_named(folder)} "
            f"{'is a file' if folder.exists() else 'does not exist'}")
    trial = _temporary(folder)
    try:
        os.close(os.open(trial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(trial)
        if (len(os.fsencode(target.name)) > _limit(folder, "PC_NAME_MAX", 255)
                or len(os.fsencode(str(target))) >= _limit(folder, "PC_PATH_MAX", 4096)):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
    except OSError as err:
        raise _refused(err, path, folder) from None
    return target


def _refused(err: OSError, path: Path, folder: Path | None = None) -> OSError:
    """``err`` as one line that names ``path`` (cut), and for a long name, the limits."""
    why = err.strerror or str(err)
    if err.errno == errno.ENAMETOOLONG:
        where = folder if folder is not None and folder.is_dir() else Path("/")
        why += (f": a file name has at most {_limit(where, 'PC_NAME_MAX', 255)} bytes here, a path at most "
                f"{_limit(where, 'PC_PATH_MAX', 4096) - 1}")
    elif folder is not None:
        why = f"cannot write in the folder {_named(folder)} ({why})"
    return type(err)(f"cannot save to {_named(path)}: {why}")


def _named(path: Path) -> str:
    return quote(str(path), 100)


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (AttributeError, OSError, ValueError):       # no pathconf (Windows), or no such limit
        return default


def _temporary(folder: Path) -> Path:
    """A fresh name for a temporary file in ``folder``, short whatever the target's name is."""
    return folder / f".rnnlib-{os.getpid()}-{secrets.token_hex(6)}.tmp"


def _first_bytes(path: Path) -> bytes:
    with os.fdopen(os.open(path, READ_FLAGS), "rb") as f:
        return f.read(len(MAGIC) + 1)


def save(model: Classifier | LanguageModel, path: str | os.PathLike, settings: dict | None = None) -> Path:
    """Write ``model`` to ``target_of(path)``, refusing weights that are not finite; returns the file written."""
    kind = next((k for k, cls in KINDS.items() if isinstance(model, cls)), None)
    if kind is None:
        raise TypeError(f"save takes a Classifier or a LanguageModel, got {type(model).__name__}")
    theta = model.rnn.theta.detach().cpu()
    if not torch.isfinite(theta).all():
        raise ValueError("the model has weights that are not finite (nan or inf): it comes from a training "
                         "run that diverged; it is not saved")
    body = theta.numpy().astype(theta.numpy().dtype.newbyteorder("<")).tobytes()
    header = {"kind": kind, "cell": model.rnn.cell.name, "nhidden": model.rnn.nhidden, "dtype": model.rnn.dtype,
              "chars": "".join(model.vocab.chars), "classes": model.labels.classes,
              "settings": settings or {}, "numbers": theta.numel(), "sha256": hashlib.sha256(body).hexdigest()}
    if kind == "language-model":
        header["dropout"] = model.dropout
    target = target_of(path)
    tmp = _temporary(target.parent)        # named before it exists: whatever interrupts us, we can remove it
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + b" %d\n" % VERSION + json.dumps(header, ensure_ascii=True).encode() + b"\n" + body)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    except BaseException as err:
        if not isinstance(err, FileExistsError):        # not ours (a name drawn twice)
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            left = "the file there is unchanged" if target.exists() else "nothing was written"
            raise type(err)(f"cannot save to {_named(target)} ({err.strerror or err}); {left}") from None
        raise
    return target


def load(path: str | os.PathLike) -> Classifier | LanguageModel:
    """The model in a file written by ``save``; anything else is refused with a one-line ``ValueError`` or ``OSError``."""
    name, path = _named(path), Path(path)            # named as given ('' is not '.')
    try:
        fd = os.open(path, READ_FLAGS)
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {name}") from None
    except OSError as err:
        raise type(err)(f"cannot read {name}: {err.strerror or err}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{name} is a folder, not a model file")
        raise ValueError(f"{name} is not a regular file (a FIFO, a device or a socket): not a model file")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(f"{name} is {info.st_size:,} bytes; a model file has at most {MAX_FILE_BYTES:,}")
        first = f.readline(64)
        if not first.startswith(MAGIC + b" "):
            raise ValueError(f"{name} is not an rnnlib model file" + (" (it is empty)" if not first else ""))
        if first.strip() != MAGIC + b" %d" % VERSION:
            version = first[len(MAGIC):].strip().decode(errors="replace")
            raise ValueError(f"{name} is an rnnlib model file of format {quote(version)}; this rnnlib reads format "
                             f"{VERSION}: train the model again")
        line = f.readline(MAX_HEADER_BYTES)
        try:
            header = json.loads(line)
            numbers, dtype, build = _plan(header)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
            raise ValueError(f"{name} is a damaged rnnlib model file: {str(err).splitlines()[0][:200]}") from None
        expected = len(first) + len(line) + numbers * dtype.itemsize
        if info.st_size != expected:                      # checked before anything the size of the model
            raise ValueError(f"{name} is a damaged rnnlib model file: {info.st_size:,} bytes where its header "
                             f"says {expected:,} (truncated, or with something appended)")
        body = bytearray(numbers * dtype.itemsize)
        if f.readinto(body) != len(body) or hashlib.sha256(body).hexdigest() != header.get("sha256"):
            raise ValueError(f"{name} is a damaged rnnlib model file: its numbers do not match their checksum")
    theta = torch.frombuffer(body, dtype=dtype)
    if not torch.isfinite(theta).all():
        raise ValueError(f"{name} has weights that are not finite (nan or inf): it is damaged")
    model = build()
    model.rnn.theta.copy_(theta)
    return model


def _plan(header: dict) -> tuple[int, torch.dtype, Callable[[], Classifier | LanguageModel]]:
    """How many numbers of which dtype the header's model has, and how to build it: checked, nothing allocated."""
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    kind = check_choice("kind", header.get("kind"), KINDS)
    cell = check_choice("cell", header.get("cell"), CELLS)
    dtype = check_choice("dtype", header.get("dtype"), DTYPES)
    nhidden = check_int("nhidden", header.get("nhidden"))
    dropout = header.get("dropout", 0.0)
    if not isinstance(header.get("chars"), str) or not isinstance(header.get("classes"), list):
        raise ValueError("its vocabulary or its classes are missing")
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"its dropout is {quote(dropout)}, not a number from 0 to below 1")
    vocab, labels = Vocab(header["chars"]), Labels(header["classes"], minimum=1 if kind == "language-model" else 2)
    nin = len(vocab) + (len(labels) if kind == "language-model" else 0)
    nout = len(vocab) + 1 if kind == "language-model" else len(labels)
    numbers = CELLS[cell].gates * nhidden * (nhidden + nin + 1) + nout * nhidden
    if header.get("numbers") != numbers:
        raise ValueError(f"its header says {quote(header.get('numbers'))} numbers where its sizes need {numbers:,}")
    if numbers > MAX_NUMBERS:
        raise ValueError(f"it claims a model of {numbers:,} numbers, more than the {MAX_NUMBERS:,} a model may have")

    def build() -> Classifier | LanguageModel:
        rnn = RNN(nin, nhidden, nout, cell, 0, dtype)
        return Classifier(vocab, labels, rnn=rnn) if kind == "classifier" else \
            LanguageModel(vocab, labels, dropout=float(dropout), rnn=rnn)
    return numbers, DTYPES[dtype], build
