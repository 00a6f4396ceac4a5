"""The reportability engine: every condition, exemption, regime and deadline edge, and its properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident.errors import InputError
from incident.law.assessment import Assessment, combine, diff_assessments
from incident.law.rule_kinds import APPLIES_KINDS, CONDITION_KINDS, EXEMPTION_KINDS, Case
from incident.law.rules import AssessConfig, assess
from incident.law.vocabulary import load_vocabulary
from incident.law.workdays import is_closed_day
from incident.register.record import Record, from_mapping

JST = timezone(timedelta(hours=9))
VOCAB = load_vocabulary()
JUNE_3 = datetime(2024, 6, 3, 15, 0, tzinfo=JST)

Item = str | tuple[str, bool] | tuple[str, bool, bool]


def make(items: tuple[Item, ...] = ("name",), **facts: Any) -> Record:
    """A record like the examples; items are names or (name, encrypted[, key_compromised])."""
    raw: dict[str, Any] = {"schema": 1, "title": "t", "entity": "business", "type": "misdirected-email",
                           "discovered_at": JUNE_3}
    raw.update(facts)
    raw = {k: v for k, v in raw.items() if v is not None}
    data = []
    for it in items:
        if isinstance(it, str):
            data.append({"item": it})
        else:
            data.append({"item": it[0], "encrypted": it[1], "key_compromised": it[2] if len(it) > 2 else False})
    raw["data"] = data
    return from_mapping(raw, vocab=VOCAB)


def run(record: Record, config: AssessConfig | None = None) -> dict[str, Any]:
    return assess(record, config=config).to_json(None)


def regime(result: dict[str, Any], rid: str) -> dict[str, Any]:
    found = [a for a in result["assessments"] if a["regime"] == rid]
    assert found, f"{rid} not in {[a['regime'] for a in result['assessments']]}"
    return found[0]


def met(result: dict[str, Any], rid: str) -> list[str]:
    return sorted(c["id"] for c in regime(result, rid)["conditions"] if c["met"] is True)


def cond(result: dict[str, Any], rid: str, cid: str) -> dict[str, Any]:
    return next(c for c in regime(result, rid)["conditions"] if c["id"] == cid)


def exemption(result: dict[str, Any], rid: str, eid: str) -> dict[str, Any]:
    return next(e for e in regime(result, rid)["exemptions"] if e["id"] == eid)


def obligations(result: dict[str, Any], rid: str) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in regime(result, rid)["obligations"]}


def regimes(result: dict[str, Any]) -> list[str]:
    return [a["regime"] for a in result["assessments"]]


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(("entity", "persons", "expected"), [
    ("business", 1000, False), ("business", 1001, True),
    ("public-body", 100, False), ("public-body", 101, True),
    ("council", 100, False), ("council", 101, True),
])
def test_headcount_is_more_than_the_threshold(entity: str, persons: int, expected: bool) -> None:
    rid = {"business": "appi-business", "public-body": "appi-public", "council": "council"}[entity]
    result = run(make(entity=entity, persons=persons))
    assert regimes(result) == [rid]
    assert regime(result, rid)["reportable"] is expected
    c = cond(result, rid, "headcount")
    assert c["met"] is expected
    threshold = {"business": "1,000", "public-body": "100", "council": "100"}[entity]
    word = "を超える" if expected else "を超えない"
    assert c["reason"].startswith(f"本人の数 {persons:,}人 — {threshold}人{word}")
    assert c["reason_en"].startswith(f"{persons:,} persons") and threshold in c["reason_en"]


@pytest.mark.parametrize(("persons", "expected"), [(100, False), (101, True)])
def test_mynumber_headcount_over_100(persons: int, expected: bool) -> None:
    result = run(make(("name", "my-number"), persons=persons))
    assert regimes(result) == ["appi-business", "mynumber"]
    assert regime(result, "appi-business")["reportable"] is False
    assert regime(result, "mynumber")["reportable"] is expected
    assert cond(result, "mynumber", "headcount")["citation"] == "番号法第29条の4第1項に基づく報告規則第2条第4号"


# --------------------------------------------------------------------------- data-item conditions


@pytest.mark.parametrize(("items", "special", "financial"), [
    (("name", "health-check-results"), True, False),
    (("氏名", "病歴"), True, False),
    (("credit-card-number",), False, True),
    (("ｸﾚｼﾞｯﾄｶｰﾄﾞ番号",), False, True),
    (("card-last4-expiry", "name"), False, False),
    (("bank-account-number", "name"), False, False),
    (("口座番号",), False, False),
    (("payment-login-credentials",), False, True),
    (("メールアドレス", "氏名"), False, False),
])
def test_item_conditions_even_for_one_person(items: tuple[str, ...], special: bool, financial: bool) -> None:
    result = run(make(items, persons=1))
    assert cond(result, "appi-business", "special-care")["met"] is special
    assert cond(result, "appi-business", "financial-harm")["met"] is financial
    assert result["reportable"] is (special or financial)


def test_special_care_reason_names_the_item_and_article() -> None:
    result = run(make(("name", "health-check-results"), persons=3))
    c = cond(result, "appi-business", "special-care")
    assert c["reason"] == "健康診断等の結果は要配慮個人情報 — 本人の数にかかわらず該当（個人情報保護法施行規則第7条第1号）"
    assert c["citation"] == "個人情報保護法施行規則第7条第1号"


def test_unknown_item_suggests_the_closest() -> None:
    with pytest.raises(InputError, match="健康診断等の結果"):
        make(("健康診断の結果",))


# --------------------------------------------------------------------------- malicious


def test_malicious_suspected_counts_and_gives_60_days() -> None:
    result = run(make(persons=5, malicious="suspected", type="unauthorized-access"))
    assert met(result, "appi-business") == ["malicious"]
    final = obligations(result, "appi-business")["regulator-final"]
    assert (final["due"], final["days"]) == ("2024-08-01", 60)


def test_60_days_when_malicious_together_with_special_care() -> None:
    result = run(make(("medical-history",), persons=5, malicious="confirmed", type="theft"))
    assert met(result, "appi-business") == ["malicious", "special-care"]
    assert obligations(result, "appi-business")["regulator-final"]["due"] == "2024-08-01"


def test_malicious_left_out_where_the_type_presumes_it_is_asked_for() -> None:
    result = run(make(persons=5, type="ransomware"))
    c = cond(result, "appi-business", "malicious")
    assert c["met"] is False
    assert "既定値 none" in c["reason"] and "ransomware" in c["reason"]
    # ransomware is a damage by default: whether an identical copy is kept is asked for too
    assert regime(result, "appi-business")["missing"] == ["malicious", "copy_exists"]
    assert result["reportable"] is False


def test_malicious_left_out_for_a_plain_misdelivery_is_not_missing() -> None:
    result = run(make(persons=5, type="misdirected-mail"))
    assert regime(result, "appi-business")["missing"] == []
    assert cond(result, "appi-business", "malicious")["reason"] == \
        "不正の目的をもって行われた行為によるものではない（malicious = none）"


# --------------------------------------------------------------------------- missing persons


def test_missing_persons_alone_is_undetermined() -> None:
    result = run(make(("name", "email-address")))
    a = regime(result, "appi-business")
    assert a["reportable"] is None and result["reportable"] is None
    assert cond(result, "appi-business", "headcount")["met"] is None
    assert a["missing"] == ["persons"]
    assert a["obligations"] == []


def test_missing_persons_with_another_condition_met_is_reportable() -> None:
    result = run(make(("name", "credit-card-number")))
    a = regime(result, "appi-business")
    assert a["reportable"] is True
    assert cond(result, "appi-business", "headcount")["met"] is None
    assert a["missing"] == ["persons"]
    assert sorted(obligations(result, "appi-business")) == ["individual-notice", "regulator-final",
                                                            "regulator-preliminary"]


# --------------------------------------------------------------------------- exemptions


def test_everything_encrypted_with_key_safe_removes_every_condition() -> None:
    result = run(make((("medical-history", True), ("name", True)), persons=2500, malicious="confirmed",
                      type="unauthorized-access"))
    a = regime(result, "appi-business")
    assert a["reportable"] is False
    for cid in ("special-care", "malicious", "headcount"):
        c = cond(result, "appi-business", cid)
        assert c["met"] is False and c["exempted_by"] == "high-encryption"
        assert "高度な暗号化" in c["reason"]
    assert exemption(result, "appi-business", "high-encryption")["applied"] is True
    assert exemption(result, "appi-business", "not-a-leak")["applied"] is False


def test_key_compromised_means_no_protection() -> None:
    result = run(make((("medical-history", True, True),), persons=1))
    assert met(result, "appi-business") == ["special-care"]
    assert exemption(result, "appi-business", "high-encryption")["applied"] is False


def test_mixed_encryption_protected_special_care_item_does_not_count() -> None:
    result = run(make((("medical-history", True), "name"), persons=10))
    c = cond(result, "appi-business", "special-care")
    assert c["met"] is False and c["exempted_by"] == "high-encryption"
    assert "病歴" in c["reason"]
    assert exemption(result, "appi-business", "high-encryption")["applied"] is True
    assert result["reportable"] is False


def test_mixed_encryption_unprotected_items_still_count() -> None:
    result = run(make((("name", True), "medical-history"), persons=5000))
    assert met(result, "appi-business") == ["headcount", "special-care"]
    ex = exemption(result, "appi-business", "high-encryption")
    assert ex["applied"] is False and "氏名" in ex["reason"]


def test_recovered_unseen_is_not_a_leak() -> None:
    result = run(make(("medical-history", "credit-card-number"), persons=5000, recovered=True))
    a = regime(result, "appi-business")
    assert a["reportable"] is False and a["obligations"] == []
    assert {c["exempted_by"] for c in a["conditions"] if c["id"] != "malicious"} == {"not-a-leak"}
    assert "回収" in cond(result, "appi-business", "special-care")["reason"]
    assert exemption(result, "appi-business", "not-a-leak")["applied"] is True


# --------------------------------------------------------------------------- entrustees


def test_business_entrustee_notifies_the_entruster_only() -> None:
    result = run(make(("credit-card-number",), persons=40, role="entrustee", entruster="株式会社サンプル商事"))
    obs = obligations(result, "appi-business")
    assert list(obs) == ["entruster-notice"]
    assert obs["entruster-notice"]["recipient"] == "株式会社サンプル商事"
    assert (obs["entruster-notice"]["due"], obs["entruster-notice"]["soft"]) == ("2024-06-07", True)
    assert regime(result, "appi-business")["missing"] == []


def test_entrustee_without_entruster_name_is_asked_for() -> None:
    result = run(make(("credit-card-number",), persons=40, role="entrustee"))
    assert obligations(result, "appi-business")["entruster-notice"]["recipient"] == "委託元"
    assert regime(result, "appi-business")["missing"] == ["entruster"]


def test_entrustee_under_mynumber_notifies_the_entruster() -> None:
    result = run(make(("name", "my-number"), persons=150, role="entrustee", entruster="A社"))
    assert list(obligations(result, "mynumber")) == ["entruster-notice"]
    assert obligations(result, "appi-business") == {}


def test_public_body_entrustee_has_no_release() -> None:
    result = run(make(("name",), entity="public-body", persons=101, role="entrustee", entruster="B市"))
    assert sorted(obligations(result, "appi-public")) == ["individual-notice", "regulator-final",
                                                          "regulator-preliminary"]


def test_council_notifies_individuals_only_by_the_chair() -> None:
    result = run(make(("name", "address"), entity="council", persons=101, role="entrustee"))
    obs = obligations(result, "council")
    assert list(obs) == ["individual-notice"]
    ob = obs["individual-notice"]
    assert (ob["recipient"], ob["by"], ob["due"]) == ("本人", "議長", None)
    assert ob["items"] == ["overview", "items", "cause", "secondary-harm", "other"]


# --------------------------------------------------------------------------- mynumber


def test_public_body_mynumber_system_left_out_is_asked_for() -> None:
    result = run(make(("name", "my-number"), entity="public-body", persons=5))
    a = regime(result, "mynumber")
    assert a["reportable"] is None and a["missing"] == ["mynumber_system"]
    assert cond(result, "mynumber", "system")["met"] is None
    assert result["reportable"] is None


def test_public_body_mynumber_system_undetermined_but_headcount_met() -> None:
    result = run(make(("name", "my-number"), entity="public-body", persons=150))
    assert regime(result, "mynumber")["reportable"] is True
    assert regime(result, "mynumber")["missing"] == ["mynumber_system"]


@pytest.mark.parametrize("entity", ["business", "council"])
def test_mynumber_system_defaults_to_false(entity: str) -> None:
    result = run(make(("name", "my-number"), entity=entity, persons=5))
    assert cond(result, "mynumber", "system")["met"] is False
    assert regime(result, "mynumber")["reportable"] is False
    assert regime(result, "mynumber")["missing"] == []


@pytest.mark.parametrize(("facts", "condition"), [
    ({"mynumber_system": True}, "system"), ({"published": True}, "published"),
    ({"malicious": "suspected"}, "malicious")])
def test_mynumber_conditions_for_any_number_of_persons(facts: dict[str, Any], condition: str) -> None:
    result = run(make(("my-number",), persons=1, **facts))
    assert met(result, "mynumber") == [condition]
    days = 60 if condition == "malicious" else 30
    assert obligations(result, "mynumber")["regulator-final"]["days"] == days


def test_encrypted_my_number_with_key_safe_is_not_reportable() -> None:
    result = run(make((("my-number", True), ("name", True)), persons=500, published=True))
    assert regime(result, "mynumber")["reportable"] is False
    assert exemption(result, "mynumber", "high-encryption")["applied"] is True


# --------------------------------------------------------------------------- appi-public ordinance items


def test_ordinance_special_care_from_config() -> None:
    config = AssessConfig(ordinance_special_care=("生活保護の受給",))
    record = make(("name", "public-assistance"), entity="public-body", persons=3)
    result = run(record, config)
    assert met(result, "appi-public") == ["ordinance-special-care"]
    assert "生活保護" in cond(result, "appi-public", "ordinance-special-care")["reason"]


def test_ordinance_special_care_unconfigured_says_why() -> None:
    result = run(make(("name", "生活保護"), entity="public-body", persons=3))
    c = cond(result, "appi-public", "ordinance-special-care")
    assert c["met"] is False and "ordinance_special_care" in c["reason"] and "設定されていない" in c["reason"]


# --------------------------------------------------------------------------- gdpr


def test_gdpr_risk_gives_the_exact_72_hour_instant() -> None:
    at = datetime(2024, 6, 3, 15, 30, tzinfo=JST)
    result = run(make(("name", "email-address"), persons=10, subject_countries=["JP", "DE"], risk_level="risk",
                      discovered_at=at))
    assert regimes(result) == ["appi-business", "gdpr"]
    obs = obligations(result, "gdpr")
    assert list(obs) == ["supervisory-authority"]
    assert obs["supervisory-authority"]["due"] == "2024-06-06T15:30:00+09:00"
    assert met(result, "gdpr") == ["risk"]
    assert result["reportable"] is True


def test_gdpr_high_risk_adds_the_data_subjects() -> None:
    result = run(make(("name",), persons=10, subject_countries=["EU"], risk_level="high"))
    assert sorted(obligations(result, "gdpr")) == ["data-subjects", "supervisory-authority"]
    assert obligations(result, "gdpr")["data-subjects"]["due"] is None


def test_gdpr_without_risk_level_is_undetermined() -> None:
    result = run(make(("name",), persons=10, subject_countries=["FR"]))
    a = regime(result, "gdpr")
    assert a["reportable"] is None and a["missing"] == ["risk_level"]
    assert regime(result, "appi-business")["reportable"] is False
    assert result["reportable"] is None


def test_gdpr_unlikely_risk_is_not_reportable() -> None:
    result = run(make(("name",), persons=10, subject_countries=["NO"], risk_level="unlikely"))
    assert regime(result, "gdpr")["reportable"] is False


def test_gdpr_unintelligible_data_removes_only_the_high_risk() -> None:
    result = run(make((("name", True),), persons=10, subject_countries=["IE"], risk_level="high"))
    assert met(result, "gdpr") == ["risk"]
    assert list(obligations(result, "gdpr")) == ["supervisory-authority"]
    assert exemption(result, "gdpr", "unintelligible")["applied"] is True


def test_gdpr_processor_notifies_the_controller() -> None:
    result = run(make(("name",), persons=10, subject_countries=["DE"], risk_level="unlikely", role="entrustee",
                      entruster="EU GmbH"))
    obs = obligations(result, "gdpr")
    assert list(obs) == ["controller-notice"] and obs["controller-notice"]["recipient"] == "EU GmbH"


def test_no_gdpr_outside_the_eea() -> None:
    assert regimes(run(make(subject_countries=["JP", "US", "GB", "CH"], persons=1))) == ["appi-business"]


# --------------------------------------------------------------------------- regime selection


def test_record_regimes_replace_the_derivation() -> None:
    result = run(make(("name", "my-number"), persons=101, regimes=["council"]))
    assert regimes(result) == ["council"]
    assert regime(result, "council")["reportable"] is True


def test_config_default_regimes_are_added() -> None:
    config = AssessConfig(default_regimes=("gdpr",))
    result = run(make(persons=1, risk_level="risk"), config)
    assert regimes(result) == ["appi-business", "gdpr"]


def test_unknown_regime_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown regime 'ccpa'"):
        assess(make(persons=1), config=AssessConfig(default_regimes=("ccpa",)))


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(("learned", "malicious", "final"), [
    (date(2024, 6, 3), "none", "2024-07-02"),
    (date(2024, 10, 4), "none", "2024-11-05"),    # 11-02 Sat, 11-03 Sun 文化の日, 11-04 振替休日
    (date(2023, 12, 1), "none", "2024-01-04"),    # day 30 = 12-30, year-end closure to 01-03
    (date(2023, 12, 10), "none", "2024-01-09"),   # day 30 = 01-08 成人の日 (Coming of Age Day)
    (date(2024, 4, 5), "none", "2024-05-07"),     # day 30 = 05-04 みどりの日 (Sat), 05-05, 05-06 振替休日
    (date(2024, 3, 7), "suspected", "2024-05-07"),  # day 60 = 05-05 こどもの日
    (date(2024, 7, 22), "confirmed", "2024-09-19"),  # day 60 = 09-19 Thu, no move
])
def test_final_report_deadlines(learned: date, malicious: str, final: str) -> None:
    at = datetime(learned.year, learned.month, learned.day, 10, 0, tzinfo=JST)
    result = run(make(("medical-history",), persons=1, malicious=malicious, discovered_at=at))
    ob = obligations(result, "appi-business")["regulator-final"]
    assert ob["due"] == final and ob["soft"] is False
    assert not is_closed_day(date.fromisoformat(final))


def test_utc_discovery_is_the_next_day_in_tokyo() -> None:
    at = datetime(2024, 10, 3, 20, 0, tzinfo=UTC)
    result = run(make(("medical-history",), persons=1, discovered_at=at, subject_countries=["DE"],
                      risk_level="risk"))
    assert result["learned_on"] == "2024-10-04"
    obs = obligations(result, "appi-business")
    assert obs["regulator-final"]["due"] == "2024-11-05"
    assert obs["regulator-final"]["rolled_past"] == ["2024-11-02 土曜日", "2024-11-03 文化の日",
                                                     "2024-11-04 文化の日 振替休日"]
    assert (obs["regulator-preliminary"]["due"], obs["regulator-preliminary"]["soft"]) == ("2024-10-08", True)
    assert obligations(result, "gdpr")["supervisory-authority"]["due"] == "2024-10-06T20:00:00+00:00"


def test_organization_timezone_decides_the_learning_date() -> None:
    at = datetime(2024, 10, 3, 20, 0, tzinfo=UTC)
    result = run(make(("medical-history",), persons=1, discovered_at=at), AssessConfig(tz="Europe/London"))
    assert result["learned_on"] == "2024-10-03"


def test_preliminary_target_is_not_moved_past_holidays() -> None:
    at = datetime(2024, 10, 31, 9, 0, tzinfo=JST)
    ob = obligations(run(make(("medical-history",), persons=1, discovered_at=at)),
                     "appi-business")["regulator-preliminary"]
    assert (ob["due"], ob["soft"]) == ("2024-11-04", True)
    assert "目安" in ob["note"]


def test_individual_notice_has_no_date() -> None:
    ob = obligations(run(make(("medical-history",), persons=1)), "appi-business")["individual-notice"]
    assert (ob["due"], ob["soft"], ob["due_text"]) == (None, False, "当該事態の状況に応じて速やかに")
    assert ob["items"] == ["overview", "items", "cause", "secondary-harm", "other"]


def test_versions_in_force_on_the_learning_date() -> None:
    before = run(make(persons=1, discovered_at=datetime(2024, 3, 29, 9, 0, tzinfo=JST)))
    after = run(make(persons=1, discovered_at=datetime(2024, 4, 1, 9, 0, tzinfo=JST)))
    assert regime(before, "appi-business")["effective_from"] == "2022-04-01"
    assert regime(after, "appi-business")["effective_from"] == "2024-04-01"
    # the version in force is chosen on the day of learning in Japan: 08:00 JST on 1 April 2024 is still
    # 31 March in UTC
    early = assess(make(persons=1, discovered_at=datetime(2024, 4, 1, 8, 0, tzinfo=JST)))
    assert isinstance(early, Assessment) and early.learned_on == date(2024, 4, 1)
    assert early.playbooks["appi-business"]["effective_from"] == "2024-04-01"


def test_before_any_version_the_earliest_is_used_with_a_note() -> None:
    result = run(make(("name",), entity="council", persons=1,
                      discovered_at=datetime(2023, 1, 10, 9, 0, tzinfo=JST)))
    assert any("No version of council was in force on 2023-01-10" in n for n in regime(result, "council")["notes"])


# --------------------------------------------------------------------------- diff


def test_diff_says_what_changed() -> None:
    old = run(make(("name",), persons=500))
    new = run(make(("name", "medical-history"), persons=500, malicious="suspected", type="insider"))
    assert diff_assessments(old, new) == [
        "reportable: false → true",
        "appi-business: reportable: false → true",
        "appi-business: special-care: now met",
        "appi-business: malicious: now met",
        "appi-business: regulator-preliminary: new deadline 2024-06-07",
        "appi-business: regulator-final: new deadline 2024-08-01",
        "appi-business: individual-notice: now required",
    ]
    assert diff_assessments(new, new) == []
    assert diff_assessments(None, new) == []


def test_diff_deadline_and_regime_changes() -> None:
    old = run(make(("medical-history",), persons=1))
    new = run(make(("medical-history",), persons=1, malicious="confirmed", subject_countries=["DE"]))
    assert diff_assessments(old, new) == [
        "appi-business: malicious: now met",
        "appi-business: regulator-final: deadline 2024-07-02 → 2024-08-01",
        "gdpr: now applies (reportable: undetermined)",
    ]


# --------------------------------------------------------------------------- registries


def test_registries_are_documented() -> None:
    for registry in (CONDITION_KINDS, EXEMPTION_KINDS, APPLIES_KINDS):
        for name, kind in registry.items():
            assert kind.help, name


def test_every_condition_kind_supplies_its_placeholders() -> None:
    """Each evaluator's values cover the placeholders its states declare (templates cannot fail at runtime)."""
    from incident.law.rule_kinds import CaseItem

    item = CaseItem("x", "x", "x", frozenset({"special_care"}), False)
    plain = CaseItem("y", "y", "y", frozenset(), False)
    params = {"item-flag": {"flag": "special_care"}, "headcount": {"more_than": 10}, "malicious": {},
              "fact": {"fact": "published", "unknown_for": ["public-body"]},
              "configured-items": {"setting": "ordinance_special_care"}, "risk-level": {"levels": ["high"]}}
    assert set(params) == set(CONDITION_KINDS)
    seen: dict[str, set[str]] = {k: set() for k in CONDITION_KINDS}
    for persons in (None, 5, 50):
        for malicious in (None, "none", "confirmed"):
            for entity in ("business", "public-body"):
                for risk in (None, "high", "risk"):
                    for settings_, items, published in (({}, (item,), None), ({}, (item,), "acquiring"),
                                                        ({"ordinance_special_care": frozenset({"x"})}, (item,), True),
                                                        ({"ordinance_special_care": frozenset({"x"})}, (plain,),
                                                         False)):
                        bools = ({"being_acquired": True} if published == "acquiring"
                                 else {"published": published})
                        case = Case(entity, "controller", "", "ransomware", persons, malicious, True,
                                    bools, risk, frozenset(), items, frozenset(), settings_)
                        for name, kind in CONDITION_KINDS.items():
                            out = kind.evaluate(params[name], case, case.items)
                            needed = kind.placeholders[out.state] - {"citation", "label"}
                            assert needed <= set(out.values), (name, out.state)
                            seen[name].add(out.state)
    assert {k: set(v) for k, v in seen.items()} == {k: set(v.placeholders) for k, v in CONDITION_KINDS.items()}


