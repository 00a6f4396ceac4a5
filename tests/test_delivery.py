"""Tests for incident.notices.batch and incident.notices.delivery, all against a real aiosmtpd server on 127.0.0.1 (tests/smtp_server.py)."""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
import random
import re
import signal
import ssl
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smtp_server import CapturingHandler, SmtpTestServer

from incident.errors import InputError, NotFoundError, RefusedError
from incident.notices.batch import (
    JOURNAL,
    MANIFEST,
    MESSAGES,
    OutgoingMessage,
    approve_batch,
    batch_status,
    load_manifest,
    open_approved,
    prepare_batch,
    read_sample,
)
from incident.notices.delivery import FailedRecipient, SmtpSettings, build_email, message_id, send_batch

REPO = Path(__file__).resolve().parent.parent
INCIDENT = "2024-0007"
FROM = "privacy@example.co.jp"
SUBJECT = "【重要】個人情報の漏えいに関するお詫びとお知らせ"
KEY = hashlib.sha256(b"the store's roster key in these tests").digest()


def message(i: int, **changes: str) -> OutgoingMessage:
    fields = {
        "recipient_key": f"p{i:04d}",
        "to_addr": f"person{i}@example.jp",
        "to_name": f"山田 太郎{i}",
        "subject": SUBJECT,
        "body": f"山田 太郎{i} 様\n\nこのたびは、お客様の個人情報が漏えいしました。\n番号: {i}\n",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)


def smtp(server: SmtpTestServer, **changes: object) -> SmtpSettings:
    fields: dict[str, object] = {
        "host": server.host, "port": server.port, "security": "none", "user": None,
        "from_addr": FROM, "from_name": "個人情報保護担当", "timeout": 5.0,
    }
    fields.update(changes)
    return SmtpSettings(**fields)  # type: ignore[arg-type]


def approved(batch: Path, count: int) -> Path:
    prepare_batch(batch, INCIDENT, (message(i) for i in range(count)), "alice", key=KEY)
    approve_batch(batch, "bob")
    return batch


def decrypted(batch: Path, key: bytes = KEY) -> list[OutgoingMessage]:
    """Every message of an approved batch, decrypted the way sending reads them."""
    with open_approved(batch, key, resume=True, dry_run=True) as opened:
        return list(opened.messages)


def journal(batch: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (batch / JOURNAL).read_text(encoding="utf-8").splitlines()]


def last_states(batch: Path) -> dict[str, str]:
    return {str(e["key"]): str(e["state"]) for e in journal(batch)}


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as srv:
        yield srv


# --- one recipient per message, headers --------------------------------------------------------------


def test_each_message_has_one_recipient_in_envelope_and_headers(server: SmtpTestServer, tmp_path: Path) -> None:
    report = send_batch(approved(tmp_path / "b", 5), smtp(server), None, key=KEY)
    assert (report.sent, report.failed, report.stopped) == (5, (), None)
    got = sorted(server.received, key=lambda r: r.rcpt_tos)
    assert [(r.rcpt_tos, r.rcpt_commands, r.mail_from) for r in got] == [
        ((f"person{i}@example.jp",), 1, FROM) for i in range(5)
    ]
    for i, received in enumerate(got):
        parsed = received.message()
        assert [a.addr_spec for a in parsed["To"].addresses] == [f"person{i}@example.jp"]
        assert parsed.get_all("Cc") is None and parsed.get_all("Bcc") is None
        assert parsed["Message-ID"] == message_id(INCIDENT, f"p{i:04d}", FROM)


@pytest.mark.parametrize("to_addr", [
    "a@example.jp, b@example.jp",
    "a@example.jp;b@example.jp",
    "a@example.jp b@example.jp",
    "Taro <a@example.jp>",
    "<a@example.jp>",
    "a@example.jp\r\nBcc: b@example.jp",
    "undisclosed-recipients:;",
    "a@@example.jp",
    "a@localhost",
    "",
])
def test_a_to_addr_that_is_not_exactly_one_address_is_refused(to_addr: str, tmp_path: Path) -> None:
    bad = message(1, to_addr=to_addr)
    with pytest.raises(InputError) as err:
        build_email(bad, SmtpSettings("h", 25, "none", None, FROM, "x"), INCIDENT)
    assert err.value.field == "to_addr" and "recipient p0001" in err.value.message
    with pytest.raises(InputError):
        prepare_batch(tmp_path / "b", INCIDENT, [message(0), bad], "alice", key=KEY)
    assert not (tmp_path / "b" / MESSAGES).exists() and not (tmp_path / "b" / MANIFEST).exists()


