"""`incident steps` and `incident step`: walk an incident through its response playbook (初動対応).

`steps` shows each step of the playbook for the incident's type with its state and the next step;
`step ID STEP done|skip` records one (timeline, audit log) and, when the step settles a fact, re-assesses
the incident and says what changed. `print_open_steps` is the short view `incident show` and `demo` use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import (
    command_hint,
    emit_json,
    get_env,
    info,
    is_interactive,
    json_option,
    store_options,
    to_jsonable,
)

if TYPE_CHECKING:
    from datetime import date, datetime

    from rich.console import Console

    from incident.followup.steps import Progress, StepResult
    from incident.register.record import Record
    from incident.register.store import Store

#: how many open steps `incident show` lists before "… and N more"
SHOWN_OPEN = 5
_MARK = {"done": "[green]✓[/]", "skipped": "[dim]–[/]", "open": "·"}


def _progress(store: Store, record: Record) -> Progress:
    from incident.followup.response import load_response
    from incident.followup.steps import progress

    playbook = load_response(str(record.get("type")), store.extra_dirs("playbooks"))
    return progress(playbook, record, store.tz)


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
            "why_ja": s.why_ja, "why_en": s.why_en, "who": s.who, "urgency": s.urgency,
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
    note = f" — no playbook for {record.get('type')}; the general one" if prog.playbook.fallback else ""
    table = Table(title=f"初動対応 Response steps: {record.id} {record.get('type')} "
                        f"({done} of {len(prog.views)} done or skipped){note}", title_justify="left")
    for col in ("", "Step", "Urgency 緊急度", "By 目安", "Who 担当", "State 状況"):
        table.add_column(col, overflow="fold")
    for view in prog.views:
        s, st = view.step, view.state
        is_next = nxt is not None and view.step.id == nxt.step.id
        mark = "[bold yellow]▶[/]" if is_next else _MARK[view.status]
        title = f"{escape(s.title_ja)}\n{escape(s.title_en)}\n[dim]{s.id}[/]"
        if is_next:
            title = f"[bold]{title}[/]"
        if st is None:
            state = "[bold yellow]next[/]" if is_next else "open"
            if view.overdue(moment, tz):
                state += "\n[bold red]期限超過 overdue[/]"
        elif st.state == "skipped":
            state = f"skipped {_when(st.at, tz)} {escape(st.actor)}\nreason: {escape(st.reason)}"
        else:
            state = f"[green]done[/] {_when(st.at, tz)} {escape(st.actor)}"
            if st.value is not None:
                state += f"\n{s.sets or 'answer'} = {escape(_plain(st.value))}"
            if st.note:
                state += f"\nnote: {escape(st.note)}"
        urgency = URGENCIES[s.urgency]
        table.add_row(mark, title, f"{urgency.ja}\n{urgency.en}", _when(view.due, tz), escape(s.who), state)
    console.print(table)
    for step_id, st in prog.orphans.items():
        console.print(f"[dim]Recorded for a step not in this playbook: {step_id} {st.state} {_when(st.at, tz)}[/]")
    if nxt is not None:
        s = nxt.step
        lines = [f"[bold yellow]▶ Next 次の手順: {s.id}[/] — [bold]{escape(s.title_ja)}[/] / {escape(s.title_en)}",
                 f"  すること: {escape(s.do_ja)}", f"  To do: {escape(s.do_en)}",
                 f"  [dim]なぜ: {escape(s.why_ja)}[/]", f"  [dim]Why: {escape(s.why_en)}[/]"]
        command = f"incident step {record.id} {s.id} done"
        if s.asks:
            from incident.followup.steps import value_hint

            lines += [f"  ? {escape(str(s.question_ja))}", f"  ? {escape(str(s.question_en))}"]
            command += f" --value VALUE   ({value_hint(s.sets) if s.sets else 'text'})"
        lines += [f"  Record it: {escape(command)}", f"  or: incident step {record.id} {s.id} skip --reason TEXT"]
        for line in lines:
            console.print(line)
    else:
        console.print(f"Every step is done or skipped ({len(prog.views)}).")


def print_open_steps(console: Console, store: Store, record: Record) -> None:
    """The open steps in a few lines (for `incident show` and `incident demo`); nothing once closed."""
    from rich.markup import escape

    from incident.errors import InputError
    from incident.followup.response import URGENCIES

    if record.status == "closed":
        return
    try:
        prog = _progress(store, record)
    except InputError as exc:
        console.print(f"[red]Response steps unavailable:[/] {escape(str(exc))}")
        return
    open_views = prog.open
    if not open_views:
        console.print(f"初動対応 Response steps: all {len(prog.views)} done or skipped.")
        return
    moment = _now(store.tz)
    late = sum(1 for v in open_views if v.overdue(moment, store.tz))
    console.print(f"初動対応 Open response steps ({len(open_views)} of {len(prog.views)}"
                  + (f", [bold red]{late} overdue 期限超過[/]" if late else "")
                  + f") — `{escape(command_hint(f'steps {record.id}'))}` for details:")
    for index, view in enumerate(open_views[:SHOWN_OPEN]):
        urgency = URGENCIES[view.step.urgency]
        mark = "[bold yellow]▶[/]" if index == 0 else " "
        by = f", by {_when(view.due, store.tz)}" if view.due else ""
        overdue = " [bold red]overdue 期限超過[/]" if view.overdue(moment, store.tz) else ""
        console.print(f" {mark} {escape(f'[{urgency.ja}{by}]')} {escape(view.step.title_ja)} / {escape(view.step.title_en)} "
                      f"[dim]({view.step.id})[/]{overdue}")
    if len(open_views) > SHOWN_OPEN:
        console.print(f"   … and {len(open_views) - SHOWN_OPEN} more")


@click.command("steps")
@click.argument("incident_id", metavar="ID")
@json_option
@store_options
def steps_cmd(incident_id: str, as_json: bool) -> None:
    """Show the response playbook for an incident: each step's state and the next one."""
    env = get_env()
    store = env.store()
    record = store.load(incident_id)
    prog = _progress(store, record)
    if as_json:
        emit_json(progress_json(prog, record, store.tz))
    else:
        print_steps(env.console, prog, record, store.tz)


