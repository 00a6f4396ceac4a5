"""E-mail batches on the shared register: a batch is kept in the database (the sealed messages file and the
manifest as the files themselves, the journal one row per line), so another officer's machine — a second
store directory on the same register — sees its state, approves it and sends or resumes it; a crash of the
machine that was sending strands nothing and a resume elsewhere sends nobody twice; a department reads only
the batches of its own incidents; purge deletes them from the database and records it, and a dry run writes
no personal data to the officer's disk."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from conftest import answer_review, database_url_of
from pgserver import Roles, as_role
from smtp_server import CapturingHandler, SmtpTestServer
from test_mailmerge import PEOPLE, write_csv
from test_notices import make
from test_purge import clock  # noqa: F401 - fixture: the toolkit's clock, set by the test
from test_send_cli import FROM, configure

from incident.cli import cli
from incident.law.vocabulary import init_store, open_store
from incident.notices.delivery import message_id
from incident.register.actors import actor_key
from incident.register.config import Config

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

ADDRESSES = [("taro@example.jp",), ("hanako@example.jp",), ("jiro@example.jp",)]


@dataclass
class Machine:
    """One officer's machine: a store directory of its own on the shared register."""

    store_dir: Path
    url: str
    roles: Roles

    def env(self, actor: str | None) -> dict[str, str]:
        """Connected as the person's own database role (the double check compares roles)."""
        return {} if actor is None else {
            "INCIDENT_DATABASE_URL": as_role(self.url, self.roles.member(self.url, actor_key(actor)))}

    def run(self, line: str, *, actor: str | None = None, expect: int | None = 0) -> Result:
        args = shlex.split(line) + (["--actor", actor] if actor else [])
        result = CliRunner().invoke(cli, ["--store", str(self.store_dir), *args], env=self.env(actor),
                                    catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (line, result.stdout, result.stderr)
        return result

    def status(self, incident: str) -> dict[str, Any]:
        return dict(json.loads(self.run(f"send {incident} --status --json", actor="auditor").stdout))


@pytest.fixture
def machines(store_dir: Path, tmp_path: Path, pg_roles: Roles) -> tuple[Machine, Machine]:
    """Machine A (the fixture store) and machine B, each with the organization and a sender; the same key
    file (INCIDENT_KEY_FILE), as every officer of the register has."""
    url = database_url_of(store_dir)
    other = tmp_path / "machine-b"
    init_store(other, Config(database_url=url))
    for where in (store_dir, other):
        configure(where, 25)
    return Machine(store_dir, url, pg_roles), Machine(other, url, pg_roles)


@pytest.fixture
def incident(machines: tuple[Machine, Machine], tmp_path: Path) -> str:
    a, _b = machines
    incident_id = make(open_store(a.store_dir))
    a.run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}")
    return incident_id


def kept(url: str) -> dict[str, bytes]:
    """The batch and roster files the database keeps, by name."""
    with psycopg.connect(url) as conn:
        return {str(n): bytes(b) for n, b in conn.execute("SELECT name, blob FROM personal_data ORDER BY name")}