@pytest.mark.parametrize(("field", "value", "char"), [
    ("subject", "お知らせ\r\nBcc: many@example.jp", "000D"),
    ("subject", "お知らせ\nX-Injected: 1", "000A"),
    ("to_name", "山田\nCc: other@example.jp", "000A"),
    ("to_name", "山田\u2028太郎", "2028"),
    ("recipient_key", "p1\x00", "0000"),
])
def test_line_breaks_in_header_fields_are_refused(field: str, value: str, char: str) -> None:
    bad = message(1, **{field: value})
    with pytest.raises(InputError) as err:
        build_email(bad, SmtpSettings("h", 25, "none", None, FROM, "x"), INCIDENT)
    assert err.value.field == field
    assert f"{field} contains a line break or control character (U+{char})" in err.value.message
    assert err.value.message.startswith(f"recipient {bad.recipient_key}:")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=40), subject=st.text(max_size=80), body=st.text(max_size=300),
       addr=st.sampled_from(["person3@example.jp", f"{'x' * 64}@{'long-domain.' * 14}example.jp"]))
def test_any_name_subject_or_body_yields_one_recipient_or_a_refusal(
    name: str, subject: str, body: str, addr: str
) -> None:
    from email import policy
    from email.parser import BytesParser

    msg = message(3, to_name=name, subject=subject, body=body, to_addr=addr)
    try:
        email = build_email(msg, SmtpSettings("h", 25, "none", None, FROM, "x"), INCIDENT)
    except InputError as err:
        assert err.field in ("to_name", "subject")
        return
    head, _, _ = email.partition(b"\r\n\r\n")
    assert max(len(line) for line in head.split(b"\r\n")) <= 998 and b"\n" not in head.replace(b"\r\n", b"")
    parsed = BytesParser(policy=policy.default).parsebytes(email)
    [to] = parsed["To"].addresses
    assert to.addr_spec == addr
    # A display name is a phrase: a parser may collapse runs of white space, never change a character.
    assert "".join(to.display_name.split()) == "".join(name.split())
    assert parsed["Subject"] == subject.strip()
    assert sorted(parsed.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", "Content-Type", "Content-Transfer-Encoding",
         "MIME-Version"])
    lines = body.encode().splitlines()  # line ends become CRLF; nothing else changes
    assert parsed.get_content().replace("\r\n", "\n") == b"".join(line + b"\n" for line in lines).decode()


