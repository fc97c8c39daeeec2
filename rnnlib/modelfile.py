"""Model files: versioned, bounded, written whole or not at all, and never run as code.

A file is one line ``rnnlib-model 2``, one line of JSON (what the model is: its kind, cell,
sizes, dtype, vocabulary, classes, settings, and the sha256 of the numbers), then the numbers of
``theta`` as little-endian floats. ``load`` reads no pickle and no code; it checks, before it
reads the numbers, that the file is a regular file of at most ``MAX_FILE_BYTES`` whose size is
exactly what its header says, and before it builds the model, that the numbers are finite.
``save`` writes a temporary file beside the target and renames it over the target: a failure
leaves what was there as it was. A symbolic link given as the target is followed (the file it
points to is replaced, the link stays); a folder, a FIFO or a device is refused.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

import torch

from .checks import check_choice, check_int
from .lm import LanguageModel
from .model import DTYPES, RNN, Classifier
from .rnn import CELLS
from .text import Labels, Vocab

MAGIC, VERSION = b"rnnlib-model", 2
MAX_HEADER_BYTES = 1 << 20
MAX_FILE_BYTES = MAX_HEADER_BYTES + 8 * 50_000_000      # the header and the largest model RNN allows
KINDS = {"classifier": Classifier, "language-model": LanguageModel}


def target_of(path: str | os.PathLike) -> Path:
    """Where ``save`` would write: ``path``, or the file a symbolic link there points to; checked now.

    Refuses, with an ``OSError`` naming it, a target that is a folder or not a regular file, a
    missing or unwritable folder, and a name longer than the file system allows: all before any
    training, so that nothing is lost late.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {path}: it is a folder; give a file name such as {path / 'model.rnn'}")
    if path.exists() and not path.is_file():
        raise OSError(f"cannot save to {path}: it is not a regular file (a FIFO, a device or a socket)")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} "
                                f"{'is a file' if folder.exists() else 'does not exist'}")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot save to {path}: the folder {folder} is not writable")
    longest = os.pathconf(folder, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    if len(os.fsencode(path.name)) > longest:
        raise OSError(f"cannot save to {path.name[:40]}...: a file name has at most {longest} bytes here")
    return path


def save(model: Classifier | LanguageModel, path: str | os.PathLike, settings: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (see the module's docstring); returns the file written."""
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
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".rnnlib-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + b" %d\n" % VERSION + json.dumps(header, ensure_ascii=True).encode() + b"\n" + body)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            left = "the file there is unchanged" if target.exists() else "nothing was written"
            raise type(err)(f"cannot save to {target} ({err.strerror or err}); {left}") from None
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | os.PathLike) -> Classifier | LanguageModel:
    """The model in a file written by ``save``; anything else is refused with a one-line ``ValueError`` or ``OSError``."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))   # a FIFO must not block us
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path}") from None
    except PermissionError:
        raise PermissionError(f"cannot read {path}: permission denied") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{path} is a folder, not a model file")
        raise ValueError(f"{path} is not a regular file (a FIFO, a device or a socket): not a model file")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(f"{path} is {info.st_size:,} bytes; a model file has at most {MAX_FILE_BYTES:,}")
        first = f.readline(64)
        if not first.startswith(MAGIC + b" "):
            raise ValueError(f"{path} is not an rnnlib model file" + (" (it is empty)" if not first else ""))
        if first.strip() != MAGIC + b" %d" % VERSION:
            raise ValueError(f"{path} is an rnnlib model file of format {first.strip()[len(MAGIC):].decode(errors='replace')!r}; "
                             f"this rnnlib reads format {VERSION}: train the model again")
        line = f.readline(MAX_HEADER_BYTES)
        try:
            header = json.loads(line)
            model, itemsize = _build(header)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise ValueError(f"{path} is a damaged rnnlib model file: {str(err).splitlines()[0][:200]}") from None
        expected = len(first) + len(line) + header["numbers"] * itemsize
        if info.st_size != expected:
            raise ValueError(f"{path} is a damaged rnnlib model file: {info.st_size:,} bytes where its header "
                             f"says {expected:,} (truncated, or with something appended)")
        body = f.read(header["numbers"] * itemsize)
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise ValueError(f"{path} is a damaged rnnlib model file: its numbers do not match their checksum")
    theta = torch.frombuffer(bytearray(body), dtype=DTYPES[model.rnn.dtype])
    if not torch.isfinite(theta).all():
        raise ValueError(f"{path} has weights that are not finite (nan or inf): it is damaged")
    model.rnn.theta.copy_(theta)
    return model


def _build(header: dict) -> tuple[Classifier | LanguageModel, int]:
    """An untrained model of the header's kind and sizes (checked before anything is allocated)."""
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    kind = check_choice("kind", header.get("kind"), KINDS)
    cell = check_choice("cell", header.get("cell"), CELLS)
    dtype = check_choice("dtype", header.get("dtype"), DTYPES)
    nhidden = check_int("nhidden", header.get("nhidden"))
    if not isinstance(header.get("chars"), str) or not isinstance(header.get("classes"), list):
        raise ValueError("its vocabulary or its classes are missing")
    vocab, labels = Vocab(header["chars"]), Labels(header["classes"], minimum=1 if kind == "language-model" else 2)
    nin = len(vocab) + (len(labels) if kind == "language-model" else 0)
    nout = len(vocab) + 1 if kind == "language-model" else len(labels)
    gates = CELLS[cell].gates
    numbers = gates * nhidden * (nhidden + nin + 1) + nout * nhidden
    if header.get("numbers") != numbers:
        raise ValueError(f"its header says {header.get('numbers')!r} numbers where its sizes need {numbers:,}")
    if numbers * 8 > MAX_FILE_BYTES:
        raise ValueError(f"it claims a model of {numbers:,} numbers, more than a model file may hold")
    rnn = RNN(nin, nhidden, nout, cell, 0, dtype)
    if kind == "classifier":
        return Classifier(vocab, labels, rnn=rnn), rnn.theta.element_size()
    return LanguageModel(vocab, labels, dropout=float(header.get("dropout", 0.0)), rnn=rnn), rnn.theta.element_size()
