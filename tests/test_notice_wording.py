"""What a Japanese notice may say: a public body's report is worded from its own regime playbook (法第68条第1項,
施行規則第43条・第44条, 保有個人情報), no notice shows an internal key or English id, and a report the law does not
require is refused unless it is a draft that says so at the top."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from incident.law.catalogue import load_catalogue
from incident.law.regimes import load_regimes
from incident.law.taxonomy import load_taxonomy
from incident.law.vocabulary import init_store, open_store
from incident.notices.items import KINDS
from incident.register.changes import new_incident
from incident.register.record import FIELDS
from incident.register.store import Store

Run = Callable[..., Result]

FACTS: dict[str, Any] = {
    "schema": 1, "title": "障害者手帳の写しの誤送付", "type": "misdirected-mail", "malicious": "confirmed",
    "occurred_at": "2024-06-01T10:00:00+09:00", "discovered_at": "2024-06-03T10:00:00+09:00", "persons": 150,
    "summary": "封入の誤りにより別の方へ送付した", "cause": "封入時の照合が不十分", "secondary_harm": "確認されていない",
    "found_by": "受取人からの連絡", "response_to_individuals": "電話で説明した", "publication": "公表予定",
    "prevention": "二人で照合する", "other": "特になし", "advice_to_individuals": "不審な連絡に注意してください",
    "department": "障害福祉課",
    "data": [{"item": "氏名"}, {"item": "障害"}, {"item": "other:保育料の額"}, {"item": "個人番号"}],
}


def store_for(tmp_path: Path, entity: str, **facts: Any) -> tuple[Store, str]:
    path = tmp_path / entity
    init_store(path)
    (path / "config.toml").write_text(f'organization = "練馬区"\nentity = "{entity}"\n'
                                      'contact = "区民相談課（電話〇三―〇〇〇〇―〇〇〇〇）"\n', encoding="utf-8")
    store = open_store(path)
    raw = {**FACTS, "entity": entity, **facts}
    return store, new_incident(store, raw, actor="tester").id


def cli(store: Store, line: list[str], expect: int | None = 0) -> Result:
    from click.testing import CliRunner

    from incident.cli import cli as root

    result = CliRunner().invoke(root, ["--store", str(store.root), *line], catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, (line, result.output)
    return result


def internal_names() -> set[str]:
    """Every internal key and English id a Japanese notice must never show."""
    names = {f.name for f in FIELDS} | set(load_catalogue().items) | set(load_taxonomy().types)
    regimes = load_regimes()
    for rid in regimes:
        for regime in regimes.versions(rid):
            names.add(regime.id)
            names |= {c.id for c in regime.conditions} | {e.id for e in regime.exemptions}
            names |= {o.id for o in regime.obligations}
    names |= {"confirmed", "suspected", "none", "true", "false", "leak", "loss", "damage", "controller",
              "entrustee", "business", "public-body", "council"}
    return names


ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
KEY_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\s*=\s*[^\s）)]+")


def scan(text: str, fmt: str) -> list[str]:
    """ASCII ids, internal names and `key = value` text in a rendered notice (tags of HTML aside)."""
    if fmt == "html":
        text = unescape(re.sub(r"<[^>]*>", " ", re.sub(r"(?s)<style>.*?</style>|<!DOCTYPE html>", " ", text)))
    found = [f"key = value: {m.group(0)}" for m in KEY_VALUE.finditer(text)]
    names = internal_names()
    for word in ASCII_WORD.findall(text):
        found.append(f"internal name {word!r}" if word in names else f"ASCII word {word!r}")
    return found


def rendered(store: Store, incident: str, entity: str) -> Iterator[tuple[str, str, str]]:
    for kind, spec in KINDS.items():
        if "ja" not in spec.langs or (spec.regimes and "council" in spec.regimes and entity != "council"):
            continue
        if kind == "entruster-notice" and entity == "public-body":
            continue
        for fmt in ("txt", "md", "html"):
            result = cli(store, ["notice", incident, "--kind", kind, "--format", fmt, "--draft"])
            yield kind, fmt, result.stdout


@pytest.mark.parametrize("entity", ["public-body", "business", "council"])
def test_no_japanese_notice_shows_an_internal_key_or_english_id(tmp_path: Path, entity: str) -> None:
    store, incident = store_for(tmp_path, entity, role="controller")
    cli(store, ["assess", incident])
    seen = set()
    for kind, fmt, text in rendered(store, incident, entity):
        assert scan(text, fmt) == [], (kind, fmt, scan(text, fmt))
        seen.add(kind)
    expected = {"public-body": 6, "business": 7, "council": 9}[entity]
    assert len(seen) == expected, sorted(seen)


def test_the_scan_finds_what_it_looks_for() -> None:
    assert scan("不正の目的（malicious = confirmed）", "txt")[0] == "key = value: malicious = confirmed"
    assert "internal name 'name'" in scan("・name", "txt")
    assert scan("<p>氏名</p>", "html") == []


def test_a_public_body_report_is_worded_from_its_own_playbook(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "public-body")
    cli(store, ["assess", incident])
    for kind in ("regulator-preliminary", "regulator-final"):
        text = cli(store, ["notice", incident, "--kind", kind]).stdout
        assert text.startswith("保有個人情報の漏えい等に関する報告書（")
        assert "個人情報保護法第68条第1項、同法施行規則第44条" in text
        assert "個人情報保護法施行規則第43条各号該当性" in text
        assert "・不正の目的をもって行われたおそれがある行為による保有個人情報の漏えい等（個人情報保護法施行規則第43条第3号）" in text
        assert "■ 2 漏えい等が発生し、又は発生したおそれがある保有個人情報の項目" in text
        for word in ("第7条", "第8条", "個人データ", "malicious", "【注意】"):
            assert word not in text, (kind, word)
        assert "・保育料の額" in text and "・心身の機能の障害" in text


def test_no_public_body_notice_cites_business_articles(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "public-body")
    cli(store, ["assess", incident])
    for kind, fmt, text in rendered(store, incident, "public-body"):
        for word in ("第7条", "第8条", "第26条", "個人データ"):
            assert word not in text, (kind, fmt, word)
    refused = cli(store, ["notice", incident, "--kind", "entruster-notice", "--draft"], expect=2)
    assert "法第68条第1項" in refused.stderr


def test_the_my_number_report_of_a_public_body(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "public-body", mynumber_system=False)
    cli(store, ["assess", incident])
    text = cli(store, ["notice", incident, "--kind", "regulator-final", "--regime", "mynumber"]).stdout
    assert text.startswith("特定個人情報の漏えい等に関する報告書（確報）")
    assert "特定個人情報ガイドライン（行政機関等編）別添２ ３Ｅ" in text and "事業者編" not in text
    assert "報告規則第2条各号該当性" in text
    wrong = cli(store, ["notice", incident, "--kind", "regulator-final", "--regime", "gdpr"], expect=2)
    assert "regimes with one: appi-public, mynumber" in wrong.stderr


def test_a_council_without_a_my_number_has_no_regulator_report(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "council", data=[{"item": "氏名"}, {"item": "障害"}])
    cli(store, ["assess", incident])
    refused = cli(store, ["notice", incident, "--kind", "regulator-final", "--draft"], expect=2)
    assert "no regime playbook words a report to the regulator for entity 'council'" in refused.stderr


def test_a_business_report_keeps_the_business_wording(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "business", persons=1001, data=[{"item": "氏名"}])
    cli(store, ["assess", incident])
    text = cli(store, ["notice", incident, "--kind", "regulator-final"]).stdout
    assert text.startswith("個人情報の漏えい等に関する報告書（確報）")
    assert "個人情報保護法第26条第1項、同法施行規則第8条第2項" in text
    assert "■ 3 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数" in text


def test_a_report_the_law_does_not_require_is_refused_or_says_so(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "business", persons=3, malicious="none", data=[{"item": "氏名"}])
    cli(store, ["assess", incident])
    refused = cli(store, ["notice", incident, "--kind", "regulator-final"], expect=2)
    assert "is not reportable" in refused.stderr and "--draft" in refused.stderr
    draft = cli(store, ["notice", incident, "--kind", "regulator-preliminary", "--draft"]).stdout
    assert draft.splitlines()[2].startswith("【注意】保存された評価では、この事案は報告対象事態に該当せず")


def test_a_guideline_report_says_why_it_is_made(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "public-body", persons=2, malicious="none", mynumber_system=False,
                                data=[{"item": "個人番号"}])
    cli(store, ["assess", incident])
    text = cli(store, ["notice", incident, "--kind", "regulator-final", "--regime", "mynumber"]).stdout
    assert "【注意】報告対象事態には該当しないが、特定個人情報ガイドライン（行政機関等編）別添２ ３Ｂ" in text


def test_the_report_states_the_facts_the_law_turned_on(tmp_path: Path) -> None:
    store, incident = store_for(tmp_path, "business", type="unauthorized-access", being_acquired=True,
                                persons=5000, data=[{"item": "クレジットカード番号"}])
    cli(store, ["assess", incident])
    text = cli(store, ["notice", incident, "--kind", "regulator-final"]).stdout
    assert "取得しようとしていた個人情報：該当（個人データとして取り扱われることが予定されていたもの）" in text
    assert "■ 2 漏えい等が発生し、又は発生したおそれがある個人データ（取得しようとしていた個人情報を含む）の項目" in text
    assert "・不正の目的をもって行われたおそれがある行為による漏えい等（個人情報保護法施行規則第7条第3号）" in text
    assert "第7条第2号" not in text and "第7条第4号" not in text and scan(text, "txt") == []
    lost, lost_id = store_for(tmp_path / "b", "business", type="loss", event="loss", copy_exists=False,
                              malicious="none", data=[{"item": "病歴"}])
    cli(lost, ["assess", lost_id])
    assert "同じ内容のデータの別保管：なし" in cli(lost, ["notice", lost_id, "--kind", "regulator-final"]).stdout
