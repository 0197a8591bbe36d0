"""Writing files atomically: nothing microflow writes is ever left half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="wb", newline=None):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    The data is flushed to disk and moved into place with ``os.replace``, so a crash
    mid-write leaves the previous file intact; on an error the temporary file is removed.
    The folder must exist.

    >>> with atomic_write("notes.txt", "w") as handle:
    ...     _ = handle.write("hello")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, mode, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)      # mkstemp makes files only their owner can read
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


__all__ = ['atomic_write']


def __dir__():
    return __all__
