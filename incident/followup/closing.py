"""Closing an incident: what still stands in the way, checked afresh at the moment of closing.

An incident closes only when the law is satisfied and the follow-up is finished: the assessment is
made afresh (so an incident that was never assessed cannot slip from `open` to `closed` unchecked),
every obligation it gives is done, every corrective action is done or verified, and every item of
the post-incident review is answered. `--force --reason` overrides, and is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from incident.errors import InputError
from incident.followup.actions import actions_of
from incident.followup.review import review_of
from incident.i18n import _
from incident.law.deadlines import is_done
from incident.register import record as rec
from incident.register.changes import change_status
from incident.register.sections import obligations_of

if TYPE_CHECKING:
    from incident.law.context import Context
    from incident.law.rules import Assessor
    from incident.law.taxonomy import Taxonomy


def close_blockers(ctx: Context) -> Callable[[rec.Record], list[str]]:
    """The check `change_status` runs on the record as it is under the lock."""
    taxonomy = ctx.taxonomy

    def blockers(record: rec.Record) -> list[str]:
        return [*_obligations(ctx.assessor, record), *_actions(record), *_review(record, taxonomy)]

    return blockers


def _obligations(assessor: Assessor, record: rec.Record) -> list[str]:
    try:
        data = assessor.assess(record).to_json(record.id)
    except InputError as exc:
        return [_("the incident cannot be assessed ({exc})").format(exc=exc)]
    found: list[str] = []
    done = obligations_of(record.sections).done
    for regime in data["assessments"]:
        if regime["reportable"] is None:
            missing = ", ".join(regime["missing"]) or _("facts")
            found.append(_("under {regime} it is undetermined whether a report is due (missing: {missing}; "
                           "`incident set {id} KEY=VALUE`)").format(regime=regime["regime"], missing=missing,
                                                                    id=record.id))
        for ob in regime["obligations"]:
            if not is_done(done, regime["regime"], ob["id"]):
                found.append(_("obligation {regime}/{obligation} is not done (`incident done {id} {obligation}`)")
                             .format(regime=regime["regime"], obligation=ob["id"], id=record.id))
    return found


def _actions(record: rec.Record) -> list[str]:
    return [_("corrective action {aid} is {state}").format(aid=a.aid, state=_(a.state))
            for a in actions_of(record) if a.state == "open"]


def _review(record: rec.Record, taxonomy: Taxonomy) -> list[str]:
    if not record.get("type"):
        return [_("the incident has no type, so its review cannot be made")]
    review = review_of(record, taxonomy)
    left = len(review.items) - review.answered
    if not left:
        return []
    return [_("the post-incident review has {left} unanswered item(s) of {count} (`incident review {id}`)")
            .format(left=left, count=len(review.items), id=record.id)]


def set_status(ctx: Context, incident_id: str, status: str, *, actor: str, force: bool = False,
               reason: str = "") -> rec.Record:
    """`incident status ID STATUS`: the register's state change with the follow-up's closing checks."""
    return change_status(ctx.store, incident_id, status, actor=actor, force=force, reason=reason,
                         close_blockers=close_blockers(ctx))
