"""Tests for the incident-type and cause taxonomies: builtin content, lookups, overrides, the checker."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident.errors import InputError
from incident.law.taxonomy import (
    Cause,
    IncidentType,
    Taxonomy,
    check_taxonomy_file,
    load_taxonomy,
)
from incident.resources import builtin_dir

TYPES = [
    ("wrong-handover", "誤交付"), ("misdirected-mail", "誤送付"), ("misdirected-email", "誤送信"),
    ("loss", "紛失"), ("wrongful-disposal", "誤廃棄"), ("theft", "盗難"), ("unauthorized-access", "不正アクセス"),
    ("ransomware", "ランサムウェア"), ("insider", "内部不正"), ("misconfiguration", "設定ミス"), ("other", "その他"),
]
SEED_002_CAUSES = [
    ("double-check", "ダブルチェックが不十分"), ("operation-screen", "複合機の操作画面の確認が不十分"),
    ("document-management", "文書の管理体制が不十分"), ("device-management", "端末の管理が不十分"),
    ("application-testing", "アプリの動作確認が不十分"), ("identity-verification", "本人確認が不十分"),
]
OTHER_CAUSES = ["bcc-not-used", "outdated-address-list", "unencrypted-media", "phishing", "access-control", "training"]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


# --- the builtin taxonomies ------------------------------------------------------------------------


def test_types_are_exactly_the_register_types_in_order(taxonomy: Taxonomy) -> None:
    assert [(t.id, t.ja) for t in taxonomy.types.values()] == TYPES


def test_causes_are_the_seed_table_causes_then_the_others(taxonomy: Taxonomy) -> None:
    assert [(c.id, c.ja) for c in taxonomy.causes.values()][:6] == SEED_002_CAUSES
    assert list(taxonomy.causes)[6:] == OTHER_CAUSES


def test_seed_002_cause_texts_contain_their_category_label(taxonomy: Taxonomy) -> None:
    # The 原因 column of seed 002's 表5, each with the category an officer would record.
    rows = [
        ("交付時のダブルチェックが不十分であったため", "double-check"),
        ("複合機の操作画面の確認が不十分であったため", "operation-screen"),
        ("文書の管理体制が不十分であったため", "document-management"),
        ("端末の管理が不十分であったため", "device-management"),
        ("アプリの動作確認が不十分であったため", "application-testing"),
        ("本人確認が不十分であったため", "identity-verification"),
    ]
    assert [taxonomy.cause(cause_id).ja in text for text, cause_id in rows] == [True] * 6


def test_malicious_is_presumed_for_exactly_the_four_malicious_types(taxonomy: Taxonomy) -> None:
    presumed = {t.id for t in taxonomy.types.values() if t.malicious_presumed}
    assert presumed == {"theft", "unauthorized-access", "ransomware", "insider"}


def test_default_events(taxonomy: Taxonomy) -> None:
    events = {t.id: t.default_event for t in taxonomy.types.values()}
    assert {k for k, v in events.items() if v == "loss"} == {"loss", "wrongful-disposal"}
    assert {k for k, v in events.items() if v == "damage"} == {"ransomware"}
    assert events["misdirected-email"] == "leak"


def test_every_type_groups_under_itself_and_has_measures_and_a_checklist(taxonomy: Taxonomy) -> None:
    for entry in taxonomy.types.values():
        assert entry.report_group == entry.id
        assert len(entry.measures) >= 3, entry.id
        assert len(entry.checklist) >= 4, entry.id
        assert len({item.id for item in entry.checklist}) == len(entry.checklist), entry.id
    assert [t.id for t in taxonomy.report_groups()] == [t for t, _ in TYPES]


def test_every_cause_has_measures(taxonomy: Taxonomy) -> None:
    assert [c.id for c in taxonomy.causes.values() if len(c.measures) < 3] == []


def test_the_builtin_files_check_clean() -> None:
    playbooks = builtin_dir("playbooks")
    assert check_taxonomy_file(playbooks / "incident-types.toml") == []
    assert check_taxonomy_file(playbooks / "causes.toml") == []


def test_the_builtin_load_is_cached(taxonomy: Taxonomy, tmp_path: Path) -> None:
    assert load_taxonomy() is taxonomy
    assert load_taxonomy([tmp_path]) is taxonomy


# --- lookups ---------------------------------------------------------------------------------------


def test_lookup_by_id(taxonomy: Taxonomy) -> None:
    assert isinstance(taxonomy.type("misdirected-email"), IncidentType)
    assert taxonomy.type("misdirected-email").en == "Misdirected e-mail or fax"
    assert isinstance(taxonomy.cause("double-check"), Cause)


def test_an_unknown_type_lists_the_valid_ids(taxonomy: Taxonomy) -> None:
    with pytest.raises(InputError) as caught:
        taxonomy.type("fax", file="2024-0001.toml", field="type")
    valid = ", ".join(f"{i} ({ja})" for i, ja in TYPES)
    assert caught.value.message == f"unknown incident type 'fax'; valid: {valid}"
    assert caught.value.field == "type"


def test_an_unknown_type_given_by_its_label_names_the_id(taxonomy: Taxonomy) -> None:
    with pytest.raises(InputError, match=r"^unknown incident type '誤送信'; use the id 'misdirected-email' \(誤送信\)"):
        taxonomy.type("誤送信")


def test_an_unknown_cause_suggests_the_closest(taxonomy: Taxonomy) -> None:
    with pytest.raises(InputError, match=r"^unknown cause 'doublecheck'; did you mean 'double-check'"):
        taxonomy.cause("doublecheck")


def test_checklist_is_the_types_then_the_causes(taxonomy: Taxonomy) -> None:
    type_ids = [item.id for item in taxonomy.type("misdirected-email").checklist]
    cause_ids = [item.id for item in taxonomy.cause("bcc-not-used").checklist]
    assert [item.id for item in taxonomy.checklist("misdirected-email", "bcc-not-used")] == type_ids + cause_ids
    assert taxonomy.checklist("misdirected-email") == taxonomy.type("misdirected-email").checklist


def test_measures_combine_type_and_cause(taxonomy: Taxonomy) -> None:
    combined = taxonomy.measures("wrong-handover", "double-check")
    assert combined == taxonomy.type("wrong-handover").measures + taxonomy.cause("double-check").measures


# --- an organization's own playbooks ---------------------------------------------------------------

ORG_TYPES = """
[[type]]
id = "theft"
ja = "盗難"
en = "Theft"
default_event = "leak"
malicious_presumed = true
report_group = "other"
measures = ["警察に届け出る"]

