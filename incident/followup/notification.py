"""The notice to the people affected (本人への通知), done by the register itself once it is delivered.

The register already knows when everyone has been told: an approved e-mail batch sent to every
person in it (the record's `sending` section), and letter print runs marked mailed (`incident notice
ID --mark-mailed --at DATE`, an entry of the `notices` section). When everyone is covered — every
e-mail of the batch sent and nobody left without an address, or the remainder handed explicitly to
letters by marking a print run mailed — the obligations those notices fulfil (`individual-notice`,
GDPR's `data-subjects`) are marked done with the date, the count and the method (email, letter or
both), and `response_to_individuals` (本人への対応の実施状況) is filled from that record unless the
officer wrote it. An obligation the officer marked done by hand is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from incident import dates
from incident.errors import InputError, NotFoundError, RefusedError
from incident.i18n import _
from incident.law.tracking import done_entry
from incident.notices.items import KINDS
from incident.register import record as rec
from incident.register import sections

if TYPE_CHECKING:
    from incident.law.context import Context

Method = Literal["email", "letter", "both"]
METHOD_JA: Mapping[Method, str] = {"email": "電子メール", "letter": "書面（郵送）", "both": "電子メール及び書面（郵送）"}
#: the `source` of an obligation entry this module wrote (anything else was recorded by hand)
SOURCES = ("send", "mark-mailed")


@dataclass(frozen=True)
class Completion:
    """The notice obligations marked done, and how."""

    obligations: tuple[str, ...]
    """`regime/obligation` keys marked done (or updated) now."""
    at: datetime
    method: Method
    count: int
    email: int
    letters: int
    filled: str | None
    """The text written into response_to_individuals, or None when the officer's own text was kept."""


@dataclass(frozen=True)
class Delivery:
    """What the record says was delivered to the people affected."""

    email_sent: int
    email_complete: bool
    """Every message of the approved batch was sent."""
    email_at: datetime | None
    email_kind: str | None
    no_email: int
    """People of the roster left out of the batch for want of an address."""
    letters: int
    letters_at: datetime | None
    letter_kinds: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.letters_at is not None or (self.email_complete and self.no_email == 0)


def _letter_kind(kind: Any) -> bool:
    spec = KINDS.get(str(kind))
    return spec is not None and spec.per_person and not spec.email


def _mailed(record: rec.Record) -> list[sections.NoticeEntry]:
    """The letter print runs of the record that were marked mailed."""
    return [n for n in sections.notices_of(record.sections) if n.mailed_at is not None and _letter_kind(n.kind)]


def delivery_of(record: rec.Record) -> Delivery:
    sending = sections.sending_of(record.sections)
    mailed = _mailed(record)
    letters_at = max((n.mailed_at for n in mailed if n.mailed_at is not None), default=None)
    return Delivery(
        email_sent=sending.sent or 0 if sending else 0, email_complete=sending is not None and sending.state == "sent",
        email_at=sending.last_run_at if sending else None, email_kind=sending.kind or None if sending else None,
        no_email=sending.no_email or 0 if sending else 0, letters=sum(n.count or 0 for n in mailed),
        letters_at=letters_at, letter_kinds=tuple(dict.fromkeys(n.kind for n in mailed)))


def _obligations(ctx: Context, record: rec.Record, kinds: tuple[str, ...]) -> list[str]:
    """`regime/obligation` of the incident's obligations (assessed afresh) that these notice kinds fulfil."""
    data = ctx.assessor.assess(record).obligations_json(record.id)
    found: list[str] = []
    for kind in kinds:
        spec = KINDS[kind]
        for regime in data["assessments"]:
            if spec.regimes and regime["regime"] not in spec.regimes:
                continue
            found += [f"{regime['regime']}/{o['id']}" for o in regime["obligations"] if o["id"] in spec.obligations]
    return list(dict.fromkeys(found))


