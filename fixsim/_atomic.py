"""Atomic file writes, shared by every part of fixsim that saves a file.

A file is written to a temporary file in the same folder, flushed to disk, then moved onto
its name with ``os.replace``: a reader (or an interrupted run) never sees a half-written file.
This module imports nothing from fixsim, so every layer may use it.
"""

from __future__ import annotations

import os
import tempfile

__all__ = ["write_atomic"]


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
