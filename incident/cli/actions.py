"""Corrective-action and review commands: `incident action add|list|done|verify|suggest`, `incident review`."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import click

from incident import i18n
from incident.cli.common import (
    LabelledChoice,
    get_env,
    identities_text,
    info,
    is_interactive,
    json_option,
    store_options,
)
from incident.cli.group import IncidentGroup
from incident.cli.reporting import Markup, Reporter, RichReporter, reporter
from incident.i18n import _, either

#: the states of a corrective action, as the officer may type them
ACTION_STATE_JA = {"open": "未完了", "done": "完了", "verified": "確認済み"}

if TYPE_CHECKING:
    from datetime import date

    from incident.followup.actions import Action, NewAction
    from incident.followup.review import Review
    from incident.register.backend import RegisterStore
    from incident.register.record import Record

STATE_STYLE = {"open": "bold red", "done": "yellow", "verified": "green"}
STATE_JA = {"open": "未完了", "done": "実施済み", "verified": "効果確認済み"}
ANSWER_JA = {"yes": "はい", "no": "いいえ", "na": "該当なし"}


def _today(store: RegisterStore) -> date:
    from incident import dates

    return dates.to_local_date(dates.now(store.tz), store.tz)


def _parse_due(text: str) -> date:
    from incident.dates import parse_date

    return parse_date(text, field="--due")


def _contractor_added(action: Action) -> str:
    return (_("Added {aid}: {measure} (owner {owner}, due {isoformat}; a contractor handled the data).")
            .format(aid=action.aid, measure=action.measure, owner=action.owner, isoformat=action.due.isoformat()))


def _contractor_note(rep: Reporter, action: Action | None) -> None:
    """The contractor's improvement-report action added besides the one asked for (on stderr in every run)."""
    if action is not None:
        rep.note(_contractor_added(action))


@click.group("action", cls=IncidentGroup)
def action_group() -> None:
    """Corrective actions (再発防止措置): owned, dated, done with evidence, verified by someone else."""


# --------------------------------------------------------------------------- add


class AddArgs(NamedTuple):
    """The options of `incident action add` (immutable)."""

    incident: str
    measure: str | None
    cause: str | None
    owner: str | None
    due: str | None
    from_review: str | None


@action_group.command("add")
@click.argument("incident_id", metavar="ID")
@click.option("--measure", help="What will be done (on a terminal, the playbook's measures are offered).")
@click.option("--cause", metavar="CAUSE", help="The cause id it addresses (default: the incident's cause_category).")
@click.option("--owner", metavar="NAME", help="Who is responsible (a person or a department).")
@click.option("--due", metavar="DATE", help="Due date (2024-05-31, 令和6年5月31日 …).")
@click.option("--from-review", "from_review", metavar="ITEM",
              help="Track a review item answered no (the measure defaults to its note).")
@click.option("--contractor-report", is_flag=True,
              help="Add only the contractor's improvement-report action (once per incident).")
@json_option
@store_options
def add_cmd(incident_id: str, measure: str | None, cause: str | None, owner: str | None, due: str | None,
            from_review: str | None, contractor_report: bool, as_json: bool) -> None:
    """Add a corrective action to an incident."""
    from incident.followup.actions import add_action

    env = get_env()
    store = env.store()
    rep = reporter(as_json)
    if contractor_report:
        _add_contractor(rep, store, incident_id, (measure, cause, owner, due, from_review))
        return
    record = store.load(incident_id)
    spec = _build_spec(store, record, AddArgs(incident_id, measure, cause, owner, due, from_review))
    result = add_action(env.context(), incident_id, spec, actor=env.actor())
    _contractor_note(rep, result.contractor)
    rep.result({**result.action.to_json(_today(store)), "created": result.created})
    rep.echo(result.action.aid)
    if result.created:
        rep.info(_("Added {aid}: {measure} (owner {owner}, due {isoformat}).")
                 .format(aid=result.action.aid, measure=result.action.measure, owner=result.action.owner, isoformat=result.action.due.isoformat()))
    elif from_review:
        rep.info(_("{aid} already tracks review item {from_review}; nothing added.")
                 .format(aid=result.action.aid, from_review=from_review))
    else:
        rep.info(_("{aid} already tracks the contractor's improvement report; nothing added.")
                 .format(aid=result.action.aid))


