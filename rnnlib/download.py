"""The surnames files on disk: where they are looked for, and a safe download.

Every file is checked against a pinned sha256 sum; the download and each file are read in bounded chunks
with a cap, so a zip bomb cannot fill memory; a failed download leaves an earlier cache as it was.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

DATA_ENV = "RNNLIB_DATA"
NAMES_URL = "https://download.pytorch.org/tutorial/data.zip"

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
# Bounds on what we read: the largest names file is 86 KB and data.zip 2.9 MB.
MAX_NAMES_FILE = 1 << 20
MAX_DOWNLOAD = 64 << 20


class DataError(RuntimeError):
    """The data could not be found, downloaded or verified."""


def cache_dir() -> Path:
    """Where downloads are kept: ``$XDG_CACHE_HOME/rnnlib`` or ``~/.cache/rnnlib``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnlib"


def find_names_dir(data_dir=None, download: bool = True, url: str = NAMES_URL) -> Path:
    """The verified ``names/`` directory: in ``data_dir``, else in ``$RNNLIB_DATA``, else in the user cache,
    else downloaded there. A folder you name must hold the files: if it does not, the error says which
    folder and which file, and nothing is downloaded instead."""
    if data_dir is not None:
        return _names_in(Path(data_dir), "data_dir")
    if os.environ.get(DATA_ENV):
        return _names_in(Path(os.environ[DATA_ENV]), DATA_ENV)
    target = cache_dir()
    if all((target / "names" / f).is_file() for f in NAMES_SHA256):
        verify_names_dir(target / "names")
        return target / "names"
    if not download:
        raise DataError(f"surnames data not found: put the 18 files of data/names/ in "
                        f"{target / 'names'} or set {DATA_ENV} to a folder holding names/")
    download_names(target, url)
    return target / "names"


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
            while len(buffer) <= MAX_NAMES_FILE and (chunk := stream.read(1 << 16)):
                buffer += chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        raise DataError(f"the download is a damaged zip: {member.filename!r} cannot be read "
                        f"({str(err).splitlines()[0][:120] or type(err).__name__})") from None
    if len(buffer) > MAX_NAMES_FILE:
        raise DataError(f"refusing zip member {member.filename!r}: it inflates past "
                        f"{MAX_NAMES_FILE:,} bytes, more than a names file may have")
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
