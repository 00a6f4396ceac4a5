"""Excel out: the annual report and the list as XLSX (opened with openpyxl), CSV with Japanese headers and a
BOM protected against formula injection, fiscal years in era form, periods, the city's columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from openpyxl import load_workbook
from test_reports import DOCS, raw_incident

from incident.register.changes import new_incident

INJECTION = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def year(store: Any) -> Any:
    rows = [("misdirected-mail", "2023-06-05", "委託事業者", "（委託事業者）通知書を別人に送付した", 2, DOCS, "double-check", "子育て支援課"),
            ("misdirected-email", "2023-06-20", "", "メールをCCで送信した", 120, DOCS, "double-check", "総務課"),
            ("loss", "2023-11-02", "", INJECTION, None, "+SUM(1,2)", "document-management", "総務課")]
    for row in rows:
        new_incident(store, raw_incident(*row), actor="tester")
    return store


def test_the_annual_sheet_prints_on_a4_landscape(year: Any, run: Callable[..., Result], tmp_path: Path) -> None:
    target = tmp_path / "annual.xlsx"
    run(f"report annual --fiscal-year 令和5 --format xlsx -o {target}")
    book = load_workbook(target)
    sheet = book["令和5年度"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "令和5年度 個人情報に係る事務処理ミス"
    assert rows[2] == ("No.", "種別", "内容", "原因", "所管")
    assert rows[3] == (1, "誤送付 (1)", "【5年6月】 （委託事業者）通知書を別人に送付した(2名分)", DOCS, "子育て支援課")
    assert rows[4][2] == "【5年6月】 メールをCCで送信した(120名分)" and rows[4][3] == "同上"
    assert rows[5][2].startswith("【5年11月】 =HYPERLINK(")  # text, never a formula
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.column_dimensions["C"].width > 60 and sheet.print_title_rows == "$3:$3"
    assert sheet["C4"].alignment.wrap_text


def test_the_marker_is_not_doubled(year: Any, run: Callable[..., Result]) -> None:
    out = run("report annual --fiscal-year 2023").stdout
    assert "【5年6月】 （委託事業者）通知書を別人に送付した(2名分)" in out
    assert "(委託事業者) （委託事業者）" not in out


@pytest.mark.parametrize("given", ["2023", "令和5", "令和5年度", "R5", "r05", "FY2023", "２０２３", "Ｒ５"])
def test_a_fiscal_year_in_any_form(year: Any, run: Callable[..., Result], given: str) -> None:
    data = json.loads(run(["report", "annual", "--fiscal-year", given, "--format", "json"]).stdout)
    assert data["period"] == {"start": "2023-04-01", "end": "2024-03-31"} and data["totals"]["incidents"] == 3


@pytest.mark.parametrize("given", ["令和", "R", "2023年4月", "平成40", "令和0"])
def test_a_bad_fiscal_year_is_one_line(year: Any, run: Callable[..., Result], given: str) -> None:
    result = run(["report", "annual", "--fiscal-year", given], expect=2)
    assert "--fiscal-year" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("period,label,count", [("2023-06", "令和5年6月", 2), ("2023-H1", "令和5年度上半期", 2),
                                                ("2023-H2", "令和5年度下半期", 1), ("令和5年度", "令和5年度", 3)])
def test_periods(year: Any, run: Callable[..., Result], period: str, label: str, count: int) -> None:
    out = run(["report", "annual", "--period", period]).stdout
    assert out.startswith(f"# {label} 個人情報に係る事務処理ミス") and f"全{count}件" in out


def test_a_bad_period(year: Any, run: Callable[..., Result]) -> None:
    assert "is not a month" in run("report annual --period 2023-13", expect=2).stderr
    assert "is not a period" in run("report annual --period someday", expect=2).stderr


def test_csv_with_the_city_columns_and_no_formula(year: Any, run: Callable[..., Result]) -> None:
    result = run("report annual --period 2023-H2 --format csv --layout city")
    assert result.stdout_bytes.startswith("\ufeff報告日,発生日（判明日）,事案の概要,人数,担当課\r\n".encode())
    out = result.stdout
    (row,) = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"))))[1:]
    assert row[1] == "令和5年11月2日" and row[2] == "'" + INJECTION and row[4] == "総務課"
    table5 = run("report annual --period 2023-H2 --format csv").stdout
    assert ',"\'+SUM(1,2)",' in table5  # the cause too


def test_the_list_as_a_sheet_and_a_csv(year: Any, run: Callable[..., Result], tmp_path: Path) -> None:
    target = tmp_path / "list.xlsx"
    run(f"list --format xlsx -o {target}")
    rows = list(load_workbook(target, read_only=True)["事案一覧"].iter_rows(values_only=True))
    assert rows[1] == ("番号", "状態", "発覚日", "種別", "件名", "所管", "本人の数", "報告・通知")
    assert sorted(r[6] for r in rows[2:] if r[6] is not None) == [2, 120]
    out = run("list --format csv").stdout_bytes
    assert out.startswith("\ufeff番号,状態,発覚日,".encode()) and out.count(b"\r\n") == 4
    assert "give -o FILE.xlsx" in run("list --format xlsx", expect=2).stderr
