"""The register on PostgreSQL: migrations, ids under a row lock, one transaction per change, the audit
chain in an insert-only table that `audit verify` checks as on the file store, and the crash case."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
import tomllib
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from conftest import INCIDENTS, cli_at
from test_store_concurrency import (  # the same writers as on files
    ADD_EVENTS,
    CREATE,
    SETUP,
    _spawn,
    _wait_all,
)

from incident.cli import cli
from incident.errors import InputError, StoreError
from incident.law.vocabulary import init_store, open_store
from incident.register import changes as register
from incident.register.backend import RegisterStore
from incident.register.config import Config

RAW = tomllib.loads((INCIDENTS / "email-cc-36.toml").read_text(encoding="utf-8"))


@pytest.fixture
def pg_store_dir(tmp_path: Path, pg_url: str) -> Path:
    path = tmp_path / "pgstore"
    init_store(path, Config(database_url=pg_url))
    return path


@pytest.fixture
def pg_store(pg_store_dir: Path) -> RegisterStore:
    return open_store(pg_store_dir)




def test_init_with_a_database_records_the_choice_and_migrates(tmp_path: Path, pg_url: str) -> None:
    store_dir = tmp_path / "s"
    cli_at(store_dir, "init", "--database", pg_url)
    assert "database_url" in (store_dir / "config.toml").read_text()
    assert not (store_dir / "incidents").exists()
    status = json.loads(cli_at(store_dir, "db", "status", "--json").stdout)
    assert [m["version"] for m in status["migrations"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert status["migrations"][0]["applied_at"]
    assert json.loads(cli_at(store_dir, "db", "upgrade", "--json").stdout)["applied"] == []
    incident_id = json.loads(cli_at(store_dir, "new", "--from", str(INCIDENTS / "email-cc-36.toml"),
                                  "--json").stdout)["id"]
    assert incident_id.endswith("-0001")
    listed = json.loads(cli_at(store_dir, "list", "--json").stdout)
    assert [r["id"] for r in listed] == [incident_id]
    verified = json.loads(cli_at(store_dir, "audit", "verify", "--json").stdout)
    assert verified["ok"] and verified["entries"] == 2 and verified["keyed"]


def test_a_url_with_a_password_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s"), "init", "--database",
                                      "postgresql://officer:secret@db.example.jp/incident"])
    assert result.exit_code == 2
    assert "password" in result.stderr and "PGPASSFILE" in result.stderr
    assert not (tmp_path / "s").exists()


def test_the_environment_chooses_the_database(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store_dir = tmp_path / "s"
    init_store(store_dir, Config(database_url=pg_url))
    monkeypatch.setenv("INCIDENT_DATABASE_URL", "mysql://elsewhere")
    with pytest.raises(InputError, match="not a PostgreSQL URL"):
        open_store(store_dir)


def test_a_pending_migration_is_named(pg_store_dir: Path, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM incident_migrations WHERE version = 4")
    store = open_store(pg_store_dir)
    with pytest.raises(StoreError, match="incident db upgrade"):
        store.records()
    assert cli_at(pg_store_dir, "db", "status", expect=1).stdout.count("pending") == 1


def test_two_migrations_of_one_number_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two helpers each adding migration N would leave one of them never applied: refused loudly."""
    from incident.register import pgstore

    shipped = tmp_path / "incident.register" / "migrations"
    shipped.mkdir(parents=True)
    for name in ("0001_register.sql", "0002_batches.sql"):
        (shipped / name).write_text("SELECT 1;\n", encoding="utf-8")
    monkeypatch.setattr(pgstore.resources, "files", lambda package: tmp_path / package)
    assert [m.version for m in pgstore.migrations()] == [1, 2]
    (shipped / "0002_imported_entries.sql").write_text("SELECT 2;\n", encoding="utf-8")
    with pytest.raises(StoreError, match="two migrations numbered 0002"):
        pgstore.migrations()


