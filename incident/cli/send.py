"""`incident send`: e-mail the individual notices, with a second person's approval; `incident secret`.

`--prepare` renders one e-mail per person of the roster into a batch (count, a sample, a hash);
`--approve` is the double check (ダブルチェック) by someone other than the preparer; a plain `send`
sends only an approved batch whose hash still matches; `--resume` sends only what was not sent.
Every step is in the audit log and in the incident's `sending` section (counts only, no addresses).
The batch is encrypted with the store's roster key (`incident roster`), so every step but `--status`
needs that key. The workflow, with its records and audit entries, is incident.followup.sending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from incident.cli.common import (
    LANGUAGE_LABELS,
    LabelledChoice,
    get_env,
    identities_text,
    info,
    json_option,
    read_secret,
    store_options,
)
from incident.cli.group import IncidentGroup
from incident.i18n import _

if TYPE_CHECKING:
    from incident.cli.reporting import Reporter
    from incident.followup.sending import Sent
    from incident.notices.batch import BatchManifest, OutgoingMessage
    from incident.register.backend import RegisterStore

def email_kinds() -> list[str]:
    """The notice kinds that can be e-mailed to each person."""
    from incident.notices.items import KINDS

    return [k for k, s in KINDS.items() if s.email and s.per_person]


def _langs() -> list[str]:
    from incident.notices.items import LANGS

    return list(LANGS)


@click.command("send")
@click.argument("incident_id", metavar="ID")
@click.option("--prepare", is_flag=True, help="Build the batch from the roster's e-mail addresses.")
@click.option("--approve", is_flag=True, help="Approve the prepared batch (someone other than the preparer).")
@click.option("--resume", is_flag=True, help="Continue a batch: send only what was not sent.")
@click.option("--dry-run", is_flag=True, help="Check the approved batch and count what would be sent; send nothing.")
@click.option("--rate", type=float, metavar="N", help="At most N messages per second.")
@click.option("--status", "show_status", is_flag=True, help="Show the batch's state and stop.")
@click.option("--kind", type=LabelledChoice(email_kinds), help="With --prepare: the notice (default: "
              "individual-email, council-email for a council).")
@click.option("--lang", type=LabelledChoice(_langs, LANGUAGE_LABELS), help="With --prepare: the language.")
@json_option
@store_options
def send_cmd(as_json: bool, incident_id: str, prepare: bool, approve: bool, resume: bool, dry_run: bool,
             rate: float | None, show_status: bool, kind: str | None, lang: str | None) -> None:
    """E-mail the individual notices of incident ID: --prepare, --approve (a second person), then send."""
    from incident.errors import InputError

    chosen = [name for name, on in (("--prepare", prepare), ("--approve", approve), ("--status", show_status))
              if on]
    if len(chosen) > 1 or (chosen and (resume or dry_run or rate is not None)):
        raise InputError(_("{value} cannot be combined with other steps; run one step at a time")
                         .format(value=' and '.join(chosen) or chosen[0]), field="send")
    if (kind or lang) and not prepare:
        raise InputError(_("--kind and --lang choose what --prepare renders"), field="kind")
    from incident.cli.reporting import reporter

    rep = reporter(as_json)
    if prepare:
        _prepare(rep, incident_id, kind, lang)
    elif approve:
        _approve(rep, incident_id)
    elif show_status:
        _status(rep, incident_id)
    else:
        _send(rep, incident_id, resume=resume, dry_run=dry_run, rate=rate)


def _show_manifest(rep: Reporter, manifest: BatchManifest, sample: OutgoingMessage) -> None:
    from incident.notices.masking import mask_email

    rep.info(_("batch for {incident_id}: {count} message(s), sha256 {sha256}")
             .format(incident_id=manifest.incident_id, count=manifest.count, sha256=manifest.sha256))
    rep.info(_("prepared by {who} at {at}").format(who=manifest.prepared_by, at=manifest.prepared_at)
             + (_("; approved by {who} at {at}").format(who=manifest.approved_by, at=manifest.approved_at)
                if manifest.approved_by else ""))
    rep.info(_("sample: To: {mask_email}  Subject: {subject}")
             .format(mask_email=mask_email(sample.to_addr), subject=sample.subject))
    for line in sample.body.splitlines()[:12]:
        rep.info(f"  | {line}")


def _prepare(rep: Reporter, incident_id: str, kind: str | None, lang: str | None) -> None:
    from incident.cli.roster import persons_hook
    from incident.followup.sending import prepare

    actor = get_env().actor()
    prepared = prepare(get_env().context(), incident_id, actor=actor, kind=kind, lang=lang, progress=rep.progress,
                       persons=persons_hook(rep))
    manifest, sample = prepared.manifest, prepared.sample
    rep.result({"incident": incident_id, "state": "prepared", "count": manifest.count, "sha256": manifest.sha256,
                "prepared_by": manifest.prepared_by, "no_email": prepared.no_email,
                "sample": {"subject": sample.subject, "body": sample.body}})
    _show_manifest(rep, manifest, sample)
    if prepared.no_email:
        rep.info(_("{no_email} people have no e-mail address and are not in the batch: send them a letter (`incident notice {id} --kind individual-letter --roster --out DIR`)")
                 .format(no_email=prepared.no_email, id=incident_id))
    rep.hint(_("Next: someone other than {actor} checks the sample and runs `incident send {id} --approve`.")
             .format(actor=actor, id=incident_id))


def _approve(rep: Reporter, incident_id: str) -> None:
    from incident.followup.sending import approve

    actor = get_env().actor()
    approved = approve(get_env().store(), incident_id, actor=actor)
    manifest = approved.manifest
    rep.result({"incident": incident_id, "state": "approved", "count": manifest.count,
                "sha256": manifest.sha256, "prepared_by": manifest.prepared_by, "approved_by": actor,
                "identities": approved.identities.to_json()})
    _show_manifest(rep, manifest, approved.sample)
    rep.info(identities_text(approved.identities))
    rep.hint(_("Approved by {actor}. Next: `incident send {incident_id}`.")
             .format(actor=actor, incident_id=incident_id))


def _status(rep: Reporter, incident_id: str) -> None:
    from incident.followup.sending import status as batch_status

    status = batch_status(get_env().store(), incident_id)
    rep.result({"incident": status.incident_id, "total": status.total, "pending": status.pending,
                "sending": status.sending, "sent": status.sent, "failed": status.failed,
                "prepared_by": status.prepared_by, "approved_by": status.approved_by,
                "failures": [{"key": k, "error": e} for k, e in status.failures]})
    rep.echo(_("{incident_id}: {sent}/{total} sent, {failed} failed, {pending} pending, {sending} interrupted; prepared by {prepared_by}, approved by {approved_by}")
             .format(incident_id=status.incident_id, sent=status.sent, total=status.total, failed=status.failed,
                     pending=status.pending, sending=status.sending, prepared_by=status.prepared_by,
                     approved_by=status.approved_by or _("(not yet)")))
    for key, error in status.failures:
        rep.echo(_("  failed {key}: {error}").format(key=key, error=error))


def _send(rep: Reporter, incident_id: str, *, resume: bool, dry_run: bool, rate: float | None) -> None:
    from incident.followup.sending import send

    sent = send(get_env().context(), incident_id, actor=get_env().actor(), resume=resume, dry_run=dry_run,
                rate=rate, progress=rep.progress)
    _report(rep, sent, incident_id)
    if dry_run:
        return
    _completion(rep, sent, incident_id)
    if not sent.ok:
        raise click.exceptions.Exit(1)


def _completion(rep: Reporter, sent: Sent, incident_id: str) -> None:
    """Say which notice obligations the run marked done, or that letters are still owed."""
    done = sent.completion
    if done is not None:
        rep.info(_("Marked {obligations} done ({count} people by {method}, {at})").format(
            obligations=", ".join(done.obligations), count=done.count, method=_(done.method), at=done.at.isoformat())
                 + (_("; response_to_individuals (本人への対応) filled in.") if done.filled else _(".")))
        return
    if sent.letters_needed:
        rep.hint(_("{no_email} people without an e-mail address still need a letter: render it (`incident notice {incident_id} --kind individual-letter --roster --out DIR`) and, once posted, `incident notice {incident_id} --mark-mailed --at DATE`.")
                 .format(no_email=sent.letters_needed, incident_id=incident_id))


def _report(rep: Reporter, sent: Sent, incident_id: str) -> None:
    from incident.notices.masking import mask_email

    report = sent.report
    rep.result({"incident": incident_id, "dry_run": report.dry_run, "total": report.total, "sent": report.sent,
                "would_send": report.would_send, "already_sent": report.skipped_already_sent,
                "failed": [{"key": f.key, "address": f.addr, "error": f.error} for f in report.failed],
                "stopped": report.stopped, "not_attempted": report.not_attempted,
                "resent_after_interruption": list(report.resent_after_interruption),
                "identities": sent.identities.to_json() if sent.identities else None})
    if sent.identities is not None:
        rep.info(identities_text(sent.identities))
    if report.dry_run:
        rep.info(_("dry run: {would_send} message(s) would be sent, {skipped_already_sent} already sent; nothing was sent")
                 .format(would_send=report.would_send, skipped_already_sent=report.skipped_already_sent))
        return
    rep.info(_("sent {sent} of {total} ({skipped_already_sent} already sent before)")
             .format(sent=report.sent, total=report.total, skipped_already_sent=report.skipped_already_sent))
    if report.resent_after_interruption:
        rep.info(_("{count} message(s) whose earlier attempt was interrupted were sent again with the same Message-ID")
                 .format(count=len(report.resent_after_interruption)))
    if report.stopped:
        rep.info(_("stopped: {stopped}; {not_attempted} not attempted. Run `incident send {incident_id} --resume` to send the rest.")
                 .format(stopped=report.stopped, not_attempted=report.not_attempted, incident_id=incident_id))
    if report.failed:
        rep.info(_("{count} recipient(s) failed (kept for retry with --resume):")
                 .format(count=len(report.failed)))
        for failure in report.failed:
            rep.info(f"  {failure.key} {mask_email(failure.addr)}: {failure.error}")


@click.group("secret", cls=IncidentGroup)
def secret_group() -> None:
    """Secrets kept in the OS keyring (never in a file)."""


@secret_group.command("set")
@click.argument("name", type=click.Choice(["smtp"]))
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input (one line).")
@store_options
def secret_set_cmd(name: str, from_stdin: bool) -> None:
    """Store the SMTP password in the OS keyring (where there is none, set INCIDENT_SMTP_PASSWORD instead)."""
    from incident.followup.sending import PASSWORD_ENV, set_smtp_password

    value = read_secret(name, from_stdin, _(
        "no terminal to ask for the {name} password: pipe it with --stdin, or set {password_env} in the "
        "environment").format(name=name, password_env=PASSWORD_ENV), "secret")
    env = get_env()
    try:
        store: RegisterStore | None = env.store()
    except Exception:  # noqa: BLE001  the keyring holds the secret whether or not a store exists
        store = None
    set_smtp_password(value, store=store, actor=env.actor() if store is not None else "")
    info(_("Stored the {name} password in the OS keyring.").format(name=name))
