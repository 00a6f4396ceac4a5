"""Corrective actions (再発防止措置): owned, dated, done with evidence, verified by someone else.

The record's `actions` section is a list of tables, one per action, with an id (`A1`, `A2` …) unique
within the incident; the command line names an action `INCIDENT/ID` (`2023-0012/A1`). An action is
`open`, then `done` (with evidence), then `verified` (the effectiveness check, by an actor other than
the owner). When a contractor handled the data, the action to obtain its improvement report (改善報告書,
seed 003 Art. 24) is added once per incident, as `playbooks/corrective-actions.toml` describes (loaded and
checked by `incident.followup.contractor_report`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from incident import dates
from incident.errors import InputError, NotFoundError, RefusedError
from incident.followup.contractor_report import ContractorReport, load_contractor_report
from incident.i18n import _
from incident.law.taxonomy import load_taxonomy
from incident.register import record as rec
from incident.register import sections
from incident.register.actors import (
    Author,
    Identities,
    author_of,
    same_actor,
    signed_in_as_one_of,
    told_apart,
)
from incident.register.backend import RegisterStore
from incident.text import normalize

if TYPE_CHECKING:
    from incident.law.context import Context

State = Literal["open", "done", "verified"]
STATES: tuple[State, ...] = get_args(State)
SOURCE_MANUAL = "manual"
SOURCE_CONTRACTOR = "contractor-improvement-report"
REVIEW_SOURCE_PREFIX = "review:"

_AID = re.compile(r"^(?P<incident>\d{4}-\d{4,})/(?P<action>A\d+)$")
_ACTION_ID = re.compile(r"^A(\d+)$")


@dataclass(frozen=True)
class Action:
    """One corrective action of an incident."""

    incident: str
    id: str
    """`A1`, `A2` …, unique within the incident and never reused."""
    measure: str
    """What will be done (再発防止のための措置)."""
    owner: str
    """Who is responsible (a person or a department)."""
    due: date
    state: State
    created_by: str = ""
    created_at: datetime | None = None
    cause: str = ""
    """The cause id (playbooks/causes.toml) the measure addresses; '' when none."""
    source: str = SOURCE_MANUAL
    """`manual`, `contractor-improvement-report`, or `review:<checklist item>`."""
    evidence: str = ""
    done_at: datetime | None = None
    done_by: str = ""
    """Who recorded it done (the effectiveness check must be someone else)."""
    verified_by: str = ""
    verified_at: datetime | None = None

    @property
    def aid(self) -> str:
        """The name the command line uses: `2023-0012/A1`."""
        return f"{self.incident}/{self.id}"

    def overdue(self, today: date) -> bool:
        """Still open after its due date."""
        return self.state == "open" and self.due < today

    def to_table(self) -> dict[str, Any]:
        """The TOML table stored in the record: the section's own serializer writes it."""
        entry = sections.ActionEntry(**{f.name: getattr(self, f.name) for f in fields(sections.ActionEntry)})
        return entry.to_toml()

    def to_json(self, today: date | None = None) -> dict[str, Any]:
        """The action for `--json` (dates as ISO strings, absent values null)."""
        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        out: dict[str, Any] = {
            "aid": self.aid, "incident": self.incident, "id": self.id, "measure": self.measure,
            "cause": self.cause or None, "owner": self.owner, "due": self.due.isoformat(), "state": self.state,
            "evidence": self.evidence or None, "done_at": iso(self.done_at), "done_by": self.done_by or None,
            "verified_by": self.verified_by or None, "verified_at": iso(self.verified_at),
            "created_by": self.created_by or None, "created_at": iso(self.created_at), "source": self.source,
        }
        if today is not None:
            out["overdue"] = self.overdue(today)
        return out


# --------------------------------------------------------------------------- the section


def parse_aid(text: str) -> tuple[str, str]:
    """`2023-0012/A1` -> ("2023-0012", "A1")."""
    match = _AID.match(normalize(text).strip())
    if match is None:
        raise InputError(_("{text!r} is not an action; actions are named INCIDENT/ACTION, e.g. 2023-0012/A1 (`incident action list` shows them)")
                         .format(text=text), field="AID")
    return match["incident"], match["action"]


def actions_of(record: rec.Record) -> tuple[Action, ...]:
    """The record's actions, validated by the section's schema (`incident.register.sections.ActionEntry`)."""
    entries = sections.parse_actions(record.sections.get("actions", []), f"incident {record.id}")
    return tuple(_from_entry(record.id, entry) for entry in entries)


def _from_entry(incident_id: str, entry: sections.ActionEntry) -> Action:
    values = {f.name: getattr(entry, f.name) for f in fields(sections.ActionEntry)}
    return Action(incident=incident_id, **values)