def test_combine() -> None:
    assert combine([False, None, True]) is True
    assert combine([False, None]) is None
    assert combine([False, False]) is False
    assert combine([]) is False


# --------------------------------------------------------------------------- the JSON shape and the obligations-only path

#: a ransomware incident learned of at 05:00 in Tokyo on 2024-10-04 (20:00 UTC the day before): an encrypted
#: special-care item with the key safe beside an unencrypted credit card number
RANSOMWARE: dict[str, Any] = {"type": "ransomware", "malicious": "suspected", "persons": 1500,
                              "discovered_at": datetime(2024, 10, 3, 20, 0, tzinfo=UTC)}
RANSOMWARE_ITEMS: tuple[Item, ...] = (("病歴", True), "credit-card-number")
OBLIGATION_KEYS = ["id", "recipient", "due", "soft", "items", "label", "label_en", "citation", "deadline", "days",
                   "hours", "day_n", "rolled_past", "learned_on", "note", "due_text", "due_text_en", "by", "method"]


def test_json_keys_come_in_contract_order() -> None:
    data = run(make(RANSOMWARE_ITEMS, **RANSOMWARE))
    assert list(data) == ["incident", "reportable", "learned_on", "timezone", "assessments"]
    a = regime(data, "appi-business")
    assert list(a) == ["regime", "name", "name_en", "law", "version", "effective_from", "reportable", "conditions",
                       "exemptions", "obligations", "missing", "notes"]
    assert [list(c) for c in a["conditions"]] == [
        ["id", "met", "reason", "citation", "label", "label_en", "reason_en", "exempted_by"]] * 4
    assert [list(e) for e in a["exemptions"]] == [
        ["id", "applied", "reason", "citation", "label", "label_en", "reason_en"]] * 4
    assert [list(o) for o in a["obligations"]] == [OBLIGATION_KEYS] * 3


