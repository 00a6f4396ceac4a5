"""Sector routing as data: a sector whose reports the PPC delegated (法第150条) sends the business reports to
its minister, with the method and the source in the assessment and the report, and a sector rule's
further report is an obligation of its own; a public body's reports stay with the PPC."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from incident.errors import InputError
from incident.law.rules import AssessConfig, assess
from incident.law.sectors import check_sectors_file, load_sectors
from incident.law.vocabulary import init_store, load_vocabulary, open_store
from incident.register.changes import new_incident
from incident.register.record import Record, from_mapping

JST = timezone(timedelta(hours=9))
VOCAB = load_vocabulary()


def make(**facts: Any) -> Record:
    raw: dict[str, Any] = {"schema": 1, "title": "t", "entity": "business", "type": "misdirected-mail",
                           "discovered_at": datetime(2024, 6, 3, 15, 0, tzinfo=JST), "persons": 3,
                           "data": [{"item": "病歴"}]}
    raw.update(facts)
    return from_mapping(raw, vocab=VOCAB)


def obligations(record: Record, config: AssessConfig, regime: str = "appi-business") -> dict[str, dict[str, Any]]:
    data = assess(record, config=config).to_json(None)
    found = next(a for a in data["assessments"] if a["regime"] == regime)
    return {o["id"]: o for o in found["obligations"]}


def test_the_bundled_sectors_are_sound_and_cite_their_source() -> None:
    from incident.resources import builtin_dir

    assert check_sectors_file(builtin_dir("playbooks") / "sectors.toml") == []
    for sector in load_sectors().values():
        assert sector.source and sector.citation, sector.id
        assert sector.obligations == ()  # no sector rule's text was read: none bundled


def test_a_delegated_sector_reports_to_its_minister_with_the_same_deadlines() -> None:
    plain = obligations(make(), AssessConfig())
    routed = obligations(make(), AssessConfig(sector="credit-information-agency"))
    for oid in ("regulator-preliminary", "regulator-final"):
        assert plain[oid]["recipient"] == "個人情報保護委員会"
        assert "報告フォーム" in plain[oid]["method"]
        assert routed[oid]["recipient"] == "経済産業大臣（経済産業省商取引監督課）"
        assert routed[oid]["method"].startswith("電子メール")
        assert "第150条第1項" in routed[oid]["citation"] and "経済産業省" in routed[oid]["citation"]
        assert routed[oid]["due"] == plain[oid]["due"]
    assert routed["individual-notice"]["recipient"] == "本人"


def test_a_sector_that_is_not_delegated_keeps_the_ppc() -> None:
    routed = obligations(make(), AssessConfig(sector="credit-purchase-intermediary"))
    assert routed["regulator-final"]["recipient"] == "個人情報保護委員会"
    assert "第150条" not in routed["regulator-final"]["citation"]


def test_a_public_body_reports_to_the_ppc_whatever_the_sector() -> None:
    routed = obligations(make(entity="public-body"), AssessConfig(sector="financial"), "appi-public")
    assert routed["regulator-final"]["recipient"] == "個人情報保護委員会"


def test_an_unknown_sector_names_the_known_ones() -> None:
    with pytest.raises(InputError) as caught:
        assess(make(), config=AssessConfig(sector="banking"))
    assert caught.value.field == "sector" and "credit-information-agency" in caught.value.message


SECTOR_RULE = '''schema = 1
version = "x"

[[sector]]
id = "example-finance"
ja = "例示の金融業"
en = "example finance"
delegated = true
recipient = "金融庁長官"
method = "所管の財務局を通じて提出"
citation = "個人情報保護法第150条第1項・第4項"
source = "組織の確認した所管庁の案内"

[[sector.obligations]]
id = "sector-leak-report"
ja = "業法上の漏えい報告"
en = "Sector-law leak report"
recipient = "金融庁長官"
citation = "組織が確認した業法の条文"
when = "otherwise"
deadline = { kind = "none", text = "業法の定めによる", text_en = "as the sector law says" }
items = ["overview", "items", "persons", "cause"]
'''


def test_a_sector_rule_adds_its_own_cited_obligation(tmp_path: Path) -> None:
    (tmp_path / "sectors.toml").write_text(SECTOR_RULE, encoding="utf-8")
    config = AssessConfig(sector="example-finance", playbook_dirs=(tmp_path,))
    small = obligations(make(data=[{"item": "氏名"}]), config)  # not reportable under the APPI
    assert list(small) == ["sector-leak-report"]
    assert small["sector-leak-report"]["citation"] == "組織が確認した業法の条文"
    big = obligations(make(), config)  # reportable: the APPI reports go to the delegated minister
    assert "sector-leak-report" not in big and big["regulator-final"]["recipient"] == "金融庁長官"


def test_a_sector_rule_must_cite(tmp_path: Path) -> None:
    path = tmp_path / "sectors.toml"
    path.write_text(SECTOR_RULE.replace('citation = "組織が確認した業法の条文"\n', ""), encoding="utf-8")
    assert any("missing citation" in p.message for p in check_sectors_file(path))
    path.write_text(SECTOR_RULE.replace('source = "組織の確認した所管庁の案内"\n', ""), encoding="utf-8")
    assert any("source must be a non-empty string" in p.message for p in check_sectors_file(path))


def test_the_report_names_the_recipient_and_the_method(tmp_path: Path) -> None:
    init_store(tmp_path / "s")
    (tmp_path / "s" / "config.toml").write_text('organization = "サンプル協会"\nentity = "business"\n'
                                                'contact = "窓口"\nsector = "installment-sales-association"\n',
                                                encoding="utf-8")
    store = open_store(tmp_path / "s")
    raw = {"schema": 1, "title": "t", "entity": "business", "type": "misdirected-mail",
           "discovered_at": "2024-06-03T15:00:00+09:00", "persons": 3, "data": [{"item": "病歴"}],
           "summary": "誤送付"}
    incident = new_incident(store, raw, actor="tester").id

    def cli(*args: str) -> Result:
        from incident.cli import cli as root

        result = CliRunner().invoke(root, ["--store", str(store.root), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    assessed = json.loads(cli("assess", incident, "--json").stdout)
    final = next(o for o in assessed["assessments"][0]["obligations"] if o["id"] == "regulator-final")
    assert final["recipient"].startswith("経済産業大臣") and final["method"].startswith("電子メール")
    text = cli("notice", incident, "--kind", "regulator-preliminary").stdout
    assert "報告先：経済産業大臣（経済産業省商取引監督課）" in text
    assert "報告方法：電子メールに漏えい報告様式を添付して提出する" in text
    assert "第150条第1項" in text.splitlines()[2]
    form = json.loads(cli("notice", incident, "--kind", "regulator-preliminary", "--format", "form",
                          "--json").stdout)
    delegated = next(f for f in form["fields"] if f["id"] == "delegated")
    assert delegated["value"] == "はい（権限委任先: 経済産業大臣（経済産業省商取引監督課））"
