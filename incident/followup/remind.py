"""Deadline reminders: who must act, on what, by when — e-mailed once per deadline and threshold.

Run from cron or the Windows Task Scheduler (`incident remind --send`), it looks at every incident that
is not closed: its open obligations (assessed afresh), its open corrective actions and its overdue
response steps. An item is due for a reminder when its days left reach a threshold (`--days 7,1`: a
week before and the day before), when it is overdue, or — an obligation with no date in law, such as
the notice to individuals (速やかに) — once. Who is reminded: an action's owner; the privacy desk
(`privacy-desk` in `[people]`) for the reports to a regulator; the incident's department for anything
else (the privacy desk when it has none). Reminders are grouped into one message per person, each sent
to that person alone through the store's SMTP settings, and every message sent is recorded in the
audit log (action `remind.sent`, with the keys of its reminders). A reminder whose key — person,
incident, item, due date and threshold — is in the log is never sent again, so a run a day later sends
only what is new, and an action given to a new owner reminds the new owner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from incident import dates
from incident.errors import InputError
from incident.followup.actions import list_actions
from incident.followup.people import PRIVACY_DESK, address_of, name_key, people
from incident.followup.reports import render_template
from incident.followup.steps import overdue_steps
from incident.fsutil import file_lock
from incident.i18n import _
from incident.law.tracking import collect_open
from incident.notices.batch import OutgoingMessage
from incident.notices.items import KINDS
from incident.register.backend import RegisterStore

if TYPE_CHECKING:
    from incident.law.context import Context

ItemKind = Literal["obligation", "action", "step"]
DEFAULT_DAYS = (7, 1)
AUDIT_ACTION = "remind.sent"
KIND_JA = {"obligation": "報告・通知", "action": "是正措置", "step": "初動対応"}


@dataclass(frozen=True)
class Item:
    """One thing someone must do, due now by a threshold."""

    kind: ItemKind
    incident: str
    title: str
    ref: str
    """`regime/obligation`, the action id (A1) or the step id."""
    what: str
    due: date | datetime | None
    days_left: int | None
    overdue: bool
    who: str
    """The name reminded: the owner, the department or `privacy-desk`."""
    threshold: str
    """The threshold reached: a number of days, `overdue`, or `undated` (no date in law)."""
    hint: str
    """The command that records it done."""
    what_en: str = ""
    """`what` in English where the playbook gives it (a response step's title); `what` is Japanese."""

    @property
    def key(self) -> str:
        due = self.due.isoformat() if self.due is not None else "-"
        return "|".join((name_key(self.who), self.incident, self.kind, self.ref, due, self.threshold))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "incident": self.incident, "title": self.title, "ref": self.ref,
                "what": self.what, "what_en": self.what_en or None, "due": self.due.isoformat() if self.due is not None else None,
                "days_left": self.days_left, "overdue": self.overdue, "who": self.who, "threshold": self.threshold,
                "key": self.key}


@dataclass(frozen=True)
class Message:
    """The reminders of one person, to be sent in one message."""

    who: str
    address: str | None
    """None when `[people]` lists no address for this name."""
    items: tuple[Item, ...]
    sent: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    today: date
    days: tuple[int, ...]
    messages: tuple[Message, ...]
    already: int
    """Reminders left out because they were sent before."""
    skipped: tuple[str, ...] = field(default=())
    """Incidents that could not be assessed (named with the reason)."""