def _add_contractor(rep: Reporter, store: RegisterStore, incident_id: str, others: tuple[str | None, ...]) -> None:
    from incident.errors import InputError, RefusedError
    from incident.followup.actions import SOURCE_CONTRACTOR, actions_of, ensure_contractor

    if any(others):
        raise InputError(_("--contractor-report adds the playbook's action as it is; leave out --measure, --cause, "
                         "--owner, --due and --from-review"), field="--contractor-report")
    action = ensure_contractor(get_env().context(), incident_id, actor=get_env().actor())
    if action is None:
        record = store.load(incident_id)
        existing = [a for a in actions_of(record) if a.source == SOURCE_CONTRACTOR]
        if existing:
            raise RefusedError(_("{aid} already tracks the contractor's improvement report")
                               .format(aid=existing[0].aid))
        raise RefusedError(_("{incident_id} calls for no improvement report: handled_by is {handled_by}").format(
            incident_id=incident_id, handled_by=record.get("handled_by", "") or _("not a contractor"))
            + (_(" and the incident is closed") if record.status == "closed" else ""))
    rep.result({**action.to_json(_today(store)), "created": True})
    rep.echo(action.aid)
    rep.info(_contractor_added(action))


def _build_spec(store: RegisterStore, record: Record, args: AddArgs) -> NewAction:
    from incident.errors import InputError
    from incident.followup.actions import REVIEW_SOURCE_PREFIX, SOURCE_MANUAL, NewAction, recommended_measures
    from incident.followup.review import answers_of

    measure, source = args.measure, SOURCE_MANUAL
    if args.from_review:
        answer = answers_of(record).get(args.from_review)
        if answer is None or answer.answer != "no":
            state = "unanswered" if answer is None else f"answered {answer.answer}"
            raise InputError(_("review item {from_review!r} of {id} is {state}; only an item answered no becomes a corrective action")
                             .format(from_review=args.from_review, id=record.id, state=state), field="--from-review")
        source = f"{REVIEW_SOURCE_PREFIX}{args.from_review}"
        measure = measure or answer.note or None
    owner, due = args.owner, args.due
    if is_interactive():
        if not measure:
            measure = _choose_measure(recommended_measures(record, store.extra_dirs(), cause=args.cause))
        owner = owner or click.prompt(_("owner"), default=record.get("department", "") or None)
        due = due or click.prompt(_("due (e.g. 2024-05-31)"))
    missing = [flag for flag, value in (("--measure", measure), ("--owner", owner), ("--due", due)) if not value]
    if missing:
        raise InputError(_("missing {join}; e.g. `incident action add {id} --measure TEXT --owner NAME --due 2024-05-31`")
                         .format(join=', '.join(missing), id=record.id), field=missing[0])
    assert measure and owner and due
    return NewAction(measure=measure, owner=owner, due=_parse_due(due), cause=args.cause or "", source=source)


def _choose_measure(measures: tuple[str, ...]) -> str:
    if measures:
        click.echo(_("Recommended measures (playbook):"))
        for number, text in enumerate(measures, 1):
            click.echo(f"  {number}. {text}")
        choice = click.prompt(_("measure: a number, or your own text"), default="1")
        if choice.strip().isdigit() and 1 <= int(choice) <= len(measures):
            return measures[int(choice) - 1]
        return str(choice)
    return str(click.prompt(_("measure")))


# --------------------------------------------------------------------------- list, done, verify, suggest


@action_group.command("list")
@click.option("--overdue", is_flag=True, help="Only open actions past their due date.")
@click.option("--owner", metavar="NAME", help="Only actions of this owner.")
@click.option("--state", type=LabelledChoice(("open", "done", "verified"), ACTION_STATE_JA),
              help="Only actions in this state.")
@click.option("--incident", "incident_id", metavar="ID", help="Only actions of this incident.")
@json_option
@store_options
def list_cmd(overdue: bool, owner: str | None, state: str | None, incident_id: str | None, as_json: bool) -> None:
    """List corrective actions across incidents, soonest due first."""
    from typing import cast

    from incident.followup.actions import State, list_actions

    env = get_env()
    store = env.store()
    today = _today(store)
    records = [store.load(incident_id)] if incident_id else store.records()
    actions = list_actions(records, today=today, overdue=overdue, owner=owner, state=cast("State | None", state))
    reporter(as_json).result(lambda: [a.to_json(today) for a in actions],
                             lambda out: print_actions(out, actions, today))


