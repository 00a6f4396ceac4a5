"""Response playbooks: the bundled files, the organization's overrides, the checker, settling facts, steps."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import INCIDENTS

from incident.errors import InputError, MultipleErrors, NotFoundError
from incident.followup.response import (
    COMMON_STEPS,
    FACT_KEYS,
    SETTABLE,
    URGENCIES,
    builtin_path,
    check_response_file,
    load_response,
)
from incident.followup.steps import current_value, progress, record_step, settle, step_due, step_states
from incident.followup.urgencies import check_urgencies_file, load_urgencies
from incident.law.context import resolve
from incident.law.taxonomy import load_taxonomy
from incident.register import record as rec

TYPES = ("wrong-handover", "misdirected-mail", "misdirected-email", "loss", "wrongful-disposal", "theft",
         "unauthorized-access", "ransomware", "insider", "misconfiguration", "other")


def _example(name: str) -> dict[str, Any]:
    return tomllib.loads((INCIDENTS / f"{name}.toml").read_text(encoding="utf-8"))


def _new(store: Any, name: str, **changes: Any) -> rec.Record:
    from incident.register.changes import new_incident

    raw = {k: v for k, v in _example(name).items() if k != "schema"}
    raw.update(changes)
    return new_incident(store, raw, actor="tester")


# --------------------------------------------------------------------------- the bundled playbooks


def test_every_type_of_the_taxonomy_has_its_own_playbook() -> None:
    assert tuple(load_taxonomy().types) == TYPES
    for type_id in TYPES:
        playbook = load_response(type_id)
        assert playbook.type == type_id
        assert not playbook.fallback
        assert playbook.version == "2024-04-01"
        assert playbook.sources == (str(builtin_path(type_id)),)


@pytest.mark.parametrize("type_id", TYPES)
def test_bundled_playbook_is_sound(type_id: str) -> None:
    assert check_response_file(builtin_path(type_id)) == []
    playbook = load_response(type_id)
    ids = [s.id for s in playbook.steps]
    assert len(ids) == len(set(ids))
    by_id = {s.id: s for s in playbook.steps}
    for step_id, sets in COMMON_STEPS.items():
        assert by_id[step_id].sets == sets, (type_id, step_id)
    assert by_id["inform-management"].urgency == "within-1-hour"
    for step in playbook.steps:
        assert step.urgency in URGENCIES
        assert step.sets is None or step.sets in SETTABLE
        assert (step.question_ja is None) == (step.question_en is None)
        if step.sets is not None:
            assert step.question_ja and step.question_en
        for text in (step.title_ja, step.title_en, step.do_ja, step.do_en, step.why_ja, step.why_en,
                     step.who_ja, step.who_en):
            assert text.strip() == text and text
    # the playbook starts with what cannot wait
    assert playbook.steps[0].urgency == "within-1-hour"


def test_type_specific_steps_settle_the_facts_the_assessment_needs() -> None:
    def sets(type_id: str) -> dict[str, str | None]:
        return {s.id: s.sets for s in load_response(type_id).steps}

    assert sets("misdirected-email")["confirm-deletion"] == "recovered"
    assert sets("misdirected-email")["check-attachment"] == "encrypted"
    assert sets("misdirected-email")["check-password"] == "key_compromised"
    assert sets("misdirected-mail")["confirm-unopened"] == "recovered"
    assert "返信用封筒" in load_response("misdirected-mail").step("retrieve").do_ja
    assert sets("wrong-handover")["confirm-unseen"] == "recovered"
    for type_id in ("loss", "theft"):
        assert sets(type_id)["check-encryption"] == "encrypted"
        assert sets(type_id)["check-key"] == "key_compromised"
    police = load_response("theft").step("report-police")
    assert "警察" in police.title_ja and police.sets is None and police.question_ja is not None
    assert sets("theft")["confirm-theft"] == "malicious"
    for type_id in ("unauthorized-access", "ransomware"):
        found = sets(type_id)
        assert found["check-exfiltration"] == "malicious"
        assert found["check-mynumber"] == "mynumber_system"
        assert found["check-eu"] == "subject_countries"
        assert found["gdpr-risk"] == "risk_level"
        assert {"isolate", "reset-credentials"} <= set(found)
        exfil = load_response(type_id).step("check-exfiltration").do_ja
        for mark in ("(ア)", "(イ)", "(ウ)", "(エ)", "(オ)"):
            assert mark in exfil
    assert sets("insider")["check-exfiltration"] == "malicious"
    assert sets("misconfiguration")["check-published"] == "published"
    assert sets("misconfiguration")["check-access-logs"] == "recovered"


def test_urgencies_and_settable_keys_are_defined_once_and_exhaustively() -> None:
    assert list(URGENCIES) == ["within-1-hour", "today", "within-3-days", "before-preliminary-report",
                               "before-final-report"]
    assert [u.rank for u in URGENCIES.values()] == [0, 1, 2, 3, 4]
    settable_fields = {f.name for f in rec.settable_fields()}
    for key in FACT_KEYS:
        assert key in settable_fields, key
    assert set(SETTABLE) == {*FACT_KEYS, "items", "encrypted", "key_compromised"}


def test_a_type_without_a_playbook_gets_the_general_one(tmp_path: Path) -> None:
    playbook = load_response("fax-misdirected", [tmp_path])
    assert playbook.fallback and playbook.type == "other"
    assert [s.id for s in playbook.steps] == [s.id for s in load_response("other").steps]


def test_unknown_step_names_the_valid_ones() -> None:
    with pytest.raises(NotFoundError) as caught:
        load_response("loss").step("find-it")
    assert "no step 'find-it' in the loss response playbook; steps: search, inform-management," in str(caught.value)


# --------------------------------------------------------------------------- the organization's overrides


def _org_file(root: Path, type_id: str, text: str) -> Path:
    path = root / "response" / f"{type_id}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_org_file_changes_a_title_and_adds_a_step_after_another(tmp_path: Path) -> None:
    path = _org_file(tmp_path, "misdirected-email", """type = "misdirected-email"
