"""`incident remind` and `incident people`: deadline reminders by e-mail, and whom they go to.

`remind` shows (by default, or with --dry-run) or sends (--send) the reminders that are due; the core is
incident.followup.remind. `people list|set` shows and changes the `[people]` table of config.toml
(incident.followup.people). Meant to run unattended: nothing is asked, and the exit status is 1 when a
reminder could not be sent (no address, or the server refused).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from incident.cli.common import get_env, info, json_option, store_options
from incident.cli.group import IncidentGroup
from incident.cli.reporting import RichReporter, reporter
from incident.i18n import _, either

if TYPE_CHECKING:
    from incident.followup.remind import Message, Plan
    from incident.law.context import Context

PASSWORD_ENV = "INCIDENT_SMTP_PASSWORD"


@click.command("remind")
@click.option("--days", "days_text", default="7,1", show_default=True, metavar="N,N",
              help="Remind this many days before each deadline (each threshold once).")
@click.option("--send", "send_now", is_flag=True, help="E-mail the reminders (one message per person).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent and send nothing (the default).")
@json_option
@store_options
def remind_cmd(days_text: str, send_now: bool, dry_run: bool, as_json: bool) -> None:
    """Remind owners, departments and the privacy desk of deadlines (for cron or Task Scheduler)."""
    from incident.errors import InputError
    from incident.followup.remind import parse_days, plan, send, unresolved

    if send_now and dry_run:
        raise InputError(_("choose --send or --dry-run"), field="--send")
    env = get_env()
    store = env.store()
    rep = reporter(as_json)
    reminders = plan(env.context(), days=parse_days(days_text))
    for problem in reminders.skipped:
        rep.note(_("warning: cannot be assessed, left out: {problem}").format(problem=problem))
    if not send_now:
        rep.result(lambda: _json(reminders, reminders.messages, sent=False),
                   lambda out: show_plan(out, env.context(), reminders))
        return
    from incident.register.secrets import get_secret

    password = get_secret("smtp", env_var=PASSWORD_ENV) if store.config.smtp.user else None
    outcome = send(env.context(), reminders, actor=env.actor(), password=password)
    failed = [m for m in outcome if not m.sent]
    sent = [m for m in outcome if m.sent]
    rep.result(_json(reminders, outcome, sent=True))
    rep.info(_("Sent {count} reminder message(s) ({sum} reminder(s)); {already} sent before.")
             .format(count=len(sent), sum=sum(len(m.items) for m in sent), already=reminders.already))
    for message in failed:
        rep.info(_("not sent to {who}: {value}")
                 .format(who=message.who, value=message.error or _no_address(message.who)))
    if unresolved(outcome) or failed:
        raise click.exceptions.Exit(1)


def _no_address(who: str) -> str:
    return _("no address in [people] (`incident people set {who} ADDRESS`)").format(who=who)


def _json(reminders: Plan, messages: tuple[Message, ...], *, sent: bool) -> dict[str, object]:
    return {"today": reminders.today.isoformat(), "days": list(reminders.days), "dry_run": not sent,
            "already_sent": reminders.already,
            "messages": [{"to": m.who, "address": m.address, "sent": m.sent, "error": m.error,
                          "items": [i.to_json() for i in m.items]} for m in messages]}


def show_plan(out: RichReporter, ctx: Context, reminders: Plan) -> None:
    """The messages a run would send, per person (the dry run; `incident demo` shows it too)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rich.markup import escape

    from incident.followup.remind import render

    if not reminders.messages:
        out.print(_("No reminders due ({already} sent before).").format(already=reminders.already))
        return
    out.print(_("Dry run: {count} message(s) would be sent ({already} reminder(s) sent before are left out); nothing was sent.")
              .format(count=len(reminders.messages), already=reminders.already))
    for message in reminders.messages:
        to = f"{message.who} <{message.address}>" if message.address else \
            f"{message.who} [red](" + _("no address: `incident people set {who} ADDRESS`").format(who=message.who) + ")[/]"
        subject, _body = render(ctx, message, reminders.today)
        out.print(_("\n[bold]To:[/] {to}\n[bold]Subject:[/] {subject}")
                  .format(to=escape(to) if message.address else to, subject=escape(subject)))
        for item in message.items:
            due = item.due.astimezone(ZoneInfo(ctx.tz)).strftime("%Y-%m-%d %H:%M") \
                if isinstance(item.due, datetime) else (item.due.isoformat() if item.due is not None else _("promptly"))
            mark = ("[bold red]" + _("overdue") + "[/]" if item.overdue
                    else escape(_("threshold undated")) if item.threshold == "undated"
                    else escape(_("threshold {threshold}").format(threshold=item.threshold)))
            out.print(f"  [{item.incident}] {escape(either(item.what, item.what_en))} — {escape(due)} {mark}")


@click.group("people", cls=IncidentGroup)
def people_group() -> None:
    """Who reminders go to: owners, departments and privacy-desk, with their e-mail addresses."""


@people_group.command("list")
@json_option
@store_options
def people_list_cmd(as_json: bool) -> None:
    """The [people] table of config.toml (every address checked)."""
    from incident.followup.people import PRIVACY_DESK, people

    env = get_env()
    table = people(env.context())
    rep = reporter(as_json)
    rep.result([{"name": name, "address": address} for name, address in table.items()])
    if not table:
        rep.echo(_("No one listed. Add with `incident people set NAME ADDRESS` (a person, a department, or {privacy_desk} for the reports to the regulator).")
                 .format(privacy_desk=PRIVACY_DESK))
        return
    width = max(len(name) for name in table)
    for name, address in table.items():
        rep.echo(f"{name.ljust(width)}  {address}")


@people_group.command("set")
@click.argument("name")
@click.argument("address", default="")
@store_options
def people_set_cmd(name: str, address: str) -> None:
    """Set NAME's e-mail address (a person, a department, or privacy-desk); no ADDRESS removes NAME."""
    from incident.followup.people import set_person

    env = get_env()
    previous = set_person(env.context(), name, address, actor=env.actor())
    if address:
        info(f"{name}: {address}" + (_(" (was {previous})").format(previous=previous)
                                     if previous and previous != address else ""))
    else:
        info((_("Removed {name}.") if previous else _("{name} was not listed; nothing changed.")).format(name=name))