def test_reasons_fill_items_labels_numbers_and_citations() -> None:
    data = run(make(RANSOMWARE_ITEMS, **RANSOMWARE))
    special = cond(data, "appi-business", "special-care")
    assert (special["met"], special["exempted_by"]) == (False, "high-encryption")
    assert special["reason"] == ("要配慮個人情報が含まれる個人データの漏えい等に当たり得るが、病歴は高度な暗号化がされ鍵も"
                                 "漏えいしていないため該当しない（個人情報保護法施行規則第7条第1号括弧書; 通則ガイドライン3-5-3-1）")
    assert special["reason_en"] == ("Would count as: Special-care data (要配慮個人情報); but these items are protected "
                                    "by high-level encryption with the key safe: medical history "
                                    "(個人情報保護法施行規則第7条第1号括弧書; 通則ガイドライン3-5-3-1)")
    headcount = cond(data, "appi-business", "headcount")
    assert headcount["reason"] == "本人の数 1,500人 — 1,000人を超える（個人情報保護法施行規則第7条第4号）"
    assert headcount["reason_en"] == "1,500 persons — more than 1,000 (個人情報保護法施行規則第7条第4号)"
    assert cond(data, "appi-business", "financial-harm")["reason_en"] == (
        "credit card number: misuse may cause financial loss — reportable whatever the number of persons "
        "(個人情報保護法施行規則第7条第2号)")
    applied = exemption(data, "appi-business", "high-encryption")
    assert applied["applied"] is True
    assert applied["reason_en"] == ("Items protected by high-level encryption with the key safe (medical history) "
                                    "do not count — removed: Special-care data (要配慮個人情報) "
                                    "(個人情報保護法施行規則第7条第1号括弧書; 通則ガイドライン3-5-3-1)")
    final = obligations(data, "appi-business")["regulator-final"]
    assert (final["due"], final["days"], final["learned_on"], final["rolled_past"]) == (
        "2024-12-02", 60, "2024-10-04", [])


