"""Reading TOML for every kind of file the toolkit loads (records, config, playbooks), with one wording
for the errors: the file, the line, what is wrong; and the helpers the playbook checkers share to
collect every problem of a file, each at its line."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from incident.errors import InputError, MultipleErrors
from incident.i18n import N_, _

#: the form of every id in the playbooks: lower-case words joined by hyphens
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
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
        raise InputError(_("not valid TOML: {message}").format(message=message), file=file, line=line) from None
    except RecursionError:
        raise InputError(_("not valid here: tables or arrays nested too deeply"), file=file) from None


def read_text(path: Path, *, hint: str = "") -> str:
    """A file's UTF-8 text, or InputError for a missing or unreadable file (`hint` says what to do)."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(_("no such file"), file=path) from None
    except OSError as exc:
        raise InputError(_("cannot read the file: {strerror}").format(strerror=exc.strerror), file=path) from None
    except UnicodeDecodeError:
        raise InputError(_("not UTF-8 text; {hint}").format(hint=_(hint)) if hint else _("not UTF-8 text"),
                         file=path) from None


def read(path: Path, *, hint: str = "") -> tuple[dict[str, Any], str]:
    """A TOML file's document and its text (for locating keys in later messages)."""
    text = read_text(path, hint=hint)
    return parse(text, file=path), text


# --- collecting every problem of a playbook file, each at its line ----------------------------

#: a `[table]` or `[[array]]` header; group 1 is "[" for an array of tables, group 2 the (dotted) name
_HEADER = re.compile(r'^\s*\[(\[)?\s*([A-Za-z0-9_.\-"]+?)\s*\]')


