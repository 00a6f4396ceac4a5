"""Response steps (初動対応の記録): each step's recorded state, when it is due, and recording one.

The state of each step lives in the record's `steps` section: step id -> {state = "done" | "skipped",
at, actor, note, reason, value}. This module validates and reads that section, works out when each step
of a playbook (`incident.followup.response`) is due, and records a step, with any fact it settles, in one atomic
store update; re-assessment after a fact changes is `incident.followup.step_done`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from incident.dates import to_local_date
from incident.errors import InputError
from incident.followup.response import FACT_KEYS, URGENCIES, ResponsePlaybook, Step, load_response
from incident.i18n import _
from incident.register import record as rec
from incident.register import sections
from incident.text import normalize

if TYPE_CHECKING:
    from incident.law.context import Context

STATES = ("done", "skipped")


@dataclass(frozen=True)
class StepState:
    """What was recorded for a step (an entry of the record's `steps` section)."""

    state: str
    at: datetime
    actor: str = ""
    note: str = ""
    reason: str = ""
    value: Any = None


@dataclass(frozen=True)
class StepView:
    """A playbook step with its recorded state (None: open) and when it is due."""

    step: Step
    state: StepState | None
    due: date | datetime | None

    @property
    def status(self) -> str:
        return self.state.state if self.state else "open"

    def overdue(self, now: datetime, tz: str) -> bool:
        """Still open past its target: after the hour for a timed step, after the day for a dated one."""
        if self.state is not None or self.due is None:
            return False
        if isinstance(self.due, datetime):
            return now > self.due
        return self.due < to_local_date(now, tz)


@dataclass(frozen=True)
class Progress:
    playbook: ResponsePlaybook
    views: tuple[StepView, ...]
    #: states recorded for ids the playbook no longer has
    orphans: Mapping[str, StepState]

    @property
    def next(self) -> StepView | None:
        return next((v for v in self.views if v.state is None), None)

    @property
    def open(self) -> tuple[StepView, ...]:
        return tuple(v for v in self.views if v.state is None)


def step_states(record: rec.Record) -> dict[str, StepState]:
    """The `steps` section (incident.register.sections.StepsSection, validated on load) as StepStates."""
    return {step_id: StepState(state=e.state, at=e.at, actor=e.actor, note=e.note, reason=e.reason,
                               value=list(e.value) if isinstance(e.value, tuple) else e.value)
            for step_id, e in sections.steps_of(record.sections).steps.items()}


def progress(playbook: ResponsePlaybook, record: rec.Record, tz: str) -> Progress:
    states = step_states(record)
    ids = {s.id for s in playbook.steps}

    day = to_local_date(record.discovered_at, tz)  # once per record, not once per step
    views = tuple(StepView(s, states.get(s.id), step_due(s, record, tz, day)) for s in playbook.steps)
    return Progress(playbook=playbook, views=views, orphans={k: v for k, v in states.items() if k not in ids})


def step_due(step: Step, record: rec.Record, tz: str, discovered_on: date | None = None) -> date | datetime | None:
    """When the step is due: counted from discovery (the day of discovery is day 1), or the report's due
    date from the stored assessment (the earliest over the regimes; None when no report is due).
    `discovered_on`: the local day of discovery, when the caller has it already."""
    urgency = URGENCIES[step.urgency]
    discovered = record.discovered_at
    if urgency.hours is not None:
        return discovered + timedelta(hours=urgency.hours)
    if urgency.days is not None:
        day = discovered_on if discovered_on is not None else to_local_date(discovered, tz)
        return day + timedelta(days=urgency.days - 1)
    wanted = urgency.before
    assessment = sections.assessment_of(record.sections)
    dues = [date.fromisoformat(ob.due[:10]) for regime in (assessment.assessments if assessment else ())
            for ob in regime.obligations if ob.id in wanted and ob.due is not None]
    return min(dues) if dues else None


@dataclass(frozen=True)
class OverdueStep:
    """An open response step past its target, of an incident that is not closed."""

    incident: str
    title: str
    department: str
    view: StepView


def overdue_steps(ctx: Context, now: datetime, records: Sequence[rec.Record] | None = None) -> list[OverdueStep]:
    """Every open response step past its target across the register, earliest target first.

    An incident whose playbook cannot be loaded is left out (`incident steps ID` names the problem).
    """
    tz = ctx.tz
    today = to_local_date(now, tz)
    found: list[tuple[float, str, OverdueStep]] = []
    playbooks: dict[str, ResponsePlaybook | InputError] = {}  # one load per type, not per incident
    extra = ctx.playbook_dirs
    for record in ctx.store.records() if records is None else records:
        if record.status == "closed" or not record.get("type"):
            continue
        type_id = str(record.get("type"))
        if type_id not in playbooks:
            try:
                playbooks[type_id] = load_response(type_id, extra)
            except InputError as exc:
                playbooks[type_id] = exc
        playbook = playbooks[type_id]
        if isinstance(playbook, InputError):
            continue
        try:
            prog = progress(playbook, record, tz)
        except InputError:
            continue
        incident, title, department = record.id, str(record.get("title", "")), str(record.get("department", ""))
        for view in prog.views:
            due = view.due
            if view.state is not None or due is None:
                continue
            if isinstance(due, datetime):
                if now > due:
                    found.append((due.timestamp(), incident, OverdueStep(incident, title, department, view)))
            elif due < today:  # as StepView.overdue, with today computed once
                found.append((_sort_key(due, now).timestamp(), incident,
                              OverdueStep(incident, title, department, view)))
    found.sort(key=itemgetter(0, 1))
    return [item for _unused, _key, item in found]


def _sort_key(due: date | datetime | None, now: datetime) -> datetime:
    if isinstance(due, datetime):
        return due
    if isinstance(due, date):
        return datetime(due.year, due.month, due.day, tzinfo=now.tzinfo)
    return now


# --- settling facts and recording steps ----------------------------------------------------------

_ITEM_LABELS = {"items": ("項目", "data items, comma-separated, e.g. 氏名,メールアドレス"),
                "encrypted": ("暗号化", "true or false for every item, or the items it applies to, comma-separated"),
                "key_compromised": ("鍵・パスワードの漏えい",
                                    "true or false for every item, or the items it applies to, comma-separated")}


def value_label(key: str) -> str:
    """The Japanese label of a settable key (本人の数, 回収済み …)."""
    return _ITEM_LABELS[key][0] if key in _ITEM_LABELS else rec.FIELD_BY_NAME[key].ja


def value_hint(key: str) -> str:
    """What `--value` takes for a settable key, in words."""
    if key in _ITEM_LABELS:
        return _ITEM_LABELS[key][1]
    spec = rec.FIELD_BY_NAME[key]
    return {"bool": "true or false", "int": "a whole number", "list": "comma-separated, e.g. JP,EU",
            "datetime": "a date and time, e.g. 2024-06-03 15:00",
            "enum": " or ".join(c for c in spec.choices if c)}.get(spec.kind, "text")


def current_value(record: rec.Record, key: str) -> Any:
    """The record's present value of a settable key (None when unset)."""
    if key == "items":
        return [d.item for d in record.data] or None
    if key in ("encrypted", "key_compromised"):
        flagged = [d.item for d in record.data if getattr(d, key)]
        return True if record.data and len(flagged) == len(record.data) else (flagged or None)
    return record.facts.get(key)


def _split(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(v).strip() for v in raw if str(v).strip()]
    text = normalize(str(raw)).replace("、", ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def settle(record: rec.Record, key: str, raw: Any, *, vocab: rec.Vocabulary | None,
           tz: str) -> tuple[rec.Record, Any]:
    """Apply a step's answer to the record: (the new record, the value as stored on the step)."""
    def bad(message: str) -> InputError:
        return InputError(_("{key}: {message}; expected {value_hint}")
                          .format(key=key, message=message, value_hint=value_hint(key)), field="--value")

    if key in FACT_KEYS:
        try:
            value = rec.coerce(rec.FIELD_BY_NAME[key], raw, tz=tz, file=None, vocab=vocab)
        except InputError as exc:  # the field's own message says what is valid
            raise InputError(f"{key}: {exc.message}", field="--value") from None
        return record.with_facts(**{key: value}), value
    flag = str(raw).strip().lower() if isinstance(raw, (str, bool)) else ""
    if key != "items" and (isinstance(raw, bool) or flag in ("true", "false", "yes", "no", "はい", "いいえ")):
        if not record.data:
            raise InputError(_("{key}: the record lists no data items yet; settle them first (step list-items)")
                             .format(key=key),
                             field="--value")
        on = raw if isinstance(raw, bool) else flag in ("true", "yes", "はい")
        return replace(record, data=tuple(_flag(d, key, on) for d in record.data)), on
    resolve = vocab.resolve_item if vocab is not None else (lambda name: name)
    try:
        ids = list(dict.fromkeys(resolve(name) for name in _split(raw)))
    except InputError as exc:
        raise bad(exc.message) from None
    if key == "items":
        if not ids:
            raise bad(_("no data item given"))
        kept = {d.item: d for d in record.data}
        data = tuple(kept.get(item, rec.DataEntry(item=item)) for item in ids)
        return replace(record, data=data), ids
    listed = [d.item for d in record.data]
    stray = [i for i in ids if i not in listed]
    if stray or not ids:
        raise bad(_("{stray} is not among the record's items ({listed})").format(
            stray=", ".join(stray) or _("nothing"), listed=", ".join(listed)))
    data = tuple(_flag(d, key, d.item in ids) for d in record.data)
    return replace(record, data=data), ids


def _flag(entry: rec.DataEntry, key: str, on: bool) -> rec.DataEntry:
    return replace(entry, encrypted=on) if key == "encrypted" else replace(entry, key_compromised=on)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class StepResult:
    """What recording a step did: the record before and after, and the state saved."""

    step: Step
    before: rec.Record
    after: rec.Record
    state: StepState

    @property
    def settled(self) -> bool:
        """A fact of the record was settled (so the assessment may have changed)."""
        return self.step.sets is not None and self.state.state == "done"


def record_step(ctx: Context, incident_id: str, step_id: str, state: str, *, actor: str,
                at: datetime | None = None, note: str = "", reason: str = "", value: Any = None) -> StepResult:
    """Record a step as done or skipped, with its timeline event and any fact it settles, in one update."""
    store = ctx.store
    if state not in STATES:
        raise InputError(_("{state!r} is not valid; expected one of: {join}")
                         .format(state=state, join=', '.join(STATES)), field="STATE")
    loaded = store.load(incident_id)
    step = load_response(str(loaded.get("type")), ctx.playbook_dirs).step(step_id)
    if state == "skipped":
        if not reason.strip():
            raise InputError(_("skipping a step needs --reason TEXT (why it does not apply)"), field="--reason")
        if value is not None:
            raise InputError(_("a skipped step settles nothing; leave out --value"), field="--value")
    elif value is None and step.asks:
        raise InputError(_("step {step_id!r} asks: {question_en} Give the answer with --value ({value})")
                         .format(step_id=step_id, question_en=step.question_en, value=value_hint(step.sets) if step.sets else 'text'), field="--value")
    elif value is not None and not step.asks:
        raise InputError(_("step {step_id!r} records no value; leave out --value").format(step_id=step_id), field="--value")
    moment = (at or ctx.now()).replace(microsecond=0)
    seen: dict[str, Any] = {}

    def change(old: rec.Record) -> rec.Record:
        new, stored = old, None
        if state == "done" and step.sets is not None:
            new, stored = settle(old, step.sets, value, vocab=ctx.vocabulary, tz=ctx.tz)
        elif state == "done" and value is not None:
            stored = str(value).strip()
            if not stored:
                raise InputError(_("step {step_id!r}: the answer is empty").format(step_id=step_id), field="--value")
        entry = sections.StepEntry(state=state, at=moment, actor=actor, note=note.strip(), reason=reason.strip(),
                                   value=tuple(stored) if isinstance(stored, list) else stored)
        if state == "skipped":
            text = f"初動対応「{step.title_ja}」を省略（理由: {reason.strip()}）"
        else:
            label = value_label(step.sets) if step.sets else "記録"
            text = f"初動対応「{step.title_ja}」を実施" + (f"（{label}: {_shown(stored)}）" if stored is not None
                                                       else "") + (f"。{note.strip()}" if note.strip() else "")
        steps = sections.StepsSection(steps={**sections.steps_of(old.sections).steps, step_id: entry})
        seen.update(before=old, state=StepState(state=state, at=moment, actor=actor, note=entry.note,
                                                reason=entry.reason, value=stored))
        return new.with_section("steps", steps.to_toml()).with_event(rec.Event(at=moment, text=text, actor=actor,
                                                                     kind="step"))

    extra: dict[str, Any] = {"step": step_id, "state": state}
    if value is not None:
        extra["value"] = _shown(value) if not isinstance(value, str) else value
    after = store.update(incident_id, change, actor=actor, action="step", extra=extra, at=None)
    return StepResult(step=step, before=seen["before"], after=after, state=seen["state"])