version = "2025-01"

[[steps]]
id = "ask-deletion"
title_ja = "受信者に電話で削除を依頼する"

[[steps]]
id = "call-privacy-desk"
title_ja = "個人情報保護窓口に電話する"
title_en = "Call the privacy desk"
do_ja = "内線1234に電話する。"
do_en = "Call extension 1234."
why_ja = "窓口が記録を始める。"
why_en = "The desk starts the log."
who_ja = "所管課"
who_en = "department in charge"
urgency = "within-1-hour"
after = "ask-deletion"
""")
    builtin = load_response("misdirected-email")
    merged = load_response("misdirected-email", [tmp_path])
    ids = [s.id for s in merged.steps]
    base_ids = [s.id for s in builtin.steps]
    at = base_ids.index("ask-deletion") + 1
    assert ids == [*base_ids[:at], "call-privacy-desk", *base_ids[at:]]
    changed = merged.step("ask-deletion")
    assert changed.title_ja == "受信者に電話で削除を依頼する"
    assert changed.title_en == builtin.step("ask-deletion").title_en  # untouched keys stay
    assert changed.source == str(path)
    assert merged.step("identify-recipients").source == str(builtin_path("misdirected-email"))
    assert merged.version == "2025-01"
    assert merged.sources == (str(builtin_path("misdirected-email")), str(path))
    assert check_response_file(path) == []


def test_first_extra_dir_has_the_last_word_and_a_step_can_move(tmp_path: Path) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    _org_file(low, "loss", 'type = "loss"\nversion = "a"\n[[steps]]\nid = "search"\nurgency = "today"\n')
    _org_file(high, "loss", 'type = "loss"\nversion = "b"\n[[steps]]\nid = "search"\nurgency = "within-3-days"\n'
                            'after = "inform-management"\n')
    merged = load_response("loss", [high, low])
    assert merged.step("search").urgency == "within-3-days"
    assert [s.id for s in merged.steps][:2] == ["inform-management", "search"]


def test_broken_org_file_is_refused_with_every_problem(tmp_path: Path) -> None:
    _org_file(tmp_path, "theft", 'type = "theft"\nversion = "x"\n[[steps]]\nid = "new-step"\n'
                                 '[[steps]]\nid = "report-police"\nurgency = "soon"\n')
    with pytest.raises(MultipleErrors) as caught:
        load_response("theft", [tmp_path])
    assert [(e.line, e.field) for e in caught.value.errors] == [(3, "title_ja"), (7, "urgency")]


def test_check_reports_every_problem_with_its_line(tmp_path: Path) -> None:
    path = _org_file(tmp_path, "misdirected-mail", """type = "misdirected-email"
version = "1"
colour = "red"

[[steps]]
id = "retrieve"
urgency = "tomorrow"
sets = "recoverd"