def with_actions(record: rec.Record, actions: Sequence[Action]) -> rec.Record:
    """The record with its actions section replaced (removed when empty)."""
    return record.with_section("actions", [a.to_table() for a in actions] or None)


def next_action_id(actions: Iterable[Action]) -> str:
    """One more than the highest number used (ids are never reused)."""
    numbers = [int(m.group(1)) for a in actions if (m := _ACTION_ID.match(a.id))]
    return f"A{max(numbers, default=0) + 1}"


def find_action(record: rec.Record, action_id: str) -> Action:
    for action in actions_of(record):
        if action.id == action_id:
            return action
    known = ", ".join(a.id for a in actions_of(record)) or "none yet"
    raise NotFoundError(_("{id} has no action {action_id} (its actions: {known})")
                        .format(id=record.id, action_id=action_id, known=known), field="AID")


def contractor_action(record: rec.Record, playbook: ContractorReport, *, actor: str,
                      at: datetime, tz: str) -> Action | None:
    """The improvement-report action this record calls for and does not have yet; None otherwise.

    A closed incident gets none: adding an open action would leave it closed with work outstanding.
    """
    handled_by = record.get("handled_by", "")
    if handled_by not in playbook.handled_by or record.status == "closed":
        return None
    existing = actions_of(record)
    if any(a.source == SOURCE_CONTRACTOR for a in existing):
        return None
    discovered = dates.to_local_date(record.discovered_at, tz)
    return Action(
        incident=record.id, id=next_action_id(existing), measure=playbook.measure.format(handled_by=handled_by),
        owner=record.get("department", "") or actor, due=discovered + timedelta(days=playbook.due_days),
        state="open", created_by=actor, created_at=at.replace(microsecond=0), source=SOURCE_CONTRACTOR,
    )


def ensure_contractor_action(record: rec.Record, playbook: ContractorReport, *, actor: str, at: datetime,
                             tz: str) -> tuple[rec.Record, Action | None]:
    """The record with the improvement-report action added when it is due and missing (idempotent)."""
    action = contractor_action(record, playbook, actor=actor, at=at, tz=tz)
    if action is None:
        return record, None
    return with_actions(record, [*actions_of(record), action]), action


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class NewAction:
    """What `incident action add` asks for."""

    measure: str
    owner: str
    due: date
    cause: str = ""
    source: str = SOURCE_MANUAL


@dataclass(frozen=True)
class AddResult:
    action: Action
    """The action asked for (the existing one when a review item already had one)."""
    created: bool
    """False when the review item was already tracked by `action`."""
    contractor: Action | None
    """The improvement-report action added along the way, if any."""


def build_action(record: rec.Record, spec: NewAction, *, actor: str, at: datetime,
                 cause_ids: Sequence[str]) -> Action:
    """Validate `spec` against the record and give it the next id."""
    measure, owner = spec.measure.strip(), spec.owner.strip()
    if not measure:
        raise InputError(_("the measure is empty; say what will be done"), field="--measure")
    if not owner:
        raise InputError(_("the owner is empty; name a person or a department"), field="--owner")
    if "\n" in owner:
        raise InputError(_("must be a single line"), field="--owner")
    cause = spec.cause.strip() or record.get("cause_category", "")
    if cause and cause not in cause_ids:
        raise InputError(_("unknown cause {cause!r}; valid: {join}")
                         .format(cause=cause, join=', '.join(cause_ids)), field="--cause")
    return Action(incident=record.id, id=next_action_id(actions_of(record)), measure=measure, owner=owner,
                  due=spec.due, state="open", created_by=actor, created_at=at.replace(microsecond=0),
                  cause=cause, source=spec.source)


def add_action(ctx: Context, incident_id: str, spec: NewAction, *, actor: str,
               at: datetime | None = None) -> AddResult:
    """`incident action add`: the action, plus the contractor's improvement-report action when due.

    A `review:<item>` action is added once: asking again returns the action that already tracks the item.
    """
    moment = at or ctx.now()
    causes = tuple(ctx.taxonomy.causes)
    playbook = load_contractor_report(ctx.playbook_dirs)
    audit: dict[str, Any] = {}
    result: dict[str, Any] = {}

    def change(old: rec.Record) -> rec.Record:
        record, contractor = ensure_contractor_action(old, playbook, actor=actor, at=moment, tz=ctx.tz)
        result["contractor"] = contractor
        if contractor is not None:
            audit["contractor_action"] = contractor.id
        tracked = [a for a in actions_of(record) if a.source == spec.source] \
            if spec.source.startswith(REVIEW_SOURCE_PREFIX) else []
        if not tracked and _is_contractor_measure(record, playbook, spec.measure):
            # the improvement report typed in by hand is the one the incident already tracks
            tracked = [a for a in actions_of(record) if a.source == SOURCE_CONTRACTOR]
        if tracked:
            result["action"], result["created"] = tracked[0], False
            return record
        action = build_action(record, spec, actor=actor, at=moment, cause_ids=causes)
        result["action"], result["created"] = action, True
        audit["action"] = action.id
        return with_actions(record, [*actions_of(record), action])

    # `audit` is filled inside the locked update, before the store writes the audit entry
    ctx.store.update(incident_id, change, actor=actor, action="action.add", at=moment, extra=audit)
    return AddResult(action=result["action"], created=result["created"], contractor=result["contractor"])


