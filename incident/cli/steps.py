"""`incident steps` and `incident step`: walk an incident through its response playbook (初動対応).

`steps` shows each step of the playbook for the incident's type with its state and the next step;
`step ID STEP done|skip` records one (timeline, audit log) and, when the step settles a fact, re-assesses
the incident and says what changed (incident.followup.step_done). `print_open_steps` is the short view
`incident show` and `demo` use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import (
    LabelledChoice,
    command_hint,
    get_env,
    json_option,
    store_options,
    to_jsonable,
)
from incident.i18n import N_, _, either

if TYPE_CHECKING:
    from datetime import date, datetime

    from rich.console import Console

    from incident.followup.response import Step
    from incident.followup.steps import Progress
    from incident.law.context import Context
    from incident.register.backend import RegisterStore
    from incident.register.record import Record

#: how many open steps `incident show` lists before "… and N more"
SHOWN_OPEN = 5
_MARK = {"done": "[green]✓[/]", "skipped": "[dim]–[/]", "open": "·"}


def _progress(ctx: Context, record: Record) -> Progress:
    from incident.followup.step_done import step_progress

    return step_progress(ctx, record)


def _when(value: date | datetime | None, tz: str) -> str:
    from datetime import date, datetime

    if isinstance(value, datetime):
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, date) else ""


def _plain(value: Any) -> str:
    """A value as typed on the command line (true, 36, name,email-address)."""
    from datetime import datetime

    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- incident steps


def _now(tz: str) -> datetime:
    from incident.dates import now

    return now(tz)


def progress_json(prog: Progress, record: Record, tz: str = "Asia/Tokyo") -> dict[str, Any]:
    from incident.followup.response import URGENCIES

    moment = _now(tz)
    steps = []
    for view in prog.views:
        s, st = view.step, view.state
        steps.append({
            "id": s.id, "title_ja": s.title_ja, "title_en": s.title_en, "do_ja": s.do_ja, "do_en": s.do_en,
            "why_ja": s.why_ja, "why_en": s.why_en, "who": f"{s.who_ja} / {s.who_en}", "who_ja": s.who_ja,
            "who_en": s.who_en, "urgency": s.urgency,
            "urgency_ja": URGENCIES[s.urgency].ja, "urgency_en": URGENCIES[s.urgency].en, "due": view.due,
            "sets": s.sets, "question_ja": s.question_ja, "question_en": s.question_en, "state": view.status,
            "overdue": view.overdue(moment, tz),
            "at": st.at if st else None, "actor": st.actor if st else None, "note": st.note if st else None,
            "reason": st.reason if st else None, "value": st.value if st else None,
        })
    counts = {state: sum(1 for v in prog.views if v.status == state) for state in ("done", "skipped", "open")}
    nxt = prog.next
    out = {
        "incident": record.id, "type": record.get("type"),
        "playbook": {"type": prog.playbook.type, "version": prog.playbook.version,
                     "sources": list(prog.playbook.sources), "fallback": prog.playbook.fallback},
        "next": nxt.step.id if nxt else None, "counts": counts, "steps": steps,
        "not_in_playbook": {k: {"state": v.state, "at": v.at, "actor": v.actor, "note": v.note,
                                "reason": v.reason, "value": v.value} for k, v in prog.orphans.items()},
    }
    result = to_jsonable(out)
    assert isinstance(result, dict)
    return result


def print_steps(console: Console, prog: Progress, record: Record, tz: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from incident.followup.response import URGENCIES

    nxt = prog.next
    moment = _now(tz)
    done = sum(1 for v in prog.views if v.status != "open")
    note = (_(" — no playbook for {type}; the general one").format(type=record.get("type"))
            if prog.playbook.fallback else "")
    table = Table(title=_("Response steps: {id} {type} ({done} of {count} done or skipped)").format(
        id=record.id, type=record.get("type"), done=done, count=len(prog.views)) + note, title_justify="left")
    for col in ("", _("Step"), _("Urgency"), _("By"), _("Who"), _("State")):
        table.add_column(col, overflow="fold")
    for view in prog.views:
        s, st = view.step, view.state
        is_next = nxt is not None and view.step.id == nxt.step.id
        mark = "[bold yellow]▶[/]" if is_next else _MARK[view.status]
        title = f"{escape(either(s.title_ja, s.title_en))}\n[dim]{s.id}[/]"
        if is_next:
            title = f"[bold]{title}[/]"
        if st is None:
            state = "[bold yellow]" + _("next") + "[/]" if is_next else _("open")
            if view.overdue(moment, tz):
                state += "\n[bold red]" + _("overdue") + "[/]"
        elif st.state == "skipped":
            state = _("skipped {when} {actor}\nreason: {reason}").format(
                when=_when(st.at, tz), actor=escape(st.actor), reason=escape(st.reason))
        else:
            state = "[green]" + _("done") + f"[/] {_when(st.at, tz)} {escape(st.actor)}"
            if st.value is not None:
                state += f"\n{s.sets or _('answer')} = {escape(_plain(st.value))}"
            if st.note:
                state += "\n" + _("note: {note}").format(note=escape(st.note))
        urgency = URGENCIES[s.urgency]
        table.add_row(mark, title, either(urgency.ja, urgency.en), _when(view.due, tz), escape(who_label(s)), state)
    console.print(table)
    for step_id, st in prog.orphans.items():
        console.print(_("[dim]Recorded for a step not in this playbook: {step_id} {state} {when}[/]")
                      .format(step_id=step_id, state=st.state, when=_when(st.at, tz)))
    if nxt is not None:
        s = nxt.step
        lines = ["[bold yellow]▶ " + _("Next: {id}").format(id=s.id)
                 + f"[/] — [bold]{escape(either(s.title_ja, s.title_en))}[/]",
                 "  " + _("To do: {text}").format(text=escape(either(s.do_ja, s.do_en))),
                 "  [dim]" + _("Why: {text}").format(text=escape(either(s.why_ja, s.why_en))) + "[/]"]
        command = f"incident step {record.id} {s.id} done"
        if s.asks:
            from incident.followup.steps import value_hint

            lines += [f"  ? {escape(either(str(s.question_ja), str(s.question_en or '')))}"]
            command += f" --value VALUE   ({value_hint(s.sets) if s.sets else _('text')})"
        lines += ["  " + _("Record it: {command}").format(command=escape(command)),
                  "  " + _("or: {command}").format(command=f"incident step {record.id} {s.id} skip --reason TEXT")]
        for line in lines:
            console.print(line)
    else:
        console.print(_("Every step is done or skipped ({count}).").format(count=len(prog.views)))


def print_open_steps(console: Console, ctx: Context, record: Record) -> None:
    """The open steps in a few lines (for `incident show` and `incident demo`); nothing once closed."""
    from rich.markup import escape

    from incident.errors import InputError
    from incident.followup.response import URGENCIES

    if record.status == "closed":
        return
    try:
        prog = _progress(ctx, record)
    except InputError as exc:
        console.print(_("[red]Response steps unavailable:[/] {problem}").format(problem=escape(str(exc))))
        return
    open_views = prog.open
    if not open_views:
        console.print(_("Response steps: all {count} done or skipped.").format(count=len(prog.views)))
        return
    moment = ctx.now()
    late = sum(1 for v in open_views if v.overdue(moment, ctx.tz))
    overdue_note = ("[bold red]" + _(", {count} overdue").format(count=late) + "[/]") if late else ""
    console.print(_("Open response steps ({open} of {count}{overdue}) — `{command}` for details:").format(
        open=len(open_views), count=len(prog.views), overdue=overdue_note,
        command=escape(command_hint(f"steps {record.id}"))))
    for index, view in enumerate(open_views[:SHOWN_OPEN]):
        urgency = URGENCIES[view.step.urgency]
        mark = "[bold yellow]▶[/]" if index == 0 else " "
        by = _(", by {when}").format(when=_when(view.due, ctx.tz)) if view.due else ""
        overdue = " [bold red]" + _("overdue") + "[/]" if view.overdue(moment, ctx.tz) else ""
        when = escape(f"[{either(urgency.ja, urgency.en)}{by}]")
        console.print(f" {mark} {when} {escape(either(view.step.title_ja, view.step.title_en))} "
                      f"[dim]({view.step.id})[/]{overdue}")
    if len(open_views) > SHOWN_OPEN:
        console.print(_("   … and {count} more").format(count=len(open_views) - SHOWN_OPEN))


@click.command("steps")
@click.argument("incident_id", metavar="ID")
@json_option
@store_options
def steps_cmd(as_json: bool, incident_id: str) -> None:
    """Show the response playbook for an incident: each step's state and the next one."""
    from incident.cli.reporting import reporter

    env = get_env()
    store = env.store()
    record = store.load(incident_id)
    prog = _progress(env.context(), record)
    rep = reporter(as_json)
    rep.result(lambda: progress_json(prog, record, store.tz), lambda out: print_steps(out.console, prog, record, store.tz))


