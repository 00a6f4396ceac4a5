"""`incident send` end to end through the CLI against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import database_url_of, rewrite_config
from smtp_server import CapturingHandler, SmtpTestServer
from test_mailmerge import PEOPLE, write_csv
from test_notices import CONTACT, ORG, make

from incident.law.vocabulary import open_store

FROM = "privacy@example.jp"


def configure(store_dir: Path, port: int, **smtp: Any) -> None:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "from_addr": FROM, "from_name": ORG, **smtp}
    table = "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in settings.items())
    rewrite_config(store_dir, f'organization = "{ORG}"\ncontact = "{CONTACT}"\n\n[smtp]\n{table}\n')


@pytest.fixture
def incident(run: Any, store_dir: Path, tmp_path: Path) -> str:
    configure(store_dir, 25)
    incident_id = make(open_store(store_dir))
    run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}")
    return incident_id


def plaintext_people(directory: Path) -> list[str]:
    """Names, addresses and postal addresses of the roster found in plaintext in any file under `directory`."""
    stored = b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())
    values = {form for person in PEOPLE for value in person[:3] if value
              for form in (value, unicodedata.normalize("NFKC", value))}
    return sorted(v for v in values if v.encode() in stored or v.encode("cp932") in stored)


def actions(store_dir: Path) -> list[tuple[str, str]]:
    return [(e["action"], e["actor"]) for e in open_store(store_dir).audit_entries()
            if e["action"].startswith("send")]


def test_prepare_approve_send_with_the_double_check(run: Any, incident: str, store_dir: Path) -> None:
    prepared = run(f"send {incident} --prepare --actor alice")
    assert "batch for " + incident + ": 3 message(s)" in prepared.stderr
    assert "sample: To: t***@example.jp  Subject: 【お詫び】個人情報の漏えいに関するお知らせ" in prepared.stderr
    assert "1 people have no e-mail address" in prepared.stderr
    refused = run(f"send {incident} --approve --actor alice", expect=2)
    assert "alice prepared this batch and cannot also approve it" in refused.stderr
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        not_approved = run(f"send {incident} --actor alice", expect=2)
        assert "is not approved" in not_approved.stderr
        assert server.received == []
        run(f"send {incident} --approve --actor bob")
        dry = json.loads(run(f"send {incident} --dry-run --json --actor alice").stdout)
        assert dry["would_send"] == 3 and server.received == []
        report = json.loads(run(f"send {incident} --json --actor alice").stdout)
        assert report["sent"] == 3 and report["failed"] == [] and report["stopped"] is None
        received = server.received
    assert sorted(r.rcpt_tos for r in received) == [("hanako@example.jp",), ("jiro@example.jp",), ("taro@example.jp",)]
    assert {r.rcpt_commands for r in received} == {1}
    for r in received:
        msg = r.message()
        assert msg.get_all("To") == [str(msg["To"])] and msg["Cc"] is None and msg["Bcc"] is None
        body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        names = [n for n, *_ in PEOPLE if n in body]
        assert len(names) == 1 and msg["To"].addresses[0].display_name == names[0]
    sending = open_store(store_dir).load(incident).sections["sending"]
    assert {k: sending[k] for k in ("state", "count", "sent", "failed", "prepared_by", "approved_by")} == {
        "state": "sent", "count": 3, "sent": 3, "failed": 0, "prepared_by": "alice", "approved_by": "bob"}
    assert actions(store_dir) == [("send-prepare", "alice"), ("send-approve", "bob"), ("send-dry-run", "alice"),
                                  ("send-start", "alice"), ("send", "alice")]
    again = run(f"send {incident} --actor alice", expect=2)
    assert "use --resume" in again.stderr
    assert sorted(p.name for p in (store_dir / "batches" / incident).iterdir()) == [
        "journal.jsonl", "manifest.json", "messages.sealed", "send.lock"]
    assert plaintext_people(store_dir) == []  # the batch, the journal, the record and the audit log


def test_resume_after_a_failing_server_sends_only_the_rest(run: Any, incident: str, store_dir: Path) -> None:
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    with SmtpTestServer(CapturingHandler(fail_after=1, failure="4xx")) as failing:
        configure(store_dir, failing.port)
        first = run(f"send {incident} --actor alice", expect=1)
        first_received = [r.rcpt_tos[0] for r in failing.received]
    assert len(first_received) == 1
    assert "stopped:" in first.stderr and f"incident send {incident} --resume" in first.stderr
    assert open_store(store_dir).load(incident).sections["sending"]["state"] == "incomplete"
    status = json.loads(run(f"send {incident} --status --json").stdout)
    assert status["sent"] == 1 and status["total"] == 3
    with SmtpTestServer() as healthy:
        configure(store_dir, healthy.port)
        second = json.loads(run(f"send {incident} --resume --json --actor alice").stdout)
        second_received = [r.rcpt_tos[0] for r in healthy.received]
    assert second["sent"] == 2 and second["already_sent"] == 1
    assert sorted(first_received + second_received) == ["hanako@example.jp", "jiro@example.jp", "taro@example.jp"]
    assert open_store(store_dir).load(incident).sections["sending"]["state"] == "sent"


def test_refused_recipients_are_listed_and_kept_for_retry(run: Any, incident: str, store_dir: Path) -> None:
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    with SmtpTestServer(CapturingHandler(reject={"hanako@example.jp"})) as server:
        configure(store_dir, server.port)
        result = run(f"send {incident} --actor alice", expect=1)
    assert "1 recipient(s) failed (kept for retry with --resume):" in result.stderr
    assert "  p000002 h***@example.jp: 550 5.1.1 <address>: mailbox unavailable\n" in result.stderr
    status = json.loads(run(f"send {incident} --status --json").stdout)
    assert status["failures"] == [{"key": "p000002", "error": "550 5.1.1 <address>: mailbox unavailable"}]
    assert plaintext_people(store_dir) == []


def test_password_comes_from_the_environment_never_a_file(run: Any, incident: str, store_dir: Path) -> None:
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    configure(store_dir, 2525, user="mailer", security="starttls")
    result = run(f"send {incident} --actor alice", expect=2, env={"INCIDENT_SMTP_PASSWORD": ""})
    assert "no SMTP password" in result.stderr and "INCIDENT_SMTP_PASSWORD" in result.stderr
    result = run("secret set smtp", expect=2)
    assert "--stdin" in result.stderr and "INCIDENT_SMTP_PASSWORD" in result.stderr
    assert "password" not in (store_dir / "config.toml").read_text(encoding="utf-8")


def test_prepare_requires_a_complete_notice(run: Any, store_dir: Path, tmp_path: Path) -> None:
    configure(store_dir, 25)
    incident_id = make(open_store(store_dir), cause=None)
    run(f"roster import {incident_id} {write_csv(tmp_path / 'r.csv')}")
    result = run(f"send {incident_id} --prepare", expect=2)
    assert "「原因」 is missing (cause)" in result.stderr
    assert not (store_dir / "batches" / incident_id / "manifest.json").exists()


def test_steps_cannot_be_combined(run: Any, incident: str) -> None:
    assert "cannot be combined" in run(f"send {incident} --prepare --approve", expect=2).stderr
    assert "--kind and --lang choose what --prepare renders" in run(
        f"send {incident} --kind individual-email", expect=2).stderr
    assert ("Invalid value for '--kind': 'individual-letter' is not one of 'individual-email', 'council-email', "
            "'gdpr-data-subjects'.") in run(f"send {incident} --prepare --kind individual-letter", expect=2).stderr


def test_the_command_module_loads_only_click_and_the_cli_common_module() -> None:
    """Shell completion and `incident send --help` import this module: it stays light."""
    code = "import sys, incident.cli.send; print(sorted(m for m in sys.modules if m.startswith('incident')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.strip() == str(["incident", "incident.cli", "incident.cli.common", "incident.cli.group",
                               "incident.cli.send", "incident.errors", "incident.i18n"])


@contextmanager
def register(store_dir: Path) -> Iterator[Any]:
    """A connection of its own to the database of the PostgreSQL store in `store_dir` (another machine's)."""

    import psycopg

    url = database_url_of(store_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def test_a_hand_approved_manifest_sends_nothing(run: Any, incident: str, store_dir: Path, backend: str) -> None:
    run(f"send {incident} --prepare --actor alice")
    manifest_path = store_dir / "batches" / incident / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(approved_by="bob", approved_at=manifest["prepared_at"], approved_sha256=manifest["sha256"])
    manifest_path.write_text(json.dumps(manifest))
    if backend == "postgresql":  # the manifest every machine reads is the database's: edited there by hand
        import hashlib

        blob = manifest_path.read_bytes()
        with register(store_dir) as conn:
            conn.execute("UPDATE personal_data SET blob = %s, sha256 = %s WHERE name = %s",
                         (blob, hashlib.sha256(blob).hexdigest(), f"batches/{incident}/manifest.json"))
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        refused = run(f"send {incident} --actor alice", expect=2)
        assert "the audit log has no approval of the batch" in refused.stderr
        assert server.received == []
    assert actions(store_dir) == [("send-prepare", "alice")]  # the refused send did not start


@pytest.mark.parametrize("disguise", ["al\u200bice", "ALICE", "ａｌｉｃｅ", "al ice", "alice\u2060"])
def test_the_preparer_in_disguise_cannot_approve(run: Any, incident: str, disguise: str) -> None:
    run(f"send {incident} --prepare --actor alice")
    refused = run(["send", incident, "--approve", "--actor", disguise], expect=2)
    assert "cannot also approve it" in refused.stderr


@contextmanager
def batch_held(store_dir: Path, incident: str, backend: str) -> Iterator[None]:
    """The batch's lock held by another run: on the file store a process of this machine (the batch
    directory's lock), on PostgreSQL another machine's session (the batch's advisory lock in the database)."""
    if backend == "files":
        from incident.fsutil import file_lock

        with file_lock(store_dir / "batches" / incident / "send.lock", wait=False):
            yield
        return
    with register(store_dir) as other:
        held = other.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (0x62746368, incident)).fetchone()
        assert held == (True,)
        yield


def test_a_send_refused_because_another_run_holds_the_batch_records_no_start(
        run: Any, incident: str, store_dir: Path, backend: str) -> None:
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        with batch_held(store_dir, incident, backend):
            for line in (f"send {incident}", f"send {incident} --resume", f"send {incident} --dry-run"):
                refused = run(f"{line} --actor alice", expect=2)
                assert "is running" in refused.stderr, refused.stderr
        assert server.received == []
        assert actions(store_dir) == [("send-prepare", "alice"), ("send-approve", "bob")]
        assert open_store(store_dir).load(incident).sections["sending"]["state"] == "approved"
        run(f"send {incident} --actor alice")  # once the other run is over, the send starts and says so
        assert len(server.received) == 3
    assert actions(store_dir) == [("send-prepare", "alice"), ("send-approve", "bob"), ("send-start", "alice"),
                                  ("send", "alice")]
    [entry] = [e for e in open_store(store_dir).audit_entries() if e["action"] == "send-start"]
    assert entry["changes"]["count"] == 3 and entry["changes"]["resume"] is False
