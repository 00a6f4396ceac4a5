"""Retention: personal data of incidents closed longer ago than retention_years is removed, and logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from conftest import INCIDENTS, answer_review

from incident.followup.purge import add_years, plan_purge
from incident.law.context import resolve

TOKYO = ZoneInfo("Asia/Tokyo")
EMAIL = INCIDENTS / "email-cc-36.toml"  # discovered 2024-06-03


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    from incident import dates

    current = {"now": datetime(2024, 7, 1, 10, 0, tzinfo=TOKYO)}
    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": current["now"].astimezone(ZoneInfo(tz)))

    def set_clock(text: str) -> None:
        current["now"] = datetime.fromisoformat(text).replace(tzinfo=TOKYO)

    return set_clock


def personal_data(store_dir: Path, incident: str) -> list[str]:
    """A roster file, a sending batch and a rendered notice, where `incident roster import` and `incident send
    --prepare` keep them (rosters/ID.roster, batches/ID/) and a notice named after the incident."""
    (store_dir / "rosters").mkdir(exist_ok=True)
    (store_dir / "rosters" / f"{incident}.roster").write_bytes(b"\x00" * 100)
    batch = store_dir / "batches" / incident
    batch.mkdir(parents=True)
    (batch / "messages.jsonl").write_text('{"to_addr": "a@example.jp"}\n')
    (batch / "journal.jsonl").write_text("")
    (store_dir / "notices").mkdir(exist_ok=True)
    (store_dir / "notices" / f"{incident}.individual-letter.txt").write_text("山田 太郎 様\n")
    return [f"rosters/{incident}.roster", f"batches/{incident}",
            f"notices/{incident}.individual-letter.txt"]


@pytest.fixture
def closed(run: Callable[..., Result], store_dir: Path, clock: Callable[[str], None]) -> tuple[str, list[str]]:
    """An incident closed on 2024-07-01 with its personal data in the store; another still open."""
    incident = json.loads(run(f"new --from {EMAIL} --json").stdout)["id"]
    still_open = json.loads(run(f"new --from {EMAIL} --json").stdout)["id"]
    paths = personal_data(store_dir, incident)
    personal_data(store_dir, still_open)
    # an entry of another incident whose ID starts with the same characters
    (store_dir / "rosters" / f"{incident}0.roster").write_bytes(b"x")
    answer_review(run, incident)
    run(f"status {incident} closed")
    return incident, paths


def test_nothing_is_due_on_the_fifth_anniversary(run: Callable[..., Result], closed: Any,
                                                 clock: Callable[[str], None]) -> None:
    clock("2029-07-01T23:00")
    result = run("purge --yes")
    assert result.stdout.startswith("Nothing to remove: no incident closed more than 5 years before 2029-07-01")
    assert result.stderr == ""


def test_the_day_after_it_is_removed_and_logged(run: Callable[..., Result], closed: Any, store_dir: Path,
                                                clock: Callable[[str], None]) -> None:
    incident, paths = closed
    clock("2029-07-02T09:00")
    result = run("purge --yes")
    assert result.stderr == (f"Removed the personal data of 1 incident(s): {incident}. "
                             "The records and the audit log remain.\n")
    for path in paths:
        assert not (store_dir / path).exists()
    assert (store_dir / "rosters" / f"{incident}0.roster").exists()
    assert len(list((store_dir / "rosters").iterdir())) == 2  # the open incident's roster and the look-alike
    record = json.loads(run(f"show {incident} --json").stdout)
    assert record["summary"] and record["status"] == "closed"
    assert record["timeline"][-1] == {
        "at": "2029-07-02T09:00:00+09:00", "kind": "purge", "actor": "tester",
        "text": "保存期間（閉鎖後5年）の経過により個人データを削除: " + ", ".join(paths)}
    entry = json.loads(run(f"audit show --incident {incident} --last 1 --json").stdout)[0]
    assert (entry["action"], entry["changes"]["removed"], entry["changes"]["closed_on"],
            entry["changes"]["retention_years"], entry["changes"]["bytes"]) == (
        "purge", paths, "2024-07-01", 5, 100 + 28 + len("山田 太郎 様\n".encode()))
    assert run("audit verify").stdout.startswith("audit log OK")
    assert run("purge --yes").stdout.startswith("Nothing to remove")


def test_without_a_terminal_it_only_shows(run: Callable[..., Result], closed: Any, store_dir: Path,
                                          clock: Callable[[str], None]) -> None:
    incident, paths = closed
    clock("2030-01-01T09:00")
    result = run("purge")
    assert result.stdout.startswith("Personal data past the retention period (5 years after closing)")
    assert incident in result.stdout and "2024-07-01" in result.stdout
    assert result.stderr == "Nothing removed: run with --yes to remove it (or --dry-run to only look).\n"
    assert run("purge --dry-run --yes").stderr == ""
    assert all((store_dir / p).exists() for p in paths)
    data = json.loads(run("purge --json").stdout)
    assert data == {"today": "2030-01-01", "retention_years": 5, "removed": False, "incidents": [
        {"incident": incident, "closed_on": "2024-07-01", "paths": paths, "bytes": 146}],
        "holdings": data["holdings"], "stray": []}
    # what each incident still holds and from when it is due: this one past due, the open one not yet dated
    assert data["holdings"][0] == {"incident": incident, "status": "closed", "closed_on": "2024-07-01",
                                   "due_from": "2029-07-02", "paths": paths, "notes": []}
    assert [(h["status"], h["due_from"]) for h in data["holdings"][1:]] == [("open", None)]


def test_on_a_terminal_it_asks(run: Callable[..., Result], closed: Any, store_dir: Path,
                               clock: Callable[[str], None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incident.cli.reporting.is_interactive", lambda: True)
    _incident, paths = closed
    clock("2030-01-01T09:00")
    scripted = run("purge --json")  # a JSON run never asks, even on a terminal
    assert json.loads(scripted.stdout)["removed"] is False
    assert scripted.stderr == "Nothing removed: run with --yes to remove it (or --dry-run to only look).\n"
    declined = run("purge", input="n\n")
    assert "Remove the personal data of 1 incident(s)? [y/N]: n" in declined.stdout
    assert declined.stderr == "Nothing removed.\n"
    assert all((store_dir / p).exists() for p in paths)
    run("purge", input="y\n")
    assert not any((store_dir / p).exists() for p in paths)


def test_retention_years_comes_from_the_config(run: Callable[..., Result], closed: Any, store_dir: Path,
                                               store: Any, clock: Callable[[str], None]) -> None:
    from incident.law.vocabulary import open_store

    config = store_dir / "config.toml"
    config.write_text(config.read_text().replace("retention_years = 5", "retention_years = 1"))
    clock("2025-07-02T09:00")
    plan = plan_purge(resolve(open_store(store_dir)))
    assert (plan.retention_years, [i.incident for i in plan.items]) == (1, [closed[0]])


def test_a_reopened_incident_is_kept(run: Callable[..., Result], closed: Any, clock: Callable[[str], None]) -> None:
    clock("2024-08-01T09:00")
    run(f"status {closed[0]} open --force --reason 再調査")
    clock("2031-01-01T09:00")
    assert run("purge --yes").stdout.startswith("Nothing to remove")


def test_add_years_on_29_february() -> None:
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_an_imported_roster_is_removed(run: Callable[..., Result], store_dir: Path, tmp_path: Path,
                                       clock: Callable[[str], None]) -> None:
    incident = json.loads(run(f"new --from {EMAIL} --json").stdout)["id"]
    people = tmp_path / "people.csv"
    people.write_text("氏名,メールアドレス\n山田 太郎,taro@example.jp\n", encoding="utf-8")
    run(f"roster import {incident} {people}")
    answer_review(run, incident)
    run(f"status {incident} closed")
    clock("2029-07-02T00:00")
    run("purge --yes")
    assert not (store_dir / "rosters" / f"{incident}.roster").exists()
    entry = json.loads(run(f"audit show --incident {incident} --last 1 --json").stdout)[0]
    assert entry["changes"]["removed"] == [f"rosters/{incident}.roster"]
