"""Personal data on the shared register: a roster is kept in the database as the sealed file the officer's
machine wrote (never a plaintext name or address), reached from another officer's store directory, and
deleted from the database by purge, which records it."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from conftest import INCIDENTS, answer_review, database_url_of
from test_mailmerge import PEOPLE, write_csv
from test_purge import clock  # noqa: F401 - fixture: the toolkit's clock, set by the test

from incident.cli import cli
from incident.law.vocabulary import init_store
from incident.register.config import Config


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_roster_is_sealed_in_the_database_reached_elsewhere_and_purged(
        run: Callable[..., Result], store_dir: Path, tmp_path: Path, clock: Callable[[str], None]) -> None:  # noqa: F811
    url = database_url_of(store_dir)
    incident = json.loads(run(f"new --from {INCIDENTS / 'email-cc-36.toml'} --json").stdout)["id"]
    imported = json.loads(run(f"roster import {incident} {write_csv(tmp_path / 'roster.csv')} --json").stdout)
    name = f"rosters/{incident}.roster"
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name, blob FROM personal_data").fetchall()
        dump = b"".join(str(v).encode() for table in ("incidents", "audit_log", "id_counters")
                        for row in conn.execute(f"SELECT * FROM {table}".encode()) for v in row)
    assert [(n, bytes(b)) for n, b in rows] == [(name, (store_dir / name).read_bytes())]
    dump += bytes(rows[0][1])
    plain = {form for person in PEOPLE for value in person[:3] if value
             for form in (value, unicodedata.normalize("NFKC", value))}
    assert not [v for v in plain if v.encode() in dump or v.encode("cp932") in dump]

    # another officer: a store directory of their own on the same register (the same key file)
    elsewhere = tmp_path / "elsewhere"
    init_store(elsewhere, Config(database_url=url))
    shown: dict[str, Any] = json.loads(CliRunner().invoke(
        cli, ["--store", str(elsewhere), "roster", "show", incident, "--json"], catch_exceptions=False).stdout)
    assert shown["count"] == imported["count"] and (elsewhere / name).read_bytes() == rows[0][1]

    answer_review(run, incident)
    run(f"status {incident} closed")
    clock("2029-07-02T09:00")
    run("purge --yes")
    assert not (store_dir / name).exists()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM personal_data").fetchone() == (0,)
    entry = json.loads(run(f"audit show --incident {incident} --last 1 --json").stdout)[0]
    assert entry["action"] == "purge" and entry["changes"]["deleted_from_database"] == [name]
    assert name in entry["changes"]["removed"]
