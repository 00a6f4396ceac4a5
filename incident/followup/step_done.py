"""A response step recorded, and what it changed: `take_step` records a step as done or skipped (the
`steps` section, a timeline event, the `step` audit entry, any fact it settles) and, when the step settled
a fact, re-assesses the incident as `incident assess` does (the `assessment` section and its audit entry),
returning the changes of the assessment and the next open step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incident.errors import InputError
from incident.followup.response import load_response
from incident.followup.steps import progress, record_step
from incident.i18n import _
from incident.law.assessment import diff_assessments
from incident.law.tracking import assess_and_save

if TYPE_CHECKING:
    from incident.followup.steps import Progress, StepResult, StepView
    from incident.law.context import Context
    from incident.law.tracking import Assessed
    from incident.register.record import Record


@dataclass(frozen=True)
class StepTaken:
    """What `take_step` did."""

    result: StepResult
    """The step, the record before and after it, the state saved."""
    assessment: Assessed | None
    """The new assessment (as `incident assess --json` shows it) when the step settled a fact."""
    changes: list[str]
    """What the step changed in the assessment, one line each (empty when nothing changed)."""
    next: StepView | None
    """The next open step of the playbook; None when every step is done or skipped."""

    @property
    def reportable(self) -> Any:
        """The new assessment's conclusion (True, False or None), None when nothing was re-assessed."""
        return self.assessment.get("reportable") if self.assessment else None


def step_progress(ctx: Context, record: Record) -> Progress:
    """Each step of the incident's response playbook (the store's own playbooks first) with its state."""
    playbook = load_response(str(record.get("type")), ctx.playbook_dirs)
    return progress(playbook, record, ctx.tz)


def reassess(ctx: Context, result: StepResult, actor: str) -> tuple[Assessed, list[str]]:
    """Save a new assessment as `incident assess` does; what the step changed (before vs. after it)."""
    incident_id = result.after.id
    old = ctx.assessor.assess(result.before).to_json(incident_id)
    new = assess_and_save(ctx, incident_id, actor=actor)
    return new, diff_assessments(old, new)


def take_step(ctx: Context, incident_id: str, step_id: str, state: str, *, actor: str,
              at: datetime | None = None, note: str = "", reason: str = "", value: Any = None) -> StepTaken:
    """Record a step as done (settling its fact, then re-assessing) or skipped with a reason."""
    if state == "done" and reason.strip():
        raise InputError(_("--reason is for skip; use --note for a remark on a done step"), field="--reason")
    result = record_step(ctx, incident_id, step_id, state, actor=actor, at=at, note=note, reason=reason,
                         value=value)
    new: Assessed | None = None
    changes: list[str] = []
    if result.settled:
        new, changes = reassess(ctx, result, actor)
    return StepTaken(result, new, changes, step_progress(ctx, ctx.store.load(incident_id)).next)
