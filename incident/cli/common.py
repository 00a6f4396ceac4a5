"""What every command shares: the invocation environment, shared options, the error boundary, output.

Commands build their arguments, call the core, and hand the result to a reporter here. The core
never imports click or rich; rich consoles are made per invocation (NO_COLOR and pipes respected).
"""

from __future__ import annotations

import getpass
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from incident.errors import IncidentError

if TYPE_CHECKING:
    from rich.console import Console

    from incident.register.store import Store

F = TypeVar("F", bound=Callable[..., Any])


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
    from rich.console import Console

    is_tty = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")) or not is_tty,
                   force_terminal=False if not is_tty else None, highlight=False,
                   width=None if is_tty else 120, soft_wrap=not is_tty)


def get_env() -> Env:
    ctx = click.get_current_context()
    obj = ctx.find_object(Env)
    if obj is None:
        obj = ctx.ensure_object(Env)
    return obj


def is_interactive() -> bool:
    """Prompts happen only when both standard input and output are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


# --------------------------------------------------------------------------- shared options


def json_option(func: F) -> F:
    """`--json`: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables.")(func)


def store_options(func: F) -> F:
    """`--store` and `--actor` accepted on any command as well as before it."""

    def set_store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(Env).store_opt = value

    def set_actor(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(Env).actor_opt = value

    func = click.option("--actor", expose_value=False, callback=set_actor, metavar="NAME",
                        help="Who is acting (recorded in the audit log).")(func)
    func = click.option("--store", expose_value=False, callback=set_store, metavar="DIR",
                        help="The store directory (overrides $INCIDENT_HOME).")(func)
    return func


# --------------------------------------------------------------------------- output


def to_jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    click.echo(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2))


def info(message: str) -> None:
    """A short human message on stderr (summaries, confirmations), so stdout stays data."""
    click.echo(message, err=True)


# --------------------------------------------------------------------------- the error boundary and lazy loading


class IncidentGroup(click.Group):
    """A group whose subcommands load on first use and whose errors become one-line messages."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IncidentError as exc:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the boundary: anything unexpected becomes a short message
            if _debug(ctx):
                traceback.print_exc()
            else:
                click.echo(f"error: unexpected failure: {type(exc).__name__}: {exc} "
                           "(run with --debug for the traceback)", err=True)
            ctx.exit(1)


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Env)
    return bool(obj and obj.debug) or bool(os.environ.get("INCIDENT_DEBUG"))
