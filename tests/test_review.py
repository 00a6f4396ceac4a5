"""The post-incident review: the checklist walk, saved answers, resuming, a "no" as an action, minutes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from conftest import INCIDENTS

from incident.errors import InputError
from incident.followup.review import parse_answer
from incident.law.taxonomy import load_taxonomy

TOKYO = ZoneInfo("Asia/Tokyo")
EMAIL = INCIDENTS / "email-cc-36.toml"  # misdirected-email, cause double-check, 総務課


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from incident import dates

    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": datetime(2024, 7, 15, 10, 0, tzinfo=TOKYO))


@pytest.fixture
def incident(run: Callable[..., Result]) -> str:
    return str(json.loads(run(f"new --from {EMAIL} --json").stdout)["id"])


def checklist_ids() -> list[str]:
    return [q.id for q in load_taxonomy().checklist("misdirected-email", "double-check")]


def show(run: Callable[..., Result], incident: str) -> dict[str, Any]:
    return dict(json.loads(run(f"review {incident} --show --json").stdout))


def test_the_checklist_is_the_types_then_the_causes(run: Callable[..., Result], incident: str) -> None:
    taxonomy = load_taxonomy()
    data = show(run, incident)
    ids = [i["id"] for i in data["items"]]
    assert ids == [q.id for q in taxonomy.types["misdirected-email"].checklist] + [
        q.id for q in taxonomy.causes["double-check"].checklist]
    assert (data["answered"], data["total"], data["complete"], data["started_at"]) == (0, len(ids), False, None)
    assert data["items"][0]["answer"] is None


def test_answers_are_saved_one_by_one(run: Callable[..., Result], incident: str) -> None:
    first, second = checklist_ids()[:2]
    result = run(f"review {incident} --answer {first}=はい --note 全員から削除の報告")
    assert result.stderr == f"{incident}: {first} = yes (1/{len(checklist_ids())} answered).\n"
    run(f"--actor 鈴木 review {incident} --answer {second}=n/a")
    data = show(run, incident)
    assert {k: data["items"][0][k] for k in ("id", "answer", "note", "at", "actor", "action")} == {
        "id": first, "answer": "yes", "note": "全員から削除の報告", "at": "2024-07-15T10:00:00+09:00",
        "actor": "tester", "action": None}
    assert (data["items"][1]["answer"], data["items"][1]["actor"]) == ("na", "鈴木")
    assert data["started_at"] == "2024-07-15T10:00:00+09:00" and data["completed_at"] is None
    hint = run(f"review {incident}").stderr
    assert hint == f"Next: `incident review {incident} --answer {checklist_ids()[2]}=yes|no|na [--note TEXT]`.\n"


def test_refusals(run: Callable[..., Result], incident: str) -> None:
    unknown = run(f"review {incident} --answer nonsense=yes", expect=2).stderr
    assert unknown == (f"error: field '--answer': 'nonsense' is not on the checklist of {incident} "
                       f"(misdirected-email/double-check); valid: {', '.join(checklist_ids())}\n")
    assert run(f"review {incident} --answer {checklist_ids()[0]}=maybe", expect=2).stderr == (
        "error: field '--answer': 'maybe' is not an answer; expected yes, no or na (not applicable)\n")
    assert run(f"review {incident} --note x", expect=2).stderr == (
        "error: field '--answer': --note, --measure, --owner and --due go with --answer ITEM=yes|no|na\n")
    first = checklist_ids()[0]
    assert run(f"review {incident} --answer {first}=yes --owner 鈴木 --due 2024-08-01 --measure m",
               expect=2).stderr == (
        "error: field '--answer': only an item answered no becomes a corrective action (this one is yes)\n")
    assert run(f"review {incident} --answer {first}=no --owner 鈴木", expect=2).stderr == (
        "error: field '--owner': a corrective action needs both --owner NAME and --due DATE\n")
    assert run(f"review {incident} --answer {first}=no --owner 鈴木 --due 2024-08-01", expect=2).stderr == (
        "error: field '--measure': say what the corrective action is: --measure TEXT (or a --note)\n")
    assert show(run, incident)["answered"] == 0


def test_a_no_becomes_a_corrective_action_in_one_step(run: Callable[..., Result], incident: str) -> None:
    item = "check-recorded"
    result = run(f"review {incident} --answer {item}=no --note 照合の記録欄がない --owner 総務課 --due 2024-08-31")
    assert result.stderr.endswith(f"Added {incident}/A1: 照合の記録欄がない\n")
    again = run(f"review {incident} --answer {item}=no --note 照合の記録欄がない --owner 総務課 --due 2024-08-31")
    assert again.stderr.endswith(f"Already tracked by {incident}/A1: 照合の記録欄がない\n")
    [action] = json.loads(run("action list --json").stdout)
    assert (action["source"], action["measure"], action["owner"], action["due"], action["cause"]) == (
        f"review:{item}", "照合の記録欄がない", "総務課", "2024-08-31", "double-check")
    assert [i["action"] for i in show(run, incident)["items"] if i["id"] == item] == ["A1"]


def test_action_add_from_a_review_item(run: Callable[..., Result], incident: str) -> None:
    run(f"review {incident} --answer workload=no --note 繁忙期に一人で送信していた")
    run(f"review {incident} --answer check-recorded=yes")
    assert run(f"action add {incident} --from-review check-recorded --owner x --due 2024-08-01", expect=2).stderr == (
        f"error: field '--from-review': review item 'check-recorded' of {incident} is answered yes; only an item "
        "answered no becomes a corrective action\n")
    assert run(f"action add {incident} --from-review workload --owner 課長 --due 2024-08-15").stdout == f"{incident}/A1\n"
    assert run(f"action add {incident} --from-review workload --owner 課長 --due 2024-08-15").stderr == (
        f"{incident}/A1 already tracks review item workload; nothing added.\n")
    [action] = json.loads(run("action list --json").stdout)
    assert (action["measure"], action["source"]) == ("繁忙期に一人で送信していた", "review:workload")


def test_an_interrupted_walk_resumes_where_it_stopped(run: Callable[..., Result], incident: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incident.cli.actions.is_interactive", lambda: True)
    ids = checklist_ids()
    total = len(ids)
    # two answers, then the input ends (the officer walked away): both are saved
    first = run(f"review {incident}", input="y\n全員削除済み\nna\n\n", expect=130)
    assert first.stderr.endswith(f"Interrupted: 2 of {total} items answered and saved. "
                                 f"Resume with `incident review {incident}`.\n")
    assert f"1/{total}" in first.stdout and f"3/{total}" in first.stdout
    assert [i["answer"] for i in show(run, incident)["items"]][:3] == ["yes", "na", None]
    # resumes at the third item; an invalid answer is asked again; a no becomes an action
    answers = ("maybe\nno\n画面確認の設定なし\ny\n送信前確認の設定\n総務課\n9月末\n2024-09-30\n"
               + "yes\n\n" * (total - 3))
    second = run(f"review {incident}", input=answers)
    assert f"Resuming: 2 of {total} items already answered.\n" in second.stderr
    assert f"1/{total}" not in second.stdout and f"3/{total}" in second.stdout
    assert "Error: 'maybe' is not an answer" in second.stdout
    assert "Error: cannot read '9月末' as a date" in second.stdout  # asked again, the answer kept
    assert f"Added {incident}/A1." in second.stderr
    data = show(run, incident)
    assert data["complete"] is True and data["completed_at"] == "2024-07-15T10:00:00+09:00"
    assert {k: data["items"][2][k] for k in ("id", "answer", "note", "action")} == {
        "id": ids[2], "answer": "no", "note": "画面確認の設定なし", "action": "A1"}
    done = run(f"review {incident}")
    assert "Every item is answered." in done.stderr


def test_an_interruption_after_the_answer_saves_it(run: Callable[..., Result], incident: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or the end of input) at the note or the action prompts keeps the answer already given."""
    monkeypatch.setattr("incident.cli.actions.is_interactive", lambda: True)
    total = len(checklist_ids())
    stopped = run(f"review {incident}", input="no\n", expect=130)
    assert f"Interrupted: 1 of {total} items answered and saved." in stopped.stderr
    assert [i["answer"] for i in show(run, incident)["items"]][:2] == ["no", None]
    stopped = run(f"review {incident}", input="no\n宛先確認なし\ny\n措置\n", expect=130)
    assert f"Interrupted: 2 of {total} items answered and saved." in stopped.stderr
    item = show(run, incident)["items"][1]
    assert (item["answer"], item["note"], item["action"]) == ("no", "宛先確認なし", None)
    assert json.loads(run("action list --json").stdout) == []


