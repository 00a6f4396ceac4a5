"""The root of the command line: the per-invocation environment and the group that loads commands
lazily and turns errors into one-line messages (the error boundary).

This is all `incident --help` imports besides click, so it stays small: command modules, the store and
rich are loaded only by the commands that use them.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from incident import i18n
from incident.errors import IncidentError, InputError
from incident.i18n import N_, _

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from incident.law.context import Context
    from incident.register.backend import RegisterStore


class Env:
    """Per-invocation state, in `ctx.obj`.

    A plain class rather than a dataclass: `incident --help` imports this module, and making a dataclass
    (generating its methods) is a visible part of that start-up."""

    def __init__(self, store_opt: str | None = None, actor_opt: str | None = None, debug: bool = False) -> None:
        self.store_opt = store_opt
        self.actor_opt = actor_opt
        self.debug = debug
        self._store: RegisterStore | None = None
        self._context: Context | None = None
        self._console: Console | None = None
        self._err: Console | None = None

    def __repr__(self) -> str:
        return f"Env(store_opt={self.store_opt!r}, actor_opt={self.actor_opt!r}, debug={self.debug!r})"

    @property
    def store_dir(self) -> str:
        """The store directory named by `--store`, `$INCIDENT_HOME` or the platform (`store_path` as text)."""
        from incident.register.paths import store_dir

        return store_dir(self.store_opt)

    @property
    def store_path(self) -> Path:
        from pathlib import Path  # not for `--help`, nor for a list answered from its cache

        return Path(self.store_dir)

    def store(self) -> RegisterStore:
        """The opened store (an error saying how to create it when it is missing)."""
        if self._store is None:
            from incident.law.vocabulary import open_store  # loaded only by commands that use a store

            self._store = open_store(self.store_path)
        return self._store

    def context(self) -> Context:
        """The command's context over the opened store (its config, playbooks and clock), resolved once."""
        if self._context is None:
            from incident.law.context import resolve

            self._context = resolve(self.store())
        return self._context

    def used_store_path(self) -> Path:
        """The directory of the store this invocation uses (opened or about to be)."""
        return self._store.root if self._store is not None else self.store_path

    def use_store(self, store: RegisterStore) -> None:
        self._store = store
        self._context = None

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
        import getpass  # the last resort only: `--help` and most runs never need it

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

    def main(self, args: Any = None, *pargs: Any, **kwargs: Any) -> Any:
        """Run the command line in the run's language (chosen before anything is parsed or shown)."""
        argv = list(sys.argv[1:] if args is None else args)
        bad = i18n.bad_env_value()
        if bad:
            i18n.activate(i18n.locale_language())
            click.echo(_safe(_("error: {exc}").format(exc=InputError(
                _("{value!r} is not an interface language; expected ja or en").format(value=bad),
                field=i18n.ENV_LANG))), err=True)
            sys.exit(2)
        language = i18n.check_language(os.environ.get(i18n.ENV_LANG, ""))
        i18n.activate(language or i18n.resolve(i18n.store_dir_from_args(argv)))
        localize(self)
        return super().main(argv, *pargs, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return localize(command)
        command = super().get_command(ctx, cmd_name)
        return localize(command) if command is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the registry's summaries: listing commands loads none of them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.lazy:
                # a bare Command carrying the summary: click shortens it exactly as for a loaded one (a
                # translated summary is shown whole: click shortens at spaces, which Japanese has none of)
                summary = (click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
                           if i18n.current() == "en" else _(self.lazy[name][1]))
            else:
                command = super().get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                summary = command.get_short_help_str(limit)
            rows.append((name, summary))
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            _warn_skipped(ctx)
            return result
        except IncidentError as exc:
            if _debug(ctx):
                _print_traceback()
            click.echo(_safe(_("error: {exc}").format(exc=exc)), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(_("interrupted"), err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the boundary: anything unexpected becomes a short message
            if _debug(ctx):
                _print_traceback()
            else:
                click.echo(_safe(_("error: unexpected failure: {kind}: {exc} (run with --debug for the "
                                   "traceback)").format(kind=type(exc).__name__, exc=exc)), err=True)
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
        click.echo(_("warning: left out: {problem} (fix the file, e.g. with `incident edit`)")
                   .format(problem=_safe(str(problem))), err=True)
    store.skipped = []


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Env)
    return bool(obj and obj.debug) or bool(os.environ.get("INCIDENT_DEBUG"))


def _print_traceback() -> None:
    import traceback  # only on the --debug error path

    traceback.print_exc()


def localize(command: click.Command) -> click.Command:
    """The command's help texts, option help and prompts in the run's language.

    They are written in English in the code (the msgids of the catalogue); the English originals are kept
    on the command, so a process may switch language between runs (tests do). Help is translated when the
    command is reached, so the catalogue is loaded before any of it is shown."""
    source: dict[str, Any] = command.__dict__.setdefault("_incident_source", {})
    if not source:
        source["help"] = command.help
        source["short_help"] = command.short_help or (short_help_of(command.help) if command.help else None)
        source["epilog"] = command.epilog
        source["params"] = [(getattr(p, "help", None), getattr(p, "prompt", None)) for p in command.params]
        source["options_metavar"] = command.options_metavar
        source["subcommand_metavar"] = getattr(command, "subcommand_metavar", None)

    def tr(text: str | None) -> str | None:
        return _(text) if text else text

    command.help = tr(source["help"])
    command.short_help = tr(source["short_help"])
    command.epilog = tr(source["epilog"])
    command.options_metavar = tr(source["options_metavar"])
    if isinstance(command, click.Group):
        command.subcommand_metavar = _(source["subcommand_metavar"])
    for param, (help_text, prompt) in zip(command.params, source["params"], strict=True):
        if help_text:
            param.help = _(help_text)
        if isinstance(prompt, str) and prompt and isinstance(param, click.Option):
            param.prompt = _(prompt)
    return command


#: the words click puts in a usage line without translating them (its defaults, as written there)
USAGE_WORDS = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."))


def short_help_of(help_text: str) -> str:
    """The one-line summary click derives from a help text (its first sentence)."""
    return click.Command("x", help=help_text).get_short_help_str(limit=10**6)
