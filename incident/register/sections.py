"""The schema of every section the tool writes into a record, as frozen dataclasses.

Each section (`assessment`, `obligations`, `notices`, `actions`, `review`, `steps`, `sending`,
`roster`) has one parser (`parse`, from the TOML value, refusing unknown keys and wrong types with an
InputError naming the key) and one serializer (`to_toml`, the TOML-ready value with absent values left
out). `parse_section` runs on every load of a record, so a hand-edited or hostile value is refused
where it enters and never reaches `list`, `deadlines`, the reports or `purge`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from incident.errors import InputError
from incident.i18n import _

#: the span of dates the register accepts anywhere (facts are checked against the clock as well)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: the longest text accepted in a tool-written value, and the most entries in one section
MAX_TEXT = 100_000
MAX_ENTRIES = 10_000
MAX_INT = 10**12

T = TypeVar("T")


class _Table:
    """Typed access to one TOML table, with errors that name the table's path and key."""

    def __init__(self, raw: Any, where: str | None, path: str, keys: tuple[str, ...]) -> None:
        self.where = where
        self.path = path
        if not isinstance(raw, dict):
            raise self.bad(_("expected a table"))
        for key in raw:
            if key not in keys:
                raise self.bad(_("unknown key {key!r}; valid keys: {keys}").format(key=key, keys=", ".join(keys)))
        self.raw: dict[str, Any] = raw

    def bad(self, message: str, key: str | None = None) -> InputError:
        return InputError(message, file=self.where, field=f"{self.path}.{key}" if key else self.path)

    def has(self, key: str) -> bool:
        return key in self.raw

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if value is None:
            raise self.bad(_("missing"), key)
        if not isinstance(value, str):
            raise self.bad(_("expected a string, got {name}").format(name=type(value).__name__), key)
        if len(value) > MAX_TEXT:
            raise self.bad(_("longer than {max_text:,} characters").format(max_text=MAX_TEXT), key)
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if key in self.raw else None

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.bad(_("{value!r} is not valid; expected one of: {shown}").format(value=value,
                                                                                       shown=", ".join(choices)), key)
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.bad(_("expected true or false") if key in self.raw else _("missing"), key)
        return value

    def opt_flag(self, key: str) -> bool | None:
        return self.flag(key) if key in self.raw else None

    def number(self, key: str, default: int | None = None) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(_("expected a whole number") if key in self.raw else _("missing"), key)
        if not 0 <= value <= MAX_INT:
            raise self.bad(_("{value} is out of range (0 to {most:,})").format(value=value, most=MAX_INT), key)
        return value

    def opt_number(self, key: str) -> int | None:
        return self.number(key) if key in self.raw else None

    def moment(self, key: str) -> datetime:
        value = self.raw.get(key)
        if not isinstance(value, datetime):
            raise self.bad(_("expected a date and time") if key in self.raw else _("missing"), key)
        return check_moment(value, where=self.where, field=f"{self.path}.{key}")

    def opt_moment(self, key: str) -> datetime | None:
        return self.moment(key) if key in self.raw else None

    def day(self, key: str) -> date:
        value = self.raw.get(key)
        if isinstance(value, datetime) or not isinstance(value, date):
            raise self.bad(_("expected a date (YYYY-MM-DD)") if key in self.raw else _("missing"), key)
        if not EARLIEST.year <= value.year < LATEST.year:
            raise self.bad(_("{value} is out of range ({first} to {last})").format(
                value=value.isoformat(), first=EARLIEST.year, last=LATEST.year - 1), key)
        return value

    def iso_text(self, key: str) -> str | None:
        """A date or instant kept as ISO text (e.g. an obligation's due), checked to parse and be in range."""
        text = self.opt_text(key)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.bad(_("{text!r} is not an ISO date or date and time").format(text=text), key) from None
        if not EARLIEST.year <= moment.year < LATEST.year:
            raise self.bad(_("{value} is out of range ({first} to {last})").format(
                value=repr(text), first=EARLIEST.year, last=LATEST.year - 1), key)
        return text

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value):
            raise self.bad(_("expected a list of strings"), key)
        return tuple(value)

    def tables(self, key: str, parse: Callable[[Any, str], T]) -> tuple[T, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise self.bad(_("expected an array of tables"), key)
        if len(value) > MAX_ENTRIES:
            raise self.bad(_("more than {most:,} entries").format(most=MAX_ENTRIES), key)
        return tuple(parse(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(value, start=1))


def check_moment(value: datetime, *, where: str | None, field: str) -> datetime:
    """A stored date and time within the register's span (1990 to 2199), with its offset."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(_("expected a date and time with its offset (e.g. +09:00)"), file=where, field=field)
    if not EARLIEST <= value < LATEST:
        raise InputError(_("{isoformat} is out of range ({year} to {value})")
                         .format(isoformat=value.isoformat(), year=EARLIEST.year, value=LATEST.year - 1),
                         file=where, field=field)
    return value


def _keyed(raw: Any, where: str | None, path: str) -> dict[str, Any]:
    """A table whose keys are ids (steps, obligations, review answers): keys checked, values untouched."""
    if not isinstance(raw, dict):
        raise InputError(_("expected a table"), file=where, field=path)
    if len(raw) > MAX_ENTRIES:
        raise InputError(_("more than {max_entries:,} entries").format(max_entries=MAX_ENTRIES), file=where, field=path)
    for key in raw:
        if not key or len(key) > 200 or any(c.isspace() or c in "/\"'\\" for c in key):
            raise InputError(_("{value!r} is not a valid id").format(value=key[:40]), file=where, field=path)
    return raw


def _drop_none(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if v is not None}


# --------------------------------------------------------------------------- assessment


@dataclass(frozen=True)
class ConditionEntry:
    id: str
    met: bool | None
    reason: str
    citation: str
    exempted_by: str | None = None
    label: str = ""
    """The condition's Japanese label (what a report lists for a condition met)."""

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> ConditionEntry:
        t = _Table(raw, where, path, ("id", "label", "met", "reason", "citation", "exempted_by"))
        return cls(id=t.text("id"), met=t.opt_flag("met"), reason=t.text("reason", ""),
                   citation=t.text("citation", ""), exempted_by=t.opt_text("exempted_by"), label=t.text("label", ""))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({"id": self.id, "label": self.label or None, "met": self.met, "reason": self.reason,
                           "citation": self.citation, "exempted_by": self.exempted_by})


@dataclass(frozen=True)
class ExemptionEntry:
    id: str
    applied: bool | None

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> ExemptionEntry:
        t = _Table(raw, where, path, ("id", "applied"))
        return cls(id=t.text("id"), applied=t.opt_flag("applied"))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({"id": self.id, "applied": self.applied})


@dataclass(frozen=True)
class ObligationEntry:
    id: str
    label: str
    recipient: str
    soft: bool
    items: tuple[str, ...]
    citation: str
    deadline: str
    by: str
    due: str | None = None
    """An ISO date, or an instant for hour-counted deadlines; None where the law sets no date."""
    days: int | None = None
    due_text: str = ""
    """How the law words a deadline without a date (当該事態の状況に応じて速やかに)."""
    method: str = ""
    """How the report is submitted (the PPC's web form, a delegated ministry's e-mail ...)."""

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> ObligationEntry:
        t = _Table(raw, where, path, ("id", "label", "recipient", "due", "soft", "items", "citation",
                                      "deadline", "days", "by", "due_text", "method"))
        return cls(id=t.text("id"), label=t.text("label", ""), recipient=t.text("recipient", ""),
                   due=t.iso_text("due"), soft=t.flag("soft", False), items=t.strings("items"),
                   citation=t.text("citation", ""), deadline=t.text("deadline", ""), days=t.opt_number("days"),
                   by=t.text("by", ""), due_text=t.text("due_text", ""), method=t.text("method", ""))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({"id": self.id, "label": self.label, "recipient": self.recipient, "due": self.due,
                           "soft": self.soft, "items": list(self.items), "citation": self.citation,
                           "deadline": self.deadline, "days": self.days, "by": self.by,
                           "due_text": self.due_text or None, "method": self.method or None})


@dataclass(frozen=True)
class RegimeEntry:
    regime: str
    name: str
    version: str
    effective_from: str
    reportable: bool | None
    conditions: tuple[ConditionEntry, ...]
    exemptions: tuple[ExemptionEntry, ...]
    obligations: tuple[ObligationEntry, ...]
    missing: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> RegimeEntry:
        t = _Table(raw, where, path, ("regime", "name", "version", "effective_from", "reportable", "conditions",
                                      "exemptions", "obligations", "missing"))
        return cls(regime=t.text("regime"), name=t.text("name", ""), version=t.text("version", ""),
                   effective_from=t.iso_text("effective_from") or "", reportable=t.opt_flag("reportable"),
                   conditions=t.tables("conditions", lambda r, p: ConditionEntry.parse(r, p, where)),
                   exemptions=t.tables("exemptions", lambda r, p: ExemptionEntry.parse(r, p, where)),
                   obligations=t.tables("obligations", lambda r, p: ObligationEntry.parse(r, p, where)),
                   missing=t.strings("missing"))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({
            "regime": self.regime, "name": self.name, "version": self.version,
            "effective_from": self.effective_from or None, "reportable": self.reportable,
            "conditions": [c.to_toml() for c in self.conditions],
            "exemptions": [e.to_toml() for e in self.exemptions],
            "obligations": [o.to_toml() for o in self.obligations], "missing": list(self.missing)})


@dataclass(frozen=True)
class AssessmentSection:
    """`[assessment]`: the last saved assessment, with the playbook versions it used."""

    assessed_at: datetime
    reportable: bool | None
    learned_on: str | None
    timezone: str
    playbooks: Mapping[str, Mapping[str, str]]
    assessments: tuple[RegimeEntry, ...]

    KEYS = ("assessed_at", "reportable", "learned_on", "timezone", "playbooks", "assessments")

    @classmethod
    def parse(cls, raw: Any, where: str | None = None) -> AssessmentSection:
        t = _Table(raw, where, "assessment", cls.KEYS)
        playbooks: dict[str, dict[str, str]] = {}
        for regime, table in _keyed(raw.get("playbooks", {}), where, "assessment.playbooks").items():
            pt = _Table(table, where, f"assessment.playbooks.{regime}", ("version", "effective_from"))
            playbooks[regime] = {"version": pt.text("version", ""), "effective_from": pt.text("effective_from", "")}
        return cls(assessed_at=t.moment("assessed_at"), reportable=t.opt_flag("reportable"),
                   learned_on=t.iso_text("learned_on"), timezone=t.text("timezone", "Asia/Tokyo"),
                   playbooks=playbooks,
                   assessments=t.tables("assessments", lambda r, p: RegimeEntry.parse(r, p, where)))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({"assessed_at": self.assessed_at, "reportable": self.reportable,
                           "learned_on": self.learned_on, "timezone": self.timezone,
                           "playbooks": {k: dict(v) for k, v in self.playbooks.items()},
                           "assessments": [a.to_toml() for a in self.assessments]})


# --------------------------------------------------------------------------- obligations done


@dataclass(frozen=True)
class DoneEntry:
    """One obligation marked done: when, the receipt number, and for a notice sent by the toolkit, how
    (method, how many people, by e-mail and by letter, which run recorded it, the text it filled in)."""

    done_at: datetime
    ref: str = ""
    method: str | None = None
    count: int | None = None
    email: int | None = None
    letters: int | None = None
    source: str | None = None
    filled: str | None = None

    KEYS = ("done_at", "ref", "method", "count", "email", "letters", "source", "filled")

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> DoneEntry:
        t = _Table(raw, where, path, cls.KEYS)
        return cls(done_at=t.moment("done_at"), ref=t.text("ref", ""), method=t.opt_text("method"),
                   count=t.opt_number("count"), email=t.opt_number("email"), letters=t.opt_number("letters"),
                   source=t.opt_text("source"), filled=t.opt_text("filled"))

    def to_toml(self) -> dict[str, Any]:
        table = {k: getattr(self, k) for k in self.KEYS}
        return {k: v for k, v in table.items() if v is not None and (k != "ref" or v)}


@dataclass(frozen=True)
class ObligationsSection:
    """`[obligations]`: {regime: {obligation: {done_at, ref}}}, the obligations marked done."""

    done: Mapping[str, Mapping[str, DoneEntry]]

    @classmethod
    def parse(cls, raw: Any, where: str | None = None) -> ObligationsSection:
        done: dict[str, dict[str, DoneEntry]] = {}
        for regime, table in _keyed(raw, where, "obligations").items():
            entries: dict[str, DoneEntry] = {}
            for ob_id, entry in _keyed(table, where, f"obligations.{regime}").items():
                entries[ob_id] = DoneEntry.parse(entry, f"obligations.{regime}.{ob_id}", where)
            done[regime] = entries
        return cls(done=done)

    def to_toml(self) -> dict[str, Any]:
        return {regime: {ob: e.to_toml() for ob, e in entries.items()} for regime, entries in self.done.items()}


def with_done(section: ObligationsSection, regime: str, obligation: str, entry: DoneEntry) -> ObligationsSection:
    """The section with `regime/obligation` marked done by `entry` (replacing what it said of it)."""
    done = {r: dict(entries) for r, entries in section.done.items()}
    done.setdefault(regime, {})[obligation] = entry
    return ObligationsSection(done=done)


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class NoticeEntry:
    """One rendering of a notice: what, by whom, its hash, and where personal data was written."""

    kind: str
    lang: str
    format: str
    sha256: str
    at: datetime
    actor: str
    draft: bool = False
    path: str | None = None
    count: int | None = None
    missing: tuple[str, ...] = ()
    state: str | None = None
    """For output with personal data: `writing` (recorded before the first byte), then `written`."""
    mailed_at: datetime | None = None
    """For a print run of letters: when it was marked mailed, and by whom."""
    mailed_by: str | None = None
    form: str | None = None
    """For a filled-in regulator form: which form."""

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> NoticeEntry:
        t = _Table(raw, where, path, ("kind", "lang", "format", "sha256", "at", "actor", "draft", "path", "count",
                                      "missing", "state", "mailed_at", "mailed_by", "form"))
        state = t.choice("state", ("writing", "written")) if t.has("state") else None
        return cls(kind=t.text("kind"), lang=t.text("lang", ""), format=t.text("format", ""),
                   sha256=t.text("sha256", ""), at=t.moment("at"), actor=t.text("actor", ""),
                   draft=t.flag("draft", False), path=t.opt_text("path"), count=t.opt_number("count"),
                   missing=t.strings("missing"), state=state, mailed_at=t.opt_moment("mailed_at"),
                   mailed_by=t.opt_text("mailed_by"), form=t.opt_text("form"))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({"kind": self.kind, "lang": self.lang, "format": self.format, "sha256": self.sha256,
                           "at": self.at, "actor": self.actor, "draft": self.draft, "path": self.path,
                           "count": self.count, "missing": list(self.missing) or None, "state": self.state,
                           "mailed_at": self.mailed_at, "mailed_by": self.mailed_by, "form": self.form})


# --------------------------------------------------------------------------- corrective actions

ACTION_STATES = ("open", "done", "verified")


@dataclass(frozen=True)
class ActionEntry:
    """One `[[actions]]` table (the follow-up stage adds the incident and the rules around it)."""

    id: str
    measure: str
    owner: str
    due: date
    state: str
    cause: str = ""
    evidence: str = ""
    done_at: datetime | None = None
    done_by: str = ""
    verified_by: str = ""
    verified_at: datetime | None = None
    created_by: str = ""
    created_at: datetime | None = None
    source: str = "manual"

    @classmethod
    def parse(cls, raw: Any, path: str, where: str | None = None) -> ActionEntry:
        t = _Table(raw, where, path, ("id", "measure", "cause", "owner", "due", "state", "evidence", "done_at",
                                      "done_by", "verified_by", "verified_at", "created_by", "created_at", "source"))
        action_id = t.text("id")
        if not (action_id.startswith("A") and action_id[1:].isascii() and action_id[1:].isdigit()
                and len(action_id) <= 10):
            raise t.bad(_("{action_id!r} is not an action id; ids are A1, A2 …").format(action_id=action_id), "id")
        state = t.choice("state", ACTION_STATES)
        entry = cls(id=action_id, measure=t.text("measure"), owner=t.text("owner"), due=t.day("due"), state=state,
                    cause=t.text("cause", ""), evidence=t.text("evidence", ""), done_at=t.opt_moment("done_at"),
                    done_by=t.text("done_by", ""), verified_by=t.text("verified_by", ""), verified_at=t.opt_moment("verified_at"),
                    created_by=t.text("created_by", ""), created_at=t.opt_moment("created_at"),
                    source=t.text("source", "manual"))
        if state in ("done", "verified") and not entry.evidence:
            raise t.bad(_("a {state} action needs its evidence").format(state=state), "evidence")
        if state == "verified" and not entry.verified_by:
            raise t.bad(_("a verified action needs verified_by"), "verified_by")
        return entry

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"id": self.id, "measure": self.measure}
        if self.cause:
            table["cause"] = self.cause
        table |= {"owner": self.owner, "due": self.due, "state": self.state}
        for key in ("evidence", "done_at", "done_by", "verified_by", "verified_at", "created_by", "created_at"):
            value = getattr(self, key)
            if value:
                table[key] = value
        table["source"] = self.source
        return table


def parse_actions(raw: Any, where: str | None = None) -> tuple[ActionEntry, ...]:
    if not isinstance(raw, list):
        raise InputError(_("expected an array of tables ([[actions]])"), file=where, field="actions")
    if len(raw) > MAX_ENTRIES:
        raise InputError(_("more than {max_entries:,} entries").format(max_entries=MAX_ENTRIES), file=where, field="actions")
    entries = tuple(ActionEntry.parse(item, f"actions[{i}]", where) for i, item in enumerate(raw, start=1))
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        if entry.id in seen:
            raise InputError(_("duplicate action id {id!r}").format(id=entry.id), file=where, field=f"actions[{i}].id")
        seen.add(entry.id)
    return entries


# --------------------------------------------------------------------------- review

REVIEW_ANSWERS = ("yes", "no", "na")


@dataclass(frozen=True)
class AnswerEntry:
    answer: str
    at: datetime
    actor: str = ""
    note: str = ""

    def to_toml(self) -> dict[str, Any]:
        return {"answer": self.answer, **({"note": self.note} if self.note else {}), "at": self.at,
                "actor": self.actor}


@dataclass(frozen=True)
class ReviewSection:
    """`[review]`: the post-incident review's answers, by checklist item."""

    answers: Mapping[str, AnswerEntry]
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @classmethod
    def parse(cls, raw: Any, where: str | None = None) -> ReviewSection:
        t = _Table(raw, where, "review", ("started_at", "completed_at", "answers"))
        answers: dict[str, AnswerEntry] = {}
        for item, table in _keyed(raw.get("answers", {}), where, "review.answers").items():
            at = _Table(table, where, f"review.answers.{item}", ("answer", "note", "at", "actor"))
            answers[item] = AnswerEntry(answer=at.choice("answer", REVIEW_ANSWERS), at=at.moment("at"),
                                        actor=at.text("actor", ""), note=at.text("note", ""))
        return cls(answers=answers, started_at=t.opt_moment("started_at"),
                   completed_at=t.opt_moment("completed_at"))

    def to_toml(self) -> dict[str, Any]:
        return _drop_none({"started_at": self.started_at, "completed_at": self.completed_at,
                           "answers": {k: v.to_toml() for k, v in self.answers.items()}})


# --------------------------------------------------------------------------- response steps

STEP_STATES = ("done", "skipped")
#: what a step recorded as its answer: the fact it settled, as the record keeps it (a date and time for
#: discovered_at / occurred_at, a number of persons, a yes/no, a text, a list of ids)
StepValue = str | int | bool | datetime | tuple[str, ...]


@dataclass(frozen=True)
class StepEntry:
    state: str
    at: datetime
    actor: str = ""
    note: str = ""
    reason: str = ""
    value: StepValue | None = None

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"state": self.state, "at": self.at, "actor": self.actor}
        for key in ("note", "reason"):
            if getattr(self, key):
                table[key] = getattr(self, key)
        if self.value is not None:
            table["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return table


@dataclass(frozen=True)
class StepsSection:
    """`[steps]`: {step id: what was recorded}, the response steps done or skipped."""

    steps: Mapping[str, StepEntry]

    @classmethod
    def parse(cls, raw: Any, where: str | None = None) -> StepsSection:
        steps: dict[str, StepEntry] = {}
        for step_id, entry in _keyed(raw, where, "steps").items():
            t = _Table(entry, where, f"steps.{step_id}", ("state", "at", "actor", "note", "reason", "value"))
            value: StepValue | None = None
            if t.has("value"):
                raw_value = entry["value"]
                if isinstance(raw_value, (bool, str)):
                    value = t.text("value") if isinstance(raw_value, str) else raw_value
                elif isinstance(raw_value, datetime):
                    value = t.moment("value")
                elif isinstance(raw_value, int):
                    value = t.number("value")
                else:
                    value = t.strings("value")
            steps[step_id] = StepEntry(state=t.choice("state", STEP_STATES), at=t.moment("at"),
                                       actor=t.text("actor", ""), note=t.text("note", ""),
                                       reason=t.text("reason", ""), value=value)
        return cls(steps=steps)

    def to_toml(self) -> dict[str, Any]:
        return {k: v.to_toml() for k, v in self.steps.items()}


# --------------------------------------------------------------------------- sending

SENDING_STATES = ("prepared", "approved", "sending", "incomplete", "sent")


@dataclass(frozen=True)
class SendingSection:
    """`[sending]`: the e-mail batch's state as last recorded (the batch directory holds the detail)."""

    state: str
    kind: str = ""
    lang: str = ""
    count: int | None = None
    sha256: str = ""
    prepared_by: str = ""
    prepared_at: str | None = None
    """As the batch's manifest says it (ISO text)."""
    no_email: int | None = None
    approved_by: str = ""
    approved_at: str | None = None
    sent: int | None = None
    failed: int | None = None
    pending: int | None = None
    last_run_at: datetime | None = None

    _STRS = ("kind", "lang", "sha256", "prepared_by", "approved_by")
    _INTS = ("count", "no_email", "sent", "failed", "pending")
    _ISO = ("prepared_at", "approved_at")
    _TIMES = ("last_run_at",)

    @classmethod
    def parse(cls, raw: Any, where: str | None = None) -> SendingSection:
        t = _Table(raw, where, "sending", ("state", *cls._STRS, *cls._INTS, *cls._ISO, *cls._TIMES))
        values: dict[str, Any] = {"state": t.choice("state", SENDING_STATES)}
        values |= {k: t.text(k, "") for k in cls._STRS}
        values |= {k: t.opt_number(k) for k in cls._INTS}
        values |= {k: t.iso_text(k) for k in cls._ISO}
        values |= {k: t.opt_moment(k) for k in cls._TIMES}
        return cls(**values)

    def to_toml(self) -> dict[str, Any]:
        table = {k: getattr(self, k) for k in ("state", *self._STRS, *self._INTS, *self._ISO, *self._TIMES)}
        return {k: v for k, v in table.items() if v is not None and v != ""} | {"state": self.state}


# --------------------------------------------------------------------------- roster


@dataclass(frozen=True)
class RosterSection:
    """`[roster]`: what the last import of the affected-person list brought in (the list is encrypted)."""

    count: int
    columns: tuple[str, ...]
    encoding: str
    imported_at: datetime
    skipped: int = 0
    duplicates: int = 0

    @classmethod
    def parse(cls, raw: Any, where: str | None = None) -> RosterSection:
        t = _Table(raw, where, "roster", ("count", "columns", "encoding", "imported_at", "skipped", "duplicates"))
        return cls(count=t.number("count"), columns=t.strings("columns"), encoding=t.text("encoding", ""),
                   imported_at=t.moment("imported_at"), skipped=t.number("skipped", 0),
                   duplicates=t.number("duplicates", 0))

    def to_toml(self) -> dict[str, Any]:
        return {"count": self.count, "columns": list(self.columns), "encoding": self.encoding,
                "imported_at": self.imported_at, "skipped": self.skipped, "duplicates": self.duplicates}


# --------------------------------------------------------------------------- the registry


def _parse_notices(raw: Any, where: str | None) -> tuple[NoticeEntry, ...]:
    if not isinstance(raw, list):
        raise InputError(_("expected an array of tables ([[notices]])"), file=where, field="notices")
    if len(raw) > MAX_ENTRIES:
        raise InputError(_("more than {max_entries:,} entries").format(max_entries=MAX_ENTRIES), file=where, field="notices")
    return tuple(NoticeEntry.parse(item, f"notices[{i}]", where) for i, item in enumerate(raw, start=1))


#: section name -> (parser, serializer); the one list of what the tool writes into a record
PARSERS: Mapping[str, Callable[[Any, str | None], Any]] = {
    "assessment": AssessmentSection.parse,
    "obligations": ObligationsSection.parse,
    "notices": _parse_notices,
    "actions": parse_actions,
    "review": ReviewSection.parse,
    "steps": StepsSection.parse,
    "sending": SendingSection.parse,
    "roster": RosterSection.parse,
}
TOOL_WRITTEN: tuple[str, ...] = tuple(PARSERS)


def serialize(value: Any) -> Any:
    """The TOML value of a parsed section."""
    if isinstance(value, tuple):
        return [v.to_toml() for v in value]
    return value.to_toml()


def parse_section(name: str, raw: Any, *, where: str | None = None) -> Any:
    """The typed value of section `name`; InputError naming the key when it does not fit the schema."""
    return PARSERS[name](raw, where)


def normalize(name: str, raw: Any, *, where: str | None = None) -> Any:
    """Validate a section and return its canonical TOML value (what the record keeps)."""
    return serialize(parse_section(name, raw, where=where))


# --------------------------------------------------------------------------- typed readers

#: (id of a record's sections mapping, section name) -> (that mapping, the parsed section). A record's
#: sections are never changed in place (Record.with_section makes a new mapping), so a section is parsed
#: once per record however many stages read it; the mapping is kept so that its id is not reused.
_PARSED: dict[tuple[int, str], tuple[Mapping[str, Any], Any]] = {}
_PARSED_LIMIT = 20_000


def remember(sections: Mapping[str, Any], name: str, parsed: Any) -> None:
    """Keep the parsed value of a record's section (the record's loader parsed it already)."""
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[(id(sections), name)] = (sections, parsed)


def _typed(sections: Mapping[str, Any], name: str, empty: T) -> T:
    """Section `name` of a record's sections, parsed (once); `empty` when the record has none."""
    hit = _PARSED.get((id(sections), name))
    if hit is not None and hit[0] is sections:
        return cast(T, hit[1])
    raw = sections.get(name)
    parsed = empty if raw is None else cast(T, PARSERS[name](raw, None))
    remember(sections, name, parsed)
    return parsed


_NO_OBLIGATIONS = ObligationsSection(done={})
_NO_REVIEW = ReviewSection(answers={})
_NO_STEPS = StepsSection(steps={})


def assessment_of(sections: Mapping[str, Any]) -> AssessmentSection | None:
    return _typed(sections, "assessment", cast(AssessmentSection | None, None))


def reportable_of(sections: Mapping[str, Any]) -> bool | None:
    """The saved assessment's overall answer (None: undetermined or not assessed), without parsing the
    whole section when no stage has yet: the one key a report over every incident reads."""
    hit = _PARSED.get((id(sections), "assessment"))
    if hit is not None and hit[0] is sections:
        parsed = cast(AssessmentSection | None, hit[1])
        return parsed.reportable if parsed is not None else None
    raw = sections.get("assessment")
    if raw is None:
        return None
    return _Table(raw, None, "assessment", AssessmentSection.KEYS).opt_flag("reportable")


def obligations_of(sections: Mapping[str, Any]) -> ObligationsSection:
    return _typed(sections, "obligations", _NO_OBLIGATIONS)


def actions_of(sections: Mapping[str, Any]) -> tuple[ActionEntry, ...]:
    return _typed(sections, "actions", cast(tuple[ActionEntry, ...], ()))


def review_of(sections: Mapping[str, Any]) -> ReviewSection:
    return _typed(sections, "review", _NO_REVIEW)


def steps_of(sections: Mapping[str, Any]) -> StepsSection:
    return _typed(sections, "steps", _NO_STEPS)


def sending_of(sections: Mapping[str, Any]) -> SendingSection | None:
    return _typed(sections, "sending", cast(SendingSection | None, None))


def roster_of(sections: Mapping[str, Any]) -> RosterSection | None:
    return _typed(sections, "roster", cast(RosterSection | None, None))


def notices_of(sections: Mapping[str, Any]) -> tuple[NoticeEntry, ...]:
    return _typed(sections, "notices", cast(tuple[NoticeEntry, ...], ()))