def parse_days(text: str) -> tuple[int, ...]:
    """`7,1` -> (7, 1): whole numbers of days, 0 or more, largest first."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise InputError(_("expected days before the deadline as whole numbers, e.g. 7,1; got {text!r}")
                             .format(text=text),
                             field="--days")
        values.append(int(part))
    return tuple(sorted(set(values), reverse=True))


def threshold(days_left: int | None, overdue: bool, days: Sequence[int]) -> str | None:
    """The threshold reached (None: not yet)."""
    if overdue:
        return "overdue"
    if days_left is None:
        return "undated"
    reached = [d for d in days if days_left <= d]
    return str(min(reached)) if reached else None


def _regulator_obligations() -> frozenset[str]:
    return frozenset(ob for spec in KINDS.values() if spec.audience in ("regulator", "authority")
                     for ob in spec.obligations)


def collect(ctx: Context, *, now: datetime, days: Sequence[int], skipped: list[str] | None = None) -> list[Item]:
    """Every item of the register that has reached a threshold, soonest first."""
    store = ctx.store

    today = dates.to_local_date(now, ctx.tz)
    records = [r for r in store.records() if r.status != "closed"]
    department = {r.id: str(r.get("department", "")) for r in records}
    titles = {r.id: str(r.get("title", "")) for r in records}
    regulator = _regulator_obligations()
    items: list[Item] = []

    def skip(incident_id: str, exc: InputError) -> None:
        if skipped is not None:
            skipped.append(f"{incident_id}: {exc}")

    for ob in collect_open(ctx, on_skip=skip):
        reached = threshold(ob.days_left, ob.overdue, days)
        if reached is None:
            continue
        who = PRIVACY_DESK if ob.id in regulator else (department.get(ob.incident) or PRIVACY_DESK)
        items.append(Item("obligation", ob.incident, ob.title, f"{ob.regime}/{ob.id}", f"{ob.label}（{ob.recipient}）",
                          ob.due, ob.days_left, ob.overdue, who, reached, f"incident done {ob.incident} {ob.id}"))
    for action in list_actions(records, today=today, state="open"):
        left = (action.due - today).days
        reached = threshold(left, action.overdue(today), days)
        if reached is not None:
            items.append(Item("action", action.incident, titles.get(action.incident, ""), action.id, action.measure, action.due, left,
                              action.overdue(today), action.owner, reached,
                              f"incident action done {action.aid} --evidence TEXT"))
    for late in overdue_steps(ctx, now):
        step = late.view.step
        items.append(Item("step", late.incident, late.title, step.id, step.title_ja,
                          late.view.due, None, True, late.department or PRIVACY_DESK, "overdue",
                          f"incident step {late.incident} {step.id} done", what_en=step.title_en))
    return items


def sent_keys(store: RegisterStore) -> set[str]:
    """The keys of every reminder sent before (from the audit log)."""
    keys: set[str] = set()
    for entry in store.audit_entries():
        if entry.get("action") == AUDIT_ACTION:
            keys.update(str(k) for k in entry.get("changes", {}).get("keys", []))
    return keys


def plan(ctx: Context, *, days: Sequence[int] = DEFAULT_DAYS, now: datetime | None = None) -> Plan:
    """What a run would send: the new reminders grouped per person (nothing is sent or written)."""
    store = ctx.store
    moment = now or ctx.now()
    skipped: list[str] = []
    items = collect(ctx, now=moment, days=days, skipped=skipped)
    done = sent_keys(store)
    table = people(ctx)
    fresh = [i for i in items if i.key not in done]
    grouped: dict[str, list[Item]] = {}
    names: dict[str, str] = {}
    for item in sorted(fresh, key=lambda i: (_when(i.due, moment), i.incident, i.kind, i.ref)):
        grouped.setdefault(name_key(item.who), []).append(item)
        names.setdefault(name_key(item.who), item.who)
    messages = tuple(Message(who=names[k], address=address_of(table, names[k]), items=tuple(v))
                     for k, v in sorted(grouped.items(), key=lambda kv: names[kv[0]]))
    return Plan(today=dates.to_local_date(moment, ctx.tz), days=tuple(days), messages=messages,
                already=len(items) - len(fresh), skipped=tuple(skipped))


def _when(due: date | datetime | None, now: datetime) -> datetime:
    """A due date as an instant for ordering (a date at its start; undated last)."""
    if isinstance(due, datetime):
        return due
    if isinstance(due, date):
        return datetime(due.year, due.month, due.day, tzinfo=now.tzinfo)
    return datetime.max.replace(tzinfo=now.tzinfo)


def render(ctx: Context, message: Message, today: date) -> tuple[str, str]:
    """(subject, body) of a reminder message, from templates/reports/reminder.txt.j2."""
    def when(item: Item) -> dict[str, str]:
        if item.due is None:
            return {"due": "期限の定めなし（速やかに）", "left": ""}
        if isinstance(item.due, datetime):
            shown = item.due.astimezone(ZoneInfo(ctx.tz)).strftime("%Y-%m-%d %H:%M")
        else:
            shown = f"{item.due.isoformat()}（{dates.era_date(item.due)}）"
        if item.overdue:
            late = (today - dates.to_local_date(item.due, ctx.tz) if isinstance(item.due, datetime)
                    else today - item.due).days
            return {"due": shown, "left": f"{late}日超過" if late > 0 else "期限超過"}
        return {"due": shown, "left": f"あと{item.days_left}日" if item.days_left else "本日まで"}

    context = {
        "organization": ctx.config.organization, "who": message.who, "today": dates.era_date(today),
        "count": len(message.items),
        "items": [{"kind": KIND_JA[i.kind], "incident": i.incident, "title": i.title, "what": i.what,
                   "hint": i.hint, **when(i)} for i in message.items],
    }
    text = render_template("reminder.txt.j2", context, extra_dirs=ctx.template_dirs)
    first, _unused, body = text.partition("\n")
    if not first.startswith("件名:"):
        raise InputError(_("the reminder template must start with a line 件名: SUBJECT"), file="reminder.txt.j2")
    return first.removeprefix("件名:").strip(), body.lstrip("\n")


def send(ctx: Context, reminders: Plan, *, actor: str, password: str | None,
         tls_context: Any = None) -> tuple[Message, ...]:
    """Send each person's message (one recipient per message) and log it; the messages with their outcome.

    A person without an address in `[people]` is not sent to (and nothing is logged for them, so the
    reminders go out once the address is set). Runs hold a lock of their own, so two runs at once never
    send the same reminder twice.
    """
    from incident.notices.delivery import SmtpSettings, send_each

    store = ctx.store
    settings = SmtpSettings.from_config(ctx.config.smtp, file=store.root / "config.toml")
    out: list[Message] = []
    with file_lock(store.root / ".remind.lock"):
        done = sent_keys(store)  # again, under the lock: another run may have sent since the plan
        for message in reminders.messages:
            items = tuple(i for i in message.items if i.key not in done)
            if not items:
                continue
            message = Message(message.who, message.address, items)
            if message.address is None:
                out.append(message)
                continue
            subject, body = render(ctx, message, reminders.today)
            stamp = hashlib.sha256("\n".join(i.key for i in items).encode()).hexdigest()[:12]
            outgoing = OutgoingMessage(recipient_key=f"remind-{stamp}", to_addr=message.address,
                                       to_name=message.who, subject=subject, body=body)
            [error] = send_each(settings, password, [(f"remind-{reminders.today.isoformat()}", outgoing)],
                                tls_context=tls_context)
            if error is None:
                store.log(actor, AUDIT_ACTION, None, {"to": message.who, "count": len(items),
                                                      "keys": [i.key for i in items],
                                                      "incidents": sorted({i.incident for i in items})})
                done.update(i.key for i in items)
            out.append(Message(message.who, message.address, items, sent=error is None, error=error))
    return tuple(out)


def unresolved(messages: Iterable[Message]) -> list[str]:
    """The names that have reminders but no address."""
    return [m.who for m in messages if m.address is None]
