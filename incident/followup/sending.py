"""The send workflow: e-mail the individual notices with a second person's approval (ダブルチェック).

`prepare` renders one e-mail per person of the roster into an encrypted batch (count, a sample, a
hash); `approve` is the double check by someone other than the preparer; `send` sends only an approved
batch whose hash still matches and whose approval is in a log that verifies, and with `resume` only what
was not sent; `status` reads the batch's journal. Every step writes the incident's `sending` section
(counts only, no addresses) and its audit entry. The batch and its journal are `incident.notices.batch`,
the SMTP run `incident.notices.delivery`; this module lives in `followup` because a send that reaches
everyone marks the notice obligations done (`incident.followup.notification`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from incident.errors import RefusedError
from incident.followup.notification import after_send, delivery_of
from incident.i18n import _
from incident.notices.batch import (
    approve_batch,
    batch_status,
    check_approver,
    check_logged_approval,
    load_manifest,
    prepare_batch,
    read_manifest,
    read_sample,
)
from incident.notices.issuing import ProgressFactory, no_progress, settings_of
from incident.notices.mailmerge import email_messages
from incident.notices.roster import iter_people
from incident.notices.roster_import import check_persons
from incident.notices.rosterfile import roster_info
from incident.register.sections import SendingSection, sending_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from incident.followup.notification import Completion
    from incident.law.context import Context
    from incident.notices.batch import BatchManifest, BatchStatus, OutgoingMessage
    from incident.notices.delivery import SendReport
    from incident.notices.roster import Person
    from incident.notices.roster_import import PersonsHook, PersonsMismatch
    from incident.register.actors import Identities
    from incident.register.backend import RegisterStore
    from incident.register.config import Config
    from incident.register.record import Record

#: the environment variable that holds the SMTP password where the OS has no keyring
PASSWORD_ENV = "INCIDENT_SMTP_PASSWORD"


@dataclass(frozen=True)
class Prepared:
    """A batch made by `prepare`."""

    manifest: BatchManifest
    sample: OutgoingMessage
    """The first message, for the approver to read."""
    kind: str
    lang: str
    no_email: int
    """People of the roster left out for want of an e-mail address."""
    persons: PersonsMismatch | None
    """The roster has more people than the record's `persons`."""


@dataclass(frozen=True)
class Approved:
    """A batch approved by `approve`."""

    manifest: BatchManifest
    sample: OutgoingMessage
    identities: Identities
    """How the approver was told apart from the preparer."""


@dataclass(frozen=True)
class Sent:
    """What one `send` run did and what the record now says."""

    report: SendReport
    status: BatchStatus | None
    """The batch's journal after the run (None for a dry run, which records nothing)."""
    completion: Completion | None
    """The notice obligations this run marked done (the batch reached everyone)."""
    letters_needed: int
    """Every e-mail is sent but this many people have no address and no letter is marked mailed yet."""
    identities: Identities | None = None
    """How the logged double check told the preparer and the approver apart (None: not checked this run)."""

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing was left unattempted."""
        return not self.report.failed and not self.report.stopped


def default_kind(record: Record) -> str:
    """The e-mail notice a batch renders unless told: to council members for a council, else to individuals."""
    return "council-email" if record.get("entity") == "council" else "individual-email"


def _section(store: RegisterStore, incident_id: str, changes: dict[str, Any], actor: str, action: str,
             extra: dict[str, Any], *, fresh: bool = False) -> None:
    """Update the `sending` section (a fresh one for a new batch) and log the step; the section is written
    by its serializer (incident.register.sections.SendingSection)."""
    values = {k: v for k, v in changes.items() if v is not None}

    def change(record: Record) -> Record:
        current = None if fresh else sending_of(record.sections)
        section = replace(current, **values) if current is not None else SendingSection(**values)
        return record.with_section("sending", section.to_toml())

    store.update(incident_id, change, actor=actor, action=action, extra=extra)


def prepare(ctx: Context, incident_id: str, *, actor: str, kind: str | None = None, lang: str | None = None,
            progress: ProgressFactory = no_progress, persons: PersonsHook | None = None) -> Prepared:
    """Render the roster's e-mails into a new batch (replacing an earlier one) and record it (`send-prepare`)."""
    from incident.notices.render import Renderer

    store = ctx.store
    record = store.load(incident_id)
    where = store.batch(incident_id)
    kind = kind or default_kind(record)
    path = store.roster_path(record.id)
    meta = roster_info(path)
    renderer = Renderer(settings_of(ctx), record, kind, lang, "txt")
    mismatch = check_persons(store, record, meta.count, actor, persons)
    counts = {"no_email": 0}
    key = store.roster_key()
    with progress("preparing", meta.count) as tick:
        people: Iterator[Person] = iter_people(path, key)
        if tick is not None:
            people = _counting(people, tick)
        manifest = prepare_batch(where, record.id, email_messages(renderer, people, counts), actor, key=key)
    sample = read_sample(where, key)
    _section(store, record.id, {"state": "prepared", "kind": kind, "lang": renderer.lang, "count": manifest.count,
                                "sha256": manifest.sha256, "prepared_by": manifest.prepared_by,
                                "prepared_at": manifest.prepared_at, "no_email": counts["no_email"]},
             actor, "send-prepare", {"count": manifest.count, "sha256": manifest.sha256, "kind": kind}, fresh=True)
    return Prepared(manifest, sample, kind, renderer.lang, counts["no_email"], mismatch)