def test_a_false_fact_reads_false_in_the_reason() -> None:
    data = run(make(("my-number",), persons=3))
    assert cond(data, "mynumber", "system")["reason_en"] == (
        "The data did not sit in the My Number network systems (mynumber_system = false; false by default for "
        "businesses and councils)")


@pytest.mark.parametrize("facts", [
    RANSOMWARE,
    {"persons": 3, "subject_countries": ["DE"], "risk_level": "high", "role": "entrustee"},
    {"persons": None, "type": "loss", "recovered": True},
])
def test_obligations_json_is_to_json_without_conditions(facts: dict[str, Any]) -> None:
    result = assess(make((*RANSOMWARE_ITEMS, "my-number"), **facts))
    full, light = result.to_json("2024-0007"), result.obligations_json("2024-0007")
    assert light == {**{k: full[k] for k in ("incident", "reportable", "learned_on", "timezone")},
                     "assessments": [{k: a[k] for k in ("regime", "reportable", "obligations")}
                                     for a in full["assessments"]]}


def test_the_obligations_only_path_never_renders_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import incident.law.assessment

    def refuse(*args: Any) -> str:
        raise AssertionError("a reason was rendered")

    monkeypatch.setattr(incident.law.assessment, "_reason", refuse)
    result = assess(make(RANSOMWARE_ITEMS, **RANSOMWARE))
    light = result.obligations_json(None)
    assert [o["id"] for o in light["assessments"][0]["obligations"]] == [
        "regulator-preliminary", "regulator-final", "individual-notice"]
    with pytest.raises(AssertionError, match="a reason was rendered"):
        result.to_json(None)


