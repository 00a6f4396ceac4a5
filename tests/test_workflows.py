"""The workflows of the core called as a script would call them (no click): each changes the record and
writes its own audit entries, the same as the command that wraps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import database_url_of
from smtp_server import SmtpTestServer
from test_mailmerge import write_csv
from test_notices import make
from test_send_cli import configure

from incident.errors import RefusedError
from incident.law.context import resolve
from incident.notices.roster_import import PersonsMismatch
from incident.register.backend import RegisterStore


@pytest.fixture
def org(store_dir: Path) -> RegisterStore:
    """The fixture store with an organization, a contact and a sender."""
    from incident.law.vocabulary import open_store

    configure(store_dir, 25)
    return open_store(store_dir)


def as_person(name: str, store_dir: Path, backend: str, request: pytest.FixtureRequest,
              monkeypatch: pytest.MonkeyPatch) -> RegisterStore:
    """The store as the person `name` opens it: on PostgreSQL, where the authenticated role is who acts
    (the double check compares roles), connected as a database role of their own."""
    from incident.law.vocabulary import open_store

    if backend == "postgresql":

        from pgserver import as_role

        from incident.register.actors import actor_key

        url = database_url_of(store_dir)
        role = request.getfixturevalue("pg_roles").member(url, actor_key(name))
        monkeypatch.setenv("INCIDENT_DATABASE_URL", as_role(url, role))
    return open_store(store_dir)


def audit(store: RegisterStore, incident_id: str) -> list[tuple[str, str]]:
    return [(e["action"], e["actor"]) for e in store.audit_entries() if e.get("incident") == incident_id]


def with_roster(store: RegisterStore, tmp_path: Path, **changes: Any) -> str:
    from incident.notices.roster import import_csv

    incident_id = make(store, **changes)
    import_csv(write_csv(tmp_path / "roster.csv"), store.roster_path(incident_id), store.roster_key())
    return incident_id


# --------------------------------------------------------------------------- send


def test_the_send_workflow_records_every_step_without_the_command_line(
        store_dir: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from incident.followup.sending import approve, prepare, send, status

    configure(store_dir, 25)
    store = as_person("alice", store_dir, backend, request, monkeypatch)
    incident_id = with_roster(store, tmp_path, persons=2)
    told: list[PersonsMismatch] = []
    prepared = prepare(resolve(store), incident_id, actor="alice", persons=lambda m: told.append(m) or True)
    assert (prepared.manifest.count, prepared.no_email, prepared.kind) == (3, 1, "individual-email")
    assert told == [PersonsMismatch(incident_id, 4, 2)] and prepared.persons == told[0]
    record = store.load(incident_id)
    assert record.get("persons") == 4  # the hook said yes: the core updated it, logged as `set`
    assert record.sections["sending"]["state"] == "prepared"
    assert audit(store, incident_id)[-2:] == [("set", "alice"), ("send-prepare", "alice")]
    with pytest.raises(RefusedError, match="alice prepared this batch and cannot also approve it"):
        approve(store, incident_id, actor="alice")
    approved = approve(as_person("bob", store_dir, backend, request, monkeypatch), incident_id, actor="bob")
    assert approved.manifest.approved_by == "bob" and approved.sample.subject == prepared.sample.subject
    assert store.load(incident_id).sections["sending"]["state"] == "approved"
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        store = as_person("alice", store_dir, backend, request, monkeypatch)
        dry = send(resolve(store), incident_id, actor="alice", dry_run=True)
        assert dry.report.would_send == 3 and dry.status is None and server.received == []
        sent = send(resolve(store), incident_id, actor="alice")
        assert len(server.received) == 3
    assert sent.ok and sent.report.sent == 3 and sent.status is not None and sent.status.sent == 3
    assert sent.completion is None and sent.letters_needed == 1  # one person has no address: a letter is owed
    assert status(store, incident_id).sent == 3
    sending = store.load(incident_id).sections["sending"]
    assert (sending["state"], sending["sent"], sending["approved_by"]) == ("sent", 3, "bob")
    assert [a for a in audit(store, incident_id) if a[0].startswith("send") or a[0].startswith("notice")] == [
        ("send-prepare", "alice"), ("send-approve", "bob"), ("send-dry-run", "alice"), ("send-start", "alice"),
        ("send", "alice")]  # nothing completed: no `notice.complete`



def test_a_send_stopped_by_the_server_is_resumed_without_the_command_line(
        store_dir: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from smtp_server import CapturingHandler

    from incident.followup.sending import approve, prepare, send

    configure(store_dir, 25)
    store = as_person("alice", store_dir, backend, request, monkeypatch)
    incident_id = with_roster(store, tmp_path)
    prepare(resolve(store), incident_id, actor="alice")
    approve(as_person("bob", store_dir, backend, request, monkeypatch), incident_id, actor="bob")
    with SmtpTestServer(CapturingHandler(fail_after=1, failure="4xx")) as failing:
        configure(store_dir, failing.port)
        first = send(resolve(as_person("alice", store_dir, backend, request, monkeypatch)), incident_id, actor="alice")
    assert not first.ok and first.report.stopped and first.report.sent == 1
    assert first.status is not None and (first.status.sent, first.status.total) == (1, 3)
    assert store.load(incident_id).sections["sending"]["state"] == "incomplete"
    with SmtpTestServer() as healthy:
        configure(store_dir, healthy.port)
        store = as_person("alice", store_dir, backend, request, monkeypatch)
        second = send(resolve(store), incident_id, actor="alice", resume=True)
        assert len(healthy.received) == 2
    assert second.ok and (second.report.sent, second.report.skipped_already_sent) == (2, 1)
    sending = store.load(incident_id).sections["sending"]
    assert (sending["state"], sending["sent"], sending["pending"]) == ("sent", 3, 0)
    runs = [e for e in store.audit_entries() if e.get("incident") == incident_id and e["action"] == "send"]
    assert [(e["changes"]["sent_now"], e["changes"]["resume"]) for e in runs] == [(1, False), (2, True)]

def test_a_persons_mismatch_without_a_hook_changes_nothing(store: RegisterStore, tmp_path: Path) -> None:
    from incident.followup.sending import prepare

    incident_id = with_roster(store, tmp_path, persons=2)
    store_dir = store.root
    configure(store_dir, 25)
    from incident.law.vocabulary import open_store

    store = open_store(store_dir)
    prepared = prepare(resolve(store), incident_id, actor="alice")
    assert prepared.persons == PersonsMismatch(incident_id, 4, 2)
    assert store.load(incident_id).get("persons") == 2
    assert ("set", "alice") not in audit(store, incident_id)


# --------------------------------------------------------------------------- roster


def test_roster_import_and_reveal_are_recorded_without_the_command_line(store: RegisterStore,
                                                                        tmp_path: Path) -> None:
    from incident.errors import InputError
    from incident.notices.roster_import import import_roster, settle_persons, show_roster

    incident_id = make(store, persons=2)
    imported = import_roster(resolve(store), incident_id, write_csv(tmp_path / "roster.csv"), actor="alice")
    assert (imported.result.count, imported.result.encoding) == (4, "cp932")
    section = store.load(incident_id).sections["roster"]
    assert (section["count"], section["columns"]) == (4, ["name", "email", "address", "postal_code"])
    entry = [e for e in store.audit_entries() if e["action"] == "roster-import"][-1]
    assert (entry["actor"], entry["incident"]) == ("alice", incident_id)
    assert imported.persons == PersonsMismatch(incident_id, 4, 2)
    assert settle_persons(store, imported.persons, "alice", lambda _m: True)
    assert store.load(incident_id).get("persons") == 4
    assert audit(store, incident_id)[-2:] == [("roster-import", "alice"), ("set", "alice")]

    masked = show_roster(store, incident_id, actor="carol", count=2)
    assert masked.masked and len(masked.people) == 2 and masked.people[0].name != "山田 太郎"
    assert ("roster-reveal", "carol") not in audit(store, incident_id)
    revealed = show_roster(store, incident_id, actor="carol", count=2, reveal=True)
    assert [p.name for p in revealed.people] == ["山田 太郎", "佐藤 花子"] and revealed.info.count == 4
    assert audit(store, incident_id)[-1] == ("roster-reveal", "carol")

    with pytest.raises(InputError, match="--replace needs --reason"):
        import_roster(resolve(store), incident_id, tmp_path / "roster.csv", actor="alice", replace=True)
    with pytest.raises(InputError, match="--sheet is for an Excel workbook"):
        import_roster(resolve(store), incident_id, tmp_path / "roster.csv", actor="alice", sheet="Sheet1")


def test_a_roster_that_a_batch_was_made_from_is_replaced_only_with_a_reason(store_dir: Path,
                                                                            tmp_path: Path) -> None:
    import hashlib

    from incident.followup.sending import prepare
    from incident.law.vocabulary import open_store
    from incident.notices.roster_import import import_roster

    configure(store_dir, 25)
    store = open_store(store_dir)
    incident_id = make(store)
    csv = write_csv(tmp_path / "roster.csv")
    import_roster(resolve(store), incident_id, csv, actor="alice")
    prepare(resolve(store), incident_id, actor="alice")
    old = hashlib.sha256(store.roster_path(incident_id).read_bytes()).hexdigest()
    with pytest.raises(RefusedError, match="an e-mail batch of 3 was prepared from it"):
        import_roster(resolve(store), incident_id, csv, actor="alice")
    import_roster(resolve(store), incident_id, csv, actor="alice", replace=True, reason="  wrong file  ")
    entry = [e for e in store.audit_entries() if e["action"] == "roster-import"][-1]
    assert (entry["changes"]["replaced_sha256"], entry["changes"]["reason"]) == (old, "wrong file")


# --------------------------------------------------------------------------- notices


def test_a_notice_is_recorded_without_the_command_line(org: RegisterStore, tmp_path: Path) -> None:
    from incident.notices.issuing import NoticeRequest, SingleNotice, issue

    incident_id = make(org)
    out = tmp_path / "report.txt"
    issued = issue(resolve(org), NoticeRequest(incident_id, "individual-letter", output=out), actor="alice")
    assert isinstance(issued, SingleNotice) and out.read_text(encoding="utf-8") == issued.rendered.text
    entry = org.load(incident_id).sections["notices"][-1]
    assert (entry["kind"], entry["actor"], entry["path"], entry["sha256"]) == (
        "individual-letter", "alice", str(out), issued.entry["sha256"])
    logged = [e for e in org.audit_entries() if e["action"] == "notice"][-1]
    assert (logged["actor"], logged["incident"], logged["changes"]["sha256"]) == (
        "alice", incident_id, issued.entry["sha256"])


def test_a_mail_merge_and_its_check_are_recorded_without_the_command_line(org: RegisterStore,
                                                                          tmp_path: Path) -> None:
    from incident.errors import InputError
    from incident.notices.issuing import Hooks, MergedNotices, NoticeRequest, issue

    incident_id = with_roster(org, tmp_path, persons=2)
    told: list[Any] = []
    hooks = Hooks(rendering=told.append, persons=lambda m: told.append(m) or False)
    out = tmp_path / "letters"
    merged = issue(resolve(org), NoticeRequest(incident_id, "individual-letter", roster=True, out_dir=out, check=True),
                   actor="alice", hooks=hooks)
    assert isinstance(merged, MergedNotices) and merged.ok and merged.check is not None
    assert (merged.result.count, merged.check.checked) == (4, 4) and len(list(out.iterdir())) == 4
    assert told[0] is merged.renderer and told[1] == PersonsMismatch(incident_id, 4, 2)
    assert org.load(incident_id).get("persons") == 2  # the hook said no
    entry = org.load(incident_id).sections["notices"][-1]
    assert (entry["count"], entry["path"], entry.get("state")) == (4, str(out.resolve()), "written")
    assert audit(org, incident_id)[-3:] == [("notice-output", "alice"), ("notice", "alice"),
                                              ("notice-check", "alice")]
    with pytest.raises(InputError, match="add --roster"):
        issue(resolve(org), NoticeRequest(incident_id, "individual-letter", out_dir=out), actor="alice")


# --------------------------------------------------------------------------- steps


def test_a_step_that_settles_a_fact_reassesses_without_the_command_line(store: RegisterStore) -> None:
    from incident.errors import InputError
    from incident.followup.step_done import take_step

    incident_id = make(store, persons=36)
    taken = take_step(resolve(store), incident_id, "count-persons", "done", actor="alice", value="1200")
    record = store.load(incident_id)
    assert record.get("persons") == 1200 and record.sections["steps"]["count-persons"]["value"] == 1200
    assert taken.result.settled and taken.assessment is not None and taken.reportable is True
    assert record.sections["assessment"]["reportable"] is True
    assert taken.changes[:3] == ["reportable: false → true", "appi-business: reportable: false → true",
                                 "appi-business: headcount: now met"]
    assert audit(store, incident_id)[-2:] == [("step", "alice"), ("assess", "alice")]
    assert taken.next is not None and taken.next.step.id == "identify-recipients"

    skipped = take_step(resolve(store), incident_id, "recall-message", "skipped", actor="bob", reason="no recall")
    assert skipped.assessment is None and skipped.changes == [] and skipped.reportable is None
    assert audit(store, incident_id)[-1] == ("step", "bob")
    with pytest.raises(InputError, match="--reason is for skip"):
        take_step(resolve(store), incident_id, "identify-recipients", "done", actor="bob", reason="why")


# --------------------------------------------------------------------------- secrets


def test_setting_the_smtp_password_is_logged_without_its_value(store: RegisterStore,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from conftest import MemoryKeyring

    from incident.errors import InputError
    from incident.followup.sending import PASSWORD_ENV, set_smtp_password
    from incident.register.secrets import get_secret

    with pytest.raises(InputError, match="no OS keyring"):  # the suite's keyring is the failing one
        set_smtp_password("hunter2", store=store, actor="alice")
    assert not [e for e in store.audit_entries() if e["action"] == "secret-set"]
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        set_smtp_password("hunter2", store=store, actor="alice")
        set_smtp_password("hunter3", store=None, actor="")  # no store: kept, nothing logged
        assert get_secret("smtp", env_var=PASSWORD_ENV) == "hunter3"
    finally:
        keyring.set_keyring(before)
    logged = [e for e in store.audit_entries() if e["action"] == "secret-set"]
    assert [(e["actor"], e["changes"]) for e in logged] == [("alice", {"name": "smtp"})]
    assert "hunter2" not in str(list(store.audit_entries()))