[[steps]]
id = "Bad Id"
title_ja = "x"

[[steps]]
id = "retrieve"
question_ja = "回収できましたか"

[[steps]]
id = "brand-new"
title_ja = "新しい手順"
after = "nowhere"

[[steps]]
id = "confirm-deletion"
sets = "persons"
question_ja = ""
question_en = "How many?"
""")
    problems = check_response_file(path)
    found = [(e.line, e.field, e.message) for e in problems]
    assert found == [
        (1, "type", "the file for type 'misdirected-email' must be named misdirected-email.toml"),
        (3, "colour", "unknown top-level key 'colour'; valid: schema, type, version, steps"),
        (7, "urgency", ("step 'retrieve': urgency 'tomorrow' is not valid; valid: within-1-hour, today, "
                       "within-3-days, before-preliminary-report, before-final-report")),
        (8, "sets", f"step 'retrieve': sets 'recoverd' is not a key a step can settle; valid: {', '.join(SETTABLE)}"),
        (11, "id", "step 'Bad Id': id must be lower-case words joined by hyphens, e.g. 'ask-deletion'"),
        (14, "question_en", "step 'retrieve': give both question_ja and question_en, or neither"),
        (15, "id", "step 'retrieve': duplicate id (first at line 5)"),
        (18, "title_en", ("step 'brand-new': a new step (none of that id to change) needs title_en, do_ja, do_en, "
                         "why_ja, why_en, who_ja, who_en, urgency")),
        (26, "question_ja", "step 'confirm-deletion': question_ja must be a non-empty string"),
    ]
    assert all(e.file == str(path) for e in problems)


def test_check_a_complete_playbook_for_an_organizations_own_type(tmp_path: Path) -> None:
    (tmp_path / "incident-types.toml").write_text("""[[type]]
id = "fax-misdirected"
ja = "FAX誤送信"
en = "Misdirected fax"
default_event = "leak"
""", encoding="utf-8")
    path = _org_file(tmp_path, "fax-misdirected", """type = "fax-misdirected"
version = "1"