[[type.checklist]]
id = "police-report"
ja = "警察に届け出たか"
en = "Reported to the police?"

[[type]]
id = "phone-fraud"
ja = "なりすまし電話"
en = "Pretext phone call"
default_event = "leak"
measures = ["折り返し確認を徹底する"]
"""

ORG_CAUSES = """
[[cause]]
id = "fax-preset"
ja = "FAX短縮番号の登録誤り"
en = "Wrong fax speed-dial entry"
measures = ["短縮番号の登録内容を年1回点検する"]

[[cause.checklist]]
id = "police-report"
ja = "警察に届け出たか (原因側の問い)"
en = "Reported to the police? (asked by the cause)"

[[cause.checklist]]
id = "preset-audit"
ja = "短縮番号を点検したか"
en = "Were speed-dial entries audited?"
"""


def test_an_extra_directory_overrides_and_adds(tmp_path: Path, taxonomy: Taxonomy) -> None:
    (tmp_path / "incident-types.toml").write_text(ORG_TYPES, encoding="utf-8")
    (tmp_path / "causes.toml").write_text(ORG_CAUSES, encoding="utf-8")
    merged = load_taxonomy([tmp_path])
    assert list(merged.types) == [t for t, _ in TYPES] + ["phone-fraud"]
    assert list(merged.causes) == list(taxonomy.causes) + ["fax-preset"]
    assert merged.type("theft").report_group == "other"
    assert merged.type("phone-fraud").report_group == "phone-fraud"
    assert merged.type("phone-fraud").malicious_presumed is False
    assert "theft" not in [t.id for t in merged.report_groups()]
    assert [item.id for item in merged.checklist("theft", "fax-preset")] == ["police-report", "preset-audit"]
    assert merged.sources["cause:fax-preset"] == str(tmp_path / "causes.toml")
    assert load_taxonomy().type("theft").report_group == "theft"


def test_the_first_extra_directory_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory, label in ((first, "first"), (second, "second")):
        directory.mkdir()
        (directory / "causes.toml").write_text(
            f'[[cause]]\nid = "training"\nja = "{label}"\nen = "{label}"\n', encoding="utf-8")
    assert load_taxonomy([first, second]).cause("training").ja == "first"


def test_a_report_group_that_is_not_a_type_is_refused_at_load(tmp_path: Path) -> None:
    (tmp_path / "incident-types.toml").write_text(
        '[[type]]\nid = "theft"\nja = "盗難"\nen = "Theft"\ndefault_event = "leak"\nreport_group = "misc"\n',
        encoding="utf-8")
    with pytest.raises(InputError, match="type 'theft': report_group 'misc' is not a type id"):
        load_taxonomy([tmp_path])


# --- the checker -----------------------------------------------------------------------------------

BROKEN_TYPES = """schema = 1
version = 2024

