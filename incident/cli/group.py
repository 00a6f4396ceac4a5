"""The root of the command line: the per-invocation environment and the group that loads commands
lazily and turns errors into one-line messages (the error boundary).

This is all `incident --help` imports besides click, so it stays small: command modules, the store and
rich are loaded only by the commands that use them.
"""

from __future__ import annotations

import getpass
import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from incident.errors import IncidentError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from incident.register.store import Store


@dataclass
class Env:
    """Per-invocation state, in `ctx.obj`."""

    store_opt: str | None = None
    actor_opt: str | None = None
    debug: bool = False
    _store: Store | None = field(default=None, repr=False)
    _console: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)

    @property
    def store_path(self) -> Path:
        from incident.register.store import default_store_path

        return default_store_path(self.store_opt)

    def store(self) -> Store:
        """The opened store (an error saying how to create it when it is missing)."""
        if self._store is None:
            from incident.register.store import Store

            self._store = Store.open(self.store_path)
        return self._store

    def used_store_path(self) -> Path:
        """The directory of the store this invocation uses (opened or about to be)."""
        return self._store.root if self._store is not None else self.store_path

    def use_store(self, store: Store) -> None:
        self._store = store

    def actor(self) -> str:
        """`--actor`, else `$INCIDENT_ACTOR`, else the config's actor, else the OS user."""
        if self.actor_opt:
            return self.actor_opt
        env = os.environ.get("INCIDENT_ACTOR")
        if env:
            return env
        if self._store is not None or (self.store_path / "config.toml").exists():
            try:
                configured = self.store().config.actor
            except IncidentError:
                configured = ""
            if configured:
                return configured
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = make_console(sys.stdout)
        return self._console

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = make_console(sys.stderr)
        return self._err


def make_console(stream: Any) -> Console:
    from incident.cli.safeconsole import SafeConsole

    is_tty = hasattr(stream, "isatty") and stream.isatty()
    return SafeConsole(file=stream, no_color=bool(os.environ.get("NO_COLOR")) or not is_tty,
                   force_terminal=False if not is_tty else None, highlight=False,
                   width=None if is_tty else 120, soft_wrap=not is_tty)


class IncidentGroup(click.Group):
    """A group whose subcommands load on first use and whose errors become one-line messages."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: name -> ("module:attribute", one-line summary)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the registry's summaries: listing commands loads none of them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.lazy:
                # a bare Command carrying the summary: click shortens it exactly as for a loaded one
                summary = click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
            else:
                command = super().get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                summary = command.get_short_help_str(limit)
            rows.append((name, summary))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            _warn_skipped(ctx)
            return result
        except IncidentError as exc:
            if _debug(ctx):
                _print_traceback()
            click.echo(_safe(f"error: {exc}"), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the boundary: anything unexpected becomes a short message
            if _debug(ctx):
                _print_traceback()
            else:
                click.echo(_safe(f"error: unexpected failure: {type(exc).__name__}: {exc} "
                                 "(run with --debug for the traceback)"), err=True)
            ctx.exit(1)


def _safe(message: str) -> str:
    """An error message as shown: a control character of stored text in it made visible."""
    from incident.safetext import terminal_safe

    return terminal_safe(message)


def _warn_skipped(ctx: click.Context) -> None:
    """Name each incident file a register-wide command left out because it does not validate."""
    obj = ctx.find_object(Env)
    store = obj._store if obj is not None else None
    if store is None or ctx.parent is not None:
        return
    for problem in store.skipped:
        click.echo(f"warning: left out: {_safe(str(problem))} (fix the file, e.g. with `incident edit`)", err=True)
    store.skipped = []


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Env)
    return bool(obj and obj.debug) or bool(os.environ.get("INCIDENT_DEBUG"))


def _print_traceback() -> None:
    import traceback  # only on the --debug error path

    traceback.print_exc()