def _is_contractor_measure(record: rec.Record, playbook: ContractorReport, measure: str) -> bool:
    def key(text: str) -> str:
        return "".join(normalize(text).split())

    handled_by = record.get("handled_by", "")
    return bool(handled_by) and key(measure) == key(playbook.measure.format(handled_by=handled_by))


def pending_contractor(ctx: Context, incident_id: str, *, actor: str, at: datetime | None = None) -> Action | None:
    """The improvement-report action the incident calls for and does not have yet (nothing is saved)."""
    moment = at or ctx.now()
    playbook = load_contractor_report(ctx.playbook_dirs)
    return contractor_action(ctx.store.load(incident_id), playbook, actor=actor, at=moment, tz=ctx.tz)


def ensure_contractor(ctx: Context, incident_id: str, *, actor: str, at: datetime | None = None) -> Action | None:
    """`incident action add --contractor-report`: add the improvement-report action if the record calls for it
    and does not have it yet (never a second one)."""
    moment = at or ctx.now()
    playbook = load_contractor_report(ctx.playbook_dirs)
    if contractor_action(ctx.store.load(incident_id), playbook, actor=actor, at=moment, tz=ctx.tz) is None:
        return None
    audit: dict[str, Any] = {}
    result: dict[str, Action | None] = {}

    def change(old: rec.Record) -> rec.Record:
        record, result["action"] = ensure_contractor_action(old, playbook, actor=actor, at=moment, tz=ctx.tz)
        if result["action"] is not None:
            audit["contractor_action"] = result["action"].id
        return record

    ctx.store.update(incident_id, change, actor=actor, action="action.add", at=moment, extra=audit)
    return result.get("action")


def reassign_action(store: RegisterStore, aid: str, *, owner: str | None, due: date | None, actor: str) -> Action:
    """`incident action assign AID --owner NAME [--due DATE]`: a new owner or due date for an open action.

    Reminders (`incident remind`) then go to the new owner, even for a deadline the old one was reminded of.
    """
    incident_id, action_id = parse_aid(aid)
    if owner is None and due is None:
        raise InputError(_("give --owner NAME and/or --due DATE"), field="--owner")
    if owner is not None and (not owner.strip() or "\n" in owner):
        raise InputError(_("the owner is empty or spans lines; name a person or a department"), field="--owner")
    audit: dict[str, Any] = {"action": action_id}

    def change(old: rec.Record) -> rec.Record:
        action = find_action(old, action_id)
        if action.state != "open":
            raise RefusedError(_("{aid} is already {state}; only an open action is reassigned")
                               .format(aid=action.aid, state=action.state))
        new = replace(action, owner=owner.strip() if owner is not None else action.owner,
                      due=due if due is not None else action.due)
        if new.owner != action.owner:
            audit["owner"] = [action.owner, new.owner]
        if new.due != action.due:
            audit["due"] = [action.due.isoformat(), new.due.isoformat()]
        return _replaced(old, new)

    record = store.update(incident_id, change, actor=actor, action="action.assign", extra=audit)
    return find_action(record, action_id)


def complete_action(ctx: Context, aid: str, evidence: str, *, actor: str, at: datetime | None = None) -> Action:
    """`incident action done AID --evidence TEXT`: open -> done."""
    incident_id, action_id = parse_aid(aid)
    if not evidence.strip():
        raise InputError(_("the evidence is empty; say what shows the measure is in place "
                         "(a revised procedure, a training record …)"), field="--evidence")
    moment = (at or ctx.now()).replace(microsecond=0)

    def change(old: rec.Record) -> rec.Record:
        action = find_action(old, action_id)
        if action.state != "open":
            if action.state == "verified":
                raise RefusedError(_("{aid} is already {state} (by {verified_by})").format(
                    aid=action.aid, state=action.state, verified_by=action.verified_by))
            raise RefusedError(_("{aid} is already {state}").format(aid=action.aid, state=action.state))
        done = replace(action, state="done", evidence=evidence.strip(), done_at=moment, done_by=actor)
        return _replaced(old, done)

    record = ctx.store.update(incident_id, change, actor=actor, action="action.done", at=moment,
                          extra={"action": action_id})
    return find_action(record, action_id)


