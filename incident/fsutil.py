"""File-system primitives for a store that holds personal data: atomic writes, private modes, a lock.

Runs where officers work: the lock is the `filelock` library's (flock on POSIX, the Windows locking
API on Windows, a lock file where neither exists), and private modes (0600/0700) are applied only
where POSIX modes exist; elsewhere the user's profile directory is what keeps the files private.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from incident.errors import InputError
from incident.i18n import _

FILE_MODE = 0o600
DIR_MODE = 0o700


#: whether the platform has POSIX permission bits (not on Windows, where ACLs decide)
POSIX_MODES = os.name == "posix"


class LockBusy(Exception):
    """A lock asked for without waiting is held by another process."""


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) private to the user; tighten an existing one."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if POSIX_MODES and path.stat().st_mode & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def set_private(fd: int, mode: int = FILE_MODE) -> None:
    """Give an open file a private mode where POSIX modes exist (a no-op elsewhere)."""
    if POSIX_MODES and hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def fsync_dir(path: Path) -> None:
    """Make a rename or creation in `path` durable (directories cannot be opened for this on Windows)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write to a temporary file in the same directory, fsync, rename over `path`, fsync the directory."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise InputError(_("the directory {parent} does not exist; create it first")
                         .format(parent=path.parent), file=path) from None
    except (PermissionError, NotADirectoryError) as exc:
        raise InputError(_("cannot write there: {strerror}").format(strerror=exc.strerror), file=path) from None
    try:
        set_private(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, *, mode: int = FILE_MODE) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """An exclusive lock on `path` held for the block: the one lock helper of the toolkit.

    Waits until the lock is free, or with `wait=False` raises LockBusy at once. A lock held by a
    process that dies is released by the OS (flock, Windows locking).
    """
    import filelock  # only when something is written

    lock = filelock.FileLock(str(path), timeout=-1 if wait else 0, mode=FILE_MODE, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockBusy(str(path)) from None
    try:
        yield
    finally:
        lock.release()