def _completed(ctx: Context, record: rec.Record, source: str) -> tuple[rec.Record, Completion | None]:
    """The record with its notice obligations marked done when everyone is covered (else unchanged)."""
    delivery = delivery_of(record)
    if not delivery.complete:
        return record, None
    kinds = tuple(k for k in (delivery.email_kind, *delivery.letter_kinds) if k)
    keys = _obligations(ctx, record, kinds)
    method: Method = "both" if delivery.email_sent and delivery.letters_at else (
        "letter" if delivery.letters_at else "email")
    count = delivery.email_sent + delivery.letters
    roster = sections.roster_of(record.sections)
    if method == "both" and roster is not None:
        count = min(count, roster.count)  # a print run for everyone also reaches those e-mailed
    at = max(t for t in (delivery.email_at, delivery.letters_at) if t is not None)
    entries = {key: done_entry(record, key) for key in keys}
    mine = [k for k, e in entries.items() if e is None or e.source in SOURCES]
    if not mine:
        return record, None
    previous_texts = {e.filled for e in entries.values() if e and e.filled}
    current = record.get("response_to_individuals", "")
    text = (f"{dates.era_date(dates.to_local_date(at, ctx.tz))}までに、本人{count:,}名に"
            f"{METHOD_JA[method]}で通知した。")
    filled = text if not str(current).strip() or current in previous_texts else None
    before = sections.obligations_of(record.sections)
    done = before
    for key in mine:
        regime, ob_id = key.split("/", 1)
        previous = entries[key]
        done = sections.with_done(done, regime, ob_id, sections.DoneEntry(
            done_at=at.replace(microsecond=0), method=method, count=count, email=delivery.email_sent,
            letters=delivery.letters, source=source, filled=filled or (previous.filled if previous else None)))
    if done == before and not (filled and filled != current):
        return record, None  # recorded already (a resumed run with nothing left to send)
    record = record.with_section("obligations", done.to_toml())
    if filled:
        record = record.with_facts(response_to_individuals=filled)
    return record, Completion(obligations=tuple(mine), at=at, method=method, count=count, email=delivery.email_sent,
                              letters=delivery.letters, filled=filled)


def after_send(ctx: Context, incident_id: str, *, actor: str) -> Completion | None:
    """After a send run: mark the notice obligations done when the batch reached everyone."""
    result: dict[str, Completion | None] = {"done": None}
    audit: dict[str, Any] = {}

    def change(old: rec.Record) -> rec.Record:
        new, result["done"] = _completed(ctx, old, "send")
        if result["done"] is not None:
            audit.update(_audit(result["done"]))
        return new

    ctx.store.update(incident_id, change, actor=actor, action="notice.complete", extra=audit)
    return result["done"]


def mark_mailed(ctx: Context, incident_id: str, *, at: datetime, actor: str) -> tuple[dict[str, Any], Completion | None]:
    """`incident notice ID --mark-mailed --at DATE`: the latest letter print run was posted.

    Refused for a date in the future, when no print run is recorded, or when it was marked already.
    Returns the print run's entry and the completion it brought, if any.
    """
    if at > ctx.now() + rec.FUTURE_SKEW:
        raise InputError(_("{isoformat} is in the future; mark the letters mailed once they are posted")
                         .format(isoformat=at.isoformat()),
                         field="--at")
    found: dict[str, Any] = {}
    audit: dict[str, Any] = {}

    def change(old: rec.Record) -> rec.Record:
        notices = list(sections.notices_of(old.sections))
        runs = [i for i, n in enumerate(notices) if _letter_kind(n.kind) and n.count and not n.draft]
        if not runs:
            raise NotFoundError(_("no letter print run of {incident_id} is recorded; render the letters first (`incident notice {incident_id} --kind individual-letter --roster --out DIR`)")
                                .format(incident_id=incident_id),
                                field="--mark-mailed")
        last = notices[runs[-1]]
        if last.mailed_at is not None:
            raise RefusedError(_("the print run of {value} ({count} letters) was marked mailed on {isoformat}; render a new print run for more letters")
                               .format(value=last.at.isoformat(), count=last.count, isoformat=last.mailed_at.isoformat()))
        last = notices[runs[-1]] = replace(last, mailed_at=at.replace(microsecond=0), mailed_by=actor)
        found.update(last.to_toml())
        audit.update({"kind": last.kind, "count": last.count, "sha256": last.sha256, "mailed_at": at.isoformat()})
        new, done = _completed(ctx, old.with_section("notices", [n.to_toml() for n in notices]), "mark-mailed")
        found["completion"] = done
        if done is not None:
            audit["completed"] = _audit(done)
        return new

    ctx.store.update(incident_id, change, actor=actor, action="notice.mailed", extra=audit)
    completion = found.pop("completion")
    return found, completion


def _audit(done: Completion) -> dict[str, Any]:
    return {"obligations": list(done.obligations), "method": done.method, "count": done.count,
            "done_at": done.at.isoformat(), "filled_response": done.filled is not None}
