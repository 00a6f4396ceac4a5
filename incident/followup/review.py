"""The post-incident review (事後検証): the checklist for the incident's type and cause, answered item by item.

The record's `review` section keeps `started_at`, `completed_at` and one table per answered item under
`answers` (answer yes | no | na, note, at, actor). Each answer is saved on its own, so an interrupted
review resumes at the first unanswered item. An item answered "no" can become a corrective action in
the same step (source `review:<item>`); the minutes are exported as Markdown through a template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from incident import dates
from incident.errors import InputError
from incident.followup.actions import (
    REVIEW_SOURCE_PREFIX,
    Action,
    NewAction,
    actions_of,
    build_action,
    ensure_contractor_action,
    with_actions,
)
from incident.followup.contractor_report import load_contractor_report
from incident.followup.reports import render_template
from incident.i18n import _
from incident.law.taxonomy import ChecklistItem, Taxonomy, load_taxonomy
from incident.register import record as rec
from incident.register import sections
from incident.text import normalize

if TYPE_CHECKING:
    from incident.law.context import Context

Answer = Literal["yes", "no", "na"]
ANSWERS: tuple[Answer, ...] = get_args(Answer)
_ALIASES: Mapping[str, Answer] = {
    "yes": "yes", "y": "yes", "はい": "yes", "済": "yes", "ok": "yes",
    "no": "no", "n": "no", "いいえ": "no", "未": "no",
    "na": "na", "n/a": "na", "-": "na", "該当なし": "na", "対象外": "na",
}


def parse_answer(text: str, *, field: str = "--answer") -> Answer:
    """yes | no | na (also y, n, n/a, はい, いいえ, 該当なし)."""
    found = _ALIASES.get(normalize(text).strip().casefold())
    if found is None:
        raise InputError(_("{text!r} is not an answer; expected yes, no or na (not applicable)")
                         .format(text=text), field=field)
    return found


def parse_item_answer(text: str) -> tuple[str, Answer]:
    """`ITEM=yes` from `--answer`."""
    item, sep, value = text.partition("=")
    if not sep or not item.strip():
        raise InputError(_("expected ITEM=yes|no|na, got {text!r}").format(text=text), field="--answer")
    return item.strip(), parse_answer(value)


@dataclass(frozen=True)
class ReviewAnswer:
    """One answered checklist item."""

    item: str
    answer: Answer
    note: str
    at: datetime
    actor: str


@dataclass(frozen=True)
class ReviewItem:
    """A checklist question with its answer (None while unanswered) and the action that tracks a "no"."""

    question: ChecklistItem
    answer: ReviewAnswer | None
    action: str | None


@dataclass(frozen=True)
class Review:
    """The review of one incident, against the checklist of its current type and cause."""

    incident: str
    type: str
    cause: str
    items: tuple[ReviewItem, ...]
    retired: tuple[ReviewAnswer, ...]
    """Answers to questions the current checklist no longer has (the type or cause changed)."""
    started_at: datetime | None
    completed_at: datetime | None

    @property
    def answered(self) -> int:
        return sum(1 for item in self.items if item.answer is not None)

    @property
    def complete(self) -> bool:
        return self.answered == len(self.items)

    def next_item(self) -> ReviewItem | None:
        """The first unanswered question: where an interrupted review resumes."""
        return next((item for item in self.items if item.answer is None), None)

    def to_json(self) -> dict[str, Any]:
        def answer_json(a: ReviewAnswer | None) -> dict[str, Any]:
            if a is None:
                return {"answer": None, "note": None, "at": None, "actor": None}
            return {"answer": a.answer, "note": a.note or None, "at": a.at.isoformat(), "actor": a.actor}

        return {
            "incident": self.incident, "type": self.type, "cause": self.cause or None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "answered": self.answered, "total": len(self.items), "complete": self.complete,
            "items": [{"id": i.question.id, "ja": i.question.ja, "en": i.question.en, **answer_json(i.answer),
                       "action": i.action} for i in self.items],
            "retired": [{"id": a.item, **answer_json(a)} for a in self.retired],
        }


# --------------------------------------------------------------------------- reading


def answers_of(record: rec.Record) -> dict[str, ReviewAnswer]:
    """The stored answers (the `review` section, validated on load)."""
    return {item: ReviewAnswer(item=item, answer=cast(Answer, a.answer), note=a.note, at=a.at, actor=a.actor)
            for item, a in sections.review_of(record.sections).answers.items()}


def checklist_for(record: rec.Record, taxonomy: Taxonomy) -> tuple[ChecklistItem, ...]:
    """The type's questions, then the cause's."""
    type_id = record.get("type", "")
    if not type_id:
        raise InputError(_("{id} has no type; set it first (`incident set {id} type=…`)")
                         .format(id=record.id),
                         field="type")
    return taxonomy.checklist(type_id, record.get("cause_category") or None)


def review_of(record: rec.Record, taxonomy: Taxonomy) -> Review:
    answers = answers_of(record)
    tracked = {a.source[len(REVIEW_SOURCE_PREFIX):]: a.id for a in actions_of(record)
               if a.source.startswith(REVIEW_SOURCE_PREFIX)}
    checklist = checklist_for(record, taxonomy)
    ids = {q.id for q in checklist}
    section = sections.review_of(record.sections)
    return Review(
        incident=record.id, type=record.get("type", ""), cause=record.get("cause_category", ""),
        items=tuple(ReviewItem(question=q, answer=answers.get(q.id), action=tracked.get(q.id)) for q in checklist),
        retired=tuple(a for item, a in answers.items() if item not in ids),
        started_at=section.started_at, completed_at=section.completed_at,
    )


def load_review(ctx: Context, incident_id: str) -> Review:
    return review_of(ctx.store.load(incident_id), ctx.taxonomy)


# --------------------------------------------------------------------------- answering


@dataclass(frozen=True)
class AnswerResult:
    review: Review
    action: Action | None
    """The corrective action tracking this "no" (new or already there), when one was asked for."""
    action_created: bool
    contractor: Action | None
    """The improvement-report action added along the way, if any."""


def record_answer(ctx: Context, incident_id: str, item_id: str, answer: Answer, *, note: str = "",
                  actor: str, at: datetime | None = None, action: NewAction | None = None) -> AnswerResult:
    """Save one answer (and, for a "no", optionally its corrective action) in one locked update."""
    if action is not None and answer != "no":
        raise InputError(_("only an item answered no becomes a corrective action (this one is {answer})")
                         .format(answer=answer),
                         field="--answer")
    if "\n" in item_id:
        raise InputError(_("must be a single checklist item id"), field="--answer")
    moment = (at or ctx.now()).replace(microsecond=0)
    taxonomy = ctx.taxonomy
    playbook = load_contractor_report(ctx.playbook_dirs)
    audit: dict[str, Any] = {"item": item_id, "answer": answer}
    result: dict[str, Any] = {"action": None, "created": False}

    def change(old: rec.Record) -> rec.Record:
        record, contractor = ensure_contractor_action(old, playbook, actor=actor, at=moment, tz=ctx.tz)
        result["contractor"] = contractor
        if contractor is not None:
            audit["contractor_action"] = contractor.id
        checklist = checklist_for(record, taxonomy)
        if item_id not in {q.id for q in checklist}:
            valid = ", ".join(q.id for q in checklist)
            raise InputError(_("{item_id!r} is not on the checklist of {id} ({type}{value}); valid: {valid}")
                             .format(item_id=item_id, id=record.id, type=record.get('type'), value='/' + record.get('cause_category') if record.get('cause_category') else '', valid=valid), field="--answer")
        answers = answers_of(record)
        answers[item_id] = ReviewAnswer(item=item_id, answer=answer, note=note.strip(), at=moment, actor=actor)
        before = sections.review_of(record.sections)
        complete = all(q.id in answers for q in checklist)
        section = sections.ReviewSection(
            answers={k: sections.AnswerEntry(answer=v.answer, at=v.at, actor=v.actor, note=v.note)
                     for k, v in answers.items()},
            started_at=before.started_at or moment, completed_at=(before.completed_at or moment) if complete else None)
        record = record.with_section("review", section.to_toml())
        if action is not None:
            source = f"{REVIEW_SOURCE_PREFIX}{item_id}"
            tracked = [a for a in actions_of(record) if a.source == source]
            if tracked:
                result["action"] = tracked[0]
            else:
                spec = NewAction(measure=action.measure, owner=action.owner, due=action.due, cause=action.cause,
                                 source=source)
                new = build_action(record, spec, actor=actor, at=moment, cause_ids=tuple(taxonomy.causes))
                result["action"], result["created"] = new, True
                audit["action"] = new.id
                record = with_actions(record, [*actions_of(record), new])
        return record

    saved = ctx.store.update(incident_id, change, actor=actor, action="review.answer", at=moment, extra=audit)
    return AnswerResult(review=review_of(saved, taxonomy), action=result["action"],
                        action_created=result["created"], contractor=result.get("contractor"))


# --------------------------------------------------------------------------- minutes


def export_markdown(record: rec.Record, review: Review, *, tz: str, extra_dirs: Sequence[Path] = (),
                    extra_playbooks: Sequence[Path] = ()) -> str:
    """The meeting minutes (検証記録) as Markdown, through templates/reports/review-minutes.md.j2.

    `extra_dirs` are the organization's template directories, `extra_playbooks` its playbook ones.
    """
    actions = {a.id: a for a in actions_of(record)}
    taxonomy = load_taxonomy(extra_playbooks)
    type_entry = taxonomy.types.get(review.type)
    cause_entry = taxonomy.causes.get(review.cause)

    def local(moment: datetime | None) -> str:
        return dates.era_date(dates.to_local_date(moment, tz)) if moment else ""

    context = {
        "incident": record.id, "title": record.get("title", ""), "department": record.get("department", ""),
        "type": review.type, "cause": review.cause,
        "type_label": type_entry.ja if type_entry else review.type,
        "cause_label": cause_entry.ja if cause_entry else review.cause,
        "started": local(review.started_at), "completed": local(review.completed_at),
        "answered": review.answered, "total": len(review.items),
        "items": [{
            "id": i.question.id, "ja": i.question.ja, "en": i.question.en,
            "answer": i.answer.answer if i.answer else "", "note": i.answer.note if i.answer else "",
            "actor": i.answer.actor if i.answer else "", "at": local(i.answer.at if i.answer else None),
            "action": _action_view(actions.get(i.action)) if i.action else None,
        } for i in review.items],
        "actions": [_action_view(a) for a in actions.values()],
    }
    return render_template("review-minutes.md.j2", context, extra_dirs=extra_dirs)


def _action_view(action: Action | None) -> dict[str, str] | None:
    if action is None:
        return None
    return {"id": action.id, "aid": action.aid, "measure": action.measure, "owner": action.owner,
            "due": dates.era_date(action.due), "state": action.state}