def print_actions(out: RichReporter, actions: list[Action], today: date) -> None:
    if not actions:
        out.print(_("No corrective actions match. Add one with `incident action add ID --measure TEXT "
                    "--owner NAME --due DATE`."))
        return
    rows = []
    for a in actions:
        days = (a.due - today).days
        due = a.due.isoformat()
        if a.state == "open":
            due += (_(" (overdue {days}d)").format(days=-days) if days < 0
                    else _(" ({days}d left)").format(days=days))
        rows.append([a.aid, a.measure, a.owner, Markup(f"[red]{due}[/]") if a.overdue(today) else due,
                     Markup(f"[{STATE_STYLE[a.state]}]{STATE_JA[a.state] if i18n.is_japanese() else a.state + ' ' + STATE_JA[a.state]}[/]")])
    out.table(_("Corrective actions ({count})").format(count=len(actions)),
              (_("Action"), _("Measure"), _("Owner"), _("Due"), _("State")), rows)


@action_group.command("assign")
@click.argument("aid", metavar="AID")
@click.option("--owner", metavar="NAME", help="The new owner (a person or a department).")
@click.option("--due", metavar="DATE", help="A new due date.")
@json_option
@store_options
def assign_cmd(aid: str, owner: str | None, due: str | None, as_json: bool) -> None:
    """Give an open action a new owner or due date (reminders go to the new owner)."""
    from incident.followup.actions import reassign_action

    env = get_env()
    store = env.store()
    action = reassign_action(store, aid, owner=owner, due=_parse_due(due) if due else None, actor=env.actor())
    rep = reporter(as_json)
    rep.result(action.to_json(_today(store)))
    rep.info(_("{aid}: owner {owner}, due {due}.").format(aid=action.aid, owner=action.owner,
                                                          due=action.due.isoformat()))


@action_group.command("done")
@click.argument("aid", metavar="AID")
@click.option("--evidence", required=True, help="What shows the measure is in place (revised procedure, record …).")
@json_option
@store_options
def done_cmd(aid: str, evidence: str, as_json: bool) -> None:
    """Mark an action done, with its evidence (AID is INCIDENT/ACTION, e.g. 2023-0012/A1)."""
    from incident.followup.actions import complete_action

    env = get_env()
    store = env.store()
    action = complete_action(env.context(), aid, evidence, actor=env.actor())
    rep = reporter(as_json)
    rep.result(action.to_json(_today(store)))
    rep.hint(_("{aid} is done. Someone other than {owner} checks its effect with `incident action verify {aid}`.")
             .format(aid=action.aid, owner=action.owner))


@action_group.command("verify")
@click.argument("aid", metavar="AID")
@json_option
@store_options
def verify_cmd(aid: str, as_json: bool) -> None:
    """Record the effectiveness check of a done action; refused for its owner and before it is done."""
    from incident.followup.actions import verify_action

    env = get_env()
    store = env.store()
    verified = verify_action(env.context(), aid, actor=env.actor())
    action = verified.action
    rep = reporter(as_json)
    rep.result({**action.to_json(_today(store)), "identities": verified.identities.to_json()})
    rep.info(_("{aid} verified by {verified_by}.").format(aid=action.aid, verified_by=action.verified_by))
    rep.info(identities_text(verified.identities))


@action_group.command("suggest")
@click.argument("incident_id", metavar="ID")
@json_option
@store_options
def suggest_cmd(incident_id: str, as_json: bool) -> None:
    """Show the playbook's measures for the incident (and the contractor's improvement report when due).

    Only suggests: nothing is added.
    """
    from incident.followup.actions import pending_contractor, recommended_measures

    env = get_env()
    store = env.store()
    contractor = pending_contractor(env.context(), incident_id, actor=env.actor())
    measures = recommended_measures(store.load(incident_id), store.extra_dirs())
    rep = reporter(as_json)
    rep.result({"incident": incident_id, "measures": list(measures),
                "contractor_action": {"measure": contractor.measure, "owner": contractor.owner,
                                      "due": contractor.due.isoformat()} if contractor else None})
    for number, text in enumerate(measures, 1):
        rep.echo(f"{number}. {text}")
    if measures:
        rep.hint(_("Add one with `incident action add {incident_id} --measure TEXT --owner NAME --due DATE`.")
             .format(incident_id=incident_id))
    if contractor is not None:
        rep.info(_("A contractor handled the data: {measure} (owner {owner}, due {isoformat}) is added with the next `incident action add`, or now with `incident action add {incident_id} --contractor-report`.")
             .format(measure=contractor.measure, owner=contractor.owner, isoformat=contractor.due.isoformat(), incident_id=incident_id))


# --------------------------------------------------------------------------- review