# --------------------------------------------------------------------------- properties

ITEMS = ["name", "email-address", "address", "medical-history", "health-check-results", "credit-card-number",
         "card-last4-expiry", "bank-account-number", "my-number", "payment-login-credentials"]
RANK = {False: 0, None: 1, True: 2}

facts_strategy = st.fixed_dictionaries({
    "entity": st.sampled_from(["business", "public-body", "council"]),
    "role": st.sampled_from(["controller", "entrustee"]),
    "malicious": st.sampled_from([None, "none", "suspected", "confirmed"]),
    "type": st.sampled_from(["misdirected-email", "ransomware", "loss", "theft"]),
    "published": st.sampled_from([None, False, True]),
    "recovered": st.sampled_from([None, False, True]),
    "mynumber_system": st.sampled_from([None, False, True]),
    "subject_countries": st.sampled_from([None, ["JP"], ["DE"], ["JP", "EU"]]),
    "risk_level": st.sampled_from([None, "unlikely", "risk", "high"]),
    "discovered_at": st.datetimes(min_value=datetime(2022, 4, 1), max_value=datetime(2026, 6, 30),
                                  timezones=st.sampled_from([JST, UTC, timezone(timedelta(hours=-5))])),
})
items_strategy = st.lists(st.tuples(st.sampled_from(ITEMS), st.booleans(), st.booleans()), min_size=1,
                          max_size=4, unique_by=lambda t: t[0])