def test_an_address_in_the_display_name_stays_a_name(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = tmp_path / "b"
    prepare_batch(batch, INCIDENT, [message(1, to_name="b@evil.example, c@evil.example")], "alice", key=KEY)
    approve_batch(batch, "bob")
    send_batch(batch, smtp(server), None, key=KEY)
    [received] = server.received
    assert received.rcpt_tos == ("person1@example.jp",)
    [to] = received.message()["To"].addresses
    assert (to.display_name, to.addr_spec) == ("b@evil.example, c@evil.example", "person1@example.jp")


def test_japanese_subject_and_body_decode_back(server: SmtpTestServer, tmp_path: Path) -> None:
    send_batch(approved(tmp_path / "b", 1), smtp(server), None, key=KEY)
    [received] = server.received
    assert received.data.isascii()  # encoded for any server: RFC 2047 headers, base64 body
    parsed = received.message()
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"].addresses[0].display_name == "山田 太郎0"
    assert parsed["From"].addresses[0].display_name == "個人情報保護担当"
    assert parsed.get_content().replace("\r\n", "\n") == message(0).body


def test_message_ids_are_deterministic_and_distinct() -> None:
    first = message_id(INCIDENT, "p0001", FROM)
    digest = hashlib.sha256(f"{INCIDENT}\x1fp0001".encode()).hexdigest()[:12]
    assert first == f"<2024-0007.p0001.{digest}@example.co.jp>"
    assert message_id(INCIDENT, "p0001", FROM) == first
    assert message_id(INCIDENT, "p0002", FROM) != first
    taro, jiro = message_id(INCIDENT, "山田 太郎", FROM), message_id(INCIDENT, "山田 次郎", FROM)
    assert taro.startswith("<2024-0007._____.") and jiro.startswith("<2024-0007._____.") and taro != jiro


# --- prepare and approve (ダブルチェック) ----------------------------------------------------------------


def test_prepare_writes_private_files_and_a_manifest(tmp_path: Path) -> None:
    batch = tmp_path / "store" / "b"
    manifest = prepare_batch(batch, INCIDENT, (message(i) for i in range(3)), " alice ", key=KEY)
    assert stat.S_IMODE(batch.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in batch.iterdir()} == {
        MESSAGES: 0o600, MANIFEST: 0o600, "send.lock": 0o600}
    data = (batch / MESSAGES).read_bytes()
    assert (manifest.count, manifest.sha256) == (3, hashlib.sha256(data).hexdigest())  # over the ciphertext
    assert (manifest.prepared_by, manifest.approved_by) == ("alice", None)
    assert load_manifest(batch) == manifest
    assert read_sample(batch, KEY) == message(0)
    approve_batch(batch, "bob")
    assert decrypted(batch) == [message(0), message(1), message(2)]


def test_the_preparer_cannot_approve_and_another_person_can(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = tmp_path / "b"
    prepare_batch(batch, INCIDENT, [message(1)], "alice", key=KEY)
    with pytest.raises(RefusedError, match="not approved"):
        send_batch(batch, smtp(server), None, key=KEY)
    for same in ("alice", "ALICE", "ａｌｉｃｅ"):
        with pytest.raises(RefusedError, match="ダブルチェック"):
            approve_batch(batch, same)
    approved_manifest = approve_batch(batch, "bob")
    assert approved_manifest.approved_by == "bob"
    assert approved_manifest.approved_sha256 == approved_manifest.sha256
    with pytest.raises(RefusedError, match="already approved by bob"):
        approve_batch(batch, "carol")
    assert send_batch(batch, smtp(server), None, key=KEY).sent == 1


def test_a_tampered_messages_file_is_refused(server: SmtpTestServer, tmp_path: Path) -> None:
    batch, other = tmp_path / "b", tmp_path / "other"
    prepare_batch(batch, INCIDENT, [message(1), message(2)], "alice", key=KEY)
    original = (batch / MESSAGES).read_bytes()
    # a validly encrypted file with another address, made with the same key, swapped in
    prepare_batch(other, INCIDENT, [message(1), message(2, to_addr="attacker@example.jp")], "alice", key=KEY)
    swapped = (other / MESSAGES).read_bytes()
    (batch / MESSAGES).write_bytes(swapped)
    with pytest.raises(RefusedError, match="changed after it was prepared"):
        approve_batch(batch, "bob")
    (batch / MESSAGES).write_bytes(original)
    approve_batch(batch, "bob")
    for tampered in (swapped, original[:-1] + bytes([original[-1] ^ 1])):
        (batch / MESSAGES).write_bytes(tampered)
        with pytest.raises(RefusedError, match="changed since it was approved"):
            send_batch(batch, smtp(server), None, key=KEY)
    assert server.received == []


def _rehash(batch: Path) -> None:
    """Make the manifest match the messages file as it now is (what someone who can write both could do)."""
    manifest = json.loads((batch / MANIFEST).read_text(encoding="utf-8"))
    manifest["sha256"] = manifest["approved_sha256"] = hashlib.sha256((batch / MESSAGES).read_bytes()).hexdigest()
    (batch / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(("damage", "error"), [
    (lambda data: data[:60] + bytes([data[60] ^ 1]) + data[61:], "truncated, damaged or altered (frame 0)"),
    (lambda data: data[:-40], "truncated, damaged or altered (frame 1)"),
    (lambda data: data + b"x", "damaged (data after the end frame)"),
])
def test_encryption_catches_changes_that_the_hash_check_would_miss(
    damage: Any, error: str, server: SmtpTestServer, tmp_path: Path
) -> None:
    batch = approved(tmp_path / "b", 3)
    (batch / MESSAGES).write_bytes(damage((batch / MESSAGES).read_bytes()))
    _rehash(batch)
    with pytest.raises(InputError, match=re.escape(error)):
        send_batch(batch, smtp(server), None, key=KEY)
    assert server.received == []


def test_the_wrong_key_is_refused_before_anything_is_sent(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 2)
    other_key = hashlib.sha256(b"another store").digest()
    for attempt in (lambda: read_sample(batch, other_key),
                    lambda: send_batch(batch, smtp(server), None, key=other_key)):
        with pytest.raises(InputError, match="the key does not match this batch"):
            attempt()
    with pytest.raises(InputError, match="a batch key is 32 bytes; this one is 16"):
        prepare_batch(tmp_path / "c", INCIDENT, [message(1)], "alice", key=KEY[:16])
    assert server.received == [] and not (batch / JOURNAL).exists()


def test_a_messages_file_written_before_the_shared_sealed_format_still_reads(tmp_path: Path) -> None:
    """Written by the batch writer before incident.notices.sealed existed, with the key bytes(range(32))."""
    earlier = ("SU5DQlRDSDHuH1D5egUYt/3uwBiuycoNvkN9SffwK9EG4Gh+uXhGoVzEmsr4GJazyQRTHwAAAGUBbRkV1jCzLweHENyGZoKTdROV"
               "OxYKKQT0fVgquCvmQQG4c2BNb9v+7E8eJyongsiTJOAypQB3BR7jZcWVIDdnC5gskPzsvgcL1rEAOaPb6Mlr7LsEnotepZhrPW6N"
               "J4OzTPu2lFAAAAAoAmJ80JQYmDwedFi9RpmSGfI0jxCIammChybDP/lRKN6JZZY22iuahaQ=")
    (tmp_path / MESSAGES).write_bytes(base64.b64decode(earlier))
    assert read_sample(tmp_path, bytes(range(32))) == OutgoingMessage(
        "p000001", "yamada@example.jp", "山田 太郎", "件名", "本文\n")
    with pytest.raises(InputError, match="the key does not match this batch"):
        read_sample(tmp_path, KEY)


def test_no_name_address_or_notice_text_is_stored_in_plaintext(tmp_path: Path) -> None:
    refused = {"person3@example.jp", "person7@example.jp"}
    batch = tmp_path / "b"
    batch.mkdir()
    (batch / "messages.jsonl").write_text('{"to_addr": "person1@example.jp"}\n')  # a format-1 batch
    with SmtpTestServer(CapturingHandler(reject=refused, fail_after=5, failure="4xx")) as srv:
        approved(batch, 10)
        first = send_batch(batch, smtp(srv), None, key=KEY)
        srv.handler.fail_after = None
        second = send_batch(batch, smtp(srv), None, key=KEY, resume=True)
    assert first.stopped == "the server refused the transaction for p0006: 451 4.3.0 temporary server failure"
    assert [f.addr for f in first.failed] == ["person3@example.jp"]
    assert [f.addr for f in second.failed] == ["person3@example.jp", "person7@example.jp"]
    assert batch_status(batch).failures == (
        ("p0003", "550 5.1.1 <address>: mailbox unavailable"), ("p0007", "550 5.1.1 <address>: mailbox unavailable"))
    files = sorted(p.name for p in batch.rglob("*") if p.is_file())
    assert files == [JOURNAL, MANIFEST, MESSAGES, "send.lock"]
    stored = b"".join(p.read_bytes() for p in batch.rglob("*") if p.is_file())
    for i in range(10):
        msg = message(i)
        for secret in (msg.to_addr, msg.to_name, f"person{i}", msg.body.splitlines()[2], msg.subject):
            assert secret.encode() not in stored, secret
    assert b"@example.jp" not in stored


def test_duplicates_empty_batches_and_missing_batches_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="recipient p0001 appears twice"):
        prepare_batch(tmp_path / "b", INCIDENT, [message(1), message(1, to_addr="x@example.jp")], "alice", key=KEY)
    with pytest.raises(InputError, match="no messages"):
        prepare_batch(tmp_path / "b", INCIDENT, [], "alice", key=KEY)
    with pytest.raises(InputError, match="actor"):
        prepare_batch(tmp_path / "b", INCIDENT, [message(1)], "  ", key=KEY)
    with pytest.raises(NotFoundError, match="prepare one first"):
        approve_batch(tmp_path / "b", "bob")
    with pytest.raises(NotFoundError, match="prepare one first"):
        approve_batch(tmp_path / "never-created", "bob")
    with pytest.raises(NotFoundError, match="prepare one first"):
        batch_status(tmp_path / "never-created")


def test_preparing_again_after_sending_started_is_refused(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 2)
    send_batch(batch, smtp(server), None, key=KEY)
    with pytest.raises(RefusedError, match="--resume"):
        prepare_batch(batch, INCIDENT, [message(9)], "alice", key=KEY)


# --- failures, resume and the journal ---------------------------------------------------------------


@pytest.mark.parametrize(("failure", "reason"), [
    ("disconnect", "SMTP connection failed while sending to p0004: Connection unexpectedly closed"),
    ("4xx", "the server refused the transaction for p0004: 451 4.3.0 temporary server failure"),
])
def test_a_server_failing_part_way_stops_and_resume_sends_the_rest(
    failure: str, reason: str, tmp_path: Path
) -> None:
    handler = CapturingHandler(fail_after=4, failure=failure)  # type: ignore[arg-type]
    with SmtpTestServer(handler) as srv:
        batch = approved(tmp_path / "b", 10)
        report = send_batch(batch, smtp(srv), None, key=KEY)
        assert (report.sent, report.failed, report.not_attempted) == (4, (), 5)
        assert report.stopped is not None and report.stopped.startswith(reason)
        assert last_states(batch) == {**{f"p{i:04d}": "sent" for i in range(4)}, "p0004": "failed"}
        with pytest.raises(RefusedError, match="use --resume"):
            send_batch(batch, smtp(srv), None, key=KEY)
        handler.fail_after = None
        again = send_batch(batch, smtp(srv), None, key=KEY, resume=True)
        assert (again.sent, again.skipped_already_sent, again.stopped, again.resent_after_interruption) == (
            6, 4, None, ())
    assert sorted(r.rcpt_tos[0] for r in srv.received) == sorted(f"person{i}@example.jp" for i in range(10))
    assert batch_status(batch).sent == 10


@pytest.mark.parametrize(("stage", "error"), [
    ("reject", "550 5.1.1 <address>: mailbox unavailable"),
    ("reject_data", "554 5.6.0 message content rejected"),
])
def test_refused_recipients_are_listed_and_retried_on_resume(stage: str, error: str, tmp_path: Path) -> None:
    refused = ["person3@example.jp", "person7@example.jp"]
    handler = CapturingHandler(**{stage: refused})  # type: ignore[arg-type]
    with SmtpTestServer(handler) as srv:
        batch = approved(tmp_path / "b", 10)
        report = send_batch(batch, smtp(srv), None, key=KEY)
        assert report.sent == 8 and report.stopped is None
        assert report.failed == (
            FailedRecipient("p0003", refused[0], error), FailedRecipient("p0007", refused[1], error)
        )
        status = batch_status(batch)
        assert (status.total, status.sent, status.failed, status.pending, status.sending) == (10, 8, 2, 0, 0)
        assert status.failures == (("p0003", error), ("p0007", error))
        setattr(handler, stage, frozenset())
        again = send_batch(batch, smtp(srv), None, key=KEY, resume=True)
        assert (again.sent, again.skipped_already_sent, again.failed) == (2, 8, ())
    assert Counter(r.rcpt_tos[0] for r in srv.received) == Counter(f"person{i}@example.jp" for i in range(10))


def test_reconnects_when_the_server_drops_the_connection_between_messages(tmp_path: Path) -> None:
    handler = CapturingHandler(per_connection_limit=3)
    with SmtpTestServer(handler) as srv:
        report = send_batch(approved(tmp_path / "b", 10), smtp(srv), None, key=KEY)
    assert (report.sent, report.stopped, report.resent_after_interruption) == (10, None, ())
    assert [r.connection for r in srv.received] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4]


def test_a_recipient_left_sending_is_resent_with_the_same_message_id(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 3)
    mid = message_id(INCIDENT, "p0000", FROM)
    entry = {"key": "p0000", "state": "sending", "message_id": mid, "at": "x", "error": None}
    (batch / JOURNAL).write_text(json.dumps(entry) + "\n")
    report = send_batch(batch, smtp(server), None, key=KEY, resume=True)
    assert (report.sent, report.resent_after_interruption) == (3, ("p0000",))
    assert server.received[0].message()["Message-ID"] == mid


def test_a_torn_last_journal_line_is_ignored_and_truncated(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 3)
    sent = {"key": "p0000", "state": "sent", "message_id": "m", "at": "x", "error": None}
    (batch / JOURNAL).write_text(json.dumps(sent) + "\n" + '{"key": "p0001", "sta')
    assert batch_status(batch).sent == 1
    report = send_batch(batch, smtp(server), None, key=KEY, resume=True)
    assert (report.sent, report.skipped_already_sent, report.journal_repaired) == (2, 1, True)
    assert [(e["key"], e["state"]) for e in journal(batch)] == [
        ("p0000", "sent"), ("p0001", "sending"), ("p0001", "sent"), ("p0002", "sending"), ("p0002", "sent")]


def test_a_corrupt_journal_line_before_the_last_is_an_error(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 3)
    sent = {"key": "p0000", "state": "sent", "message_id": "m", "at": "x", "error": None}
    (batch / JOURNAL).write_text("garbage\n" + json.dumps(sent) + "\n")
    with pytest.raises(InputError) as err:
        send_batch(batch, smtp(server), None, key=KEY, resume=True)
    assert err.value.line == 1 and "corrupt" in err.value.message


def test_the_journal_is_fsynced_at_least_every_100_entries_and_when_a_run_ends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The power-loss bound of incident.notices.batch: never more than SYNC_EVERY journal entries un-fsync'd."""
    batch = approved(tmp_path / "b", 130)
    synced: list[int] = []  # journal lines on disk at each fsync of the journal
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        path = batch / JOURNAL
        if path.exists() and os.fstat(fd).st_ino == path.stat().st_ino:
            synced.append(_journal_lines(path))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    handler = CapturingHandler(fail_after=70, failure="4xx")
    with SmtpTestServer(handler) as srv:
        first = send_batch(batch, smtp(srv), None, key=KEY)
        assert first.stopped is not None and first.sent == 70
        assert synced == [100, 142]  # 70 sent (140 lines), the failed attempt (sending, failed) at the stop
        handler.fail_after = None
        second = send_batch(batch, smtp(srv), None, key=KEY, resume=True)
    assert second.sent == 60 and synced == [100, 142, 242, 262]


def test_a_second_concurrent_run_is_refused(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 1)
    fd = os.open(batch / "send.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(RefusedError, match="another prepare, approve or send is running"):
            send_batch(batch, smtp(server), None, key=KEY)
    finally:
        os.close(fd)


# --- dry run, rate, progress ------------------------------------------------------------------------


def test_dry_run_sends_nothing_and_journals_nothing(server: SmtpTestServer, tmp_path: Path) -> None:
    batch = approved(tmp_path / "b", 4)
    report = send_batch(batch, smtp(server), None, key=KEY, dry_run=True)
    assert (report.dry_run, report.would_send, report.sent, report.failed) == (True, 4, 0, ())
    assert server.received == [] and not (batch / JOURNAL).exists()
    handler = server.handler
    handler.fail_after = 1
    send_batch(batch, smtp(server), None, key=KEY)
    before = (batch / JOURNAL).read_bytes()
    again = send_batch(batch, smtp(server), None, key=KEY, dry_run=True, resume=True)
    assert (again.would_send, again.skipped_already_sent, again.sent) == (3, 1, 0)
    assert (batch / JOURNAL).read_bytes() == before and len(server.received) == 1


def test_rate_limit_sleeps_between_messages(server: SmtpTestServer, tmp_path: Path) -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        now[0] += 0.3  # each message takes 0.3 s to send

    calls: list[tuple[int, int]] = []
    report = send_batch(approved(tmp_path / "b", 4), smtp(server), None, key=KEY, rate=2.0, progress=progress,
                        clock=lambda: now[0], sleep=sleep)
    assert report.sent == 4
    assert sleeps == pytest.approx([0.2, 0.2, 0.2])
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(InputError, match="positive number"):
        send_batch(tmp_path / "b", smtp(server), None, key=KEY, rate=0, resume=True)


# --- settings and TLS ------------------------------------------------------------------------------


def test_settings_refuse_plaintext_passwords_and_bad_values() -> None:
    with pytest.raises(InputError, match="unencrypted"):
        SmtpSettings("h", 25, "none", "user", FROM, "x")
    with pytest.raises(InputError, match="starttls, tls or none"):
        SmtpSettings("h", 25, "ssl", None, FROM, "x")  # type: ignore[arg-type]
    with pytest.raises(InputError) as err:
        SmtpSettings("h", 25, "none", None, FROM, "担当\r\nBcc: x@example.jp")
    assert err.value.field == "from_name"


def test_starttls_is_never_silently_skipped(server: SmtpTestServer, tmp_path: Path) -> None:
    report = send_batch(approved(tmp_path / "b", 2), smtp(server, security="starttls"), None, key=KEY)
    assert report.stopped == (
        "the server refused the transaction for p0000: STARTTLS extension not supported by server.")
    assert (report.sent, report.not_attempted, server.received) == (0, 1, [])


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    return server_ctx, ssl.create_default_context(cafile=str(cert_file))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_authentication(security: str, tmp_path: Path) -> None:
    server_ctx, client_ctx = _self_signed(tmp_path)
    with SmtpTestServer(tls_context=server_ctx, implicit_tls=security == "tls", auth=("officer", "s3cret")) as srv:
        settings_ = smtp(srv, security=security, user="officer")
        batch = approved(tmp_path / "b", 2)
        with pytest.raises(InputError, match="INCIDENT_SMTP_PASSWORD"):
            send_batch(batch, settings_, None, key=KEY, tls_context=client_ctx)
        wrong = send_batch(batch, settings_, "wrong", key=KEY, tls_context=client_ctx)
        assert wrong.sent == 0 and wrong.stopped is not None and " 535 " in wrong.stopped
        untrusted = send_batch(batch, settings_, "s3cret", key=KEY, resume=True)
        assert untrusted.stopped is not None and "CERTIFICATE_VERIFY_FAILED" in untrusted.stopped
        report = send_batch(batch, settings_, "s3cret", key=KEY, resume=True, tls_context=client_ctx)
        assert (report.sent, report.stopped) == (2, None)
    assert sorted(r.rcpt_tos[0] for r in srv.received) == ["person0@example.jp", "person1@example.jp"]


# --- crash test -------------------------------------------------------------------------------------

_CHILD = """
import sys
from pathlib import Path
from incident.notices.delivery import SmtpSettings, send_batch
settings = SmtpSettings("127.0.0.1", int(sys.argv[2]), "none", None, sys.argv[3], "担当")
send_batch(Path(sys.argv[1]), settings, None, key=bytes.fromhex(sys.argv[4]), resume=True)
"""


def _journal_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_sigkill_at_random_points_loses_nothing_and_duplicates_keep_their_message_id(
    server: SmtpTestServer, tmp_path: Path
) -> None:
    count, crashes = 300, 10
    batch = approved(tmp_path / "b", count)
    rng = random.Random(20240607)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = 0
    for _ in range(crashes):
        lines_before = _journal_lines(batch / JOURNAL)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(batch), str(server.port), FROM, KEY.hex()], env=env)
        if rng.random() < 0.5:  # after a random number of journal lines
            target, wait_for = lines_before + rng.randint(1, 50), 0.0
        else:  # a random short delay after sending started
            target, wait_for = lines_before + 1, rng.uniform(0.0, 0.05)
        deadline = time.monotonic() + 15
        while _journal_lines(batch / JOURNAL) < target and child.poll() is None:
            assert time.monotonic() < deadline, "the sender made no progress"
            time.sleep(0.001)
        time.sleep(wait_for)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
    assert kills == crashes
    final = send_batch(batch, SmtpSettings("127.0.0.1", server.port, "none", None, FROM, "担当"), None, key=KEY,
                       resume=True)
    assert final.stopped is None and final.failed == ()
    received = Counter((r.rcpt_tos, r.message()["Message-ID"]) for r in server.received)
    expected = {((f"person{i}@example.jp",), message_id(INCIDENT, f"p{i:04d}", FROM)) for i in range(count)}
    assert set(received) == expected  # everyone got their message, and only with their own Message-ID
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= kills
    assert max(received.values()) <= 2
    assert batch_status(batch).sent == count


