"""Atomic file writes, shared by every part of fixsim that saves a file, and the matching
JSON reading with errors that name the reader (:func:`parse_json`).

A file is written to a temporary file in the same folder, flushed to disk, then moved onto
its name with ``os.replace``: a reader (or an interrupted run) never sees a half-written file.
This module imports nothing from fixsim, so every layer may use it.
"""

from __future__ import annotations

import json
import os
import tempfile

__all__ = ["write_atomic", "parse_json", "read_json"]


def parse_json(text, where: str, source: str | None = None):
    """``json.loads(text)``, with errors naming *where* (the reading function) and *source*
    (a file; regression: bare JSONDecodeErrors named neither)."""
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(f"{where}: expected JSON text (a str), got {type(text).__name__}.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        what = f"{source!r}" if source is not None else "the text"
        raise ValueError(f"{where}: {what} is not JSON: {exc}") from None


def read_json(path: str | os.PathLike, where: str):
    """The JSON data of the file *path* (see :func:`parse_json`)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parse_json(text, where, os.fspath(path))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, data: str | bytes) -> str:
    """Write *data* (text is encoded as UTF-8, newlines kept as given) to *path* atomically.

    The file gets the usual mode for a new file (``0o666`` less the umask; ``mkstemp`` alone
    would leave it ``0o600``). On any error the temporary file is removed and the error raised;
    *path* is then untouched. Returns *path* as a string.
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
