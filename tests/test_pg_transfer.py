"""`incident db import DIR` and `incident db export DIR`: a file store into the database and back out, the
records byte for byte, the audit chain verified before and after, sealed personal data copied as it is."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from conftest import INCIDENTS, cli_at

from incident.law.vocabulary import open_store


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A file store with two incidents, a history and a sealed roster file."""
    store = tmp_path / "files"
    cli_at(store, "init")
    for _ in range(2):
        cli_at(store, "new", "--from", str(INCIDENTS / "email-cc-36.toml"))
    cli_at(store, "log", "2024-0001", "初動対応")
    cli_at(store, "--actor", "佐藤", "set", "2024-0002", "persons=40")
    (store / "rosters").mkdir(mode=0o700)
    (store / "rosters" / "2024-0001.roster").write_bytes(b"sealed bytes, copied as they are")
    return store


def _texts(store: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted((store / "incidents").glob("*.toml"))}


def test_import_then_export_keeps_records_history_and_sealed_files(files: Path, database: Path, pg_url: str,
                                                                   tmp_path: Path) -> None:
    source_entries = [e for e in open_store(files).audit_entries()]
    done = json.loads(cli_at(database, "db", "import", str(files), "--json").stdout)
    assert (done["incidents"], done["entries"], done["personal_files"]) == (2, len(source_entries), 1)
    assert done["verified"]["ok"] and done["source_head"] == source_entries[-1]["hash"]
    with psycopg.connect(pg_url) as conn:
        rows = dict(conn.execute("SELECT id, content FROM incidents").fetchall())
    assert {k: v.encode() for k, v in rows.items()} == _texts(files)
    entries = list(open_store(database).audit_entries())
    imported = entries[-len(source_entries):]
    assert entries[-len(source_entries) - 1]["action"] == "db-import"
    assert [(e["ts"], e["actor"], e["action"], e["incident"], e["changes"], e.get("record_sha256"))
            for e in imported] == [(e["ts"], e["actor"], e["action"], e["incident"], e["changes"],
                                    e.get("record_sha256")) for e in source_entries]
    assert json.loads(cli_at(database, "audit", "verify", "--json").stdout)["ok"]
    assert (database / "rosters" / "2024-0001.roster").read_bytes() == b"sealed bytes, copied as they are"
    with psycopg.connect(pg_url) as conn:  # kept in the database too
        assert [(n, bytes(b)) for n, b in conn.execute("SELECT name, blob FROM personal_data")] == [
            ("rosters/2024-0001.roster", b"sealed bytes, copied as they are")]
    (database / "rosters" / "2024-0001.roster").unlink()  # exported from the database's copy
    assert cli_at(database, "show", "2024-0002", "--json").stdout == cli_at(files, "show", "2024-0002", "--json").stdout
    assert json.loads(cli_at(database, "new", "--from", str(INCIDENTS / "email-cc-36.toml"), "--json").stdout)["id"] \
        == "2024-0003"

    out = tmp_path / "exported"
    back = json.loads(cli_at(database, "db", "export", str(out), "--json").stdout)
    assert back["incidents"] == 3 and back["verified"]["ok"] and back["personal_files"] == 1
    assert {k: v for k, v in _texts(out).items() if k != "2024-0003"} == _texts(files)
    assert "database_url" not in (out / "config.toml").read_text()
    assert json.loads(cli_at(out, "audit", "verify", "--json").stdout)["ok"]
    assert cli_at(out, "new", "--from", str(INCIDENTS / "email-cc-36.toml")).stdout.strip() == "2024-0004"
    assert (out / "rosters" / "2024-0001.roster").read_bytes() == b"sealed bytes, copied as they are"
    assert [e["action"] for e in open_store(database).audit_entries()][-1] == "db-export"


def test_a_batch_and_its_journal_are_kept_in_the_database_and_exported_from_it(
        files: Path, database: Path, pg_url: str, tmp_path: Path) -> None:
    batch = files / "batches" / "2024-0001"
    batch.mkdir(parents=True, mode=0o700)
    journal = b'{"key": "p000001", "state": "sending"}\n{"key": "p000001", "state": "sent"}\n{"key": "p0'
    sealed = {"messages.sealed": b"sealed messages", "manifest.json": b'{"format": 2}', "journal.jsonl": journal}
    for name, data in sealed.items():
        (batch / name).write_bytes(data)
    cli_at(database, "db", "import", str(files))
    with psycopg.connect(pg_url) as conn:
        kept = {n: bytes(b) for n, b in conn.execute("SELECT name, blob FROM personal_data WHERE name LIKE 'batches/%'")}
        lines = [line for (line,) in conn.execute("SELECT line FROM batch_journal ORDER BY seq")]
    assert kept == {"batches/2024-0001/messages.sealed": b"sealed messages",
                    "batches/2024-0001/manifest.json": b'{"format": 2}'}
    assert lines == ['{"key": "p000001", "state": "sending"}', '{"key": "p000001", "state": "sent"}']  # not the torn one
    for name in sealed:
        (database / "batches" / "2024-0001" / name).unlink()  # exported from the database's copy
    cli_at(database, "db", "export", str(tmp_path / "out"))
    out = tmp_path / "out" / "batches" / "2024-0001"
    assert {name: (out / name).read_bytes() for name in sealed} == {
        **sealed, "journal.jsonl": journal[:journal.rindex(b"\n") + 1]}


def test_a_source_whose_audit_log_does_not_verify_is_not_imported(files: Path, database: Path) -> None:
    log = files / "audit.log"
    log.write_text(log.read_text().replace('"初動対応"', '"書き換え"'))
    refused = cli_at(database, "db", "import", str(files), expect=2)
    assert "does not verify" in refused.stderr and "nothing is copied" in refused.stderr
    assert json.loads(cli_at(database, "list", "--json").stdout) == []
    assert not (database / "rosters").exists()


def test_import_needs_an_empty_register_and_export_an_empty_directory(files: Path, database: Path,
                                                                      tmp_path: Path) -> None:
    cli_at(database, "new", "--from", str(INCIDENTS / "email-cc-36.toml"))
    assert "holds incidents already" in cli_at(database, "db", "import", str(files), expect=2).stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    assert "not an empty directory" in cli_at(database, "db", "export", str(tmp_path / "busy"), expect=2).stderr
    assert "keeps its register in files" in cli_at(files, "db", "export", str(tmp_path / "e"), expect=2).stderr