# --------------------------------------------------------------------------- incident step


#: the states of a step as the officer reads them
STEP_STATES = (N_("done"), N_("skipped"))


def who_label(step: Step) -> str:
    """Who usually does a step (its `who_ja` or `who_en`), in the run's language."""
    return either(step.who_ja, step.who_en)


def _conclusion(reportable: Any) -> str:
    return {True: _("a report or notice is required"), False: _("no report is required")}.get(
        reportable, _("undetermined: facts are missing"))


@click.command("step")
@click.argument("incident_id", metavar="ID")
@click.argument("step_id", metavar="STEP")
@click.argument("action", type=LabelledChoice(["done", "skip"], {"done": "完了", "skip": "省略"}), metavar="done|skip")
@click.option("--note", default="", help="A remark recorded with the step (e.g. the receipt number).")
@click.option("--at", "at_text", metavar="DATETIME", help="When it was done (default: now).")
@click.option("--value", metavar="VALUE", help="The answer to the step's question (asked on a terminal).")
@click.option("--reason", default="", help="Why the step is skipped (required with skip).")
@json_option
@store_options
def step_cmd(as_json: bool, incident_id: str, step_id: str, action: str, note: str, at_text: str | None,
             value: str | None, reason: str) -> None:
    """Record a response step as done (settling its fact) or skipped with a reason."""
    from incident.cli.reporting import reporter
    from incident.dates import parse_datetime
    from incident.followup.step_done import take_step
    from incident.followup.steps import current_value

    env = get_env()
    store = env.store()
    rep = reporter(as_json)
    state = "done" if action == "done" else "skipped"
    if state == "done" and value is None and not reason.strip() and rep.interactive():
        value = _ask_value(store, incident_id, step_id)
    at = parse_datetime(at_text, store.tz, field="--at") if at_text else None
    taken = take_step(env.context(), incident_id, step_id, state, actor=env.actor(), at=at, note=note, reason=reason,
                      value=value)
    result, changes, nxt, step = taken.result, taken.changes, taken.next, taken.result.step
    rep.result({"incident": incident_id, "step": step_id, "state": result.state.state,
                "value": to_jsonable(result.state.value), "changes": changes,
                "reportable": taken.reportable, "next": nxt.step.id if nxt else None})
    rep.info(_("Recorded on {incident_id}: {step_id} {state}.")
             .format(incident_id=incident_id, step_id=step_id, state=_(result.state.state)))
    if result.settled and step.sets:
        rep.echo(f"{step.sets}: {_plain(current_value(result.before, step.sets))} → "
                 f"{_plain(current_value(result.after, step.sets))}")
        if changes:
            rep.echo(_("The assessment changed:"))
            for line in changes:
                rep.echo(f"  - {line}")
        else:
            rep.echo(_("The assessment did not change."))
        rep.echo(_("Now: {conclusion}.").format(conclusion=_conclusion(taken.reportable)))
    if nxt is not None:
        rep.hint(_("Next: {id} — {title}").format(id=nxt.step.id, title=either(nxt.step.title_ja, nxt.step.title_en)))
    else:
        rep.hint(_("Every response step is done or skipped."))


def _ask_value(store: RegisterStore, incident_id: str, step_id: str) -> str | None:
    """On a terminal: the answer to the step's question, when it asks one (None when it does not)."""
    from incident.followup.response import load_response
    from incident.followup.steps import current_value, value_hint

    record = store.load(incident_id)
    step = load_response(str(record.get("type")), store.extra_dirs("playbooks")).step(step_id)
    if not step.asks:
        return None
    hint = value_hint(step.sets) if step.sets else _("text")
    current = current_value(record, step.sets) if step.sets else None
    answer: str = click.prompt(f"{either(str(step.question_ja), str(step.question_en or ''))} [{hint}]",
                               default=_plain(current) if current is not None else None)
    return answer