def test_a_longer_checklist_reopens_a_complete_review(run: Callable[..., Result], store: Any) -> None:
    from incident.register.changes import new_incident

    record = new_incident(store, {"title": "t", "entity": "public-body", "type": "loss",
                                  "discovered_at": "2024-06-03T10:00:00+09:00"}, actor="t")
    for question in load_taxonomy().checklist("loss"):
        run(f"review {record.id} --answer {question.id}=yes")
    assert show(run, record.id)["complete"] is True
    run(f"set {record.id} cause_category=device-management")
    data = show(run, record.id)
    assert (data["complete"], data["completed_at"] is not None) == (False, True)
    run(f"review {record.id} --answer device-ledger=yes")
    assert show(run, record.id)["complete"] is False
    run(f"review {record.id} --answer remote-wipe=no --note 未設定")
    assert show(run, record.id)["complete"] is True


def test_the_contractor_action_is_added_at_review_time(run: Callable[..., Result]) -> None:
    incident = json.loads(run(f"new --from {EMAIL} --handled-by 委託事業者 --json").stdout)["id"]
    result = run(f"review {incident} --answer workload=yes")
    assert f"Added {incident}/A1: 委託事業者に文書で指導し" in result.stderr
    run(f"review {incident} --answer workload=no --note n")
    assert [a["source"] for a in json.loads(run("action list --json").stdout)] == ["contractor-improvement-report"]


