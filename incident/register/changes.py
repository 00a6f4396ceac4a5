"""Register operations: record, change, log and move incidents through their states.

The CLI calls these; each one validates fully and runs under the store's lock (through
`Store.create` / `Store.update`), so a refused change writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from incident import dates
from incident.errors import InputError, RefusedError
from incident.i18n import _
from incident.register import enums
from incident.register import record as rec
from incident.register.backend import RegisterStore
from incident.register.sections import TOOL_WRITTEN

STATUS_ORDER = {s: i for i, s in enumerate(enums.STATUSES)}


def parse_assignment(text: str) -> tuple[str, str]:
    """`KEY=VALUE` from `incident set`."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(_("expected KEY=VALUE, got {text!r}").format(text=text), field="KEY=VALUE")
    return key, value


def parse_item_spec(text: str) -> dict[str, Any]:
    """`--item NAME[:encrypted[:key-compromised]]` as a [[data]] table."""
    name, *flags = [p.strip() for p in text.replace("：", ":").split(":")]
    if name.casefold() == rec.FREE_ITEM and flags:  # other:LABEL[:encrypted...] is one free item
        name = f"{name}:{flags.pop(0)}"
    table: dict[str, Any] = {"item": name}
    for flag in flags:
        normalized = flag.lower().replace("_", "-")
        if normalized in ("encrypted", "暗号化"):
            table["encrypted"] = True
        elif normalized in ("key-compromised", "鍵漏えい"):
            table["key_compromised"] = True
        else:
            raise InputError(_("unknown flag {flag!r} in {text!r}; use NAME, NAME:encrypted or NAME:encrypted:key-compromised")
                             .format(flag=flag, text=text), field="--item")
    return table


def build_raw(base: Mapping[str, Any], assignments: Mapping[str, Any],
              items: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Merge command-line values over a record table (flags win), rejecting keys the store manages."""
    raw = dict(base)
    for key, value in assignments.items():
        spec = rec.FIELD_BY_NAME.get(key)
        if spec is None:
            raise InputError(_("unknown key; valid keys: {join}")
                             .format(join=', '.join(f.name for f in rec.settable_fields())),
                             field=key)
        if spec.managed:
            raise InputError(_("is managed by the store and cannot be set"), field=key)
        raw[key] = value
    if items:
        raw["data"] = [*raw.get("data", []), *items]
    return raw


def new_incident(store: RegisterStore, raw: Mapping[str, Any], *, actor: str, at: datetime | None = None,
                 file: str | None = None) -> rec.Record:
    """Record a new incident from a record table (a file's content plus flags); `file` names it in errors."""
    for key in ("id", "created_at", "updated_at"):
        if key in raw:
            raise InputError(_("is assigned by the store; leave it out"), file=file, field=key)
    if raw.get("status", "open") != "open":
        raise InputError(_("a new incident starts open; leave status out and move it with `incident status`"),
                         file=file, field="status")
    for name in TOOL_WRITTEN:
        if name in raw:
            raise InputError(_("[{name}] is written by the toolkit as the incident is handled; leave it out of a new record")
                             .format(name=name), file=file, field=name)
    raw = dict(raw)
    raw.setdefault("entity", store.config.entity)
    if "type" in raw and "event" not in raw:
        type_id = raw["type"]
        if isinstance(type_id, str) and type_id in store.vocabulary.default_events:
            raw["event"] = store.vocabulary.default_events[type_id]
    record = rec.from_mapping(raw, vocab=store.vocabulary, tz=store.tz, file=file)
    return store.create(record, actor=actor, at=at)


def set_fields(store: RegisterStore, incident_id: str, assignments: Mapping[str, str], *, actor: str) -> rec.Record:
    """`incident set ID KEY=VALUE…`: each value coerced by the field's type; `KEY=` clears an optional key."""
    def change(old: rec.Record) -> rec.Record:
        updates: dict[str, Any] = {}
        for key, value in assignments.items():
            spec = rec.FIELD_BY_NAME.get(key)
            if spec is None:
                raise InputError(
                    _("unknown key; valid keys: {join}")
                    .format(join=', '.join(f.name for f in rec.settable_fields())), field=key)
            if spec.managed:
                how = _("use `incident status`") if key == "status" else _("it is managed by the store")
                raise InputError(_("cannot be set here; {how}").format(how=how), field=key)
            if value == "" and spec.kind not in ("str", "text"):
                if spec.required:
                    raise InputError(_("is required and cannot be cleared"), field=key)
                updates[key] = None
                continue
            updates[key] = rec.coerce(spec, value, tz=store.tz, file=None, vocab=store.vocabulary)
        return old.with_facts(**updates)

    return store.update(incident_id, change, actor=actor, action="set")


def add_event(store: RegisterStore, incident_id: str, text: str, *, actor: str, at: datetime | None = None,
              kind: str = "note") -> rec.Record:
    """`incident log ID TEXT [--at]`: a dated event on the timeline."""
    if not text.strip():
        raise InputError(_("the event text is empty"), field="TEXT")
    moment = at or dates.now(store.tz)
    event = rec.Event(at=moment, text=text.strip(), actor=actor, kind=kind)
    return store.update(incident_id, lambda r: r.with_event(event), actor=actor, action="log",
                        extra={"event": {"at": moment.isoformat(), "text": event.text, "kind": kind}})


def change_status(store: RegisterStore, incident_id: str, status: str, *, actor: str, force: bool = False,
                  reason: str = "", close_blockers: Callable[[rec.Record], list[str]]) -> rec.Record:
    """open → contained → reported → closed; closing is refused while `close_blockers` names anything
    (they are the follow-up stage's to say: incident.followup.closing), unless forced."""
    if status not in enums.STATUSES:
        raise InputError(_("{status!r} is not valid; expected one of: {join}")
                         .format(status=status, join=', '.join(enums.STATUSES)), field="STATUS")
    if force and not reason.strip():
        raise InputError(_("--force needs --reason TEXT (it is logged)"), field="--reason")

    def change(old: rec.Record) -> rec.Record:
        current = old.status
        if status == current:
            raise RefusedError(_("{incident_id} is already {status}")
                               .format(incident_id=incident_id, status=status))
        if STATUS_ORDER[status] < STATUS_ORDER[current] and not force:
            raise RefusedError(_("{incident_id} is {current}; moving back to {status} needs --force --reason TEXT")
                               .format(incident_id=incident_id, current=current, status=status))
        if status == "closed" and not force:
            blockers = close_blockers(old)
            if blockers:
                raise RefusedError(_("{incident_id} cannot be closed: {blockers} (or close anyway with --force "
                                     "--reason TEXT)").format(incident_id=incident_id, blockers="; ".join(blockers)))

        note = f"状態を {current} から {status} に変更" + (f"（理由: {reason.strip()}）" if reason.strip() else "")
        updated = old.with_facts(status=status)
        return replace(updated, timeline=updated.with_event(
            rec.Event(at=dates.now(store.tz), text=note, actor=actor, kind="status")).timeline)

    extra = {"forced": True, "reason": reason.strip()} if force else None
    return store.update(incident_id, change, actor=actor, action="status", extra=extra)
