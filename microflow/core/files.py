"""Writing files atomically: nothing microflow writes is ever left half-written."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time

# A temporary file of ours: ".NAME.PID-RANDOM.tmp" beside NAME, so that the next write of NAME
# can tell the leftovers of a writer that was killed (its process is gone) from those of one
# still at work.
_TEMPORARY = ".{name}.{pid}-"
_STALE_AFTER = 24 * 3600        # seconds; where a process cannot be asked whether it is alive


@contextlib.contextmanager
def atomic_write(path, mode="wb", newline=None):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    The data is flushed to disk and moved into place with ``os.replace``, so a crash
    mid-write leaves the previous file intact; on an error the temporary file is removed,
    and the temporary files that writers killed mid-write left beside ``path`` are removed
    by the next write. A file written over keeps its permissions (a new one gets those the
    umask allows), and a symbolic link is written through: its target is replaced, the
    link stays. The folder must exist; errors name ``path``, not the temporary file.

    >>> with atomic_write("notes.txt", "w") as handle:
    ...     _ = handle.write("hello")
    """
    shown = os.fspath(path)
    if shown.endswith(("/", os.sep)) or os.path.isdir(shown):
        raise IsADirectoryError(f"cannot write {shown!r}: it names a folder, not a file")
    target = os.path.realpath(shown)            # through symbolic links to the real file
    folder, name = os.path.split(target)
    _remove_stale(folder, name)
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=_TEMPORARY.format(name=name, pid=os.getpid()), suffix=".tmp", dir=folder)
    except OSError as error:
        raise _naming(error, shown) from None
    try:
        try:
            handle = os.fdopen(descriptor, mode, newline=newline)
        except BaseException:
            os.close(descriptor)
            raise
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(target))  # mkstemp makes files only their owner can read
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.filename in (temporary, target):
            raise _naming(error, shown) from None
        raise


def check_writable(path):
    """Raise the ``OSError`` that ``atomic_write(path)`` would, without touching ``path``: a
    missing or read-only folder, a path naming a folder. Checks by creating (and removing) a
    temporary file beside ``path``, which also works where permission bits do not tell."""
    shown = os.fspath(path)
    if shown.endswith(("/", os.sep)) or os.path.isdir(shown):
        raise IsADirectoryError(f"cannot write {shown!r}: it names a folder, not a file")
    try:
        with tempfile.TemporaryFile(dir=os.path.dirname(os.path.realpath(shown))):
            pass
    except OSError as error:
        raise _naming(error, shown) from None


def _naming(error, path):
    """``error`` again, naming ``path`` instead of the file the system call was given."""
    return type(error)(error.errno, error.strerror, path) if error.errno else error


def _mode_for(target):
    """The permissions of the file at ``target``, or those a new file gets under the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_stale(folder, name):
    """Delete the temporary files of ``name`` whose writer is gone."""
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)-[^/\\]*\.tmp\Z")
    try:
        entries = os.listdir(folder)
    except OSError:
        return                                  # mkstemp will say what is wrong
    for entry in entries:
        match = pattern.match(entry)
        if match and _writer_is_gone(int(match.group(1)), os.path.join(folder, entry)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))


def _writer_is_gone(pid, path):
    if pid == os.getpid():
        return False                            # a write of ours, in another thread
    if os.name != "posix":                      # no safe way to ask: go by age
        try:
            return time.time() - os.stat(path).st_mtime > _STALE_AFTER
        except OSError:
            return False
    try:
        os.kill(pid, 0)                         # signal 0: only asks whether it exists
    except ProcessLookupError:
        return True
    except OSError:                             # exists, but another user's
        return False
    return False


__all__ = ['atomic_write', 'check_writable']


def __dir__():
    return __all__
