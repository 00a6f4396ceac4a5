"""Checks for the files and directories an officer names for output (-o, --output, --ics, --export,
--out, --mbox), so that every command refuses the same mistakes the same way, before anything is written.

- A file whose directory does not exist (or is not a directory), or a path that is a directory: exit 2
  with a message naming the option and the path. Parents are never created on a guess: a typo in a
  path must not scatter personal data into a new directory tree.
- Personal data (letters, e-mails, minutes): never written through a symbolic link; files 0600. A mail
  merge's directory is created 0700; an existing one is used only when it is private (no access for
  the group or others), or when the officer agrees on a terminal to make it private.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from incident.errors import InputError
from incident.fsutil import DIR_MODE
from incident.i18n import _


def output_file(path: Path, *, option: str, personal: bool = False) -> Path:
    """`path` when a file can be written there; InputError (exit 2) naming `option` otherwise.

    `personal`: the file holds personal data, so a symbolic link at `path` is refused too.
    """
    if personal and path.is_symlink():
        raise InputError(_("{path} is a symbolic link; personal data is never written through one: give the real path")
                         .format(path=path), field=option)
    if path.is_dir():
        raise InputError(_("{path} is a directory; {option} takes a file name")
                         .format(path=path, option=option), field=option)
    _parent_exists(path, option)
    return path


def private_output_dir(path: Path, *, option: str, confirm: Callable[[str], bool] | None = None) -> Path:
    """A private directory at `path` for personal data: created 0700 when absent (its parent must
    exist); an existing one must not be a symbolic link and must be private, else InputError (exit 2)
    unless `confirm` (a question asked on a terminal) agrees to make it private."""
    if path.is_symlink():
        raise InputError(_("{path} is a symbolic link; personal data is never written through one: give the real path")
                         .format(path=path), field=option)
    if path.exists() and not path.is_dir():
        raise InputError(_("{path} exists and is not a directory; {option} takes a directory")
                         .format(path=path, option=option), field=option)
    if not path.exists():
        _parent_exists(path, option)
        try:
            path.mkdir(mode=DIR_MODE)
            os.chmod(path, DIR_MODE)  # whatever the umask
        except OSError as exc:
            raise InputError(_("cannot create the directory: {value}").format(value=exc.strerror or exc), file=path,
                             field=option) from None
        return path
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    foreign = hasattr(os, "getuid") and info.st_uid != os.getuid()
    if foreign:
        raise InputError(_("{path} belongs to another user; personal data goes into a directory of your own")
                         .format(path=path),
                         field=option)
    if os.name == "posix" and mode & 0o077:
        question = _("{path} can be read by other users (mode {mode:04o}). Make it private (0700) and write the "
                     "personal data there?").format(path=path, mode=mode)
        if confirm is None or not confirm(question):
            raise InputError(_("{path} can be read by other users (mode {mode:04o}); personal data goes only into a private directory: choose a new directory (it is created 0700) or `chmod 700 {path}`")
                             .format(path=path, mode=mode), field=option)
        os.chmod(path, DIR_MODE)
    return path


def _parent_exists(path: Path, option: str) -> None:
    parent = path.parent
    if not parent.exists():
        raise InputError(_("the directory {parent} does not exist (for {path}); create it first or give another path")
                         .format(parent=parent, path=path), field=option)
    if not parent.is_dir():
        raise InputError(_("{parent} is not a directory (for {path})").format(parent=parent, path=path), field=option)