[[steps]]
id = "count-persons"
title_ja = "本人の数を確定する"
title_en = "Count"
do_ja = "数える。"
do_en = "Count."
why_ja = "報告に要る。"
why_en = "The report needs it."
who_ja = "所管課"
who_en = "department in charge"
urgency = "today"
sets = "recovered"
question_ja = "回収?"
question_en = "Recovered?"
""")
    found = [(e.line, e.field, e.message) for e in check_response_file(path)]
    assert found == [
        (4, "sets", "step 'count-persons' must have sets = 'persons'"),
        (None, "steps", "a complete playbook needs the step 'list-items' (sets = 'items')"),
        (None, "steps", "a complete playbook needs the step 'inform-management'"),
    ]
    other = _org_file(tmp_path / "elsewhere", "fax-misdirected", path.read_text(encoding="utf-8"))
    unknown = [e for e in check_response_file(other) if e.field == "type"]
    assert len(unknown) == 1 and unknown[0].line == 1
    assert unknown[0].message.startswith("unknown incident type 'fax-misdirected'; valid: wrong-handover,")


def test_check_reports_bad_toml_with_its_line(tmp_path: Path) -> None:
    path = _org_file(tmp_path, "loss", 'type = "loss"\nversion = "1"\n[[steps]\n')
    (problem,) = check_response_file(path)
    assert problem.line == 3 and problem.message.startswith("not valid TOML")


# --------------------------------------------------------------------------- settling facts


def _record(**facts: Any) -> rec.Record:
    base = {"title": "t", "entity": "business", "type": "loss",
            "discovered_at": datetime(2024, 6, 3, 15, 0, tzinfo=timezone(timedelta(hours=9)))}
    data = facts.pop("data", ())
    return rec.Record(facts={**base, **facts}, data=tuple(rec.DataEntry(item=i) for i in data))


def test_settle_items_by_alias_keeping_the_flags_of_items_kept(store: Any) -> None:
    record = rec.Record(facts=_record().facts, data=(rec.DataEntry("name", encrypted=True),))
    new, stored = settle(record, "items", "氏名、メールアドレス, health-check-results", vocab=store.vocabulary,
                         tz="Asia/Tokyo")
    assert stored == ["name", "email-address", "health-check-results"]
    assert new.data == (rec.DataEntry("name", encrypted=True), rec.DataEntry("email-address"),
                        rec.DataEntry("health-check-results"))
    with pytest.raises(InputError) as caught:
        settle(record, "items", "氏名,けんこう", vocab=store.vocabulary, tz="Asia/Tokyo")
    assert caught.value.field == "--value" and "unknown data item 'けんこう'" in caught.value.message


def test_settle_encryption_flags_for_all_items_or_some(store: Any) -> None:
    record = _record(data=("name", "medical-history"))
    all_on, stored = settle(record, "encrypted", "true", vocab=store.vocabulary, tz="Asia/Tokyo")
    assert stored is True and all(d.encrypted for d in all_on.data)
    assert current_value(all_on, "encrypted") is True
    some, stored = settle(all_on, "key_compromised", "病歴", vocab=store.vocabulary, tz="Asia/Tokyo")
    assert stored == ["medical-history"]
    assert [(d.item, d.encrypted, d.key_compromised) for d in some.data] == [
        ("name", True, False), ("medical-history", True, True)]
    with pytest.raises(InputError) as caught:
        settle(record, "encrypted", "email-address", vocab=store.vocabulary, tz="Asia/Tokyo")
    assert "email-address is not among the record's items (name, medical-history)" in caught.value.message
    with pytest.raises(InputError) as caught:
        settle(_record(), "encrypted", "true", vocab=store.vocabulary, tz="Asia/Tokyo")
    assert "lists no data items yet" in caught.value.message


def test_settle_record_facts_through_their_field_types(store: Any) -> None:
    record = _record()
    assert settle(record, "persons", "1,200人", vocab=None, tz="Asia/Tokyo")[1] == 1200
    assert settle(record, "recovered", "はい", vocab=None, tz="Asia/Tokyo")[0].get("recovered") is True
    assert settle(record, "subject_countries", "jp, eu", vocab=None, tz="Asia/Tokyo")[1] == ["JP", "EU"]
    with pytest.raises(InputError) as caught:
        settle(record, "malicious", "maybe", vocab=None, tz="Asia/Tokyo")
    assert caught.value.field == "--value"
    assert caught.value.message == "malicious: 'maybe' is not valid; expected one of: none, suspected, confirmed"


# --------------------------------------------------------------------------- state and due times


def test_step_states_reject_a_malformed_section() -> None:
    good = _record().with_section("steps", {"search": {"state": "done", "at": datetime(2024, 6, 3, 16, 0,
                                                                                      tzinfo=UTC)}})
    assert step_states(good)["search"].state == "done"
    for bad, field in (({"search": {"state": "finished"}}, "steps.search.state"),
                       ({"search": {"state": "done", "at": "yesterday"}}, "steps.search.at"),
                       ({"search": {"state": "done", "at": datetime(2024, 1, 1), "by": "x"}}, "steps.search")):
        with pytest.raises(InputError) as caught:
            step_states(_record().with_section("steps", bad))
        assert caught.value.field == field


def test_due_times_count_from_discovery_in_the_organizations_timezone() -> None:
    # 2024-06-03T20:00Z is 2024-06-04 05:00 in Tokyo
    record = _record(discovered_at=datetime(2024, 6, 3, 20, 0, tzinfo=UTC))
    playbook = load_response("loss")
    due = {s.urgency: step_due(s, record, "Asia/Tokyo") for s in playbook.steps}
    assert due["within-1-hour"] == datetime(2024, 6, 3, 21, 0, tzinfo=UTC)
    assert due["today"] == date(2024, 6, 4)
    assert due["within-3-days"] == date(2024, 6, 6)
    assert due["before-preliminary-report"] is None
    assessed = record.with_section("assessment", {"assessed_at": datetime(2024, 6, 4, 9, 0, tzinfo=UTC), "assessments": [
        {"regime": "appi-business", "obligations": [{"id": "regulator-preliminary", "due": "2024-06-08"},
                                                    {"id": "regulator-final", "due": "2024-07-03"}]},
        {"regime": "mynumber", "obligations": [{"id": "regulator-preliminary", "due": "2024-06-07"}]}]})
    due = {s.urgency: step_due(s, assessed, "Asia/Tokyo") for s in playbook.steps}
    assert due["before-preliminary-report"] == date(2024, 6, 7)
    assert due["before-final-report"] == date(2024, 7, 3)


# --------------------------------------------------------------------------- recording steps


def test_done_step_settles_its_fact_in_one_audited_update(store: Any) -> None:
    created = _new(store, "health-check-3")
    before = len(list(store.audit.entries()))
    at = datetime(2024, 6, 3, 17, 30, tzinfo=timezone(timedelta(hours=9)))
    result = record_step(resolve(store), created.id, "confirm-unopened", "done", actor="clerk", at=at,
                         note="封は未開封", value="true")
    assert result.settled and result.before.get("recovered") is False
    saved = store.load(created.id)
    assert saved.get("recovered") is True
    assert saved.sections["steps"]["confirm-unopened"] == {"state": "done", "at": at, "actor": "clerk",
                                                           "note": "封は未開封", "value": True}
    event = saved.timeline[-1]
    assert (event.text, event.kind, event.actor) == (
        "初動対応「読まれずに回収できたか確認する」を実施（回収済み: はい）。封は未開封", "step", "clerk")
    entries = list(store.audit.entries())[before:]
    assert [e["action"] for e in entries] == ["step"]
    changes = entries[0]["changes"]
    assert changes["recovered"] == [False, True]
    assert (changes["step"], changes["state"], changes["value"]) == ("confirm-unopened", "done", "true")


def test_a_step_that_settles_when_it_was_learned_is_kept_and_the_record_loads(store: Any) -> None:
    jst = timezone(timedelta(hours=9))
    created = _new(store, "health-check-3", type="insider")
    record_step(resolve(store), created.id, "record-discovery", "done", actor="clerk",
                at=datetime(2024, 6, 4, 9, 0, tzinfo=jst), value="2024-06-03 16:30")
    saved = store.load(created.id)
    learned = datetime(2024, 6, 3, 16, 30, tzinfo=jst)
    assert saved.get("discovered_at") == learned
    assert saved.sections["steps"]["record-discovery"]["value"] == learned
    assert step_states(saved)["record-discovery"].value == learned


def test_a_refused_step_writes_nothing(store: Any) -> None:
    created = _new(store, "health-check-3")
    before = len(list(store.audit.entries()))
    with pytest.raises(InputError) as caught:
        record_step(resolve(store), created.id, "count-persons", "done", actor="x", value="many")
    assert caught.value.field == "--value"
    with pytest.raises(InputError) as caught:
        record_step(resolve(store), created.id, "count-persons", "done", actor="x")
    assert caught.value.field == "--value"
    assert "Give the answer with --value (a whole number)" in caught.value.message
    with pytest.raises(InputError) as caught:
        record_step(resolve(store), created.id, "resend", "done", actor="x", value="1")
    assert caught.value.message == "step 'resend' records no value; leave out --value"
    with pytest.raises(InputError) as caught:
        record_step(resolve(store), created.id, "resend", "skipped", actor="x", reason="  ")
    assert caught.value.field == "--reason"
    assert store.load(created.id) == created
    assert len(list(store.audit.entries())) == before


def test_skip_and_question_only_steps(store: Any) -> None:
    created = _new(store, "encrypted-laptop", type="theft")
    record_step(resolve(store), created.id, "report-police", "done", actor="x", value="  丸の内署 第123号 ")
    record_step(resolve(store), created.id, "remote-lock", "skipped", actor="x", reason="紙の書類のみ")
    saved = store.load(created.id)
    states = step_states(saved)
    assert states["report-police"].value == "丸の内署 第123号"
    assert (states["remote-lock"].state, states["remote-lock"].reason) == ("skipped", "紙の書類のみ")
    assert saved.timeline[-1].text == "初動対応「端末を遠隔でロックし、保存された認証情報を止める」を省略（理由: 紙の書類のみ）"
    prog = progress(load_response("theft"), saved, "Asia/Tokyo")
    assert prog.next is not None and prog.next.step.id == "secure-scene"
    assert [v.status for v in prog.views][:4] == ["open", "done", "open", "skipped"]


# --- urgencies are data (playbooks/urgencies.toml) ----------------------------------------------------


def test_an_urgency_file_says_when_a_step_is_due(tmp_path: Path) -> None:
    path = tmp_path / "urgencies.toml"
    path.write_text("""