def test_records_round_trip_and_list_as_the_file_store(pg_store: RegisterStore, store: RegisterStore) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from incident.register import record as rec

    at = datetime(2024, 6, 4, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    for target in (pg_store, store):
        created = register.new_incident(target, RAW, actor="tester", at=at)
        register.add_event(target, created.id, "初動対応", actor="tester", at=at)
        register.set_fields(target, created.id, {"persons": "40"}, actor="tester")
    ours, theirs = pg_store.records(), store.records()
    assert [rec.dumps(r.with_facts(updated_at=None)) for r in ours] == \
        [rec.dumps(r.with_facts(updated_at=None)) for r in theirs]
    assert rec.dumps(pg_store.load(ours[0].id)) == rec.dumps(ours[0])
    assert [rec.dumps(r) for r in pg_store.records(fresh=True)] == [rec.dumps(r) for r in ours]
    assert [e["action"] for e in pg_store.audit_entries()] == [e["action"] for e in store.audit_entries()]


def test_the_audit_table_refuses_update_and_delete(pg_store: RegisterStore, pg_url: str) -> None:
    register.new_incident(pg_store, RAW, actor="tester")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="insert-only"):
                conn.execute(statement.encode())
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (1,)
    assert pg_store.verify_audit().ok


def test_verify_finds_a_line_rewritten_behind_the_trigger(pg_store: RegisterStore, pg_url: str) -> None:
    created = register.new_incident(pg_store, RAW, actor="tester")
    register.set_fields(pg_store, created.id, {"persons": "40"}, actor="tester")
    register.set_fields(pg_store, created.id, {"persons": "41"}, actor="tester")
    assert pg_store.verify_audit().ok
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the owner disables the trigger: still found
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_insert_only")
        conn.execute("UPDATE audit_log SET line = replace(line, '[36,40]', '[36,99]') WHERE seq = 2")
    result = pg_store.verify_audit()
    assert not result.ok and result.line == 2 and "edited" in result.problem
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE audit_log SET line = replace(line, '[36,99]', '[36,40]') WHERE seq = 2")
        assert pg_store.verify_audit().ok
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
    assert "removed from the end" in pg_store.verify_audit().problem


def test_a_record_changed_outside_the_toolkit_is_found(pg_store: RegisterStore, pg_url: str) -> None:
    created = register.new_incident(pg_store, RAW, actor="tester")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE incidents SET content = replace(content, 'persons = 36', 'persons = 3'), "
                     "sha256 = 'x' WHERE id = %s", (created.id,))
    result = pg_store.verify_audit()
    assert not result.ok and "does not match its last audited state" in result.problem


SAVE_STREAM = SETUP + """
n = 0
while True:
    n += 1
    register.set_fields(store, sys.argv[2], {"persons": str(n)}, actor="saver")
    print(n, flush=True)
"""


def test_eight_writers_lose_no_event(pg_store: RegisterStore, pg_store_dir: Path) -> None:
    incident_id = register.new_incident(pg_store, RAW, actor="setup").id
    _wait_all([_spawn(ADD_EVENTS, str(pg_store_dir), incident_id, "50", str(w)) for w in range(8)])
    record = pg_store.load(incident_id)
    workers = [e.text for e in record.timeline if e.text.startswith("worker ")]
    assert len(workers) == 400
    assert {e.text for e in record.timeline if e.text.startswith("worker ")} == \
        {f"worker {w} event {n}" for w in range(8) for n in range(50)}
    result = pg_store.verify_audit()
    assert result.ok and result.entries == 401


def test_eight_creators_get_distinct_ids(pg_store: RegisterStore, pg_store_dir: Path) -> None:
    _wait_all([_spawn(CREATE, str(pg_store_dir), "20") for _ in range(8)])
    ids = [r.id for r in pg_store.records()]
    assert len(ids) == 160 == len(set(ids))
    assert sorted(int(i.split("-")[1]) for i in ids) == list(range(1, 161))
    assert pg_store.verify_audit().ok