def _ranks(result: dict[str, Any]) -> dict[str, int]:
    return {"*": RANK[result["reportable"]], **{a["regime"]: RANK[a["reportable"]] for a in result["assessments"]}}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(facts_strategy, items_strategy, st.integers(0, 3000), st.integers(0, 3000))
def test_more_persons_never_less_reportable(facts: dict[str, Any], items: list[tuple[str, bool, bool]],
                                            a: int, b: int) -> None:
    low, high = sorted((a, b))
    r_low = _ranks(run(make(tuple(items), persons=low, **facts)))
    r_high = _ranks(run(make(tuple(items), persons=high, **facts)))
    assert all(r_high[k] >= r_low[k] for k in r_low)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(facts_strategy, items_strategy, st.one_of(st.none(), st.integers(0, 3000)), st.data())
def test_encryption_with_the_key_safe_never_more_reportable(facts: dict[str, Any],
                                                             items: list[tuple[str, bool, bool]],
                                                             persons: int | None, data: st.DataObject) -> None:
    plain = tuple((name, enc, key) for name, enc, key in items)
    chosen = data.draw(st.sets(st.sampled_from([name for name, _, _ in items])))
    protected = tuple((name, True, False) if name in chosen else (name, enc, key) for name, enc, key in items)
    before = _ranks(run(make(plain, persons=persons, **facts)))
    after = _ranks(run(make(protected, persons=persons, **facts)))
    assert all(after[k] <= before[k] for k in before)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(facts_strategy, items_strategy, st.integers(0, 3000))
