"""The annual report: seed 002's table 表5 reproduced from the register, periods, era months, formats."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from conftest import REPO, rewrite_config
from hypothesis import given, settings
from hypothesis import strategies as st

from incident.followup.reports import FORMATS, RENDERERS, Period, annual_report, render
from incident.law.taxonomy import load_taxonomy

#: the table as a city publishes it for these 17 incidents (the layout of seed 002's 表5)
TABLE = REPO / "tests" / "cases" / "reports" / "fy2023-table.tsv"
#: when a hand-built assessment section says it was made
ASSESSED_AT = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)

# 練馬区 令和5年度 表5 個人情報に係る事務処理ミス: (type, occurred, handled_by, summary, persons, cause,
# cause_category, department). The seed writes 同上 where a cause repeats the row above; here each
# row has its full text.
DC_SEND = "メール送信時のダブルチェックが不十分であったため"
DOCS = "文書の管理体制が不十分であったため"
SEED_ROWS: list[tuple[str, str, str, str, int | None, str, str, str]] = [
    ("wrong-handover", "2023-06-12", "委託事業者",
     "バースデーサポート事業において、WEB カタログギフトサイトのID・パスワードを再発行する際、別人のIDを交付", 1,
     "交付時のダブルチェックが不十分であったため", "double-check", "健康推進課"),
    ("misdirected-mail", "2023-04-20", "", "1歳児1年保育事業の利用者に納付書を送付する際、別人の納付書を送付", 1,
     "送付文書のダブルチェックが不十分であったため", "double-check", "保育課"),
    ("misdirected-mail", "2023-11-08", "", "成年後見人の区長申立てに関する照会文書を送付する際、別人の照会文書を送付", 1,
     "送付文書のダブルチェックが不十分であったため", "double-check", "光が丘総合福祉事務所"),
    ("misdirected-email", "2023-05-16", "",
     "後援名義使用承認書等をスキャンデータ化する際、複合機の操作を誤り、外部にファクスで送信", 1,
     "複合機の操作画面の確認が不十分であったため", "operation-screen", "子育て支援課"),
    ("misdirected-email", "2023-06-05", "委託事業者", "イベント参加者にメールを一齐送信する際、他のアドレスが見える状態で送信",
     36, DC_SEND, "double-check", "都市農業課"),
    ("misdirected-email", "2023-07-03", "", "産育休代替教員候補者にメールを一齐送信する際、他のアドレスが見える状態で送信",
     15, DC_SEND, "double-check", "教育指導課"),
    ("misdirected-email", "2023-10-10", "指定管理者", "イベント申込者2名にメールを送信する際、他のアドレスが見える状態で送信",
     1, DC_SEND, "double-check", "文化・生涯学習課"),
    ("misdirected-email", "2023-12-01", "", "道路維持補修業務において、依頼者に補修完了メールを送信する際、別人に送信", 1,
     DC_SEND, "double-check", "維持保全担当課"),
    ("misdirected-email", "2024-02-14", "指定管理者", "ボランティア応募者への返信メールを他の応募者に送信", 1,
     DC_SEND, "double-check", "みどり推進課"),
    ("loss", "2023-04-25", "", "産婦・新生児等訪問指導において作成した訪問指導票を事務室内で紛失", 1,
     DOCS, "document-management", "豊玉保健相談所"),
    ("loss", "2023-11-20", "委託事業者", "学童クラブ入会申請書類を学童クラブ室内で紛失", 2,
     DOCS, "document-management", "子育て支援課"),
    ("loss", "2024-01-09", "", "公用携帯電話を一時紛失(翌日発見)", None,
     "端末の管理が不十分であったため", "device-management", "道路公園課"),
    ("wrongful-disposal", "2023-08-22", "", "保存期間中の地区区民館利用申請書を他の廃棄文書とともに誤廃棄", None,
     DOCS, "document-management", "地域振興課"),
    ("wrongful-disposal", "2024-03-29", "委託事業者", "児童のアレルギー情報が記載された調理室手配表を誤廃棄", None,
     DOCS, "document-management", "保健給食課"),
    ("theft", "2023-07-18", "委託事業者", "園児の個人情報が記載された職員会議資料を園外に持ち出した際、盗難に遭い紛失", 79,
     DOCS, "document-management", "保育計画調整課"),
    ("misconfiguration", "2023-10-24", "委託事業者",
     "イベント申込者にリマインドメールを送信する際に、専用アプリの設定ミスにより、他の申込者の受付情報を送信", 4,
     "アプリの動作確認が不十分であったため", "application-testing", "都市農業課"),
    ("other", "2023-12-15", "", "学童クラブ入会申請の受付時に聞き取った情報を、後日、本人と誤認した別人に伝える", 1,
     "本人確認が不十分であったため", "identity-verification", "子育て支援課"),
]

# The ward lists a theft and an application's misconfiguration under その他: an organization override.
WARD_TYPES = """\
[[type]]
id = "theft"
ja = "盗難"
en = "Theft"
default_event = "leak"
malicious_presumed = true
report_group = "other"