def test_a_client_killed_mid_change_leaves_no_partial_incident_and_no_gap(
        pg_store: RegisterStore, pg_store_dir: Path) -> None:
    incident_id = register.new_incident(pg_store, RAW, actor="setup").id
    for delay in (0.3, 0.6, 0.9):
        proc = _spawn(SAVE_STREAM, str(pg_store_dir), incident_id)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate()
        saved = [int(n) for n in out.split()]
        record = open_store(pg_store_dir).load(incident_id)
        # the last save the client saw returned is there; at most the one in flight besides it
        assert not saved or record.get("persons") in (saved[-1], saved[-1] + 1)
        result = open_store(pg_store_dir).verify_audit()
        assert result.ok, result.problem



def test_a_list_reads_the_record_not_a_cache_left_behind(pg_store: RegisterStore, pg_url: str) -> None:
    created = register.new_incident(pg_store, RAW, actor="tester")
    assert [r.get("persons") for r in pg_store.records()] == [36]
    assert [x["persons"] for x in pg_store.summaries()] == [36]  # and the list
    with psycopg.connect(pg_url, autocommit=True) as conn:  # content and hash changed together, cache left stale
        conn.execute("UPDATE incidents SET content = replace(content, 'persons = 36', 'persons = 37') WHERE id = %s",
                     (created.id,))
        conn.execute("UPDATE incidents SET sha256 = encode(sha256(convert_to(content, 'UTF8')), 'hex') WHERE id = %s",
                     (created.id,))
    assert [r.get("persons") for r in pg_store.records()] == [37]
    assert [x["persons"] for x in pg_store.summaries()] == [37]  # and the list
    with psycopg.connect(pg_url, autocommit=True) as conn:  # a damaged cache entry: the record's own text
        conn.execute("UPDATE incidents SET content = replace(content, 'persons = 37', 'persons = 38') WHERE id = %s",
                     (created.id,))
        conn.execute("UPDATE incidents SET sha256 = encode(sha256(convert_to(content, 'UTF8')), 'hex') WHERE id = %s",
                     (created.id,))
        conn.execute("UPDATE incidents SET cached = '{\"key\": \"' || sha256 || '\", \"record\": 1}' WHERE id = %s",
                     (created.id,))
    assert [r.get("persons") for r in pg_store.records()] == [38]
    assert [x["persons"] for x in pg_store.summaries()] == [38]  # and the list
    with psycopg.connect(pg_url, autocommit=True) as conn:  # a cached form that is not JSON at all
        conn.execute("UPDATE incidents SET content = replace(content, 'persons = 38', 'persons = 39') WHERE id = %s",
                     (created.id,))
        conn.execute("UPDATE incidents SET sha256 = encode(sha256(convert_to(content, 'UTF8')), 'hex') WHERE id = %s",
                     (created.id,))
        conn.execute("UPDATE incidents SET cached = '{\"key\": \"' || sha256 || '\", broken' WHERE id = %s",
                     (created.id,))
    assert [r.get("persons") for r in pg_store.records()] == [39]
    assert [x["persons"] for x in pg_store.summaries()] == [39]


def test_the_counter_follows_an_incident_inserted_with_its_number(pg_store: RegisterStore, pg_url: str) -> None:
    first = register.new_incident(pg_store, RAW, actor="tester")
    year = first.id.split("-")[0]
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as an import keeps an incident's own number
        conn.execute("INSERT INTO incidents (id, content, sha256, cached, data, status, discovered_at) "
                     "SELECT %s, content, sha256, cached, data, status, discovered_at FROM incidents WHERE id = %s",
                     (f"{year}-0041", first.id))
        assert conn.execute("SELECT last FROM id_counters WHERE year = %s", (int(year),)).fetchone() == (41,)
    assert register.new_incident(pg_store, RAW, actor="tester").id == f"{year}-0042"