def _counting(people: Iterator[Person], tick: Any) -> Iterator[Person]:
    for number, person in enumerate(people, 1):
        tick(number)
        yield person


def approve(store: RegisterStore, incident_id: str, *, actor: str) -> Approved:
    """The double check: someone other than the preparer approves the batch (`send-approve`)."""
    store.load(incident_id)
    where = store.batch(incident_id)
    sample = read_sample(where, store.roster_key())  # the key opens the batch before anyone approves it
    compared = check_approver(store.audit_entries(), load_manifest(where), actor, store.identity())
    manifest = approve_batch(where, actor)
    _section(store, incident_id, {"state": "approved", "approved_by": manifest.approved_by,
                                  "approved_at": manifest.approved_at}, actor, "send-approve",
             {"count": manifest.count, "sha256": manifest.sha256, "prepared_by": manifest.prepared_by})
    return Approved(manifest, sample, compared)


def status(store: RegisterStore, incident_id: str) -> BatchStatus:
    """The batch's state from its manifest and journal (no key needed, nothing written: on the shared register
    they are read from the database, and the sealed messages are not brought to this machine)."""
    store.load(incident_id)
    return batch_status(store.batch(incident_id, fetch=False))


def logged_approval(store: RegisterStore, incident_id: str, manifest: BatchManifest) -> Identities:
    """Sending needs the double check in the audit log, and a log that verifies; how its two people were told
    apart."""
    result = store.verify_audit(records=False)
    if not result.ok:
        raise RefusedError(_("the audit log does not verify ({problem}); nothing is sent until "
                             "`incident audit verify` passes").format(problem=result.shown()))
    return check_logged_approval(store.audit_entries(), incident_id, manifest)


def smtp_password(config: Config) -> str | None:
    """The SMTP password when the config names a user: from the OS keyring or $INCIDENT_SMTP_PASSWORD."""
    from incident.register.secrets import get_secret

    return get_secret("smtp", env_var=PASSWORD_ENV) if config.smtp.user else None


def set_smtp_password(value: str, *, store: RegisterStore | None, actor: str) -> None:
    """Keep the SMTP password in the OS keyring (InputError where there is none: $INCIDENT_SMTP_PASSWORD is
    the alternative) and log that it was set, never its value (`secret-set`), when there is a store."""
    from incident.register.secrets import set_secret

    set_secret("smtp", value, env_var=PASSWORD_ENV)
    if store is not None:
        store.log(actor, "secret-set", None, {"name": "smtp"})


def send(ctx: Context, incident_id: str, *, actor: str, resume: bool = False, dry_run: bool = False,
         rate: float | None = None, progress: ProgressFactory = no_progress) -> Sent:
    """Send the approved batch (`send-start`, then `send`), or with `resume` what is left of it; with
    `dry_run` check it and count (`send-dry-run`). The start (or the dry run) is recorded under the batch's
    lock once every check has passed: a run refused (another run holds the batch, no approval, already
    started) records nothing, as the other refused steps do. When the batch reached everyone the notice
    obligations are marked done (`notice.complete`)."""
    from incident.notices.delivery import SmtpSettings, send_batch

    store = ctx.store
    store.load(incident_id)
    where = store.batch(incident_id, fetch=False)  # brought here under the batch's lock, when it is this run's
    settings = SmtpSettings.from_config(ctx.config.smtp, file=store.root / "config.toml")
    password = smtp_password(ctx.config)
    manifest = read_manifest(where)
    checked: list[Identities] = []

    def started(approved: BatchManifest) -> None:
        store.log(actor, "send-start" if not dry_run else "send-dry-run", incident_id,
                  {"resume": resume, "count": approved.count, "sha256": approved.sha256})

    with progress("sending", manifest.count) as tick:
        report = send_batch(where, settings, password, key=store.roster_key(), resume=resume, dry_run=dry_run,
                            rate=rate, progress=(lambda done, _total: tick(done)) if tick else None,
                            approval=lambda approved: checked.append(logged_approval(store, incident_id, approved)),
                            started=started)
    compared = checked[-1] if checked else None
    if dry_run:
        return Sent(report, None, None, 0, compared)
    after = batch_status(where)
    state = "sent" if after.sent == after.total else "incomplete"
    _section(store, incident_id, {"state": state, "sent": after.sent, "failed": after.failed,
                                  "pending": after.pending + after.sending,
                                  "last_run_at": ctx.now().replace(microsecond=0)}, actor, "send",
             {"sent_now": report.sent, "failed_now": len(report.failed), "stopped": report.stopped or "",
              "resume": resume, "resent": list(report.resent_after_interruption)})
    done = after_send(ctx, incident_id, actor=actor)
    letters = 0
    if done is None:
        delivery = delivery_of(store.load(incident_id))
        if delivery.email_complete and delivery.no_email and delivery.letters_at is None:
            letters = delivery.no_email
    return Sent(report, after, done, letters, compared)