def test_final_deadline_is_never_a_closed_day_nor_early(facts: dict[str, Any],
                                                         items: list[tuple[str, bool, bool]], persons: int) -> None:
    result = run(make(tuple(items), persons=persons, **facts))
    learned = date.fromisoformat(result["learned_on"])
    for a in result["assessments"]:
        malicious = any(c["id"] == "malicious" and c["met"] is True for c in a["conditions"])
        for ob in a["obligations"]:
            if ob["id"] != "regulator-final":
                continue
            due = date.fromisoformat(ob["due"])
            assert not is_closed_day(due)
            assert due >= learned + timedelta(days=59 if malicious else 29)
            assert ob["days"] == (60 if malicious else 30)


# --------------------------------------------------------------------------- the assess command


def _cli_new(run: Any, path: Any) -> str:
    import json

    return str(json.loads(run(["new", "--from", str(path), "--json"]).stdout)["id"])


def test_assess_facts_json_is_the_core_answer(run: Any) -> None:
    import json

    from conftest import INCIDENTS

    path = INCIDENTS / "mynumber-150.toml"
    result = run(["assess", "--facts", str(path), "--json"])
    data = json.loads(result.stdout)
    assert data["incident"] is None
    assert [(a["regime"], a["reportable"]) for a in data["assessments"]] == [("appi-business", False),
                                                                            ("mynumber", True)]
    final = obligations(data, "mynumber")["regulator-final"]
    assert (final["due"], final["soft"], final["recipient"]) == ("2024-07-02", False, "個人情報保護委員会")