[[urgency]]
id = "within-4-hours"
ja = "4時間以内"
en = "within 4 hours"
hours = 4

[[urgency]]
id = "two-days"
ja = "2日以内"
en = "within 2 days"
days = 2

[[urgency]]
id = "before-report"
ja = "報告まで"
en = "before the report"
before = ["regulator-final"]
""", encoding="utf-8")
    urgencies = load_urgencies(path)
    assert [(u.id, u.rank, u.hours, u.days, u.before) for u in urgencies.values()] == [
        ("within-4-hours", 0, 4, None, ()), ("two-days", 1, None, 2, ()),
        ("before-report", 2, None, None, ("regulator-final",))]


def test_the_urgency_checker_lists_every_problem_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "urgencies.toml"
    path.write_text("""[[urgency]]
id = "soon"
ja = "すぐ"
en = "soon"
hours = 1
days = 2

[[urgency]]
id = "later"
ja = "後で"
en = "later"
before = ["regulator-finale"]
""", encoding="utf-8")
    problems = check_urgencies_file(path)
    assert [(p.field, p.line) for p in problems] == [("urgency.days", 6), ("urgency.before", 12)]
    assert "no regime playbook has as an obligation" in problems[1].message


# --------------------------------------------------------------------------- figures quoted from the regimes


def test_bundled_steps_quote_the_regimes_figures() -> None:
    step = load_response("loss").step("count-persons")
    assert "事業者は1,000人、行政機関等は100人を超えるか" in step.why_ja
    assert "more than 1,000 for a business, more than 100 for a public body" in step.why_en
    assert "確報の期限も60日" in load_response("theft").step("confirm-theft").why_ja
    assert "72時間以内" in load_response("ransomware").step("check-eu").why_ja
    raw = builtin_path("loss").read_text(encoding="utf-8")
    assert "{appi-business.headcount.more_than}" in raw and "1,000人" not in raw


def test_a_quoted_figure_follows_the_organizations_own_regime(tmp_path: Path) -> None:
    """An organization whose regime file says 500 reads 500 in the step, not the bundled 1,000."""
    regimes = tmp_path / "regimes"
    regimes.mkdir()
    bundled = (builtin_path("loss").parents[1] / "regimes" / "appi-business.toml").read_text(encoding="utf-8")
    assert "more_than = 1000\n" in bundled
    (regimes / "appi-business.toml").write_text(bundled.replace("more_than = 1000\n", "more_than = 500\n"),
                                                encoding="utf-8")
    step = load_response("loss", [tmp_path]).step("count-persons")
    assert "事業者は500人、行政機関等は100人" in step.why_ja
    assert "事業者は1,000人" in load_response("loss").step("count-persons").why_ja


def test_a_quote_that_names_no_figure_is_refused_at_load_and_by_the_checker(tmp_path: Path) -> None:
    path = _org_file(tmp_path, "loss", """type = "loss"