class TomlLocator:
    """Line numbers (1-based) of `[[name]]` blocks and of `key =` lines in one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._headers: list[tuple[int, str]] = []
        self._arrays: set[int] = set()
        for number, line in enumerate(self._lines, 1):
            match = _HEADER.match(line)
            if match:
                self._headers.append((number, match.group(2).replace('"', "")))
                if match.group(1):
                    self._arrays.add(number)

    def block(self, name: str, index: int, *, parent: tuple[str, int] | None = None) -> int | None:
        """The line of the index-th `[[name]]` header (inside the parent-th `[[parent]]` block)."""
        headers = self._headers
        if parent is not None:
            start = self.block(parent[0], parent[1])
            if start is None:
                return None
            inside = []
            for number, header in headers:
                if number <= start:
                    continue
                if not header.startswith(parent[0] + "."):
                    break
                inside.append((number, header))
            headers = inside
        matches = [number for number, header in headers if header == name]
        return matches[index] if 0 <= index < len(matches) else None

    def _span(self, header: int | None) -> range:
        start = header or 0
        end = next((n for n, _unused in self._headers if n > start), len(self._lines) + 1)
        return range(start + 1, end)

    def key_line(self, header: int | None, key: str) -> int | None:
        """The line of `key = …` in the block opened at `header` (None: before the first header)."""
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        return next((n for n in self._span(header) if pattern.match(self._lines[n - 1])), None)

    def find(self, header: int | None, needle: str) -> int | None:
        """The first line of the block opened at `header` that contains `needle`."""
        return next((n for n in self._span(header) if needle in self._lines[n - 1]), None)

    def table_line(self, table: str | None, index: int | None = None, key: str | None = None) -> int | None:
        """The line of `key = …` (also inside an inline table) in `[table]` or the index-th `[[table]]`,
        sub-tables included; without a key, or when it is not found, the table's header line. At the top
        level (table None) only a key is looked for."""
        end = len(self._lines) + 1
        if table is None:
            start, stop = 1, (self._headers[0][0] if self._headers else end)
        else:
            count, start, stop = -1, 0, end
            for pos, (number, name) in enumerate(self._headers):
                if name != table:
                    continue
                count += 1
                if index is None or (number in self._arrays and count == index):
                    start = number
                    stop = next((n for n, sub in self._headers[pos + 1:] if not sub.startswith(table + ".")),
                                end)
                    break
            if not start:
                return None
        if key is not None:
            pattern = re.compile(rf"(^|[\s{{,.]){re.escape(key)}\s*=")
            found = next((n for n in range(start, stop) if pattern.search(self._lines[n - 1])), None)
            if found is not None:
                return found
        return start if table is not None else None


class BlockProblems:
    """Collects the problems of one TOML table, each at its key's line (else the table's header line)."""

    def __init__(self, path: Path, locator: TomlLocator, header: int | None, *, prefix: str = "",
                 fixed_line: int | None = None) -> None:
        self.path = path
        self.locator = locator
        self.header = header
        self.prefix = prefix
        self.fixed_line = fixed_line
        """When set (an inline table has no header), every problem is reported at this line."""
        self.found: list[InputError] = []

    def fail(self, message: str, key: str, *, needle: str | None = None) -> None:
        """Record a problem about `key`, located at the line holding `needle` or the key."""
        line = self.fixed_line
        if line is None:
            line = (self.locator.find(self.header, needle) if needle else None) \
                or self.locator.key_line(self.header, key) or self.header
        self.found.append(InputError(message, file=self.path, field=f"{self.prefix}{key}", line=line))

    def unknown_keys(self, table: Mapping[str, Any], valid: Sequence[str], owner: str = "") -> None:
        """Record one problem per key of `table` (of `owner`, e.g. "item 'x'") not in `valid`."""
        for key in table:
            if key not in valid:
                close = difflib.get_close_matches(key.replace("-", "_"), valid, n=1, cutoff=0.6)
                valid_keys = ", ".join(valid)
                if owner and close:
                    message = _("{owner}: unknown key {key!r}; did you mean {close!r}? valid: {valid}")
                elif owner:
                    message = _("{owner}: unknown key {key!r}; valid: {valid}")
                elif close:
                    message = _("unknown top-level key {key!r}; did you mean {close!r}? valid: {valid}")
                else:
                    message = _("unknown top-level key {key!r}; valid: {valid}")
                self.fail(message.format(owner=owner, key=key, close=close[0] if close else "", valid=valid_keys),
                          key)


def label_of(name: str, ident: object) -> str:
    """How a message names one table of a playbook: `name 'id'` ("item 'email-address'"), in the run's language
    for the names the playbooks use (an unknown name is kept as written)."""
    return _(_LABELS[name]).format(id=ident) if name in _LABELS else f"{name} {ident!r}"


def numbered_label(name: str, number: int) -> str:
    """How a message names a table that has no usable id: `name #number` ("item #3")."""
    return _(_NUMBERED[name]).format(number=number) if name in _NUMBERED else f"{name} #{number}"


def table_label(name: str, ident: object, index: int) -> str:
    """How a message names the `index`-th (0-based) [[name]] table: by its id when that is a string
    (`label_of`), else by its place (`numbered_label`)."""
    return label_of(name, ident) if isinstance(ident, str) else numbered_label(name, index + 1)


_NUMBERED = {
    "item": N_("item #{number}"),
    "type": N_("type #{number}"),
    "cause": N_("cause #{number}"),
    "ambiguous": N_("ambiguous #{number}"),
    "checklist": N_("checklist #{number}"),
    "step": N_("step #{number}"),
    "sector": N_("sector #{number}"),
}

#: the tables the checkers name in their messages, marked for the catalogue
_LABELS = {
    "item": N_("item {id!r}"),
    "type": N_("type {id!r}"),
    "cause": N_("cause {id!r}"),
    "urgency": N_("urgency {id!r}"),
    "closure": N_("closure {id!r}"),
    "kind": N_("kind {id!r}"),
    "step": N_("step {id!r}"),
    "sector": N_("sector {id!r}"),
    "set": N_("set {id!r}"),
}


def id_blocks(tables: Sequence[Any], name: str, path: Path, locator: TomlLocator, keys: Sequence[str],
              problems: list[InputError], *, texts: Sequence[str] = ()
              ) -> Iterator[tuple[dict[str, Any], BlockProblems, str]]:
    """Each `[[name]]` table with its problem collector and label, once the checks every such table shares
    are done: it is a table, has no unknown key, an id of lower-case words used once, and a non-empty
    string for each of `texts`. The caller adds its own checks to the collector; its problems go into
    `problems` when the caller moves on to the next table."""
    seen: set[str] = set()
    for index, raw in enumerate(tables):
        block = BlockProblems(path, locator, locator.block(name, index), prefix=f"{name}.")
        if not isinstance(raw, dict):
            block.fail(_("each {name} must be a [[{name}]] table").format(name=name), name)
            problems += block.found
            continue
        label = label_of(name, raw.get("id", index + 1))
        block.unknown_keys(raw, keys, label)
        given = raw.get("id")
        if not isinstance(given, str) or not ID_PATTERN.match(given):
            block.fail(_("{label}: id must be lower-case words joined by hyphens").format(label=label), "id")
        elif given in seen:
            block.fail(_("{label}: the id is used twice").format(label=label), "id")
        else:
            seen.add(given)
        for key in texts:
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                block.fail(_("{label}: {key} must be a non-empty string").format(label=label, key=key), key)
        yield raw, block, label
        problems += block.found


def read_toml(path: Path) -> tuple[dict[str, Any] | None, TomlLocator, list[InputError]]:
    """Parse a TOML file; on failure (None, locator, [the problem with its line])."""
    try:
        text = read_text(path)
    except InputError as exc:
        return None, TomlLocator(""), [exc]
    locator = TomlLocator(text)
    try:
        return parse(text, file=path), locator, []
    except InputError as exc:
        return None, locator, [exc]


def check_header(data: Mapping[str, Any], path: Path, locator: TomlLocator, problems: list[InputError]) -> None:
    """Check the optional top-level `schema = 1` and `version = "…"`."""
    if "schema" in data and data["schema"] != 1:
        problems.append(InputError(_("schema must be 1, not {schema!r}").format(schema=data["schema"]), file=path,
                                   field="schema", line=locator.key_line(None, "schema")))
    if "version" in data and not isinstance(data["version"], str):
        problems.append(InputError(_("version must be a string, e.g. \"2024-04-01\""), file=path,
                                   field="version", line=locator.key_line(None, "version")))


def raise_problems(problems: Sequence[InputError], path: Path) -> None:
    """Raise the one problem, or all of them as MultipleErrors; nothing when there are none."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise MultipleErrors(problems, file=path)