def test_a_crash_after_the_server_accepted_resends_once_with_the_same_message_id(tmp_path: Path) -> None:
    handler = CapturingHandler(hold_once={"person5@example.jp"})
    with SmtpTestServer(handler) as srv:
        batch = approved(tmp_path / "b", 10)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(batch), str(srv.port), FROM, KEY.hex()],
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.monotonic() + 15
        while len(srv.received) < 6:
            assert time.monotonic() < deadline and child.poll() is None, "the sender made no progress"
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)  # the server has the message; the client never heard back
        child.wait()
        assert last_states(batch)["p0005"] == "sending"
        report = send_batch(batch, smtp(srv), None, key=KEY, resume=True)
    assert (report.sent, report.skipped_already_sent, report.resent_after_interruption) == (5, 5, ("p0005",))
    to_p5 = [r.message()["Message-ID"] for r in srv.received if r.rcpt_tos == ("person5@example.jp",)]
    assert to_p5 == [message_id(INCIDENT, "p0005", FROM)] * 2
    assert len(srv.received) == 11


def test_settings_from_the_stores_smtp_table() -> None:
    from incident.register.config import SmtpConfig

    with pytest.raises(InputError) as info:
        SmtpSettings.from_config(SmtpConfig(), file=Path("config.toml"))
    assert (info.value.file, info.value.field) == ("config.toml", "smtp")
    settings = SmtpSettings.from_config(SmtpConfig(host="mail.example.jp", port=465, security="tls", user="",
                                                   from_addr="notices@example.jp", from_name="窓口"))
    assert (settings.host, settings.port, settings.security, settings.user) == ("mail.example.jp", 465, "tls", None)


@pytest.mark.parametrize("legacy", ["foo..bar.@example.jp", ".taro@example.jp"])
def test_a_legacy_carrier_address_that_import_accepts_is_sent_quoted(
    legacy: str, server: SmtpTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smtplib

    commands: list[str] = []
    original = smtplib.SMTP.rcpt

    def rcpt(self: smtplib.SMTP, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        commands.append(recip)
        return original(self, recip, options)

    monkeypatch.setattr(smtplib.SMTP, "rcpt", rcpt)
    batch = tmp_path / "b"
    prepare_batch(batch, INCIDENT, [message(0, to_addr=legacy), message(1)], "alice", key=KEY)
    approve_batch(batch, "bob")
    report = send_batch(batch, smtp(server), None, key=KEY)
    assert (report.sent, report.failed, report.stopped) == (2, (), None)
    local = legacy.rpartition("@")[0]
    assert commands == [f'"{local}"@example.jp', "person1@example.jp"]
    got = {r.rcpt_tos[0]: r for r in server.received}
    assert set(got) == {legacy, "person1@example.jp"}  # the server reads the same mailbox
    assert f'<"{local}"@example.jp>'.encode() in got[legacy].data
