"""Assessments and obligations of stored incidents.

Assess an incident in the store and keep the result on it (section `assessment`, with the playbook
versions used) and in the audit log; list the open obligations across the store; mark one done
(section `obligations`: {regime: {obligation: {done_at, ref}}}). Each takes the command's Context
(incident.law.context: the store, its config, the playbooks and the clock, resolved once) and reads
nothing else; the CLI and the other stages call these, and they print nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incident.errors import InputError, NotFoundError, RefusedError
from incident.i18n import _
from incident.law.assessment import AssessmentJson, diff_assessments
from incident.law.deadlines import open_obligations
from incident.register.record import FUTURE_SKEW, check_range
from incident.register.sections import (
    AssessmentSection,
    ConditionEntry,
    DoneEntry,
    ExemptionEntry,
    ObligationEntry,
    RegimeEntry,
    assessment_of,
    obligations_of,
    with_done,
)

if TYPE_CHECKING:
    from incident.law.assessment import Assessment, ObligationsJson
    from incident.law.context import Context
    from incident.law.deadlines import OpenObligation
    from incident.law.rules import Assessor
    from incident.register.record import Record

def stored_form(assessment: Assessment, at: datetime) -> AssessmentSection:
    """The assessment as the record's `assessment` section keeps it, with the playbook versions used."""
    learned = assessment.learned_on
    return AssessmentSection(
        assessed_at=at.replace(microsecond=0), reportable=assessment.reportable,
        learned_on=learned.isoformat() if learned else None, timezone=assessment.timezone,
        playbooks=assessment.playbooks,
        assessments=tuple(RegimeEntry(
            regime=a.regime, name=a.name, version=a.version, effective_from=a.effective_from.isoformat(),
            reportable=a.reportable,
            conditions=tuple(ConditionEntry(id=c.id, met=c.met, reason=c.reason, citation=c.citation,
                                            exempted_by=c.exempted_by, label=c.label) for c in a.conditions),
            exemptions=tuple(ExemptionEntry(id=e.id, applied=e.applied) for e in a.exemptions),
            obligations=tuple(ObligationEntry(id=o.id, label=o.label, recipient=o.recipient, soft=o.soft,
                                              items=o.items, citation=o.citation, deadline=o.deadline, by=o.by,
                                              due=o.due, days=o.days, due_text=o.due_text, method=o.method)
                              for o in a.obligations),
            missing=a.missing) for a in assessment.assessments))


class Assessed(AssessmentJson):
    """The JSON of `incident assess ID`: the assessment and what changed since the saved one."""

    changes: list[str]


def assess_and_save(ctx: Context, incident_id: str, *, actor: str) -> Assessed:
    """Assess a stored incident, save the result on it and in the audit log; the JSON with `changes`."""
    record = ctx.store.load(incident_id)
    assessment = ctx.assessor.assess(record)
    data = assessment.to_json(incident_id)
    section = stored_form(assessment, ctx.now())
    changes = diff_assessments(assessment_of(record.sections), section)
    ctx.store.update(incident_id, lambda r: r.with_section("assessment", section.to_toml()), actor=actor,
                 action="assess", extra={"reportable": data["reportable"], "playbooks": assessment.playbooks,
                                         "changes": changes})
    return {**data, "changes": changes}


def collect_open(ctx: Context, *, on_skip: Callable[[str, InputError], None] | None = None,
                 records: Sequence[Record] | None = None) -> list[OpenObligation]:
    """Every open obligation of the incidents that are not closed, assessed afresh, soonest first.

    An incident that cannot be assessed is passed to `on_skip` and left out.
    """
    moment = ctx.now()
    records = ctx.store.records() if records is None else records
    return open_obligations(_assessed(records, ctx.assessor, on_skip), moment.date(), moment)


def _assessed(records: Sequence[Record], assessor: Assessor, on_skip: Callable[[str, InputError], None] | None,
              ) -> Iterator[tuple[str, str, ObligationsJson, Mapping[str, Mapping[str, object]]]]:
    """(id, title, obligations JSON, done section) per open incident, one at a time: each assessment is
    dropped once its obligations are read, so 10,000 of them never accumulate."""
    for record in records:
        if record.status == "closed":
            continue
        try:
            data = assessor.assess(record).obligations_json(record.id)
        except InputError as exc:
            if on_skip is not None:
                on_skip(record.id, exc)
            continue
        yield record.id, str(record.get("title", "")), data, obligations_of(record.sections).done


def obligation_keys(ctx: Context, incident_id: str) -> list[str]:
    """`regime/obligation` of every obligation of the incident, assessed afresh."""
    data = ctx.assessor.assess(ctx.store.load(incident_id)).obligations_json(incident_id)
    return [f"{a['regime']}/{o['id']}" for a in data["assessments"] for o in a["obligations"]]


def done_entry(record: Record, key: str) -> DoneEntry | None:
    """What the record's `obligations` section says of `regime/obligation` (None: not done)."""
    regime, ob_id = key.split("/", 1)
    return obligations_of(record.sections).done.get(regime, {}).get(ob_id)


def mark_done(ctx: Context, incident_id: str, obligation: str, *, at: datetime, ref: str, actor: str,
              replace: bool = False) -> str:
    """Mark one obligation of the incident done (by `id`, or `regime/id` when two regimes share it).

    `at` may not be in the future. An obligation already done is refused unless `replace`; replacing
    never drops a recorded receipt number unless a new one is given. Returns the `regime/obligation` key.
    """
    check_range(at, file=None, field="--at")
    if at > ctx.now() + FUTURE_SKEW:
        raise InputError(_("{isoformat} is in the future; record an obligation when it is done")
                         .format(isoformat=at.isoformat()),
                         field="--at")
    keys = obligation_keys(ctx, incident_id)
    found = [k for k in keys if obligation in (k, k.split("/", 1)[1])]
    if not found:
        raise NotFoundError(_("{incident_id} has no obligation {obligation!r}; its obligations: {value}")
                            .format(incident_id=incident_id, obligation=obligation, value=', '.join(keys) or 'none'), field="OBLIGATION")
    if len(found) > 1:
        raise InputError(_("{obligation!r} is ambiguous; name one of: {join}")
                         .format(obligation=obligation, join=', '.join(found)), field="OBLIGATION")
    regime, ob_id = found[0].split("/", 1)
    extra: dict[str, Any] = {"obligation": found[0], "done_at": at.isoformat(), "ref": ref}
    if replace:
        extra["replace"] = True

    def change(record: Record) -> Record:
        previous = done_entry(record, found[0])
        if previous is not None and not replace:
            raise RefusedError(_("{obligation} of {incident_id} is already done ({done_at}{ref}); change it with "
                                 "--replace").format(obligation=found[0], incident_id=incident_id,
                                                     done_at=previous.done_at.isoformat(),
                                                     ref=_(", ref {ref}").format(ref=previous.ref)
                                                     if previous.ref else ""))
        old_ref = previous.ref if previous else ""
        if ref or old_ref:
            extra["ref"] = ref or old_ref
        return record.with_section("obligations", with_done(obligations_of(record.sections), regime, ob_id,
                                                            DoneEntry(done_at=at, ref=ref or old_ref)).to_toml())

    ctx.store.update(incident_id, change, actor=actor, action="done", extra=extra)
    return found[0]