def test_assess_id_saves_and_reports_changes(run: Any, store: Any) -> None:
    import json

    from conftest import INCIDENTS

    incident_id = _cli_new(run, INCIDENTS / "email-cc-36.toml")
    first = run(["assess", incident_id])
    assert "Not reportable" in first.stdout
    assert "First assessment of this incident (saved)." in first.stdout
    assert "報告・通知の義務" not in first.stdout
    section = store.load(incident_id).sections["assessment"]
    assert section["reportable"] is False
    assert section["playbooks"]["appi-business"]["effective_from"] == "2024-04-01"
    run(["set", incident_id, "persons=1001"])
    second = run(["assess", incident_id, "--json"])
    data = json.loads(second.stdout)
    assert data["incident"] == incident_id and data["reportable"] is True
    assert data["changes"] == [
        "reportable: false → true",
        "appi-business: reportable: false → true",
        "appi-business: headcount: now met",
        "appi-business: regulator-preliminary: new deadline 2024-06-07",
        "appi-business: regulator-final: new deadline 2024-07-02",
        "appi-business: individual-notice: now required",
    ]
    entries = [e for e in store.audit.entries() if e["action"] == "assess"]
    assert len(entries) == 2 and entries[-1]["changes"]["reportable"] is True
    assert entries[-1]["changes"]["playbooks"]["appi-business"]["effective_from"] == "2024-04-01"
    third = run(["assess", incident_id])
    assert "No change since the last assessment." in third.stdout
    assert "2024-07-02 (火)" in third.stdout and " target — " in third.stdout
    shown = run(["show", incident_id])
    assert "appi-business: Must report / notify" in shown.stdout
    ja = run(["assess", incident_id], env={"INCIDENT_LANG": "ja"}).stdout
    assert "報告・通知の義務あり" in ja and "前回の判定から変更はありません。" in ja
    for words in ("事態", "理由", "根拠", "義務", "宛先", "期限", "記載事項", "知った日 2024-06-03", "2024-07-02 (火)"):
        assert words in ja, words
    assert "Condition" not in ja and "Reason" not in ja and "must report" not in ja
    assert "appi-business: 報告・通知の義務あり" in run(["show", incident_id], env={"INCIDENT_LANG": "ja"}).stdout


def test_assess_undetermined_names_missing_facts(run: Any, tmp_path: Any) -> None:
    path = tmp_path / "r.toml"
    path.write_text('schema = 1\ntitle = "t"\nentity = "business"\ntype = "loss"\n'
                    'discovered_at = 2024-06-03T15:00:00+09:00\n[[data]]\nitem = "氏名"\n', encoding="utf-8")
    out = run(["assess", "--facts", str(path)]).stdout
    assert "Undetermined: facts are missing" in out
    assert "persons (本人の数)" in out
    ja = run(["assess", "--facts", str(path)], env={"INCIDENT_LANG": "ja"}).stdout
    assert "判定不能: 判断に必要な事実が不足しています" in ja and "不足している事実:" in ja


def test_assess_needs_exactly_one_of_id_and_facts(run: Any) -> None:
    result = run(["assess"], expect=2)
    assert "give an incident ID or --facts FILE" in result.stderr