[[type]]
id = "phone-fraud"
ja = "なりすまし電話"
default_event = "leek"
malicious_presumed = "yes"
report_group = "misc"

[[type.checklist]]
id = "call-back"
ja = "折り返したか"

[[type.checklist]]
id = "call-back"
ja = "記録したか"
en = "Recorded?"
colour = "red"

[[type]]
id = "phone-fraud"
ja = "重複"
en = "Duplicate"
default_event = "leak"
measures = "折り返す"
"""


def test_the_checker_reports_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "incident-types.toml"
    path.write_text(BROKEN_TYPES, encoding="utf-8")
    problems = check_taxonomy_file(path)
    assert [(p.line, p.field) for p in problems] == [
        (2, "version"),
        (4, "en"),
        (7, "default_event"),
        (8, "malicious_presumed"),
        (9, "report_group"),
        (11, "checklist.en"),
        (16, "checklist.id"),
        (19, "checklist.colour"),
        (22, "id"),
        (26, "measures"),
    ]
    messages = {p.field: p.message for p in problems}
    assert messages["default_event"] == "type 'phone-fraud': default_event 'leek' is not one of leak, loss, damage"
    assert messages["checklist.id"] == "type 'phone-fraud': checklist #2: duplicate checklist id 'call-back'"
    assert messages["id"] == "duplicate id 'phone-fraud' (first at line 4)"
    assert messages["report_group"].startswith("type 'phone-fraud': report_group 'misc' is not a type id; valid: ")


def test_the_checker_infers_the_kind_from_the_content(tmp_path: Path) -> None:
    path = tmp_path / "my-causes.toml"
    path.write_text('[[cause]]\nid = "x"\nja = "X"\nen = "X"\ncheklist = []\n', encoding="utf-8")
    assert [(p.line, p.message) for p in check_taxonomy_file(path)] == [
        (5, "cause 'x': unknown key 'cheklist'; did you mean 'checklist'? valid: id, ja, en, measures, checklist, annual_share"),
    ]


def test_the_checker_wants_types_or_causes(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('title = "x"\n', encoding="utf-8")
    assert [p.message for p in check_taxonomy_file(path)] == [
        "expected [[type]] tables (an incident-types.toml) or [[cause]] tables (a causes.toml)",
    ]


def test_the_checker_reports_a_toml_syntax_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "causes.toml"
    path.write_text('[[cause]]\nid = "x"\nid = "y"\n', encoding="utf-8")
    problems = check_taxonomy_file(path)
    assert [(p.line, p.message.startswith("not valid TOML: ")) for p in problems] == [(3, True)]


def _without_note(text: str) -> str:
    """The question without a trailing parenthetical note: 「…確認したか (外なら…)」 -> 「…確認したか」."""
    import re

    return re.sub(r"\s*[(（][^()（）]*[)）]\s*([?？]?)$", r"\1", text.strip())


def test_every_review_item_is_one_question_in_both_languages() -> None:
    """One question per item, in Japanese and in English alike: a yes must mean the same in both."""
    taxonomy = load_taxonomy()
    items = [q for t in taxonomy.types.values() for q in t.checklist] + \
        [q for c in taxonomy.causes.values() for q in c.checklist]
    assert len(items) > 70
    for q in items:
        ja, en = _without_note(q.ja), _without_note(q.en)
        assert ja.endswith("か") and "。" not in ja and "か、" not in ja, (q.id, q.ja)
        assert en.endswith("?") and en.count("?") == 1, (q.id, q.en)


def test_a_yes_is_the_good_answer_in_both_languages() -> None:
    """A no becomes a corrective action, so every question is asked the way round where yes is fine; the
    two that asked it the other way round in one language say the same now."""
    causes = load_taxonomy().causes
    workload = {q.id: q for q in causes["double-check"].checklist}["workload"]
    assert (workload.ja, workload.en) == ("繁忙・人員不足のときも照合が省略されずに行われていたか",
                                          "Was the check carried out even at busy or short-staffed times, never skipped?")
    screen = {q.id: q for q in causes["operation-screen"].checklist}["default-destination"]
    assert "招かない" in screen.ja and "do not invite" in screen.en