@dataclass(frozen=True)
class Verified:
    """An action after its effectiveness check, and how the verifier was told apart from whoever marked it
    done (authenticated roles or names; as an imported log recorded them)."""

    action: Action
    identities: Identities


def verify_action(ctx: Context, aid: str, *, actor: str, at: datetime | None = None) -> Verified:
    """`incident action verify AID`: the effectiveness check; done -> verified, never by the owner."""
    incident_id, action_id = parse_aid(aid)
    moment = (at or ctx.now()).replace(microsecond=0)
    me = Author(actor, ctx.store.identity())
    marked = _done_entries(ctx.store, incident_id, action_id)
    done_by_me = me.role if signed_in_as_one_of(me, marked) else ""

    def change(old: rec.Record) -> rec.Record:
        action = find_action(old, action_id)
        if action.state == "open":
            raise RefusedError(_("{aid} is not done yet; record it first with `incident action done {aid} --evidence TEXT`")
                               .format(aid=action.aid))
        if action.state == "verified":
            raise RefusedError(_("{aid} was already verified by {verified_by}")
                               .format(aid=action.aid, verified_by=action.verified_by))
        conflict = verifier_conflict(actor, action) or (
            _("was marked done by {identity}, the role you are signed in as").format(identity=done_by_me)
            if done_by_me else "")
        if conflict:
            raise RefusedError(_("{aid} {conflict}; the effectiveness check must be made by someone else (--actor NAME)")
                               .format(aid=action.aid, conflict=conflict))
        return _replaced(old, replace(action, state="verified", verified_by=actor, verified_at=moment))

    record = ctx.store.update(incident_id, change, actor=actor, action="action.verify", at=moment,
                          extra={"action": action_id})
    action = find_action(record, action_id)
    return Verified(action, told_apart(me, marked, action.done_by))


def _done_entries(store: RegisterStore, incident_id: str, action_id: str) -> list[Author]:
    """Who marked the action done, as the audit log records it (for an imported entry its author in the
    source, never the role that imported it); none on the file store, which authenticates nobody.

    On a store that authenticates people (the shared register: database roles) the effectiveness check
    compares who signed in, not only the names given with --actor."""
    if store.identity() is None:
        return []
    found: list[Author] = []
    for entry in store.audit_entries():
        changes = entry.get("changes")
        if entry.get("incident") == incident_id and entry.get("action") == "action.done" and \
                isinstance(changes, dict) and changes.get("action") == action_id:
            found.append(author_of(entry))
    return found


def _replaced(record: rec.Record, action: Action) -> rec.Record:
    return with_actions(record, [action if a.id == action.id else a for a in actions_of(record)])


def verifier_conflict(actor: str, action: Action) -> str:
    """Why `actor` may not verify `action` ('' when they may): the owner and whoever marked it done are out."""
    if same_person(actor, action.owner):
        return f"is owned by {action.owner}"
    if action.done_by and same_person(actor, action.done_by):
        return f"was marked done by {action.done_by}"
    return ""


def same_person(a: str, b: str) -> bool:
    """Names compared as people type them (`incident.register.actors.same_actor`)."""
    return same_actor(a, b)


# --------------------------------------------------------------------------- reading across incidents


def list_actions(records: Iterable[rec.Record], *, today: date, overdue: bool = False, owner: str | None = None,
                 state: State | None = None, incident: str | None = None) -> list[Action]:
    """Actions across incidents, soonest due first; `owner` matches as `same_person` does."""
    found: list[Action] = []
    for record in records:
        if incident and record.id != incident:
            continue
        for action in actions_of(record):
            if overdue and not action.overdue(today):
                continue
            if owner is not None and not same_person(owner, action.owner):
                continue
            if state is not None and action.state != state:
                continue
            found.append(action)
    found.sort(key=lambda a: (a.due, a.incident, int(a.id[1:])))
    return found


def recommended_measures(record: rec.Record, extra_dirs: Sequence[Path] = (), *,
                         cause: str | None = None) -> tuple[str, ...]:
    """The playbook's measures for the record's type and cause (or `cause`), without repeats."""
    taxonomy = load_taxonomy(extra_dirs)
    type_id = record.get("type", "")
    cause_id = cause or record.get("cause_category") or None
    if type_id not in taxonomy.types:
        return taxonomy.cause(cause_id).measures if cause_id else ()
    return taxonomy.measures(type_id, cause_id)
