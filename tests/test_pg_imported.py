"""History moved into PostgreSQL keeps who did what: `incident db import` writes each entry of a file store in
the importer's role but with its author as the source recorded it (the `imported` mark), so the double
checks (send's preparer and approver, a corrective action's done and verify) still tell the source's people
apart, and still refuse one person's two steps; the chain verifies after import, after export and after a
round trip; and no live entry can pass for an imported one."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import Result
from conftest import INCIDENTS, cli_at
from pgserver import Roles, as_role
from smtp_server import SmtpTestServer
from test_send_cli import configure, incident  # noqa: F401 - fixture: an incident with a roster and SMTP settings

from incident.errors import RefusedError
from incident.law.vocabulary import init_store, open_store
from incident.notices.batch import BatchManifest, approve_batch, check_logged_approval, load_manifest
from incident.register.actors import Author, author_of
from incident.register.audit import GENESIS
from incident.register.config import Config
from incident.register.store import Store


def _imported(database: Path, source: Path) -> list[dict[str, Any]]:
    """Import `source` into `database` (as the server's own role: the importer); the entries copied."""
    done = json.loads(cli_at(database, "db", "import", str(source), "--json").stdout)
    assert done["verified"]["ok"]
    entries = list(open_store(database).audit_entries())
    return entries[-done["entries"]:]


def test_a_batch_prepared_and_approved_by_two_people_in_the_file_store_is_sent_from_the_database(
        run: Callable[..., Result], incident: str, store_dir: Path, database: Path) -> None:  # noqa: F811
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    source = list(open_store(store_dir).audit_entries())
    copied = _imported(database, store_dir)
    importer = open_store(database).identity()
    # each copy is written in the importer's role, with its author, time and place in the source
    assert [(e["role"], e["actor"], e["ts"], e["imported"]) for e in copied] == [
        (importer, s["actor"], s["ts"], {"seq": s["seq"], "hash": s["hash"]}) for s in source]
    assert [(author_of(e).name, author_of(e).role, author_of(e).imported) for e in copied if
            e["action"].startswith("send")] == [("alice", None, True), ("bob", None, True)]
    shown = json.loads(cli_at(database, "audit", "show", "--incident", incident, "--json").stdout)
    assert [(e["actor"], e["imported"]["seq"]) for e in shown if e["action"].startswith("send")] == [
        (s["actor"], s["seq"]) for s in source if s["action"].startswith("send")]
    table = cli_at(database, "audit", "show", "--incident", incident).stdout
    for s in source:
        if s["action"].startswith("send"):
            assert f"{s['actor']} (imported: #{s['seq']} there)" in table
    with SmtpTestServer() as server:
        configure(database, server.port)
        sent = json.loads(cli_at(database, "send", incident, "--json", "--actor", "carol").stdout)
        assert sent["sent"] == 3 and sent["identities"] == {"compared": "names", "imported": True}
        assert len(server.received) == 3
    assert json.loads(cli_at(database, "audit", "verify", "--json").stdout)["ok"]


def test_one_person_who_prepared_and_approved_in_the_file_store_is_still_one_in_the_database(
        run: Callable[..., Result], incident: str, store_dir: Path, database: Path) -> None:  # noqa: F811
    run(f"send {incident} --prepare --actor '山田 太郎'")
    manifest = approve_batch(open_store(store_dir).batch_dir(incident), "bob")  # the manifest says bob …
    store = open_store(store_dir)
    store.log("山田太郎", "send-approve", incident, {"count": manifest.count, "sha256": manifest.sha256})  # … the log not
    _imported(database, store_dir)
    with SmtpTestServer() as server:
        configure(database, server.port)
        refused = cli_at(database, "send", incident, "--actor", "carol", expect=2)
        assert "by someone other than its preparer" in refused.stderr and server.received == []


def _signed_entries(store: Store, incident_id: str, entries: list[tuple[str, str, str | None]], sha: str) -> None:
    """Entries written as a file store exported from a database by an earlier version kept them: each with the
    database role of its author beside the name given."""
    found = store._audit_key(True)
    key = found[0] if found else None
    with store.locked():
        for action, actor, role in entries:
            last = store.audit.last()
            seq, prev = (int(last["seq"]), str(last["hash"])) if last else (0, GENESIS)
            store.audit._write(seq + 1, prev, key, actor=actor, action=action, incident=incident_id,
                               changes={"sha256": sha}, at=datetime.fromisoformat("2024-06-05T09:00:00+09:00"),
                               role=role)


@pytest.mark.parametrize(("roles", "two"), [(("officer1", "officer1"), False), (("officer1", "officer2"), True)])
def test_the_roles_a_source_recorded_are_compared_not_the_importers_nor_the_names(
        tmp_path: Path, database: Path, roles: tuple[str, str], two: bool) -> None:
    source = tmp_path / "files"
    cli_at(source, "init")
    incident_id = json.loads(cli_at(source, "new", "--from", str(INCIDENTS / "email-cc-36.toml"), "--json").stdout)["id"]
    manifest = BatchManifest(incident_id, 1, "a" * 64, "alice", "2024-06-04T09:00:00+09:00")
    # one role under two names, or two roles under one name
    names = ("alice", "bob") if roles[0] == roles[1] else ("alice", "alice")
    _signed_entries(open_store(source), incident_id, [("send-prepare", names[0], roles[0]),
                                                   ("send-approve", names[1], roles[1])], manifest.sha256)
    copied = _imported(database, source)
    assert [author_of(e) for e in copied[-2:]] == [Author(names[0], roles[0], True), Author(names[1], roles[1], True)]
    on_files = list(open_store(source).audit_entries())
    for entries in (on_files, copied):
        if two:
            assert check_logged_approval(entries, incident_id, manifest).compared == "roles"
        else:
            with pytest.raises(RefusedError, match="someone other than its preparer"):
                check_logged_approval(entries, incident_id, manifest)


def test_export_and_import_again_keep_the_authors_and_the_chain(
        run: Callable[..., Result], incident: str, store_dir: Path, database: Path, tmp_path: Path,  # noqa: F811
        pg_url: str, pg_roles: Roles) -> None:
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    _imported(database, store_dir)
    # a live step on the database, by a role of its own
    role = pg_roles.member(pg_url, "dora")
    cli_at(database, "--actor", "dora", "log", incident, "初動対応", env={"INCIDENT_DATABASE_URL": as_role(pg_url, role)})
    on_db = list(open_store(database).audit_entries())
    out = tmp_path / "exported"
    assert json.loads(cli_at(database, "db", "export", str(out), "--json").stdout)["verified"]["ok"]
    assert json.loads(cli_at(out, "audit", "verify", "--json").stdout)["ok"]
    exported = list(open_store(out).audit_entries())
    authors = {e["hash"]: author_of(e) for e in on_db}
    copied = exported[-len(on_db):]
    assert all("role" not in e for e in copied)  # the file store names no role of its own
    assert [(author_of(e), e["imported"]["seq"], e["imported"]["hash"]) for e in copied] == [
        (Author(authors[s["hash"]].name, authors[s["hash"]].role, True), s["seq"], s["hash"]) for s in on_db]
    assert author_of(copied[-1]) == Author("dora", role, True)
    manifest = load_manifest(open_store(store_dir).batch_dir(incident))
    assert check_logged_approval(exported, incident, manifest).compared == "names"
    # and back into another database: the first authors still, and a chain that verifies
    other = _second_schema(pg_url, tmp_path)
    back = _imported(other, out)
    assert [author_of(e) for e in back[-len(on_db):]] == [
        Author(authors[s["hash"]].name, authors[s["hash"]].role, True) for s in on_db]
    assert json.loads(cli_at(other, "audit", "verify", "--json").stdout)["ok"]
    assert check_logged_approval(back, incident, manifest).imported


def _second_schema(pg_url: str, tmp_path: Path) -> Path:
    """A second register in the same test database (a schema of its own)."""
    import secrets
    from urllib.parse import quote

    base, _options = pg_url.split("?", 1)
    schema = f"again_{secrets.token_hex(3)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    store = tmp_path / "db-again"
    init_store(store, Config(database_url=f"{base}?options={quote(f'-csearch_path={schema}')}"))
    return store


def test_an_action_done_in_the_file_store_is_verified_in_the_database_by_someone_else(
        tmp_path: Path, database: Path) -> None:
    source = tmp_path / "files"
    cli_at(source, "init")
    incident_id = json.loads(cli_at(source, "new", "--from", str(INCIDENTS / "email-cc-36.toml"), "--json").stdout)["id"]
    cli_at(source, "action", "add", incident_id, "--measure", "照合手順の改訂", "--owner", "総務課", "--due", "2024-08-30")
    aid = f"{incident_id}/A1"
    cli_at(source, "--actor", "佐藤", "action", "done", aid, "--evidence", "手順書第3版を周知")
    _imported(database, source)
    own = cli_at(database, "--actor", " 佐藤", "action", "verify", aid, expect=2)
    assert own.stderr == (f"error: {aid} was marked done by 佐藤; the effectiveness check must be made by someone "
                          "else (--actor NAME)\n")
    verified = cli_at(database, "--actor", "田中", "action", "verify", aid)
    assert verified.stderr == (f"{aid} verified by 田中.\nIdentities compared: the names given, those of imported "
                               "entries as recorded in the imported file store.\n")
    listed = json.loads(cli_at(database, "action", "list", "--json").stdout)
    assert [(a["state"], a["verified_by"]) for a in listed] == [("verified", "田中")]


def test_no_live_entry_passes_for_an_imported_one(tmp_path: Path, database: Path, pg_url: str,
                                                  pg_roles: Roles) -> None:
    role = pg_roles.member(pg_url, "mallory")
    as_mallory = {"INCIDENT_DATABASE_URL": as_role(pg_url, role)}
    incident_id = json.loads(cli_at(database, "new", "--from", str(INCIDENTS / "email-cc-36.toml"), "--json",
                               env=as_mallory).stdout)["id"]

    def line(seq: int, action: str, **extra: Any) -> str:
        return json.dumps({"seq": seq, "action": action, "actor": "x", "incident": incident_id, "role": role,
                           "prev": "0" * 64, "hash": f"{seq:064x}", **extra})

    with psycopg.connect(as_role(pg_url, role), autocommit=True) as conn:
        seq = int(conn.execute("SELECT max(seq) FROM audit_links").fetchone()[0]) + 1  # type: ignore[index]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must name its author"):
            conn.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) VALUES (%s, %s, %s, %s, "
                         "'x', 'x')", (seq, line(seq, "send-approve", role="someone_else"), f"{seq:064x}", incident_id))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="marked imported"):
            conn.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) VALUES (%s, %s, %s, %s, "
                         "'x', 'x')", (seq, line(seq, "send-approve", imported={"seq": 1, "role": "someone_else"}),
                                       f"{seq:064x}", incident_id))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="never held an incident"), \
                conn.transaction():  # not even after an import of its own making
            conn.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) VALUES (%s, %s, %s, "
                         "NULL, 'x', 'x')", (seq, line(seq, "db-import", incident=None), f"{seq:064x}"))
        # the columns beside the line are the line's: a db-import column over another entry is refused too
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="marked imported"), conn.transaction():
            conn.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) VALUES (%s, %s, %s, "
                         "NULL, 'x', 'db-import')", (seq, line(seq, "update", incident=None), f"{seq:064x}"))
            conn.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) VALUES (%s, %s, %s, "
                         "%s, 'x', 'x')", (seq + 1, line(seq + 1, "send-approve", imported={"seq": 1}),
                                           f"{seq + 1:064x}", incident_id))
    # the import itself goes only into a register that never held an incident
    source = tmp_path / "files"
    cli_at(source, "init")
    cli_at(source, "new", "--from", str(INCIDENTS / "email-cc-36.toml"))
    refused = cli_at(database, "db", "import", str(source), expect=2)
    assert "holds incidents already" in refused.stderr


def test_a_role_matches_whatever_the_name_and_the_record_names_the_earlier_step_when_the_log_does_not() -> None:
    from incident.register.actors import Identities, signed_in_as_one_of, told_apart

    me = Author("dora", "desk_dora")
    assert signed_in_as_one_of(me, [Author("bob", "desk_bob"), Author("Dora B.", "desk_dora", True)])
    assert not signed_in_as_one_of(me, [Author("dora"), Author("bob", "desk_bob")])
    assert not signed_in_as_one_of(Author("dora"), [Author("dora")])  # names are compared elsewhere
    assert told_apart(me, [Author("bob", "desk_bob", True)], "ignored") == Identities("roles", True)
    assert told_apart(me, [Author("bob")], "ignored") == Identities("names", False)
    assert told_apart(me, [], "bob") == Identities("names", False)  # the record's name: no role
