"""How a command shows what it did: one reporter, chosen once from `--json`.

A command parses its options, makes one core call and hands the result to a reporter:

    rep = reporter(as_json)
    rep.result({"id": record.id}, lambda out: out.echo(record.id))
    rep.hint(_("Next: `incident show {id}`.").format(id=record.id))

`result` prints the one JSON document of a `--json` run (stable English keys, on stdout) and runs the
human view of any other run. Everything else a reporter offers is for people: data lines (`echo`),
rich renderables (`print`, `table`) on stdout, and messages on stderr (`info`, `hint`), which a JSON run
leaves out so that its stdout stays one document; `note` reaches stderr in both. `interactive` says
whether the user may be asked (never in a JSON run) and `progress` draws a bar on a terminal's stderr.
So a command holds no `if as_json` branch, and no line meant for people can slip into a JSON document.

The human side draws on the invocation's consoles (`Env.console`, `Env.err`: NO_COLOR and pipes
respected, control characters of stored text made visible); rich is imported only when something rich is
shown, so a command printing plain lines never loads it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import click

from incident.cli.common import emit_json, get_env, info, is_interactive

if TYPE_CHECKING:
    from rich.console import Console

    from incident.cli.group import Env

#: the human view of a result: given the human reporter, it shows the result
View = Callable[["RichReporter"], None]


class Markup(str):
    """A table cell written in rich markup by the code itself (`[bold red]yes[/]`); any stored text in it
    must already be escaped. A plain `str` cell is shown literally."""

    __slots__ = ()


class Column:
    """A table column: its header and how its cells are laid out (long text folds by default).

    A plain class rather than a dataclass: every command imports this module, and generating a
    dataclass's methods is a visible part of a command's start-up."""

    __slots__ = ("header", "justify", "no_wrap", "overflow")

    def __init__(self, header: str, justify: Literal["left", "right"] = "left", no_wrap: bool = False,
                 overflow: Literal["fold", "ellipsis", "crop"] = "fold") -> None:
        self.header = header
        self.justify = justify
        self.no_wrap = no_wrap
        self.overflow = overflow

    def __repr__(self) -> str:
        return (f"Column(header={self.header!r}, justify={self.justify!r}, no_wrap={self.no_wrap!r}, "
                f"overflow={self.overflow!r})")


class Reporter(Protocol):
    """What a command shows, whatever the output format."""

    def result(self, data: object, view: View | None = None) -> None:
        """The command's result: `data` as JSON in a JSON run (a function returning it, when building it
        costs what a human run does not need), else `view` run with the human reporter."""

    def echo(self, text: str = "", *, nl: bool = True) -> None:
        """A plain line of data on stdout, for people."""

    def print(self, *renderables: Any) -> None:
        """A rich renderable, or text in rich markup, on stdout, for people."""

    def table(self, title: str | None, columns: Sequence[str | Column], rows: Iterable[Sequence[str]]) -> None:
        """A table on stdout, for people: a `str` cell is shown as written, a `Markup` cell as markup."""

    def info(self, message: str) -> None:
        """A short message for people on stderr (a summary, a confirmation); a JSON run leaves it out."""

    def hint(self, message: str) -> None:
        """What to do next ("Next: `incident …`"), on stderr like `info`; a JSON run leaves it out."""

    def note(self, message: str) -> None:
        """A message on stderr in every run, a JSON run too (a warning, something done besides the result)."""

    def progress(self, label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        """A context manager giving `update(done)`: a progress bar on stderr when it is a terminal."""

    def interactive(self) -> bool:
        """Whether the user may be asked (a confirmation, a prompt): on a terminal, never in a JSON run."""


def reporter(as_json: bool, env: Env | None = None) -> Reporter:
    """The reporter for this invocation: JSON for `--json`, else the human one."""
    if as_json:
        return JsonReporter()
    return RichReporter(env if env is not None else get_env())


@contextmanager
def _progress(env: Env | None, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; on a pipe, updates that show nothing."""
    if not sys.stderr.isatty():
        yield lambda _done: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=(env if env is not None else get_env()).err,
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


class JsonReporter:
    """`--json`: stdout carries exactly one JSON document, the result; messages for people are left out."""

    def result(self, data: object, view: View | None = None) -> None:
        emit_json(data() if callable(data) else data)

    def echo(self, text: str = "", *, nl: bool = True) -> None:
        pass

    def print(self, *renderables: Any) -> None:
        pass

    def table(self, title: str | None, columns: Sequence[str | Column], rows: Iterable[Sequence[str]]) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def hint(self, message: str) -> None:
        pass

    def note(self, message: str) -> None:
        info(message)

    def progress(self, label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        return _progress(None, label, total)

    def interactive(self) -> bool:
        return False


class RichReporter:
    """For people: data on stdout, messages on stderr, rich tables and panels on the invocation's consoles."""

    def __init__(self, env: Env) -> None:
        self.env = env

    @property
    def console(self) -> Console:
        """The stdout console (for a view that draws a panel or a table of its own)."""
        return self.env.console

    def result(self, data: object, view: View | None = None) -> None:
        if view is not None:
            view(self)

    def echo(self, text: str = "", *, nl: bool = True) -> None:
        click.echo(text, nl=nl)

    def print(self, *renderables: Any) -> None:
        self.console.print(*renderables)

    def table(self, title: str | None, columns: Sequence[str | Column], rows: Iterable[Sequence[str]]) -> None:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            spec = column if isinstance(column, Column) else Column(column)
            table.add_column(spec.header, justify=spec.justify, no_wrap=spec.no_wrap, overflow=spec.overflow)
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Markup) else escape(cell) for cell in row))
        self.console.print(table)

    def info(self, message: str) -> None:
        info(message)

    def hint(self, message: str) -> None:
        info(message)

    def note(self, message: str) -> None:
        info(message)

    def progress(self, label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        return _progress(self.env, label, total)

    def interactive(self) -> bool:
        return is_interactive()
