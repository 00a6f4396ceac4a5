"""What every command shares: shared options, prompts and output helpers.

Commands build their arguments, call the core, and hand the result to a reporter here. The core
never imports click or rich; rich consoles are made per invocation (NO_COLOR and pipes respected).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from incident.cli.group import Env
from incident.i18n import N_, _

if TYPE_CHECKING:
    from incident.register.actors import Identities

F = TypeVar("F", bound=Callable[..., Any])


class LabelledChoice(click.Choice[str]):
    """A choice of ids that also takes each id's Japanese label (`--status 終結` for closed); the value
    passed on is always the id.

    The ids and labels may be given as functions, called on first use (parsing, --help, completion), so
    that importing a command module (as `incident --help` does) loads no playbook. In a Japanese run a bad
    value is refused in one line naming the option and every valid id with its Japanese label beside it
    (exit 2); at a prompt the same words are shown and the question asked again."""

    def __init__(self, choices: Sequence[str] | Callable[[], Iterable[str]],
                 labels: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None) -> None:
        self._load_choices = choices if callable(choices) else _constant(tuple(choices))
        self._load_labels = labels if callable(labels) else _constant(dict(labels or {}))
        self._choices: tuple[str, ...] | None = None
        self._labels: dict[str, str] | None = None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            self._choices = tuple(self._load_choices())
        return self._choices

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        self._choices = tuple(value)

    @property
    def id_labels(self) -> dict[str, str]:
        """id -> its Japanese label (ids without one are left out)."""
        if self._labels is None:
            self._labels = dict(self._load_labels())
        return self._labels

    @property
    def labels(self) -> dict[str, str]:
        """Japanese label -> the id it names."""
        return {label: key for key, label in self.id_labels.items()}

    def shown(self) -> str:
        """The valid values as listed in a Japanese error: `open (対応中), contained (封じ込め済み)`."""
        labels = self.id_labels
        return ", ".join(f"{key} ({labels[key]})" if key in labels else key for key in self.choices)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.strip() in self.labels:
            value = self.labels[value.strip()]
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            from incident import i18n

            if not i18n.is_japanese():
                raise
            message = _("{value!r} is not valid; expected one of: {shown}").format(value=value, shown=self.shown())
            if param is None:  # a prompt: click shows the message and asks again
                self.fail(message, param, ctx)
            from incident.errors import InputError

            raise InputError(message, field=_param_name(param)) from None


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _param_name(param: click.Parameter) -> str:
    """An option as the officer typed it (`--status`), an argument by its metavar (`STATUS`)."""
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return param.metavar or (param.name or "").upper()


#: the languages of notices, as an officer may name them
LANGUAGE_LABELS = {"ja": "日本語", "en": "英語"}


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

    from incident.register.paths import store_dir

    ctx = click.get_current_context(silent=True)
    env = ctx.find_object(Env) if ctx is not None else None
    if env is None:
        return f"incident {args}"
    used = env.used_store_path()
    if os.path.realpath(used) == os.path.realpath(store_dir()):
        return f"incident {args}"
    return f"incident --store {shlex.quote(str(used))} {args}"


def is_interactive() -> bool:
    """Prompts happen only when both standard input and output are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def read_secret(label: str, from_stdin: bool, no_terminal: str, field: str) -> str:
    """A password: one line of standard input with --stdin, else asked twice without echo on a terminal;
    with neither, the one-line error `no_terminal` (which says where else to give it)."""
    from incident.errors import InputError

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if is_interactive():
        return str(click.prompt(_("{label} password").format(label=label), hide_input=True,
                                confirmation_prompt=True, err=True))
    raise InputError(no_terminal, field=field)


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


def identities_text(identities: Identities) -> str:
    """How a double check told its two people apart, in a sentence (`incident send --approve`, `send`,
    `action verify`)."""
    if identities.compared == "roles":
        if identities.imported:
            return _("Identities compared: the database roles, those of imported entries as recorded in the "
                     "register they were imported from.")
        return _("Identities compared: the database roles people signed in as.")
    if identities.imported:
        return _("Identities compared: the names given, those of imported entries as recorded in the imported "
                 "file store.")
    return _("Identities compared: the names given (--actor).")
