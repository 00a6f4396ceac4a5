"""Reading TOML for every kind of file the toolkit loads (records, config, playbooks), with one wording
for the errors: the file, the line, what is wrong."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from incident.errors import InputError

_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse(text: str, *, file: str | Path | None = None) -> dict[str, Any]:
    """The TOML document, or InputError naming the file and line of the syntax error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.search(message)
        line = int(found.group(1)) if found else None
        if found:
            message = _AT_LINE.sub(f"(column {found.group(2)})", message)
        raise InputError(f"not valid TOML: {message}", file=file, line=line) from None


def read_text(path: Path, *, hint: str = "") -> str:
    """A file's UTF-8 text, or InputError for a missing or unreadable file (`hint` says what to do)."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text" + (f"; {hint}" if hint else ""), file=path) from None


def read(path: Path, *, hint: str = "") -> tuple[dict[str, Any], str]:
    """A TOML file's document and its text (for locating keys in later messages)."""
    text = read_text(path, hint=hint)
    return parse(text, file=path), text
