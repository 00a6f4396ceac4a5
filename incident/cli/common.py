"""What every command shares: shared options, prompts and output helpers.

Commands build their arguments, call the core, and hand the result to a reporter here. The core
never imports click or rich; rich consoles are made per invocation (NO_COLOR and pipes respected).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click

from incident.cli.group import Env
from incident.i18n import N_

F = TypeVar("F", bound=Callable[..., Any])


class LabelledChoice(click.Choice):  # type: ignore[type-arg]
    """A choice of ids that also takes each id's Japanese label (`--status 終結` for closed); the value
    passed on is always the id."""

    def __init__(self, choices: Sequence[str], labels: Mapping[str, str]) -> None:
        super().__init__(list(choices))
        self.labels = {label: key for key, label in labels.items()}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.strip() in self.labels:
            value = self.labels[value.strip()]
        return super().convert(value, param, ctx)


def split_list(text: str) -> list[str]:
    """A list typed at a prompt: separated by commas, Japanese 、 or full-width ，; blanks dropped."""
    import re

    return [part.strip() for part in re.split(r"[,、，]", text) if part.strip()]


#: how notices reached people, as the core names the method (email, letter or both)
DELIVERY_METHODS = (N_("email"), N_("letter"), N_("both"))


def get_env() -> Env:
    ctx = click.get_current_context()
    obj = ctx.find_object(Env)
    if obj is None:
        obj = ctx.ensure_object(Env)
    return obj


def command_hint(args: str) -> str:
    """`incident ARGS` as the user types it to reach the store in use: with `--store DIR` when that store is
    not the one a bare `incident` opens (the demo store, or one given with --store)."""
    import shlex

    from incident.register.store import default_store_path

    ctx = click.get_current_context(silent=True)
    env = ctx.find_object(Env) if ctx is not None else None
    if env is None:
        return f"incident {args}"
    used = env.used_store_path()
    if used.resolve() == default_store_path().resolve():
        return f"incident {args}"
    return f"incident --store {shlex.quote(str(used))} {args}"


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
    """A short human message on stderr (summaries, confirmations), so stdout stays data; a control
    character of stored text in it is shown as a visible escape, never sent to the terminal."""
    from incident.safetext import terminal_safe

    click.echo(terminal_safe(message), err=True)


