"""Regime playbooks: the bundled files, the checker, overrides and versions in force."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from incident.errors import InputError, MultipleErrors
from incident.law.regimes import check_regime_file, load_regimes
from incident.law.report_items import load_report_items
from incident.law.rule_kinds import CONDITION_KINDS, EXEMPTION_KINDS
from incident.law.rules import AssessConfig, assess
from incident.law.vocabulary import load_vocabulary
from incident.register.record import from_mapping
from incident.resources import builtin_dir

JST = timezone(timedelta(hours=9))
BUILTIN = builtin_dir("playbooks") / "regimes"
APPI = (BUILTIN / "appi-business.toml").read_text(encoding="utf-8")


def test_bundled_playbooks_are_clean() -> None:
    files = sorted(BUILTIN.glob("*.toml"))
    assert [f.name for f in files] == ["appi-business-2022.toml", "appi-business.toml", "appi-public-2022.toml",
                                       "appi-public.toml", "council.toml", "gdpr.toml", "mynumber.toml"]
    for f in files:
        assert check_regime_file(f) == [], f.name


def test_bundled_regime_ids_and_shape() -> None:
    regimes = load_regimes()
    assert list(regimes) == ["appi-business", "appi-public", "council", "mynumber", "gdpr"]
    assert list(load_vocabulary().regimes) == list(regimes)
    shape = {rid: ([c.id for c in r.conditions], [e.id for e in r.exemptions], [o.id for o in r.obligations])
             for rid, r in regimes.items()}
    assert shape == {
        "appi-business": (["special-care", "financial-harm", "malicious", "headcount"],
                          ["high-encryption", "not-a-leak", "copy-exists", "being-acquired"],
                          ["regulator-preliminary", "regulator-final", "individual-notice", "entruster-notice"]),
        "appi-public": (["special-care", "financial-harm", "malicious", "headcount", "ordinance-special-care"],
                        ["high-encryption", "not-a-leak", "copy-exists", "being-acquired"],
                        ["regulator-preliminary", "regulator-final", "individual-notice"]),
        "council": (["special-care", "financial-harm", "malicious", "headcount"],
                    ["high-encryption", "not-a-leak"], ["individual-notice"]),
        "mynumber": (["system", "malicious", "published", "headcount"],
                     ["high-encryption", "not-a-leak", "copy-exists", "being-acquired"],
                     ["regulator-preliminary", "regulator-preliminary", "regulator-final", "regulator-final",
                      "guideline-report", "individual-notice", "entruster-notice"]),
        "gdpr": (["risk", "high-risk"], ["unintelligible"],
                 ["supervisory-authority", "data-subjects", "controller-notice"]),
    }
    thresholds = {rid: [c.params["more_than"] for c in r.conditions if c.kind == "headcount"]
                  for rid, r in regimes.items()}
    assert thresholds == {"appi-business": [1000], "appi-public": [100], "council": [100], "mynumber": [100],
                          "gdpr": []}
    for r in regimes.values():
        for part in (*r.conditions, *r.exemptions, *r.obligations):
            assert part.citation, (r.id, part.id)


def test_every_kind_is_used_by_a_bundled_playbook() -> None:
    regimes = load_regimes()
    used_conditions = {c.kind for rid in regimes for r in regimes.versions(rid) for c in r.conditions}
    used_exemptions = {e.kind for rid in regimes for r in regimes.versions(rid) for e in r.exemptions}
    assert used_conditions == set(CONDITION_KINDS)
    assert used_exemptions == set(EXEMPTION_KINDS)
    items = {i for rid in regimes for o in regimes[rid].obligations for i in o.items}
    assert items == set(load_report_items().items) - {"entruster"}  # the addressee, not an owed item


BAD = '''\
schema = 1
id = "bad"
name_ja = "壊れた例"
name_en = "Broken"
law = "x"
version = "1"
effective_from = "2024-13-01"
colour = "red"

[applies]
entity = ["company"]

[[conditions]]
id = "count"
ja = "人数"
en = "count"
kind = "headcount"
more_than = "a thousand"

[conditions.reason]
met = "{persons}人 {nonsense}"
met_en = "{persons}"
not_met = "x"
not_met_en = "x"
unknown = "x"
unknown_en = "x"

[[conditions]]
id = "magic"
ja = "魔法"
en = "magic"
citation = "none"
kind = "astrology"

[[obligations]]
id = "report"
ja = "報告"
en = "report"
recipient = "{entruster}"
citation = "c"
role = "boss"
when = ["nowhere"]
deadline = { kind = "day-count", days = 0, days_if = { condition = "ghost", days = 60 } }
items = ["overview", "horoscope"]
'''


def test_check_reports_every_problem_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    problems = [(e.field, e.line, e.message) for e in check_regime_file(path)]
    fields = [(f, line) for f, line, _ in problems]
    assert fields == [
        ("colour", 8),
        ("effective_from", 7),
        ("applies.entity", 11),
        ("conditions[0].citation", 13),
        ("conditions[0].more_than", 18),
        ("conditions[0].reason.met", 21),
        ("conditions[1].kind", 33),
        ("obligations[0].recipient", 39),
        ("obligations[0].role", 41),
        ("obligations[0].when", 42),
        ("obligations[0].deadline.days", 43),
        ("obligations[0].deadline.days_if", 43),
        ("obligations[0].items", 44),
    ]
    messages = {(f, line): m for f, line, m in problems}
    assert "bad date '2024-13-01'" in messages[("effective_from", 7)]
    assert messages[("conditions[0].citation", 13)] == "missing citation"
    assert messages[("conditions[0].more_than", 18)].startswith("bad threshold 'a thousand'")
    assert messages[("conditions[0].reason.met", 21)].startswith("unknown placeholder {nonsense}")
    assert messages[("conditions[1].kind", 33)].startswith("unknown kind 'astrology'; expected one of: item-flag")
    assert "unknown condition 'nowhere'" in messages[("obligations[0].when", 42)]
    assert "unknown condition 'ghost'" in messages[("obligations[0].deadline.days_if", 43)]
    assert "'horoscope'" in messages[("obligations[0].items", 44)]
    assert str(check_regime_file(path)[0]).startswith(f"{path}:8: field 'colour': unknown key")


def test_check_reports_toml_syntax_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('id = "x"\nname_ja = \n', encoding="utf-8")
    [problem] = check_regime_file(path)
    assert problem.line == 2 and "not valid TOML" in problem.message


def test_check_missing_file(tmp_path: Path) -> None:
    [problem] = check_regime_file(tmp_path / "nope.toml")
    assert problem.message == "no such file"


def test_check_missing_templates(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(APPI.replace('unknown_en = "persons is not stated', 'unknown_xx = "persons is not stated'),
                    encoding="utf-8")
    messages = [e.message for e in check_regime_file(path)]
    assert messages == [("unknown reason template 'unknown_xx'; expected: met, met_en, not_met, not_met_en, "
                        "unknown, unknown_en"), "missing reason template unknown_en"]


def _record(persons: int, on: date, entity: str = "business") -> object:
    return from_mapping({"title": "t", "entity": entity, "type": "loss", "persons": persons,
                         "discovered_at": datetime(on.year, on.month, on.day, 10, tzinfo=JST),
                         "data": [{"item": "name"}]}, vocab=load_vocabulary())


def test_store_version_supersedes_from_its_date(tmp_path: Path) -> None:
    folder = tmp_path / "regimes"
    folder.mkdir()
    text = (APPI.replace("effective_from = 2024-04-01", "effective_from = 2025-01-01")
            .replace("more_than = 1000", "more_than = 500").replace('version = "', 'version = "社内改訂 '))
    (folder / "appi-business-2025.toml").write_text(text, encoding="utf-8")
    config = AssessConfig(playbook_dirs=(tmp_path,))
    regimes = load_regimes((tmp_path,))
    assert [r.effective_from for r in regimes.versions("appi-business")] == [
        date(2022, 4, 1), date(2024, 4, 1), date(2025, 1, 1)]
    later = assess(_record(600, date(2025, 1, 6)), config=config)
    earlier = assess(_record(600, date(2024, 12, 27)), config=config)
    assert later.reportable is True and later.playbooks["appi-business"]["effective_from"] == "2025-01-01"
    assert earlier.reportable is False and earlier.playbooks["appi-business"]["effective_from"] == "2024-04-01"
    assert later.assessments[0].version.startswith("社内改訂")


def test_same_named_store_file_replaces_the_bundled_one(tmp_path: Path) -> None:
    folder = tmp_path / "regimes"
    folder.mkdir()
    council = (BUILTIN / "council.toml").read_text(encoding="utf-8").replace("more_than = 100", "more_than = 10")
    (folder / "council.toml").write_text(council, encoding="utf-8")
    result = assess(_record(11, date(2024, 6, 3), "council"), config=AssessConfig(playbook_dirs=(tmp_path,)))
    assert result.reportable is True
    assert assess(_record(11, date(2024, 6, 3), "council")).reportable is False


def test_two_versions_on_the_same_day_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "regimes"
    folder.mkdir()
    (folder / "my-appi.toml").write_text(APPI, encoding="utf-8")
    with pytest.raises(InputError, match="two versions of appi-business take effect on 2024-04-01"):
        load_regimes((tmp_path,))


def test_a_broken_store_playbook_fails_loading_with_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "regimes"
    folder.mkdir()
    (folder / "bad.toml").write_text(BAD, encoding="utf-8")
    with pytest.raises(MultipleErrors) as info:
        load_regimes((tmp_path,))
    assert len(info.value.errors) == 13


def test_an_organization_can_add_a_regime_without_code(tmp_path: Path) -> None:
    folder = tmp_path / "regimes"
    folder.mkdir()
    text = (APPI.replace('id = "appi-business"', 'id = "sector-law"').replace("order = 10", "order = 50")
            .replace('entity = ["business"]', 'item-flag = "special_care"'))
    (folder / "sector-law.toml").write_text(text, encoding="utf-8")
    config = AssessConfig(playbook_dirs=(tmp_path,))
    record = from_mapping({"title": "t", "entity": "business", "type": "loss", "persons": 2,
                           "discovered_at": datetime(2024, 6, 3, 10, tzinfo=JST),
                           "data": [{"item": "病歴"}]}, vocab=load_vocabulary((tmp_path,)))
    result = assess(record, config=config).to_json("2024-0001")
    assert [a["regime"] for a in result["assessments"]] == ["appi-business", "sector-law"]
    assert result["incident"] == "2024-0001"


def test_in_force_falls_back_to_the_earliest() -> None:
    regimes = load_regimes()
    assert regimes.in_force("appi-business", date(2024, 3, 31))[0].effective_from == date(2022, 4, 1)
    assert regimes.in_force("appi-business", date(2024, 4, 1)) == (regimes["appi-business"], False)
    version, fallback = regimes.in_force("appi-business", date(2020, 1, 1))
    assert (version.effective_from, fallback) == (date(2022, 4, 1), True)


# --------------------------------------------------------------------------- playbooks commands


def test_playbooks_list_and_show(run: Any) -> None:
    import json

    rows = json.loads(run("playbooks list --json").stdout)
    assert [(r["id"], r["effective_from"]) for r in rows] == [
        ("appi-business", "2022-04-01"), ("appi-business", "2024-04-01"), ("appi-public", "2022-04-01"),
        ("appi-public", "2024-04-01"), ("council", "2023-04-01"), ("mynumber", "2022-04-01"),
        ("gdpr", "2018-05-25")]
    shown = json.loads(run("playbooks show appi-business --on 2024-03-31 --json").stdout)
    assert shown["effective_from"] == "2022-04-01"
    assert [c["more_than"] for c in shown["conditions"] if c["kind"] == "headcount"] == [1000]
    text = run("playbooks show council", env={"INCIDENT_LANG": "ja"}).stdout
    assert "headcount: 保有個人情報に係る本人の数が100人を超える漏えい等" in text
    assert run("playbooks show nope", expect=2).stderr.startswith("error: field 'ID': no regime 'nope'")


def test_playbooks_check_command(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    result = run(["playbooks", "check", str(path)], expect=2)
    lines = result.stdout.splitlines()
    assert len(lines) == 13 and lines[3] == f"{path}:13: field 'conditions[0].citation': missing citation"
    assert "13 problem(s)" in result.stderr
    ok = run(["playbooks", "check", str(BUILTIN / "gdpr.toml")])
    assert ok.stdout.strip() == f"{BUILTIN / 'gdpr.toml'}: OK"


def test_assess_accepts_a_plain_mapping_of_regimes() -> None:
    regimes = load_regimes()
    only = {"council": regimes["council"]}
    result = assess(_record(101, date(2024, 6, 3), "council"), regimes=only)
    assert [a.regime for a in result.assessments] == ["council"] and result.reportable is True
