"""The regulator report as the PPC web form's fields: the branch chosen like the form's routing questions,
the fields in the playbook's order with their values and character counts, the sheet, the new record keys."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from test_notices import make, write_config

from incident.law.vocabulary import open_store
from incident.register.store import Store


@pytest.fixture
def org_store(store_dir: Path) -> Store:
    write_config(store_dir)
    return open_store(store_dir)


def fields(run: Callable[..., Result], incident: str, kind: str = "regulator-final") -> list[dict[str, object]]:
    data = json.loads(run(f"notice {incident} --kind {kind} --format form --json").stdout)
    result: list[dict[str, object]] = data["fields"]
    return result


def value(items: list[dict[str, object]], field_id: str) -> str:
    (found,) = [f for f in items if f["id"] == field_id]
    return str(found["value"])


@pytest.mark.parametrize("form", ["ppc-business", "ppc-public", "ppc-mynumber"])
def test_every_label_is_confirmed_by_a_source_or_says_why_it_is_inferred(form: str) -> None:
    from incident.notices.form import VALUES, load_form
    from incident.resources import builtin_dir

    spec = load_form(form)
    raw = tomllib.loads((builtin_dir("playbooks") / "forms" / f"{form}.toml").read_text(encoding="utf-8"))
    assert [f.id for f in spec.fields] == [f["id"] for f in raw["field"]]
    for field in spec.fields:
        assert field.value in VALUES
        assert bool(field.confirmed) != bool(field.inferred), field.id
        if field.confirmed:
            assert spec.sources[field.confirmed].url.startswith("https://")
    assert spec.fields[0].label.startswith("問1 漏えい等した情報にマイナンバーは含まれていますか。")


def test_the_business_form_in_order_with_counts(run: Callable[..., Result], org_store: Store) -> None:
    # reportable (a report the assessment does not require is refused unless --draft): a suspected malicious act
    incident = make(org_store, department="総務課", medium="electronic", subject_category="customers",
                    secondary_harm_status="no", persons_estimated=True, malicious="suspected")
    run(f"assess {incident}")
    text = run(f"notice {incident} --kind regulator-final --format form").stdout
    items = fields(run, incident)
    assert [f["number"] for f in items] == list(range(1, len(items) + 1))
    assert value(items, "mynumber") == "いいえ"
    assert value(items, "organization").startswith("民間事業者")
    assert value(items, "delegated") == "いいえ"
    assert value(items, "report-type") == "確報"
    assert value(items, "reporter") == "社会福祉法人テスト会"  # the organization, not the clerk
    assert value(items, "medium") == "電子" and value(items, "category") == "顧客情報"
    assert value(items, "persons") == "36人（概数）" and value(items, "harm") == "無"
    assert value(items, "conditions").splitlines()[3] == "□第4号 本人の数が1,000人超"
    for item in items:
        assert item["chars"] == len(str(item["value"]))
    blocks = text.split("\n\n")
    assert "【1】問1 漏えい等した情報にマイナンバーは含まれていますか。" in blocks[1]
    assert any(block.endswith("顧客情報\n（4文字）") for block in blocks)
    assert "[ppc-leak-action] 個人情報保護委員会「漏えい等の対応とお役立ち資料」" in text


def test_a_preliminary_report_that_can_also_be_final(run: Callable[..., Result], org_store: Store) -> None:
    complete = make(org_store, found_by="受信者からの指摘")
    assert value(fields(run, complete, "regulator-preliminary"), "report-type") == (
        "速報（全ての事項を報告できるため、確報を兼ねることができる）")
    partial = make(org_store, cause=None)
    assert value(fields(run, partial, "regulator-preliminary"), "report-type") == "速報"


@pytest.mark.parametrize("changes,form,q1", [
    ({"entity": "public-body"}, "ppc-public", "いいえ"),
    ({"data": [{"item": "name"}, {"item": "マイナンバー"}]}, "ppc-mynumber", "はい"),
    ({"data": []}, "ppc-mynumber", "はい（漏えい等した項目が未確定のため）"),
])
def test_the_branch_follows_the_routing_questions(run: Callable[..., Result], org_store: Store,
                                                  changes: dict[str, object], form: str, q1: str) -> None:
    incident = make(org_store, **changes)
    data = json.loads(run(f"notice {incident} --kind regulator-preliminary --format form --json --draft").stdout)
    assert data["form"] == form and data["fields"][0]["value"] == q1


def test_what_was_done_for_people_and_the_measures(run: Callable[..., Result], org_store: Store,
                                                   tmp_path: Path) -> None:
    incident = make(org_store)
    roster = tmp_path / "people.csv"
    roster.write_text("氏名,住所\n山田 太郎,東京都\n佐藤 花子,大阪府\n", encoding="utf-8")
    run(f"roster import {incident} {roster}")
    run(f"notice {incident} --kind individual-letter --roster --out {tmp_path / 'letters'}")
    run(f"action add {incident} --measure 宛先を二人で確認する --owner 田中 --due 2024-07-31")
    run(f"action add {incident} --measure 研修を行う --owner 田中 --due 2024-08-31")
    run(f"action done {incident}/A1 --evidence 手順書を改訂")
    items = fields(run, incident)
    response = value(items, "response").splitlines()
    assert response[0] == "令和6年6月5日に対象者全員へお詫びのメールを送付"
    assert response[1].endswith("書面による通知文 2名分を作成") and response[2] == "対象者名簿 2名"
    assert value(items, "prevention-done").startswith("・宛先を二人で確認する（")
    assert value(items, "prevention-planned") == "・研修を行う（令和6年8月31日まで）"


def test_the_form_as_a_sheet(run: Callable[..., Result], org_store: Store, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    incident = make(org_store, summary="=HYPERLINK(\"http://x\")と入力された")
    target = tmp_path / "form.xlsx"
    run(f"notice {incident} --kind regulator-final --format xlsx -o {target}")
    sheet = load_workbook(target, read_only=True)["報告フォーム"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][:5] == ("項番", "区分", "欄", "値", "文字数")
    assert rows[3][0] == 1 and rows[3][2].startswith("問1") and rows[3][3] == "いいえ" and rows[3][4] == 3
    (overview,) = [r for r in rows[3:] if r[2] == "概要"]
    assert overview[3] == "=HYPERLINK(\"http://x\")と入力された"  # text, never a formula
    workbook = load_workbook(target)
    assert all(cell.data_type != "f" for row in workbook["報告フォーム"].iter_rows() for cell in row)


def test_bad_requests(run: Callable[..., Result], org_store: Store) -> None:
    incident = make(org_store)
    assert "give -o FILE.xlsx" in run(f"notice {incident} --kind regulator-final --format xlsx", expect=2).stderr
    result = run(f"notice {incident} --kind individual-letter --format form", expect=2)
    assert "the form is for the reports to the regulator" in result.stderr


def test_an_organization_form_with_an_unknown_value_is_refused(run: Callable[..., Result], org_store: Store,
                                                              store_dir: Path) -> None:
    from incident.resources import builtin_dir

    own = store_dir / "playbooks" / "forms"
    own.mkdir(parents=True)
    text = (builtin_dir("playbooks") / "forms" / "ppc-business.toml").read_text(encoding="utf-8")
    (own / "ppc-business.toml").write_text(text.replace('value = "other"', 'value = "other.text"'), encoding="utf-8")
    result = run(f"notice {make(org_store)} --kind regulator-final --format form", expect=2)
    assert "ppc-business.toml" in result.stderr and "unknown value 'other.text'" in result.stderr


@pytest.mark.parametrize("assignment,message", [
    ("medium=fax", "'fax' is not valid; expected one of: paper, electronic, both"),
    ("publication_url=javascript:alert(1)", "expected an http:// or https:// address"),
    ("published_on=2024-13-01", "published_on"),
    ("secondary_harm_status=maybe", "expected one of: yes, no, unknown"),
    ("persons_estimated=perhaps", "expected true or false"),
])
def test_the_new_keys_are_validated(run: Callable[..., Result], org_store: Store, assignment: str,
                                    message: str) -> None:
    result = run(f"set {make(org_store)} {assignment}", expect=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_publication_fields(run: Callable[..., Result], org_store: Store) -> None:
    incident = make(org_store)
    run(f"set {incident} published_on=令和6年6月10日 publication_method=website "
        "publication_url=https://example.jp/news/0610")
    items = fields(run, incident)
    assert (value(items, "published-on"), value(items, "publication-method"), value(items, "publication-url")) == (
        "令和6年6月10日", "ホームページに掲載", "https://example.jp/news/0610")