def test_the_list_summaries_the_migration_fills_in_are_the_ones_written(pg_store: RegisterStore,
                                                                         pg_url: str) -> None:
    """Migration 0008 fills in the summaries of rows written before it, in SQL: the same as the toolkit
    writes (`stored_summary`); a row without one, or with a damaged one, is listed from its text."""
    from importlib import resources

    from incident.register.store import stored_summary

    for path in sorted(INCIDENTS.glob("*.toml")):
        register.new_incident(pg_store, tomllib.loads(path.read_text(encoding="utf-8")), actor="tester")
    listed = pg_store.summaries()
    ids = [s["id"] for s in listed]
    register.set_fields(pg_store, ids[0], {"persons": "0"}, actor="tester")
    written = {r.id: stored_summary(r) for r in pg_store.records()}
    sql = resources.files("incident.register").joinpath("migrations/0008_list_summaries.sql").read_text("utf-8")
    backfill = sql[sql.index("UPDATE incidents SET"):]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE incidents SET summary = NULL, summary_key = NULL")
        assert pg_store.summaries() == [{**s, "persons": 0} if s["id"] == ids[0] else s for s in listed]
        conn.execute(backfill)
        filled = dict(conn.execute("SELECT id, summary FROM incidents").fetchall())
        assert filled == written
        for damage in ("'{}'::jsonb", "summary || '{\"discovered_at\": \"x\"}'::jsonb", "'[]'::jsonb"):
            conn.execute(f"UPDATE incidents SET summary = {damage} WHERE id = %s", (ids[1],))
            assert [s["id"] for s in pg_store.summaries()] == ids
        conn.execute("UPDATE incidents SET content = content || ' ', summary = NULL WHERE id = %s", (ids[2],))
    assert [s["id"] for s in pg_store.summaries()] == ids  # a text changed outside: listed from the text


def test_a_list_is_dated_in_the_stores_timezone(pg_store_dir: Path, pg_store: RegisterStore) -> None:
    """Each summary kept in the database is dated in the timezone of the store that lists it."""
    early = {**RAW, "occurred_at": "2024-06-03T00:10:00+09:00", "discovered_at": "2024-06-03T00:30:00+09:00"}
    register.new_incident(pg_store, early, actor="tester")
    assert [s["discovered_on"] for s in pg_store.summaries()] == ["2024-06-03"]
    store = open_store(pg_store_dir)
    store.__dict__["config"] = dataclasses.replace(store.config, timezone="UTC")
    assert [s["discovered_on"] for s in store.summaries()] == ["2024-06-02"]


def _keepalive_socket_options(conn: psycopg.Connection[object]) -> tuple[int, int, int, int] | None:
    """SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT as the connection's socket has them (Linux)."""
    import socket

    if not all(hasattr(socket, name) for name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT")):
        return None
    sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        return (sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))
    finally:
        sock.close()


def test_connections_notice_a_dead_peer_by_tcp_keepalives(pg_url: str) -> None:
    """A machine that loses power mid-send leaves its session (and a batch's advisory lock) on the server
    until TCP notices: the keepalives make that about a minute."""
    from psycopg import pq
    from psycopg.conninfo import conninfo_to_dict

    from incident.register import pgstore

    with pgstore.connect(pg_url) as conn:
        settings = conninfo_to_dict(conn.info.dsn)
        assert {k: settings.get(k) for k in pgstore.KEEPALIVES} == {
            "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3"}
        if b"tcp_user_timeout" in {o.keyword for o in pq.Conninfo.get_defaults()}:
            assert settings.get("tcp_user_timeout") == "60000"
        on_socket = _keepalive_socket_options(conn)
        assert on_socket is None or (bool(on_socket[0]), *on_socket[1:]) == (True, 30, 10, 3)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_urls_own_keepalive_settings_win(pg_url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    from incident.register import pgstore

    url = f"{pg_url}&keepalives_idle=5&tcp_user_timeout=9000"
    assert "keepalives_idle" not in pgstore.connection_settings(url)
    with pgstore.connect(url) as conn:
        settings = conninfo_to_dict(conn.info.dsn)
        assert (settings.get("keepalives_idle"), settings.get("keepalives_interval")) == ("5", "10")
        assert settings.get("tcp_user_timeout") == "9000"
        on_socket = _keepalive_socket_options(conn)
        assert on_socket is None or on_socket[1] == 5
    assert pgstore.connection_settings("postgresql://u@h/db?keepalives=0")["keepalives_idle"] == 30
    assert "keepalives" not in pgstore.connection_settings("postgresql://u@h/db?keepalives=0")