version = "2025-01"

[[steps]]
id = "count-persons"
why_ja = "事業者は{appi-business.headcount.less_than}人を超えるか"
""")
    with pytest.raises(InputError) as caught:
        load_response("loss", [tmp_path])
    assert caught.value.file == str(path) and caught.value.field == "why_ja"
    assert "not a figure of appi-business's 'headcount'; figures: more_than" in caught.value.message
    problems = check_response_file(path)
    assert [(p.line, p.field) for p in problems] == [(6, "why_ja")]
    assert "{appi-business.headcount.less_than}" in problems[0].message


def test_the_checker_refuses_a_figure_of_the_law_written_out_in_a_why_text(tmp_path: Path) -> None:
    path = _org_file(tmp_path, "loss", """type = "loss"
version = "2025-01"

[[steps]]
id = "count-persons"
why_ja = "事業者は1,000人を超えるかで決まる。1人分でも報告することがある（2024年4月1日から）。"
why_en = "A report is needed for more than 1,000 people, and the final report within 60 days."
do_ja = "2人で数える。"
""")
    problems = check_response_file(path)
    assert [(p.line, p.field) for p in problems] == [(6, "why_ja"), (7, "why_en"), (7, "why_en")]
    assert "'1,000人'" in problems[0].message and "{appi-business.headcount.more_than}" in problems[0].message
    assert "'more than 1,000'" in problems[1].message and "'60 days'" in problems[2].message
    fixed = path.read_text(encoding="utf-8").replace("1,000人", "{appi-business.headcount.more_than}人").replace(
        "more than 1,000", "more than {appi-business.headcount.more_than}").replace(
        "60 days", "{appi-business.regulator-final.deadline.days_if.days} days")
    path.write_text(fixed, encoding="utf-8")
    assert check_response_file(path) == []
    assert "within 60 days" in load_response("loss", [tmp_path]).step("count-persons").why_en
