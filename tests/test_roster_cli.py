"""`incident roster import|show` through the CLI: encodings, --map, bad rows, masking, --reveal logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_mailmerge import PEOPLE, write_csv
from test_notices import make, write_config

from incident.law.vocabulary import open_store


@pytest.fixture
def incident(store_dir: Path) -> str:
    write_config(store_dir)
    return make(open_store(store_dir))


@pytest.mark.parametrize("encoding,shown", [("cp932", "cp932"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")])
def test_import_detects_the_encoding_and_records_no_personal_data(run: Any, incident: str, tmp_path: Path,
                                                                  store_dir: Path, encoding: str, shown: str) -> None:
    result = run(f"roster import {incident} {write_csv(tmp_path / 'r.csv', encoding=encoding)} --json")
    report = json.loads(result.stdout)
    assert report["count"] == 4 and report["encoding"] == shown
    assert report["columns"] == ["name", "email", "address", "postal_code"]
    section = open_store(store_dir).load(incident).sections["roster"]
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
    assert not [e for e in open_store(store_dir).audit.entries() if e["action"] == "roster-reveal"]
    revealed = json.loads(run(f"roster show {incident} --reveal -n 1 --json").stdout)
    assert [p["name"] for p in revealed["sample"]] == ["山田 太郎"]
    (entry,) = [e for e in open_store(store_dir).audit.entries() if e["action"] == "roster-reveal"]
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


def test_import_prints_the_count_against_the_files_data_lines(run: Any, incident: str, tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    src.write_text("氏名,住所\n" + "".join(f"人{i},東京都{i}\n" for i in range(3)) + "\n佐藤,\n", encoding="utf-8")
    result = run(f"roster import {incident} {src} --skip-invalid")
    assert f"Imported 3 people of 4 data lines for {incident} (utf-8; columns: name, address)" in result.stderr
    assert "Skipped 1 invalid row(s):\n  row 6: no address or e-mail" in result.stderr
    assert json.loads(run(f"roster import {incident} {src} --skip-invalid --json").stdout)["data_lines"] == 4


def test_encoding_option_and_mojibake_refusal(run: Any, incident: str, tmp_path: Path) -> None:
    src = tmp_path / "euc.csv"
    src.write_bytes("氏名,email\n山田太郎,taro@example.jp\n佐藤花子,hanako@example.jp\n".encode("euc_jp"))
    result = run(f"roster import {incident} {src}", expect=2)
    assert "reads like EUC-JP" in result.stderr and "--encoding" in result.stderr
    report = json.loads(run(f"roster import {incident} {src} --encoding euc-jp --json").stdout)
    assert (report["encoding"], report["count"]) == ("euc_jp", 2)
    assert "unknown encoding 'nope'" in run(f"roster import {incident} {src} --encoding nope", expect=2).stderr


def test_an_unrecognised_header_is_refused_naming_the_columns(run: Any, incident: str, tmp_path: Path,
                                                              store_dir: Path) -> None:
    src = tmp_path / "r.csv"
    src.write_text("宛先,郵便,所番地,連絡\n山田 太郎,1000001,東京都,taro@example.jp\n", encoding="utf-8")
    result = run(f"roster import {incident} {src}", expect=2)
    assert "no name column (氏名) and neither an address (住所) nor an e-mail" in result.stderr
    assert "宛先, 郵便, 所番地, 連絡" in result.stderr and "--map" in result.stderr
    assert not (store_dir / "rosters" / f"{incident}.roster").exists()
    run(f"roster import {incident} {src} --map 宛先=name,所番地=address")
