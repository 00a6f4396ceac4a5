"""The message catalogue: extract every message the toolkit prints, merge them into the Japanese `.po`,
and compile the `.mo` that is loaded at run time (Babel does the extracting and compiling; it is needed
only here, never when the toolkit runs).

    python tests/catalogue.py          # extract, merge into incident/locale/ja/LC_MESSAGES/incident.po, compile

Messages come from three places: the `_()`, `N_()` and `ngettext()` calls in incident/ (Babel's Python
extractor), the help texts, option help and prompts of every command (read from the loaded click
commands, so docstrings and decorator arguments need no marking), and click's own words (`Usage:`,
`Error: {message}` …, extracted from the installed click).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PO = REPO / "incident" / "locale" / "ja" / "LC_MESSAGES" / "incident.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
#: `{name}`, `{name!r}`, `{0}`, `%(name)s`, `%s`: what a translation must keep exactly
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sdr]|%[sdr]")

Message = str | tuple[str, str]


def _python_messages(root: Path, prefix: str) -> Iterator[tuple[Message, str]]:
    from babel.messages.extract import extract_from_dir

    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root), method_map=[("**.py", "python")], keywords=KEYWORDS):
        yield message, f"{prefix}/{filename}:{lineno}"


def _command_messages() -> Iterator[tuple[Message, str]]:
    import click

    from incident import i18n
    from incident.cli import cli
    from incident.cli.group import short_help_of

    i18n.activate("en")

    def walk(command: click.Command, path: str) -> Iterator[tuple[Message, str]]:
        source = getattr(command, "_incident_source", None)
        texts = ([source["help"], source["short_help"], source["epilog"],
                  *(t for pair in source["params"] for t in pair)] if source else
                 [command.help, short_help_of(command.help) if command.help else None, command.epilog,
                  *(t for p in command.params for t in (getattr(p, "help", None), getattr(p, "prompt", None)))])
        for text in texts:
            if isinstance(text, str) and text:
                yield text, f"command:{path}"
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    yield from walk(sub, f"{path} {name}")

    yield from walk(cli, "incident")


def extract() -> dict[Message, list[str]]:
    """Every message the toolkit can print -> where it comes from."""
    import click

    found: dict[Message, list[str]] = {}
    sources = [_python_messages(REPO / "incident", "incident"),
               _python_messages(Path(click.__file__).parent, "click"), _command_messages()]
    for source in sources:
        for message, where in source:
            if message:
                found.setdefault(message, []).append(where)
    return found


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def load_po() -> object:
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        return read_po(f, locale="ja", domain="incident")


def update() -> tuple[int, int]:
    """Merge the extracted messages into the .po (new ones untranslated, vanished ones dropped) and
    compile the .mo. Returns (messages, untranslated)."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    template = Catalog(domain="incident", project="incident", charset="utf-8")
    for message, where in extract().items():
        template.add(message, locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1]) if w[-1:].isdigit()
                                          and ":" in w.split("/")[-1] else None) for w in where[:3]])
    if PO.exists():
        catalog = load_po()
    else:
        catalog = Catalog(locale="ja", domain="incident", project="incident", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)  # type: ignore[attr-defined]
    catalog.obsolete.clear()  # type: ignore[attr-defined]
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=False, include_previous=False)
    with MO.open("wb") as f:
        write_mo(f, catalog)
    messages = [m for m in catalog if m.id]  # type: ignore[attr-defined]
    untranslated = [m for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    return len(messages), len(untranslated)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    total, missing = update()
    print(f"{PO.relative_to(REPO)}: {total} messages, {missing} untranslated; {MO.relative_to(REPO)} compiled")