def journal_rows(url: str, incident: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        return [json.loads(line) for (line,) in conn.execute(
            "SELECT line FROM batch_journal WHERE incident = %s ORDER BY seq", (incident,))]


def batch_locks(url: str) -> int:
    """The batch locks held in the database (pgstore's advisory lock class "btch")."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND "
                           "granted", (0x62746368,)).fetchone()
    return int(row[0]) if row else 0


def plaintext_in(data: bytes) -> list[str]:
    values = {form for person in PEOPLE for value in person[:3] if value
              for form in (value, unicodedata.normalize("NFKC", value))}
    return sorted(v for v in values if v.encode() in data or v.encode("cp932") in data)


def files_under(directory: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_batch_prepared_on_one_machine_is_approved_and_sent_from_another(
        machines: tuple[Machine, Machine], incident: str) -> None:
    a, b = machines
    a.run(f"send {incident} --prepare", actor="alice")
    batch = Path("batches") / incident
    stored = kept(a.url)
    assert sorted(stored) == [f"batches/{incident}/manifest.json", f"batches/{incident}/messages.sealed",
                              f"rosters/{incident}.roster"]
    for name in ("manifest.json", "messages.sealed"):  # the same bytes as the preparer's sealed files
        assert stored[f"batches/{incident}/{name}"] == (a.store_dir / batch / name).read_bytes()
    assert not (b.store_dir / batch).exists()

    status = b.status(incident)
    assert (status["total"], status["pending"], status["prepared_by"], status["approved_by"]) == (3, 3, "alice", None)
    assert b.run(f"send {incident} --approve", actor="alice", expect=2).stderr.count("cannot also approve it") == 1
    b.run(f"send {incident} --approve", actor="bob")
    assert json.loads(kept(a.url)[f"batches/{incident}/manifest.json"])["approved_by"] == "bob"
    assert a.status(incident)["approved_by"] == "bob"  # machine A reads the approval made on B

    with SmtpTestServer() as server:
        configure(b.store_dir, server.port)
        report = json.loads(b.run(f"send {incident} --json", actor="bob").stdout)
        received = server.received
    assert report["sent"] == 3 and report["failed"] == [] and report["stopped"] is None
    assert sorted(r.rcpt_tos for r in received) == sorted(ADDRESSES)
    rows = journal_rows(a.url, incident)
    assert [r["state"] for r in rows] == ["sending", "sent"] * 3
    assert (b.store_dir / batch / "journal.jsonl").read_bytes() == b"".join(
        (json.dumps(r, ensure_ascii=False) + "\n").encode() for r in rows)  # the rows are the journal's lines
    status = a.status(incident)  # read from the database: A's copy of the journal is not written
    assert (status["sent"], status["pending"], status["sending"]) == (3, 0, 0)
    assert not (a.store_dir / batch / "journal.jsonl").exists()
    refused = a.run(f"send {incident} --prepare", actor="alice", expect=2)  # A sees that B has sent it
    assert "has already started" in refused.stderr
    assert (a.store_dir / batch / "journal.jsonl").read_bytes() == (b.store_dir / batch / "journal.jsonl").read_bytes()

    with psycopg.connect(a.url) as conn:  # the database never holds a name or an address in plaintext
        dump = b"".join(str(v).encode() for table in ("incidents", "audit_log", "batch_journal")
                        for row in conn.execute(f"SELECT * FROM {table}".encode()) for v in row)
    assert plaintext_in(dump + b"".join(kept(a.url).values())) == []


class HoldAtRecipient(CapturingHandler):
    """Holds the RCPT TO of one address (the message is not accepted) until released; says when it holds."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address == self.address and not self.release.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return "451 4.3.0 try again later"
        return str(await super().handle_RCPT(server, session, envelope, address, options))


def test_a_crash_mid_send_on_one_machine_is_resumed_on_another_sending_nobody_twice(
        machines: tuple[Machine, Machine], incident: str) -> None:
    a, b = machines
    a.run(f"send {incident} --prepare", actor="alice")
    b.run(f"send {incident} --approve", actor="bob")
    handler = HoldAtRecipient("hanako@example.jp")
    with SmtpTestServer(handler) as server:
        configure(a.store_dir, server.port)
        configure(b.store_dir, server.port)
        child = subprocess.Popen(
            [sys.executable, "-c", "from incident.cli import cli; cli()", "--store", str(a.store_dir), "send",
             incident, "--actor", "alice"], env={**os.environ, **a.env("alice")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not handler.holding.wait(0.05):
                assert child.poll() is None, "the sender stopped before reaching the second recipient"
            # machine A is sending: B may not send the same batch meanwhile, resumed or not
            busy = b.run(f"send {incident} --resume", actor="bob", expect=2)
            assert "is running, on this machine or another" in busy.stderr
            child.send_signal(signal.SIGKILL)  # machine A crashes in the middle of the second message
            child.wait()
        finally:
            handler.release.set()
            if child.poll() is None:
                child.kill()
                child.wait()
        states = {r["key"]: r["state"] for r in journal_rows(a.url, incident)}
        assert list(states.values()) == ["sent", "sending"]  # the first was sent, the second was being sent
        assert len(server.received) == 1
        status = b.status(incident)
        assert (status["sent"], status["sending"], status["pending"]) == (1, 1, 1)
        deadline = time.monotonic() + 30  # the server ends the crashed session, and its lock, by itself
        while batch_locks(a.url):
            assert time.monotonic() < deadline, "the crashed session's lock was never released"
            time.sleep(0.05)
        refused = b.run(f"send {incident}", actor="bob", expect=2)
        assert "use --resume" in refused.stderr
        resumed = b.run(f"send {incident} --resume --json", actor="bob")
        received = server.received
    report = json.loads(resumed.stdout)
    assert (report["sent"], report["already_sent"]) == (2, 1)
    assert report["resent_after_interruption"] == [k for k, s in states.items() if s == "sending"]
    delivered = Counter((r.rcpt_tos, r.message()["Message-ID"]) for r in received)
    keys = [r["key"] for r in journal_rows(a.url, incident) if r["state"] == "sent"]
    assert sorted(delivered) == sorted(((addr,), message_id(incident, key, FROM))
                                       for (addr,), key in zip(ADDRESSES, keys, strict=True))
    assert set(delivered.values()) == {1}  # nobody twice, nobody lost
    assert a.status(incident)["sent"] == 3
    sending = open_store(a.store_dir).load(incident).sections["sending"]
    assert (sending["state"], sending["sent"]) == ("sent", 3)


def test_a_department_reads_only_the_batches_of_its_own_incidents(
        machines: tuple[Machine, Machine], incident: str, pg_roles: Roles) -> None:
    a, _b = machines
    a.run(f"set {incident} department=都市農業課")
    a.run(f"send {incident} --prepare", actor="alice")
    owner_cli = CliRunner()
    agri, welfare = pg_roles.create("agri"), pg_roles.create("welfare")
    for role, department in ((agri, "都市農業課"), (welfare, "福祉課")):
        done = owner_cli.invoke(cli, ["--store", str(a.store_dir), "db", "grant", role, "--department", department])
        assert done.exit_code == 0, done.stderr
    with psycopg.connect(as_role(a.url, agri), autocommit=True) as conn:
        conn.execute("INSERT INTO batch_journal (incident, line) VALUES (%s, %s)",
                     (incident, '{"key": "p000001", "state": "sending"}'))
        assert conn.execute("SELECT count(*) FROM personal_data WHERE name LIKE 'batches/%'").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM batch_journal").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the journal's rows are never changed
            conn.execute("UPDATE batch_journal SET line = '{}'")
    with psycopg.connect(as_role(a.url, welfare), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM personal_data").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM batch_journal").fetchone() == (0,)
        assert conn.execute("DELETE FROM batch_journal RETURNING seq").fetchall() == []
        assert conn.execute("DELETE FROM personal_data RETURNING name").fetchall() == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # row-level security: not its incident
            conn.execute("INSERT INTO batch_journal (incident, line) VALUES (%s, %s)",
                         (incident, '{"key": "p000001", "state": "sent"}'))
    with psycopg.connect(a.url) as conn:
        assert conn.execute("SELECT count(*) FROM batch_journal").fetchone() == (1,)
        forced = conn.execute("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'batch_journal'::regclass")
        assert forced.fetchone() == (True,)
    welfare_cli = CliRunner().invoke(cli, ["--store", str(a.store_dir), "send", incident, "--status"],
                                     env={"INCIDENT_DATABASE_URL": as_role(a.url, welfare)})
    assert welfare_cli.exit_code != 0


def test_purge_deletes_the_batch_from_the_database_and_a_dry_run_writes_nothing_here(
        machines: tuple[Machine, Machine], incident: str, clock: Callable[[str], None]) -> None:  # noqa: F811
    a, b = machines
    a.run(f"send {incident} --prepare", actor="alice")
    a.run(f"send {incident} --approve", actor="bob")
    with SmtpTestServer() as server:
        configure(a.store_dir, server.port)
        a.run(f"send {incident}", actor="alice")
    answer_review(a.run, incident)
    a.run(f"status {incident} closed")
    clock("2029-07-02T09:00")
    names = [f"batches/{incident}/journal.jsonl", f"batches/{incident}/manifest.json",
             f"batches/{incident}/messages.sealed", f"rosters/{incident}.roster"]

    before = files_under(b.store_dir)  # machine B holds nothing of the incident
    plan = json.loads(b.run("purge --dry-run --json").stdout)
    assert files_under(b.store_dir) == before  # the dry run brought nothing here
    [item] = plan["incidents"]
    assert sorted(item["paths"]) == names and item["bytes"] > 0
    assert plan["removed"] is False and len(journal_rows(a.url, incident)) == 6
    human = b.run("purge --dry-run")
    assert all(name in human.stdout for name in names)
    assert files_under(b.store_dir) == before

    b.run("purge --yes")
    assert kept(a.url) == {} and journal_rows(a.url, incident) == []
    entry = json.loads(b.run(f"audit show --incident {incident} --last 1 --json").stdout)[0]
    assert entry["action"] == "purge" and entry["changes"]["deleted_from_database"] == names
    assert entry["changes"]["removed"] == []  # nothing was on machine B's disk
    timeline = open_store(a.store_dir).load(incident).timeline
    assert all(name in timeline[-1].text for name in names)
    # machine A's own copies are its files: they are not brought back to the database, and its purge
    # removes them, with nothing left in the database
    assert a.status(incident)["sent"] == 3
    refused = a.run(f"send {incident} --resume", actor="alice", expect=2)
    assert "was purged from the register" in refused.stderr and kept(a.url) == {}
    local = json.loads(a.run("purge --yes --json").stdout)
    assert [sorted(i["paths"]) for i in local["incidents"]] == [[f"batches/{incident}", f"rosters/{incident}.roster"]]
    assert not (a.store_dir / "batches" / incident).exists()


def test_a_batch_made_before_the_database_kept_batches_is_kept_there_on_its_next_step(
        machines: tuple[Machine, Machine], incident: str) -> None:
    a, b = machines
    a.run(f"send {incident} --prepare", actor="alice")
    a.run(f"send {incident} --approve", actor="bob")
    with SmtpTestServer(CapturingHandler(fail_after=1, failure="4xx")) as failing:
        configure(a.store_dir, failing.port)
        a.run(f"send {incident}", actor="alice", expect=1)
    lines = (a.store_dir / "batches" / incident / "journal.jsonl").read_bytes()
    with psycopg.connect(a.url, autocommit=True) as owner:  # as an older version of the toolkit left it
        owner.execute("DELETE FROM personal_data WHERE name LIKE 'batches/%'")
        owner.execute("DELETE FROM batch_journal")
    assert b.run(f"send {incident} --status", actor="bob", expect=None).exit_code != 0  # B cannot see it yet
    with SmtpTestServer() as healthy:
        configure(a.store_dir, healthy.port)
        resumed = json.loads(a.run(f"send {incident} --resume --json", actor="alice").stdout)
        assert len(healthy.received) == 2
    assert (resumed["sent"], resumed["already_sent"]) == (2, 1)
    rows = journal_rows(a.url, incident)
    assert b"".join((json.dumps(r, ensure_ascii=False) + "\n").encode() for r in rows[:lines.count(b"\n")]) == lines
    assert b.status(incident)["sent"] == 3
    digest = hashlib.sha256((a.store_dir / "batches" / incident / "messages.sealed").read_bytes()).hexdigest()
    with psycopg.connect(a.url) as conn:
        assert conn.execute("SELECT sha256 FROM personal_data WHERE name = %s",
                            (f"batches/{incident}/messages.sealed",)).fetchone() == (digest,)


def test_a_status_on_another_machine_reads_the_database_and_writes_nothing_there(
        machines: tuple[Machine, Machine], incident: str) -> None:
    a, b = machines
    a.run(f"send {incident} --prepare", actor="alice")
    a.run(f"send {incident} --approve", actor="bob")
    with SmtpTestServer(CapturingHandler(reject={"hanako@example.jp"})) as server:
        configure(a.store_dir, server.port)
        a.run(f"send {incident}", actor="alice", expect=1)  # one refused: sent, failed and journaled
    before = files_under(b.store_dir)
    status = b.status(incident)
    assert not list(b.store_dir.rglob("messages.sealed"))  # the sealed messages stay in the database
    assert files_under(b.store_dir) == before  # and nothing else of the batch is written here either
    assert status == a.status(incident)
    assert (status["total"], status["sent"], status["failed"], status["pending"]) == (3, 2, 1, 0)
    assert (status["prepared_by"], status["approved_by"]) == ("alice", "bob")
    human = b.run(f"send {incident} --status", actor="auditor")
    assert "2/3 sent, 1 failed, 0 pending" in human.stdout
    assert not list(b.store_dir.rglob("messages.sealed"))


def test_a_send_refused_because_another_machine_holds_the_batch_brings_nothing_here(
        machines: tuple[Machine, Machine], incident: str) -> None:
    a, b = machines
    a.run(f"send {incident} --prepare", actor="alice")
    a.run(f"send {incident} --approve", actor="bob")
    with SmtpTestServer() as server:
        configure(b.store_dir, server.port)
        with psycopg.connect(a.url, autocommit=True) as other:  # machine A's session holds the batch
            assert other.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                                 (0x62746368, incident)).fetchone() == (True,)
            for line in (f"send {incident}", f"send {incident} --dry-run"):
                refused = b.run(line, actor="bob", expect=2)
                assert "is running, on this machine or another" in refused.stderr
                assert not list(b.store_dir.rglob("messages.sealed"))  # refused before anything came here
        report = json.loads(b.run(f"send {incident} --json", actor="bob").stdout)  # its turn: brought, sent
        assert report["sent"] == 3 and len(server.received) == 3
    assert (b.store_dir / "batches" / incident / "messages.sealed").read_bytes() == \
        kept(a.url)[f"batches/{incident}/messages.sealed"]
