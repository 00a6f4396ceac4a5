"""The facts the law turns on: an identical copy kept elsewhere (copy_exists), data being acquired
(being_acquired) across the 2024-04-01 amendment, the My Number exposure item, the public body's own My
Number guideline, and the free and ambiguous data-item names of the catalogue."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from incident.errors import InputError
from incident.law.catalogue import AmbiguousItem, check_catalogue_file, load_catalogue
from incident.law.rules import assess
from incident.law.vocabulary import load_vocabulary
from incident.register.record import Record, from_mapping

JST = timezone(timedelta(hours=9))
VOCAB = load_vocabulary()
JUNE_3 = datetime(2024, 6, 3, 15, 0, tzinfo=JST)
Run = Callable[..., Result]


def make(items: tuple[str | dict[str, Any], ...] = ("name",), **facts: Any) -> Record:
    raw: dict[str, Any] = {"schema": 1, "title": "t", "entity": "business", "type": "misdirected-mail",
                           "discovered_at": JUNE_3, "persons": 3}
    raw.update(facts)
    raw["data"] = [{"item": i} if isinstance(i, str) else i for i in items]
    return from_mapping({k: v for k, v in raw.items() if v is not None}, vocab=VOCAB)


def regime(record: Record, rid: str) -> dict[str, Any]:
    result = assess(record).to_json(None)
    found = [a for a in result["assessments"] if a["regime"] == rid]
    assert found, [a["regime"] for a in result["assessments"]]
    return found[0]


def met(a: dict[str, Any]) -> list[str]:
    return sorted(c["id"] for c in a["conditions"] if c["met"] is True)


def cond(a: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in a["conditions"] if c["id"] == cid)


def obligations(a: dict[str, Any]) -> list[str]:
    return [o["id"] for o in a["obligations"]]


# --------------------------------------------------------------------------- copy_exists


@pytest.mark.parametrize("event", ["loss", "damage"])
def test_an_identical_copy_means_no_loss_or_damage(event: str) -> None:
    # a shredded printout of health-check results whose electronic record is intact
    a = regime(make(("health-check-results",), type="wrongful-disposal", event=event, copy_exists=True),
               "appi-business")
    assert a["reportable"] is False and met(a) == []
    special = cond(a, "special-care")
    assert special["exempted_by"] == "copy-exists"
    assert "同じデータが他に保管" in special["reason"] and "3-5-1-3" in special["reason"]
    assert obligations(a) == []


@pytest.mark.parametrize("event", ["loss", "damage"])
def test_without_the_copy_a_loss_of_special_care_data_is_reportable(event: str) -> None:
    a = regime(make(("health-check-results",), type="wrongful-disposal", event=event, copy_exists=False),
               "appi-business")
    assert met(a) == ["special-care"] and a["missing"] == []


def test_a_copy_never_removes_a_leak() -> None:
    a = regime(make(("health-check-results",), event="leak", copy_exists=True), "appi-business")
    assert met(a) == ["special-care"]
    ex = next(e for e in a["exemptions"] if e["id"] == "copy-exists")
    assert ex["applied"] is False and "漏えいのまま" in ex["reason"]


def test_ransomware_restored_from_backup_with_signs_of_theft_stays_a_possible_leak() -> None:
    record = make(("name", "medical-history"), type="ransomware", event="leak", certainty="suspected",
                  malicious="suspected", copy_exists=True, persons=20)
    a = regime(record, "appi-business")
    assert met(a) == ["malicious", "special-care"]
    assert next(o for o in a["obligations"] if o["id"] == "regulator-final")["days"] == 60


def test_ransomware_encryption_restored_from_backup_without_theft_is_no_damage() -> None:
    a = regime(make(("name", "medical-history"), type="ransomware", malicious="none", copy_exists=True),
               "appi-business")  # the type's default event is damage (毀損)
    assert a["reportable"] is False and a["missing"] == []


def test_copy_exists_is_asked_for_a_loss_or_damage_only() -> None:
    assert regime(make(type="loss", event="loss"), "appi-business")["missing"] == ["copy_exists"]
    assert regime(make(type="wrongful-disposal"), "appi-business")["missing"] == ["copy_exists"]
    assert regime(make(type="loss", event="leak"), "appi-business")["missing"] == []
    assert regime(make(type="misdirected-mail"), "appi-business")["missing"] == []


def test_the_public_body_and_my_number_regimes_know_the_copy_too() -> None:
    a = regime(make(("health-check-results",), entity="public-body", type="loss", event="loss", copy_exists=True),
               "appi-public")
    assert a["reportable"] is False
    m = regime(make(("my-number",), type="loss", event="loss", copy_exists=True, persons=500), "mynumber")
    assert m["reportable"] is False and cond(m, "headcount")["exempted_by"] == "copy-exists"


# --------------------------------------------------------------------------- being_acquired


def skimming(discovered: datetime, **facts: Any) -> Record:
    base = {"type": "unauthorized-access", "malicious": "confirmed", "being_acquired": True, "persons": 5000,
            "discovered_at": discovered}
    base.update(facts)
    return make(("credit-card-number", "medical-history"), **base)


def test_data_being_acquired_counts_only_under_the_malicious_item_since_2024() -> None:
    a = regime(skimming(datetime(2024, 4, 1, 9, 0, tzinfo=JST)), "appi-business")
    assert a["reportable"] is True and met(a) == ["malicious"]
    for cid in ("special-care", "financial-harm", "headcount"):
        assert cond(a, cid)["exempted_by"] == "being-acquired", cid
    reason = cond(a, "malicious")["reason"]
    assert "取得しようとしていた個人情報" in reason and "3-5-1-1" in reason
    assert next(o for o in a["obligations"] if o["id"] == "regulator-final")["days"] == 60


def test_data_being_acquired_was_not_reportable_before_2024_04_01() -> None:
    a = regime(skimming(datetime(2024, 3, 31, 23, 0, tzinfo=JST)), "appi-business")
    assert a["version"].startswith("令和2年改正法")
    assert a["reportable"] is False and met(a) == []
    malicious = cond(a, "malicious")
    assert malicious["exempted_by"] == "being-acquired" and "2024年4月1日の改正前" in malicious["reason"]
    assert obligations(a) == []


def test_data_being_acquired_without_malice_is_not_reportable() -> None:
    a = regime(skimming(datetime(2024, 6, 3, tzinfo=JST), malicious="none"), "appi-business")
    assert a["reportable"] is False


def test_held_data_still_counts_under_every_item() -> None:
    a = regime(skimming(datetime(2024, 6, 3, tzinfo=JST), being_acquired=False), "appi-business")
    assert met(a) == ["financial-harm", "headcount", "malicious", "special-care"]


def test_public_body_being_acquired_across_the_boundary() -> None:
    after = regime(skimming(datetime(2024, 4, 1, tzinfo=JST), entity="public-body"), "appi-public")
    assert met(after) == ["malicious"]
    before = regime(skimming(datetime(2024, 3, 31, tzinfo=JST), entity="public-body"), "appi-public")
    assert before["reportable"] is False


def test_being_acquired_is_asked_where_the_type_asks_for_it() -> None:
    record = make(type="unauthorized-access", malicious="confirmed")
    assert "being_acquired" in regime(record, "appi-business")["missing"]
    assert "being_acquired" not in regime(make(type="theft", malicious="confirmed"), "appi-business")["missing"]


def test_my_number_being_acquired_is_outside_the_my_number_report() -> None:
    record = make(("my-number",), type="unauthorized-access", malicious="confirmed", being_acquired=True,
                  persons=500)
    m = regime(record, "mynumber")
    assert m["reportable"] is False and "特定個人情報ファイル" in cond(m, "malicious")["reason"]


# --------------------------------------------------------------------------- My Number


def test_my_numbers_left_public_stay_reportable_when_nobody_looked() -> None:
    record = make(("name", "my-number"), type="misconfiguration", published=True, recovered=True, persons=10)
    m = regime(record, "mynumber")
    assert m["reportable"] is True and met(m) == ["published"]
    assert cond(m, "published")["exempted_by"] is None
    assert "閲覧され得る状態そのもの" in cond(m, "published")["reason"]
    assert "regulator-final" in obligations(m)
    # the recovery still takes out the other items (a mis-sent My Number retrieved unread is no leak)
    other = make(("my-number",), type="misdirected-mail", recovered=True, persons=500)
    assert regime(other, "mynumber")["reportable"] is False


def test_public_body_my_number_reports_cite_the_public_body_guideline() -> None:
    record = make(("my-number",), entity="public-body", type="misconfiguration", published=True, persons=10)
    m = regime(record, "mynumber")
    cites = {o["id"]: o["citation"] for o in m["obligations"]}
    assert "行政機関等編" in cites["regulator-preliminary"] and "行政機関等編" in cites["regulator-final"]
    assert not any("事業者編" in c for c in cites.values())
    business = regime(make(("my-number",), type="misconfiguration", published=True), "mynumber")
    assert all("行政機関等編" not in o["citation"] for o in business["obligations"])


def test_public_body_reports_my_number_leaks_the_rule_does_not_require() -> None:
    record = make(("my-number",), entity="public-body", type="misdirected-mail", persons=2, mynumber_system=False)
    m = regime(record, "mynumber")
    assert m["reportable"] is False
    report = next(o for o in m["obligations"] if o["id"] == "guideline-report")
    assert "行政機関等編）別添２ ３Ｂ" in report["citation"] and report["due"] is None
    # not for a business (a request to endeavour, kept as a note), not when every item is encrypted with
    # the key safe, not when nothing leaked
    business = regime(make(("my-number",), type="misdirected-mail", persons=2), "mynumber")
    assert "guideline-report" not in obligations(business)
    assert any("努める" in n for n in business["notes"])
    encrypted = make(({"item": "my-number", "encrypted": True},), entity="public-body", type="misdirected-mail",
                     persons=2, mynumber_system=False)
    assert obligations(regime(encrypted, "mynumber")) == []
    unseen = make(("my-number",), entity="public-body", type="misdirected-mail", persons=2, mynumber_system=False,
                  recovered=True)
    assert obligations(regime(unseen, "mynumber")) == []
    # a reportable case has the rule's reports, not the guideline's
    big = make(("my-number",), entity="public-body", type="misdirected-mail", persons=101, mynumber_system=False)
    assert "guideline-report" not in obligations(regime(big, "mynumber"))


# --------------------------------------------------------------------------- the catalogue


def test_free_items_are_ordinary_personal_information() -> None:
    for form in ({"item": "other:保育料の額"}, {"item": "other", "label": "保育料の額"},
                 {"item": "ＯＴＨＥＲ：保育料の額"}):
        record = make(("name", form), entity="public-body", type="misdirected-mail", persons=3)
        assert record.data[1].item == "other:保育料の額"
        a = regime(record, "appi-public")
        assert a["reportable"] is False
        assert "保育料の額" in cond(a, "special-care")["reason"]


def test_a_free_item_counts_with_the_flags_the_record_sets() -> None:
    record = make(({"item": "other:障害支援区分の認定調査票", "special_care": True},), persons=1)
    assert record.data[0].flags == ("special_care",)
    assert met(regime(record, "appi-business")) == ["special-care"]


def test_flags_on_a_catalogue_item_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        make(({"item": "name", "special_care": True},))
    assert caught.value.field == "data[1].special_care" and "free item" in caught.value.message


def test_label_goes_with_other_only() -> None:
    with pytest.raises(InputError, match="label goes with item"):
        make(({"item": "name", "label": "x"},))
    with pytest.raises(InputError, match="no label"):
        make(({"item": "other:"},))


def test_an_unknown_name_offers_the_catalogue_and_the_free_form() -> None:
    with pytest.raises(InputError) as caught:
        make(("納付額",))
    assert "unknown data item '納付額'" in caught.value.message
    assert "other:納付額" in caught.value.message


def test_aliases_never_name_a_different_thing() -> None:
    catalogue = load_catalogue()
    assert catalogue.resolve("クラス").id == "grade-and-class"
    assert catalogue.resolve("学年").id == "grade-and-class"
    assert catalogue.resolve("学校名").id == "school"
    for gone in ("印影", "カード有効期限", "被害者情報", "生活歴", "所得証明"):
        assert catalogue.get(gone) is None, gone


def test_health_check_split() -> None:
    catalogue = load_catalogue()
    assert catalogue.resolve("健康診断結果").special_care is True
    received = catalogue.resolve("健康診断の受診")
    assert received.id == "health-check-received" and received.special_care is False
    assert "2-3(8)" in (received.citation or "")
    with pytest.raises(AmbiguousItem) as caught:
        catalogue.resolve("健康診断")
    assert [c.id for c in caught.value.choices] == ["health-check-received", "health-check-results"]
    assert "health-check-received" in caught.value.message and "health-check-results" in caught.value.message


def test_an_ambiguous_name_may_not_also_be_an_alias(tmp_path: Path) -> None:
    path = tmp_path / "data-items.toml"
    path.write_text('schema = 1\nversion = "x"\n\n[[item]]\nid = "a"\nja = "甲"\nen = "a"\naliases = ["健診"]\n\n'
                    '[[item]]\nid = "b"\nja = "乙"\nen = "b"\n\n'
                    '[[ambiguous]]\nname = "健診"\nitems = ["a", "b"]\n\n[[item]]\nid = "other"\nja = "x"\nen = "x"\n',
                    encoding="utf-8")
    messages = [p.message for p in check_catalogue_file(path)]
    assert any("ambiguous name '健診' is also a name of item 'a'" in m for m in messages)
    assert any("reserved for free items" in m for m in messages)


def test_new_refuses_an_ambiguous_item_off_a_terminal_naming_both(run: Run) -> None:
    result = run(["new", "--title", "健診の書類を紛失", "--type", "loss", "--entity", "business",
                  "--discovered-at", "2024-06-03 10:00", "--item", "健康診断"], expect=2)
    assert "health-check-received" in result.stderr and "health-check-results" in result.stderr
    assert "Traceback" not in result.output


def test_new_asks_which_item_and_the_facts_that_matter_on_a_terminal(run: Run, monkeypatch: pytest.MonkeyPatch,
                                                                       store_dir: Path) -> None:
    monkeypatch.setattr("incident.cli.register.is_interactive", lambda: True)
    result = run(["new", "--title", "健診の書類を誤廃棄", "--type", "wrongful-disposal", "--entity", "business",
                  "--discovered-at", "2024-06-03 10:00", "--department", "総務課", "--summary", "s",
                  "--persons", "3", "--item", "健康診断", "--item", "other:保育料の額", "--json"],
                 input="y\n2\n")
    assert "copy_exists" in result.output and "health-check-results" in result.output
    incident_id = json.loads(result.stdout[result.stdout.rindex("{"):])["id"]
    shown = json.loads(run(f"show {incident_id} --json").stdout)
    assert shown["copy_exists"] is True
    assert shown["data"] == [{"item": "health-check-results"}, {"item": "other:保育料の額"}]
    assessed = json.loads(run(f"assess {incident_id} --json").stdout)
    assert assessed["reportable"] is False


def test_set_and_steps_settle_the_new_facts(run: Run) -> None:
    result = run(["new", "--title", "USB紛失", "--type", "loss", "--entity", "business", "--event", "loss",
                  "--discovered-at", "2024-06-03 10:00", "--persons", "1", "--item", "病歴", "--json"])
    incident_id = json.loads(result.stdout)["id"]
    first = json.loads(run(f"assess {incident_id} --json").stdout)
    assert first["reportable"] is True and first["assessments"][0]["missing"] == ["copy_exists"]
    run(f"step {incident_id} check-copy done --value true")
    after = json.loads(run(f"assess {incident_id} --json").stdout)
    assert after["reportable"] is False
    run(f"set {incident_id} copy_exists=false")
    assert json.loads(run(f"assess {incident_id} --json").stdout)["reportable"] is True