# --------------------------------------------------------------------------- incident step


def _conclusion(reportable: Any) -> str:
    return {True: "a report or notice is required (報告・通知が必要)",
            False: "no report is required (報告・通知は不要)"}.get(
        reportable, "undetermined: facts are missing (判断に必要な事実が不足)")


def reassess(store: Store, result: StepResult, actor: str) -> tuple[dict[str, Any], list[str]]:
    """Save a new assessment as `incident assess` does; what the step changed (before vs. after it)."""
    from incident.law.assessment import diff_assessments
    from incident.law.rules import assess
    from incident.law.tracking import assess_and_save, store_config

    incident_id = result.after.id
    old = assess(result.before, config=store_config(store)).to_json(incident_id)
    new = assess_and_save(store, incident_id, actor=actor)
    return new, diff_assessments(old, new)


@click.command("step")
@click.argument("incident_id", metavar="ID")
@click.argument("step_id", metavar="STEP")
@click.argument("action", type=click.Choice(["done", "skip"]), metavar="done|skip")
@click.option("--note", default="", help="A remark recorded with the step (e.g. the receipt number).")
@click.option("--at", "at_text", metavar="DATETIME", help="When it was done (default: now).")
@click.option("--value", metavar="VALUE", help="The answer to the step's question (asked on a terminal).")
@click.option("--reason", default="", help="Why the step is skipped (required with skip).")
@json_option
@store_options
def step_cmd(incident_id: str, step_id: str, action: str, note: str, at_text: str | None, value: str | None,
             reason: str, as_json: bool) -> None:
    """Record a response step as done (settling its fact) or skipped with a reason."""
    from incident.dates import parse_datetime
    from incident.errors import InputError
    from incident.followup.response import load_response
    from incident.followup.steps import current_value, record_step, value_hint

    env = get_env()
    store = env.store()
    if action == "done" and reason.strip():
        raise InputError("--reason is for skip; use --note for a remark on a done step", field="--reason")
    record = store.load(incident_id)
    step = load_response(str(record.get("type")), store.extra_dirs("playbooks")).step(step_id)
    at = parse_datetime(at_text, store.tz, field="--at") if at_text else None
    if action == "done" and value is None and step.asks and is_interactive():
        hint = value_hint(step.sets) if step.sets else "text"
        current = current_value(record, step.sets) if step.sets else None
        value = click.prompt(f"{step.question_ja}\n{step.question_en} [{hint}]",
                             default=_plain(current) if current is not None else None)
    result = record_step(store, incident_id, step_id, "done" if action == "done" else "skipped",
                         actor=env.actor(), at=at, note=note, reason=reason, value=value)
    changes: list[str] = []
    new: dict[str, Any] | None = None
    if result.settled:
        new, changes = reassess(store, result, env.actor())
    after = store.load(incident_id)
    nxt = _progress(store, after).next
    if as_json:
        emit_json({"incident": incident_id, "step": step_id, "state": result.state.state,
                   "value": to_jsonable(result.state.value), "changes": changes,
                   "reportable": new.get("reportable") if new else None,
                   "next": nxt.step.id if nxt else None})
        return
    info(f"Recorded on {incident_id}: {step_id} {result.state.state}.")
    if result.settled and step.sets:
        click.echo(f"{step.sets}: {_plain(current_value(result.before, step.sets))} → "
                   f"{_plain(current_value(result.after, step.sets))}")
        if changes:
            click.echo("The assessment changed:")
            for line in changes:
                click.echo(f"  - {line}")
        else:
            click.echo("The assessment did not change.")
        click.echo(f"Now: {_conclusion(new.get('reportable') if new else None)}.")
    if nxt is not None:
        info(f"Next: {nxt.step.id} — {nxt.step.title_ja} / {nxt.step.title_en}")
    else:
        info("Every response step is done or skipped.")
