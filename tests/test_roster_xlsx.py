"""`incident roster import ID FILE.xlsx`: the first sheet or --sheet, leading zeros of postal codes and
telephone numbers kept whether Excel stored them as numbers or text, the same header rules and
validation as a CSV, the address printed exactly as the sheet has it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from openpyxl import Workbook
from test_notices import make, write_config

from incident.law.vocabulary import open_store


def workbook(path: Path, rows: list[list[Any]], *, formats: dict[str, str] | None = None,
             other: list[list[Any]] | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "名簿"
    for row in rows:
        sheet.append(row)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    if other is not None:
        second = book.create_sheet("別シート")
        for row in other:
            second.append(row)
    book.save(path)
    return path


@pytest.fixture
def incident(store_dir: Path) -> str:
    write_config(store_dir)
    return make(open_store(store_dir))


def people(run: Callable[..., Result], incident: str) -> list[dict[str, Any]]:
    data = json.loads(run(f"roster show {incident} --reveal --json").stdout)
    found: list[dict[str, Any]] = data["sample"]
    return found


def test_leading_zeros_come_back(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [
        ["氏名", "郵便番号", "住所", "電話番号"],
        ["山田 太郎", 600001, "北海道札幌市中央区北１条西２丁目", 9012345678],
        [None, None, None, None],
        ["佐藤 花子", "0600042", "北海道札幌市中央区大通西１－１", "011-222-3333"],
        ["鈴木 次郎", 1000001, "東京都千代田区千代田1-1", 312345678],
        ["高橋 三郎", 4000, "青森県", None],
    ], formats={"B6": "0000000"})
    result = run(f"roster import {incident} {src}")
    assert "Imported 4 people" in result.stderr and "xlsx: 名簿" in result.stderr
    found = {p["name"]: p for p in people(run, incident)}
    assert found["山田 太郎"]["postal_code"] == "060-0001" and found["山田 太郎"]["phone"] == "09012345678"
    assert found["佐藤 花子"]["postal_code"] == "060-0042" and found["佐藤 花子"]["phone"] == "011-222-3333"
    assert found["鈴木 次郎"]["postal_code"] == "100-0001" and found["鈴木 次郎"]["phone"] == "0312345678"
    assert found["高橋 三郎"]["postal_code"] == "000-4000"
    assert found["山田 太郎"]["address"] == "北海道札幌市中央区北１条西２丁目"  # exactly as written


def test_the_letter_prints_the_address_as_written(run: Callable[..., Result], incident: str,
                                                  tmp_path: Path) -> None:
    address = "東京都千代田区千代田１－１－１　ハイツ千代田１０１号室"
    src = workbook(tmp_path / "people.xlsx", [["氏名", "住所", "郵便番号"], ["山田 太郎", address, "1000001"]])
    run(f"roster import {incident} {src}")
    out = tmp_path / "letters"
    run(f"notice {incident} --kind individual-letter --roster --out {out}")
    assert address in (out / "p000001.txt").read_text(encoding="utf-8").splitlines()


def test_another_sheet(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [["メモ"], ["この表ではない"]],
                   other=[["お名前", "メールアドレス"], ["山田 太郎", "taro@example.jp"]])
    assert "no name column" in run(f"roster import {incident} {src}", expect=2).stderr
    run(f"roster import {incident} {src} --sheet 別シート")
    assert [p["email"] for p in people(run, incident)] == ["taro@example.jp"]
    result = run(f"roster import {incident} {src} --sheet 名簿3 --replace --reason test", expect=2)
    assert "no sheet '名簿3'; the workbook has: 名簿, 別シート" in result.stderr


def test_invalid_rows_are_refused_like_a_csv(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [["氏名", "住所"], ["山田 太郎", "東京都"], [None, "大阪府"]])
    result = run(f"roster import {incident} {src}", expect=2)
    assert "row 3" in result.stderr and "no name" in result.stderr
    run(f"roster import {incident} {src} --skip-invalid")


def test_a_formula_and_other_bad_files(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [["氏名", "住所"], ["山田 太郎", "=A1&\"様方\""]])
    result = run(f"roster import {incident} {src}", expect=2)
    assert "row 2: a formula, not a value" in result.stderr
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    assert "not a readable Excel workbook" in run(f"roster import {incident} {broken}", expect=2).stderr
    csv = tmp_path / "people.csv"
    csv.write_text("氏名,住所\n山田 太郎,東京都\n", encoding="utf-8")
    assert "--sheet is for an Excel workbook" in run(f"roster import {incident} {csv} --sheet x", expect=2).stderr