def test_minutes_export(run: Callable[..., Result], incident: str, tmp_path: Any) -> None:
    run(f"--actor 鈴木 review {incident} --answer recipients-deleted=yes --note 全員から削除の連絡")
    run(f"review {incident} --answer check-recorded=no --note '照合欄|なし' --owner 総務課 --due 2024-08-31")
    text = run(f"review {incident} --export md").stdout
    assert text.startswith(f"# 事後検証記録 {incident}: 説明会の案内メールを宛先表示のまま36名に送信\n")
    assert "- 種別: 誤送信 / 原因区分: ダブルチェックが不十分\n- 所管: 総務課\n" in text
    assert "- 検証の開始: 令和6年7月15日\n- 検証の完了: 未完了（2 / 9 項目に回答）\n" in text
    assert ("| 1 | 誤送信先の全員に削除を依頼し、未読のまま削除したことを確認したか (全員確認できれば漏えいに当たらない) "
            "| はい | 全員から削除の連絡 | 鈴木 |") in text
    assert "| 照合欄\\|なし（是正措置 A1） | tester |" in text
    assert "| A1 | 照合欄\\|なし | 総務課 | 令和6年8月31日 | 未完了 |" in text
    target = tmp_path / "minutes.md"
    run(f"review {incident} --export md -o {target}")
    assert target.read_text(encoding="utf-8") == text


def test_parse_answer_aliases() -> None:
    assert [parse_answer(t) for t in ("Yes", "はい", "Ｙ", "no", "いいえ", "N/A", "該当なし")] == [
        "yes", "yes", "yes", "no", "no", "na", "na"]
    with pytest.raises(InputError):
        parse_answer("")