@click.command("review")
@click.argument("incident_id", metavar="ID")
@click.option("--answer", "answer_text", metavar="ITEM=yes|no|na", help="Answer one checklist item.")
@click.option("--note", default="", help="A note on the answer.")
@click.option("--measure", help="With a no: the corrective action's measure (default: the note).")
@click.option("--owner", metavar="NAME", help="With a no: make it a corrective action owned by NAME.")
@click.option("--due", metavar="DATE", help="With a no: the corrective action's due date.")
@click.option("--show", is_flag=True, help="Show the checklist and the answers so far.")
@click.option("--export", "export_fmt", type=LabelledChoice(["md"]), help="Write the minutes (Markdown).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="With --export: write to FILE.")
@json_option
@store_options
def review_cmd(incident_id: str, answer_text: str | None, note: str, measure: str | None, owner: str | None,
               due: str | None, show: bool, export_fmt: str | None, output: str | None, as_json: bool) -> None:
    """The post-incident review: walk the checklist for the incident's type and cause.

    On a terminal, asks one item at a time and saves each answer (an interrupted review resumes).
    Otherwise answer with --answer ITEM=yes|no|na [--note TEXT]; a no with --owner and --due also
    becomes a corrective action.
    """
    from incident.errors import InputError
    from incident.followup.review import load_review

    env = get_env()
    store = env.store()
    rep = reporter(as_json)
    wants_action = bool(owner or due or measure)
    if answer_text is None and (note or wants_action):
        raise InputError(_("--note, --measure, --owner and --due go with --answer ITEM=yes|no|na"), field="--answer")
    if answer_text is not None:
        _answer_once(rep, store, incident_id, answer_text, (note, measure, owner, due))
        return
    review = load_review(env.context(), incident_id)
    if export_fmt == "md":
        _export(store, incident_id, review, output)
        return
    rep.result(review.to_json, lambda out: _show_or_walk(out, store, incident_id, review, show))


def _show_or_walk(out: RichReporter, store: RegisterStore, incident_id: str, review: Review, show: bool) -> None:
    """The review for people: the checklist (with the next item to answer), or on a terminal the walk."""
    if show or not is_interactive():
        print_review(out, review)
        nxt = review.next_item()
        if nxt is not None and not show:
            out.hint(_("Next: `incident review {incident_id} --answer {id}=yes|no|na [--note TEXT]`.")
                     .format(incident_id=incident_id, id=nxt.question.id))
        return
    _walk(out, store, incident_id, review)


def _answer_once(rep: Reporter, store: RegisterStore, incident_id: str, answer_text: str,
                 options: tuple[str, str | None, str | None, str | None]) -> None:
    from incident.errors import InputError
    from incident.followup.actions import NewAction
    from incident.followup.review import parse_item_answer, record_answer

    env = get_env()
    note, measure, owner, due = options
    item, answer = parse_item_answer(answer_text)
    spec = None
    if owner or due or measure:
        if not (owner and due):
            raise InputError(_("a corrective action needs both --owner NAME and --due DATE"), field="--owner")
        text = measure or note
        if not text:
            raise InputError(_("say what the corrective action is: --measure TEXT (or a --note)"), field="--measure")
        spec = NewAction(measure=text, owner=owner, due=_parse_due(due))
    result = record_answer(env.context(), incident_id, item, answer, note=note, actor=env.actor(), action=spec)
    _contractor_note(rep, result.contractor)
    rep.result(result.review.to_json())
    rep.info(_("{incident_id}: {item} = {answer} ({answered}/{count} answered).")
             .format(incident_id=incident_id, item=item, answer=answer, answered=result.review.answered, count=len(result.review.items)))
    if result.action is not None:
        rep.info((_("Added {aid}: {measure}") if result.action_created else _("Already tracked by {aid}: {measure}"))
             .format(aid=result.action.aid, measure=result.action.measure))


def _walk(out: RichReporter, store: RegisterStore, incident_id: str, review: Review) -> None:
    """One item at a time, from the first unanswered one; each answer is saved before the next.

    A bad answer (or due date) is asked again. Ctrl-C saves the item being answered when its answer was
    given, says how to resume, and exits 130.
    """
    if review.complete:
        print_review(out, review)
        out.info(_("Every item is answered. Change one with --answer ITEM=yes|no|na; export with --export md."))
        return
    if review.answered:
        out.info(_("Resuming: {answered} of {count} items already answered.")
             .format(answered=review.answered, count=len(review.items)))
    pending = [item for item in review.items if item.answer is None]
    saved = review.answered
    for position, item in enumerate(pending, review.answered + 1):
        out.print(f"\n[bold]{position}/{len(review.items)}[/] {either(item.question.ja, item.question.en)}")
        given: dict[str, str] = {}
        try:
            _ask_item(out, store, incident_id, item.question.id, given)
        except (click.exceptions.Abort, KeyboardInterrupt):
            if "answer" in given:
                _save_answer(out, store, incident_id, item.question.id, given, None)
                saved += 1
            out.info(_("\nInterrupted: {saved} of {count} items answered and saved. Resume with `incident review {incident_id}`.")
                 .format(saved=saved, count=len(review.items), incident_id=incident_id))
            raise click.exceptions.Exit(130) from None
        saved += 1
    out.info(_("Review of {incident_id} complete. Minutes: `incident review {incident_id} --export md`.")
         .format(incident_id=incident_id))


def _ask_item(out: RichReporter, store: RegisterStore, incident_id: str, item_id: str, given: dict[str, str]) -> None:
    """Ask one item (answer, note, and for a no an optional corrective action) and save it.

    `given` collects what was typed, so an interruption can save the answer already given.
    """
    from incident.followup.actions import NewAction

    given["answer"] = click.prompt(_("yes / no / na"), value_proc=_answer_proc)
    given["note"] = click.prompt(_("note"), default="", show_default=False)
    spec = None
    if given["answer"] == "no" and click.confirm(_("Make it a corrective action now?"),
                                                 default=False):
        record = store.load(incident_id)
        spec = NewAction(
            measure=click.prompt(_("measure"), default=given["note"] or None),
            owner=click.prompt(_("owner"), default=record.get("department", "") or None),
            due=_parse_due(click.prompt(_("due (e.g. 2024-05-31)"), value_proc=_due_proc)),
        )
    _save_answer(out, store, incident_id, item_id, given, spec)


def _save_answer(out: RichReporter, store: RegisterStore, incident_id: str, item_id: str, given: dict[str, str],
                 spec: NewAction | None) -> None:
    from incident.followup.review import parse_answer, record_answer

    result = record_answer(get_env().context(), incident_id, item_id, parse_answer(given["answer"]),
                           note=given.get("note", ""), actor=get_env().actor(), action=spec)
    _contractor_note(out, result.contractor)
    if result.action is not None:
        out.info((_("Added {aid}.") if result.action_created else _("Already tracked by {aid}."))
             .format(aid=result.action.aid))


def _due_proc(text: str) -> str:
    from incident.errors import InputError

    try:
        _parse_due(text)
    except InputError as exc:
        raise click.BadParameter(exc.message) from None
    return text


def _answer_proc(text: str) -> str:
    from incident.errors import InputError
    from incident.followup.review import parse_answer

    try:
        return parse_answer(text, field="answer")
    except InputError as exc:
        raise click.BadParameter(exc.message) from None


def print_review(out: RichReporter, review: Review) -> None:
    rows = []
    for number, item in enumerate(review.items, 1):
        a = item.answer
        shown = (ANSWER_JA[a.answer] if i18n.is_japanese() else a.answer) if a else "[dim]—[/]"
        if a and a.answer == "no":
            shown = f"[red]{shown}[/]"
        note = (a.note if a else "") + (f" → {item.action}" if item.action else "")
        rows.append([str(number), item.question.id, either(item.question.ja, item.question.en), Markup(shown), note])
    out.table(_("Review of {incident} ({answered}/{count} answered)").format(
        incident=review.incident, answered=review.answered, count=len(review.items)),
        ("#", _("Item"), _("Question"), _("Answer"), _("Note")), rows)
    if review.retired:
        out.print(_("Answers to items no longer on the checklist: ")
                      + ", ".join(f"{a.item}={a.answer}" for a in review.retired))


def _export(store: RegisterStore, incident_id: str, review: Review, output: str | None) -> None:
    from pathlib import Path

    from incident.followup.review import export_markdown
    from incident.outputs import output_file

    if output is not None:
        output_file(Path(output), option="--output", personal=True)
    text = export_markdown(store.load(incident_id), review, tz=store.tz, extra_dirs=store.extra_dirs("templates"),
                           extra_playbooks=store.extra_dirs())
    if output is None:
        click.echo(text, nl=False)
        return
    from incident.fsutil import atomic_write_text

    path = Path(output)  # what click's path_type=Path would give
    atomic_write_text(path, text)
    info(_("Wrote the minutes of {incident_id} to {path}.").format(incident_id=incident_id, path=path))
