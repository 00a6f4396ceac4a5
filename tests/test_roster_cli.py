"""`incident roster import|show` through the CLI: encodings, --map, bad rows, masking, --reveal logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_mailmerge import PEOPLE, write_csv
from test_notices import make, write_config

from incident.register.store import Store


@pytest.fixture
def incident(store_dir: Path) -> str:
    write_config(store_dir)
    return make(Store.open(store_dir))


@pytest.mark.parametrize("encoding,shown", [("cp932", "cp932"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")])
def test_import_detects_the_encoding_and_records_no_personal_data(run: Any, incident: str, tmp_path: Path,
                                                                  store_dir: Path, encoding: str, shown: str) -> None:
    result = run(f"roster import {incident} {write_csv(tmp_path / 'r.csv', encoding=encoding)} --json")
    report = json.loads(result.stdout)
    assert report["count"] == 4 and report["encoding"] == shown
    assert report["columns"] == ["name", "email", "address", "postal_code"]
    section = Store.open(store_dir).load(incident).sections["roster"]
    assert {k: section[k] for k in ("count", "columns", "skipped", "duplicates")} == {
        "count": 4, "columns": ["name", "email", "address", "postal_code"], "skipped": 0, "duplicates": 0}
    stored = (store_dir / "rosters" / f"{incident}.roster").read_bytes()
    toml = (store_dir / "incidents" / f"{incident}.toml").read_text(encoding="utf-8")
    for name, email, *_ in PEOPLE:
        assert name.encode() not in stored and name not in toml
        if email:
            assert email.encode() not in stored and email not in toml


def test_bad_rows_are_listed_and_nothing_is_imported(run: Any, incident: str, tmp_path: Path, store_dir: Path) -> None:
    people = [*PEOPLE, ("悪い 例", "not-an-address", "", "12-345")]
    src = write_csv(tmp_path / "bad.csv", people)
    result = run(f"roster import {incident} {src}", expect=2)
    assert "row 6" in result.stderr and "not-an-address" in result.stderr
    assert result.stderr.count("not-an-address") == 1 and result.stderr.strip().count("\n") == 0
    assert not (store_dir / "rosters" / f"{incident}.roster").exists()
    result = run(f"roster import {incident} {src} --skip-invalid")
    assert "Imported 4 people" in result.stderr and "Skipped 1 invalid row(s):" in result.stderr


def test_map_names_unrecognized_columns(run: Any, incident: str, tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    src.write_text("お名前,連絡先メール,会員番号\n山田 太郎,taro@example.jp,A-1\n", encoding="utf-8")
    result = run(f"roster import {incident} {src} --map お名前=name,連絡先メール=email --json")
    assert json.loads(result.stdout)["columns"] == ["name", "email", "会員番号"]
    assert "--map expects COLUMN=FIELD" in run(f"roster import {incident} {src} --map お名前", expect=2).stderr


def test_show_masks_and_reveal_is_logged(run: Any, incident: str, tmp_path: Path, store_dir: Path) -> None:
    run(f"roster import {incident} {write_csv(tmp_path / 'r.csv')}")
    shown = json.loads(run(f"roster show {incident} --json").stdout)
    assert shown["count"] == 4 and shown["masked"] is True
    assert [(p["key"], p["name"], p["email"]) for p in shown["sample"][:2]] == [
        ("p000001", "山田 **", "t***@example.jp"), ("p000002", "佐藤 **", "h***@example.jp")]
    assert not [e for e in Store.open(store_dir).audit.entries() if e["action"] == "roster-reveal"]
    revealed = json.loads(run(f"roster show {incident} --reveal -n 1 --json").stdout)
    assert [p["name"] for p in revealed["sample"]] == ["山田 太郎"]
    (entry,) = [e for e in Store.open(store_dir).audit.entries() if e["action"] == "roster-reveal"]
    assert entry["actor"] == "tester" and entry["changes"] == {"shown": 1}
    table = run(f"roster show {incident}").stdout
    assert "4 people" in table and "山田 **" in table and "山田 太郎" not in table


def test_show_without_a_roster_says_so(run: Any, incident: str) -> None:
    assert "no roster has been imported" in run(f"roster show {incident}", expect=2).stderr


def test_a_wrong_key_is_an_error_not_a_traceback(run: Any, incident: str, tmp_path: Path) -> None:
    run(f"roster import {incident} {write_csv(tmp_path / 'r.csv')}")
    other_key = tmp_path / "other.key"
    result = run(f"roster show {incident}", expect=2, env={"INCIDENT_KEY_FILE": str(other_key)})
    assert "the key does not match this roster" in result.stderr