[[type]]
id = "misconfiguration"
ja = "設定ミス"
en = "Misconfiguration"
default_event = "leak"
report_group = "other"
"""

EXPECTED_GROUPS = [("wrong-handover", "誤交付", 1), ("misdirected-mail", "誤送付", 2), ("misdirected-email", "誤送信", 6),
                   ("loss", "紛失", 3), ("wrongful-disposal", "誤廃棄", 2), ("other", "その他", 3)]


def raw_incident(type_: str, occurred: str, handled_by: str, summary: str, persons: int | None, cause: str,
                 category: str, department: str) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "title": summary[:30], "entity": "public-body", "type": type_, "occurred_at": f"{occurred}T10:00:00+09:00",
        "discovered_at": f"{occurred}T15:00:00+09:00", "summary": summary, "cause": cause,
        "department": department,
    }
    if category:
        raw["cause_category"] = category
    if handled_by:
        raw["handled_by"] = handled_by
    if persons is not None:
        raw["persons"] = persons
    return raw


@pytest.fixture
def ward(store_dir: Path, store: Any) -> Any:
    """The store of seed 002's ward with the year's 17 incidents recorded (out of order, on purpose)."""
    from incident.register.changes import new_incident

    (store_dir / "playbooks" / "incident-types.toml").write_text(WARD_TYPES, encoding="utf-8")
    for row in reversed(SEED_ROWS):
        new_incident(store, raw_incident(*row), actor="tester")
    # outside FY 2023 on either side: not in the report
    new_incident(store, raw_incident("loss", "2023-03-31", "", "前年度の事案", 3, DOCS, "document-management", "総務課"),
                 actor="tester")
    new_incident(store, raw_incident("loss", "2024-04-01", "", "翌年度の事案", 3, DOCS, "document-management", "総務課"),
                 actor="tester")
    return store


def test_fiscal_year_2023_reproduces_seed_002_table_5(ward: Any, run: Callable[..., Result]) -> None:
    data = json.loads(run("report annual --fiscal-year 2023 --format json").stdout)
    assert data["period"] == {"start": "2023-04-01", "end": "2024-03-31"}
    assert [(g["type"], g["label"], g["count"]) for g in data["groups"]] == EXPECTED_GROUPS
    rows = [row for g in data["groups"] for row in g["rows"]]
    assert [r["no"] for r in rows] == list(range(1, 18))
    assert [(r["month"], r["handled_by"], r["content"], r["cause"], r["department"]) for r in rows] == [
        (f"【{int(o[2:4]) - 18}年{int(o[5:7])}月】", h, s + (f"({p}名分)" if p else ""), c, d)
        for _t, o, h, s, p, c, _k, d in SEED_ROWS
    ]
    assert rows[4] == {"no": 5, "incident": rows[4]["incident"], "month": "【5年6月】", "handled_by": "委託事業者",
                       "content": "イベント参加者にメールを一齐送信する際、他のアドレスが見える状態で送信(36名分)",
                       "cause": DC_SEND, "department": "都市農業課"}
    assert rows[11]["content"] == "公用携帯電話を一時紛失(翌日発見)"  # persons unknown: no (N名分)
    totals = data["totals"]
    assert totals["incidents"] == 17
    assert totals["persons"] == {"total": 145, "unknown": 3}
    assert totals["double_check"] == {"cause": "double-check", "label": "ダブルチェックが不十分", "count": 8,
                                      "total": 17, "share": 0.4706}
    assert [(t["type"], t["count"]) for t in totals["by_type"]] == [
        ("wrong-handover", 1), ("misdirected-mail", 2), ("misdirected-email", 6), ("loss", 3),
        ("wrongful-disposal", 2), ("theft", 1), ("misconfiguration", 1), ("other", 1)]
    assert [(c["cause"], c["count"]) for c in totals["by_cause"]] == [
        ("double-check", 8), ("operation-screen", 1), ("document-management", 5), ("device-management", 1),
        ("application-testing", 1), ("identity-verification", 1)]
    assert totals["by_department"][:2] == [{"department": "子育て支援課", "count": 3},
                                           {"department": "都市農業課", "count": 2}]
    assert totals["reports_filed"] == [] and totals["reportable"] == 0


def _seed_table() -> list[list[str]]:
    """The expected rows: [no, 種別, 内容, 原因, 所管], as published."""
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    return [[c.strip() for c in line.split("\t")] for line in lines if line and not line.startswith("#")]


def test_markdown_table_matches_the_seed_text_row_by_row(ward: Any, run: Callable[..., Result]) -> None:
    out = run("report annual --fiscal-year 2023 --format md").stdout
    ours = [[c.strip() for c in line.strip("|").split(" | ")] for line in out.splitlines()
            if re.match(r"^\| \d+ \|", line)]
    seed = _seed_table()
    assert len(seed) == len(ours) == 17

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", text)

    assert [[squash(c) for c in row] for row in ours] == [[squash(c) for c in row] for row in seed]
    assert out.startswith("# 令和5年度 個人情報に係る事務処理ミス\n")
    assert "| 9 |  | 【6年2月】 (指定管理者) ボランティア応募者への返信メールを他の応募者に送信(1名分) | 同上 | みどり推進課 |" in out
    assert "原因が「ダブルチェックが不十分」の事案: 8件 / 17件（47.1%）" in out
    assert "影響を受けた本人の数: 145名分（人数が記録されていない事案 3件）" in out


def test_csv_has_one_row_per_incident_with_its_group(ward: Any, run: Callable[..., Result]) -> None:
    out = run("report annual --fiscal-year 2023 --format csv").stdout
    assert out.startswith("\ufeffNo.,種別コード,種別,")  # the BOM on standard output too
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert len(rows) == 17
    assert rows[14] == {"No.": "15", "種別コード": "other", "種別": "その他", "発生月": "【5年7月】", "取扱者": "委託事業者",
                        "内容": "園児の個人情報が記載された職員会議資料を園外に持ち出した際、盗難に遭い紛失(79名分)",
                        "原因": DOCS, "所管": "保育計画調整課", "事案番号": rows[14]["事案番号"], "事案の種類": "theft"}


def test_csv_file_gets_a_bom_for_excel(ward: Any, run: Callable[..., Result], tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    run(f"report annual --fiscal-year 2023 --format csv -o {target}")
    data = target.read_bytes()
    assert data.startswith("\ufeffNo.,種別コード,種別,".encode())
    assert data.count(b"\r\n") == 18


def test_html_stands_alone_with_a_bar_chart(ward: Any, run: Callable[..., Result]) -> None:
    out = run("report annual --fiscal-year 2023 --format html").stdout
    assert out.startswith("<!DOCTYPE html>")
    assert "<script" not in out and "src=" not in out and "href=" not in out and "@import" not in out
    assert "@media print" in out
    bars = re.findall(r'<rect class="bar" x="100" y="\d+" width="(\d+)" height="18"><title>([^<]+)</title>', out)
    assert bars == [("53", "誤交付: 1件"), ("107", "誤送付: 2件"), ("320", "誤送信: 6件"), ("160", "紛失: 3件"),
                    ("107", "誤廃棄: 2件"), ("160", "その他: 3件")]
    assert '<td class="group" rowspan="6">誤送信 (6)</td>' in out


def test_html_escapes_record_text(store: Any, run: Callable[..., Result]) -> None:
    from incident.register.changes import new_incident

    new_incident(store, raw_incident("other", "2023-05-01", "", "<b>x</b> & y", 2, "a|b", "", "課"), actor="t")
    html = run("report annual --fiscal-year 2023 --format html").stdout
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y(2名分)" in html and "<b>x</b>" not in html
    md = run("report annual --fiscal-year 2023 --format md").stdout
    assert "| 1 | その他 (1) | 【5年5月】 &lt;b&gt;x&lt;/b&gt; &amp; y(2名分) | a\\|b | 課 |" in md
    assert "<b>" not in md


def test_markdown_never_carries_raw_html(store: Any, run: Callable[..., Result], store_dir: Path) -> None:
    from incident.register.changes import new_incident

    rewrite_config(store_dir, 'organization = "<img src=x onerror=alert(1)>"\n')
    new_incident(store, raw_incident("other", "2023-05-01", "", "<script>alert(1)</script>", 2,
                                     "<iframe>", "", "<b>課</b>"), actor="t")
    md = run("report annual --fiscal-year 2023 --format md").stdout
    assert "<" not in md.replace("<br>", "")
    assert md.startswith("# &lt;img src=x onerror=alert(1)&gt; 令和5年度")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "| &lt;b&gt;課&lt;/b&gt; | 1 |" in md


def test_csv_cells_never_start_a_formula(store: Any, run: Callable[..., Result]) -> None:

    from incident.register.changes import new_incident

    for i, text in enumerate(["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "＝1+1", "safe"]):
        new_incident(store, raw_incident("other", f"2023-05-{i + 1:02d}", "", text, 2, text, "", text), actor="t")
    rows = list(csv.reader(io.StringIO(run("report annual --fiscal-year 2023 --format csv").stdout.lstrip("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r", "＝")]
    assert {"'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "'＝1+1"} <= set(cells)
    assert "safe" in {c for row in rows[1:] for c in row[6:7]}


def test_every_format_has_a_renderer(ward: Any) -> None:
    assert set(RENDERERS) == set(FORMATS)
    report = annual_report(ward.records(), load_taxonomy(ward.extra_dirs()), Period.fiscal_year(2023), tz=ward.tz)
    for fmt in FORMATS:
        assert "バースデーサポート事業" in render(report, fmt)


def test_calendar_year(ward: Any, run: Callable[..., Result]) -> None:
    data = json.loads(run("report annual --year 2023 --format json").stdout)
    assert data["period"] == {"start": "2023-01-01", "end": "2023-12-31"}
    # 14 of the 17 fell in 2023, plus the one of 2023-03-31; none from 2024
    assert data["totals"]["incidents"] == 15
    assert data["groups"][0]["rows"][0]["month"] == "【5年6月】"


# --------------------------------------------------------------------------- periods and era months


def _one(store: Any, occurred: str | None, discovered: str, summary: str = "事案") -> None:
    from incident.register.changes import new_incident

    raw = raw_incident("loss", "2000-01-01", "", summary, None, "x", "", "総務課")
    raw.pop("occurred_at")
    raw.pop("cause")
    raw["discovered_at"] = discovered
    if occurred:
        raw["occurred_at"] = occurred
    new_incident(store, raw, actor="t")


def _months(run: Callable[..., Result], flag: str) -> list[tuple[str, str]]:
    data = json.loads(run(f"report annual {flag} --format json").stdout)
    return [(r["month"], r["content"]) for g in data["groups"] for r in g["rows"]]


def test_fiscal_year_boundary_31_march_and_1_april(store: Any, run: Callable[..., Result]) -> None:
    _one(store, "2024-03-31T23:59:00+09:00", "2024-04-01T09:00:00+09:00", "3月31日")
    _one(store, "2024-04-01T00:00:00+09:00", "2024-04-01T09:00:00+09:00", "4月1日")
    # 2024-03-31T15:30Z is 2024-04-01 00:30 in Tokyo
    _one(store, "2024-03-31T15:30:00Z", "2024-04-01T09:00:00+09:00", "UTCでは3月31日")
    assert _months(run, "--fiscal-year 2023") == [("【6年3月】", "3月31日")]
    assert _months(run, "--fiscal-year 2024") == [("【6年4月】", "4月1日"), ("【6年4月】", "UTCでは3月31日")]


def test_discovery_date_stands_in_for_a_missing_occurrence(store: Any, run: Callable[..., Result]) -> None:
    _one(store, None, "2023-04-01T08:00:00+09:00", "発生日不明")
    _one(store, "2023-03-20T10:00:00+09:00", "2023-04-02T08:00:00+09:00", "前年度に発生")
    assert _months(run, "--fiscal-year 2023") == [("【5年4月】", "発生日不明")]
    assert _months(run, "--fiscal-year 2022") == [("【5年3月】", "前年度に発生")]


def test_era_months_across_the_heisei_reiwa_boundary(store: Any, run: Callable[..., Result]) -> None:
    _one(store, "2019-04-30T12:00:00+09:00", "2019-04-30T13:00:00+09:00", "平成最後の日")
    _one(store, "2019-05-01T12:00:00+09:00", "2019-05-01T13:00:00+09:00", "令和最初の日")
    assert _months(run, "--fiscal-year 2019") == [("【31年4月】", "平成最後の日"), ("【元年5月】", "令和最初の日")]
    md = run("report annual --fiscal-year 2019 --format md").stdout
    assert md.startswith("# 令和元年度 個人情報に係る事務処理ミス\n")
    assert "対象期間: 平成31年4月1日〜令和2年3月31日" in md


def test_period_labels() -> None:
    assert Period.fiscal_year(2023).label == "令和5年度"
    assert Period.fiscal_year(2018).label == "平成30年度"
    assert Period.fiscal_year(1988).label == "昭和63年度"
    assert Period.calendar_year(2023).label == "2023年"


def test_empty_year_still_renders(store: Any, run: Callable[..., Result]) -> None:
    data = json.loads(run("report annual --fiscal-year 2010 --format json").stdout)
    assert data["groups"] == [] and data["totals"]["incidents"] == 0
    assert data["totals"]["double_check"]["share"] == 0.0
    assert "この期間に記録された事案はありません。" in run("report annual --fiscal-year 2010").stdout


def test_done_obligations_and_reportable_are_totalled(store: Any, run: Callable[..., Result]) -> None:
    from incident.register.changes import new_incident

    record = new_incident(store, raw_incident("loss", "2023-06-01", "", "報告済み", 150, DOCS, "document-management",
                                              "総務課"), actor="t")
    assessment = {"assessed_at": ASSESSED_AT, "reportable": True, "assessments": [
        {"regime": "appi-public", "reportable": True, "conditions": [], "exemptions": [], "missing": [],
         "obligations": [{"id": "regulator-final", "recipient": "個人情報保護委員会", "due": "2023-06-30",
                          "soft": False, "items": [], "label": "確報"},
                         {"id": "individual-notice", "recipient": "本人", "soft": True, "items": [],
                          "label": "本人への通知"}]}]}
    done = {"appi-public": {"regulator-final": {"done_at": record.discovered_at, "ref": "R-1"}}}
    store.update(record.id, lambda r: r.with_section("assessment", assessment).with_section("obligations", done),
                 actor="t")
    totals = json.loads(run("report annual --fiscal-year 2023 --format json").stdout)["totals"]
    assert totals["reportable"] == 1
    assert totals["reports_filed"] == [{"regime": "appi-public", "obligation": "regulator-final", "label": "確報",
                                        "recipient": "個人情報保護委員会", "count": 1}]
    assert "| 個人情報保護法（行政機関等） | 確報 | 個人情報保護委員会 | 1 |" in run("report annual --fiscal-year 2023").stdout  # the regime by its Japanese name, not its id


# --------------------------------------------------------------------------- refusals


def test_needs_exactly_one_period(store: Any, run: Callable[..., Result]) -> None:
    both = run("report annual --fiscal-year 2023 --year 2023", expect=2)
    assert both.stderr == ("error: field '--fiscal-year': give exactly one of --fiscal-year YEAR (April–March), "
                           "--year YEAR or --period PERIOD\n")
    assert run("report annual", expect=2).stderr == both.stderr
    assert "not a year this report covers" in run("report annual --year 99", expect=2).stderr


def test_organization_template_override_is_sandboxed(store_dir: Path, store: Any, run: Callable[..., Result]) -> None:
    reports = store_dir / "templates" / "reports"
    reports.mkdir(parents=True)
    (reports / "annual.md.j2").write_text("{{ period.label }}: {{ totals.incidents }}件\n", encoding="utf-8")
    assert run("report annual --fiscal-year 2023").stdout == "令和5年度: 0件\n"
    (reports / "annual.md.j2").write_text("{{ groups.__class__.__mro__ }}\n", encoding="utf-8")
    assert run("report annual --fiscal-year 2023", expect=2).stderr == (
        "error: annual.md.j2: template does something a template may not: "
        "access to attribute '__class__' of 'list' object is unsafe.\n")
    (reports / "annual.md.j2").write_text("{{ nothing_here }}\n", encoding="utf-8")
    assert "template uses an unknown value" in run("report annual --fiscal-year 2023", expect=2).stderr


# --------------------------------------------------------------------------- properties

_TYPES = list(load_taxonomy().types)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(_TYPES), st.dates(date(2022, 1, 1), date(2025, 6, 30)),
                          st.one_of(st.none(), st.integers(0, 5000))), max_size=40))
def test_rows_are_numbered_through_and_every_incident_in_the_period_is_counted_once(
        incidents: list[tuple[str, date, int | None]]) -> None:
    from incident.register.record import Record

    taxonomy = load_taxonomy()
    records = []
    for number, (type_, day, persons) in enumerate(incidents, 1):
        at = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("Asia/Tokyo"))
        facts = {"id": f"{day.year}-{number:04d}", "title": "t", "entity": "public-body", "type": type_,
                 "discovered_at": at, "summary": "s", **({"persons": persons} if persons is not None else {})}
        records.append(Record(facts=facts))
    period = Period.fiscal_year(2023)
    report = annual_report(records, taxonomy, period)
    inside = [r for r in records if period.start <= r.discovered_at.date() <= period.end]
    rows = [row for g in report.groups for row in g.rows]
    assert [row.no for row in rows] == list(range(1, len(inside) + 1))
    assert sorted(row.incident for row in rows) == sorted(r.id for r in inside)
    assert report.totals.incidents == sum(g.count for g in report.groups) == len(inside)
    order = [t.id for t in taxonomy.report_groups()]
    assert [g.type for g in report.groups] == [t for t in order if any(g.type == t for g in report.groups)]
    assert all(g.count > 0 for g in report.groups)
    assert report.totals.persons == sum(r.get("persons", 0) for r in inside)


def test_the_cause_whose_share_is_stated_is_the_one_flagged_in_the_causes_playbook(
        store_dir: Path, tmp_path: Path) -> None:
    """causes.toml flags the cause (annual_share = true); an organization's own file can move the flag,
    and with no cause flagged the report states no share."""
    from incident.law.taxonomy import load_taxonomy

    assert load_taxonomy().annual_share_cause is not None
    assert load_taxonomy().annual_share_cause.id == "double-check"  # type: ignore[union-attr]
    own = tmp_path / "own"
    own.mkdir()
    (own / "causes.toml").write_text(
        '[[cause]]\nid = "rush"\nja = "繁忙による確認不足"\nen = "Rushed work"\nannual_share = true\n',
        encoding="utf-8")
    assert load_taxonomy([own]).annual_share_cause.id == "rush"  # type: ignore[union-attr]
    (own / "causes.toml").write_text(
        '[[cause]]\nid = "double-check"\nja = "ダブルチェックが不十分"\nen = "Insufficient double-check"\n',
        encoding="utf-8")
    assert load_taxonomy([own]).annual_share_cause is None
