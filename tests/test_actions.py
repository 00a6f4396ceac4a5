"""Corrective actions: add, list, done, verify, the contractor's improvement report, and closing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from conftest import INCIDENTS, answer_review, database_url_of

from incident.errors import InputError
from incident.followup.actions import parse_aid
from incident.followup.contractor_report import (
    ContractorReport,
    check_actions_playbook,
    load_contractor_report,
)

TOKYO = ZoneInfo("Asia/Tokyo")
EMAIL = INCIDENTS / "email-cc-36.toml"  # misdirected-email, double-check, 総務課, discovered 2024-06-03


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Set the toolkit's clock: clock("2024-07-15T10:00")."""
    from incident import dates

    current = {"now": datetime(2024, 7, 15, 10, 0, tzinfo=TOKYO)}
    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": current["now"].astimezone(ZoneInfo(tz)))

    def set_clock(text: str) -> None:
        current["now"] = datetime.fromisoformat(text).replace(tzinfo=TOKYO)

    return set_clock


def new(run: Callable[..., Result], extra: str = "") -> str:
    return str(json.loads(run(f"new --from {EMAIL} {extra} --json").stdout)["id"])


def actions(run: Callable[..., Result], flags: str = "") -> list[dict[str, Any]]:
    return list(json.loads(run(f"action list --json {flags}").stdout))


def test_add_prints_the_aid_and_stores_the_action(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    result = run(f"action add {incident} --measure 一斉送信は配信システムに限る --owner 情報政策課 --due 令和6年8月30日")
    assert result.stdout == f"{incident}/A1\n"
    assert result.stderr == f"Added {incident}/A1: 一斉送信は配信システムに限る (owner 情報政策課, due 2024-08-30).\n"
    assert actions(run) == [{
        "aid": f"{incident}/A1", "incident": incident, "id": "A1", "measure": "一斉送信は配信システムに限る",
        "cause": "double-check", "owner": "情報政策課", "due": "2024-08-30", "state": "open", "evidence": None,
        "done_at": None, "done_by": None, "verified_by": None, "verified_at": None, "created_by": "tester",
        "created_at": "2024-07-15T10:00:00+09:00", "source": "manual", "overdue": False,
    }]
    shown = json.loads(run(f"show {incident} --json").stdout)
    assert shown["actions"][0]["due"] == "2024-08-30" and shown["actions"][0]["cause"] == "double-check"


def test_add_refusals(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    assert run(f"action add {incident} --owner x", expect=2).stderr == (
        f"error: field '--measure': missing --measure, --due; e.g. `incident action add {incident} --measure TEXT "
        "--owner NAME --due 2024-05-31`\n")
    assert "cannot read 'someday' as a date" in run(f"action add {incident} --measure m --owner x --due someday",
                                                   expect=2).stderr
    unknown = run(f"action add {incident} --measure m --owner x --due 2024-08-01 --cause typo", expect=2).stderr
    assert unknown.startswith("error: field '--cause': unknown cause 'typo'; valid: double-check, operation-screen,")
    assert run("action add 2024-0999 --measure m --owner x --due 2024-08-01", expect=2).stderr.startswith(
        "error: no incident 2024-0999")
    assert actions(run) == []


def test_recommended_measures_are_offered_on_a_terminal(run: Callable[..., Result], clock: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from incident.law.taxonomy import load_taxonomy

    monkeypatch.setattr("incident.cli.actions.is_interactive", lambda: True)
    incident = new(run)
    offered = load_taxonomy().measures("misdirected-email", "double-check")
    result = run(f"action add {incident}", input="2\n\n2024-09-30\n")
    assert "Recommended measures (playbook):\n" + "".join(f"  {n}. {m}\n" for n, m in enumerate(offered, 1)) \
        in result.stdout
    assert "owner [総務課]: " in result.stdout
    [action] = actions(run)
    assert (action["measure"], action["owner"], action["due"]) == (offered[1], "総務課", "2024-09-30")
    run(f"action add {incident}", input="独自の措置\n課長\n2024-10-01\n")
    assert actions(run)[1]["measure"] == "独自の措置"
    ja = run(f"action add {incident}", input="2\n\n2024-09-30\n", env={"INCIDENT_LANG": "ja"}).stdout
    assert "推奨される措置（プレイブック）:" in ja and "措置: 番号、または自由記述 [1]: " in ja
    assert "担当 [総務課]: " in ja and "期限（例: 2024-05-31、令和6年5月31日）: " in ja


def test_contractor_improvement_report_is_added_once(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run, "--handled-by 委託事業者")
    result = run(f"action add {incident} --measure 宛先確認の徹底 --owner 総務課 --due 2024-08-30")
    assert result.stdout == f"{incident}/A2\n"
    assert f"Added {incident}/A1: 委託事業者に文書で指導し、期日までに改善報告書を提出させて内容を確認する (owner 総務課, " \
        "due 2024-07-03; a contractor handled the data)." in result.stderr
    run(f"action add {incident} --measure 研修 --owner 総務課 --due 2024-09-30")
    suggested = json.loads(run(f"action suggest {incident} --json").stdout)
    assert suggested["contractor_action"] is None
    listed = actions(run)
    assert [(a["id"], a["source"], a["owner"], a["due"], a["overdue"]) for a in listed] == [
        ("A1", "contractor-improvement-report", "総務課", "2024-07-03", True),
        ("A2", "manual", "総務課", "2024-08-30", False),
        ("A3", "manual", "総務課", "2024-09-30", False),
    ]


@pytest.mark.files_only  # reads or damages the record's file
def test_suggest_only_suggests(run: Callable[..., Result], clock: Any, store_dir: Path) -> None:
    from incident.law.taxonomy import load_taxonomy

    incident = new(run, "--handled-by 指定管理者")
    before = (store_dir / "incidents" / f"{incident}.toml").read_bytes()
    data = json.loads(run(f"action suggest {incident} --json").stdout)
    assert data["measures"] == list(load_taxonomy().measures("misdirected-email", "double-check"))
    assert data["contractor_action"] == {"measure": "指定管理者に文書で指導し、期日までに改善報告書を提出させて内容を確認する",
                                         "owner": "総務課", "due": "2024-07-03"}
    text = run(f"action suggest {incident}")
    assert f"now with `incident action add {incident} --contractor-report`" in text.stderr
    assert (store_dir / "incidents" / f"{incident}.toml").read_bytes() == before
    assert actions(run) == []
    assert [e["action"] for e in json.loads(run(f"audit show --incident {incident} --json").stdout)] == ["create"]
    plain = new(run)
    assert json.loads(run(f"action suggest {plain} --json").stdout)["contractor_action"] is None


def test_the_contractor_report_is_added_once_per_incident(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run, "--handled-by 委託事業者")
    measure = "委託事業者に文書で指導し、期日までに改善報告書を提出させて内容を確認する"
    assert run(f"action add {incident} --contractor-report").stdout == f"{incident}/A1\n"
    again = run(f"action add {incident} --contractor-report", expect=2)
    assert again.stderr == f"error: {incident}/A1 already tracks the contractor's improvement report\n"
    typed = run(f"action add {incident} --measure '{measure} ' --owner 総務課 --due 2024-07-03")
    assert typed.stdout == f"{incident}/A1\n"
    assert "already tracks the contractor's improvement report; nothing added" in typed.stderr
    run(f"action add {incident} --measure 研修 --owner 総務課 --due 2024-09-30")
    run(f"review {incident} --answer bcc-or-bulk-system=no --owner 総務課 --due 2024-09-30 --note 監督不足")
    assert [(a["id"], a["source"]) for a in actions(run)] == [
        ("A1", "contractor-improvement-report"), ("A2", "manual"), ("A3", "review:bcc-or-bulk-system")]
    assert json.loads(run(f"action suggest {incident} --json").stdout)["contractor_action"] is None
    plain = new(run)
    assert run(f"action add {plain} --contractor-report", expect=2).stderr == (
        f"error: {plain} calls for no improvement report: handled_by is not a contractor\n")
    closed = new(run, "--handled-by 委託事業者")
    run(f"status {closed} closed --force --reason 重複登録")
    assert json.loads(run(f"action suggest {closed} --json").stdout)["contractor_action"] is None


def test_the_due_days_are_a_playbook_value(run: Callable[..., Result], clock: Any, store_dir: Path) -> None:
    (store_dir / "playbooks" / "corrective-actions.toml").write_text("[contractor_report]\ndue_days = 14\n")
    incident = new(run, "--handled-by 委託事業者")
    run(f"action add {incident} --contractor-report")
    assert actions(run)[0]["due"] == "2024-06-17"
    assert load_contractor_report((store_dir / "playbooks",)) == ContractorReport(
        handled_by=("委託事業者", "指定管理者"),
        measure="{handled_by}に文書で指導し、期日までに改善報告書を提出させて内容を確認する", due_days=14,
        citation="東村山市個人情報保護に関する事務取扱規程 第24条第2号 (改善報告書の提出)")


def test_a_broken_playbook_override_names_file_and_line(run: Callable[..., Result], clock: Any,
                                                        store_dir: Path) -> None:
    path = store_dir / "playbooks" / "corrective-actions.toml"
    path.write_text("[contractor_report]\nmeasure = \"x\"\ndue_days = 0\n")
    incident = new(run, "--handled-by 委託事業者")
    assert run(f"action suggest {incident}", expect=2).stderr == (
        f"error: {path}:3: field 'contractor_report.due_days': expected a whole number of days (1 or more), got 0\n")


def test_check_lists_every_problem_of_a_playbook_override(tmp_path: Path) -> None:
    path = tmp_path / "corrective-actions.toml"
    path.write_text('[contractor_report]\nhandled_by = ["本人"]\nmeasure = "{who}に指導"\ndue_days = 0\n'
                    'colour = "red"\n', encoding="utf-8")
    assert [str(p) for p in check_actions_playbook(path)] == [
        (f"{path}:5: field 'contractor_report.colour': [contractor_report]: unknown key 'colour'; "
         "valid: handled_by, measure, due_days, citation"),
        f"{path}:2: field 'contractor_report.handled_by': expected a list of: 委託事業者, 指定管理者",
        f"{path}:3: field 'contractor_report.measure': the only placeholder allowed is {{handled_by}}",
        f"{path}:4: field 'contractor_report.due_days': expected a whole number of days (1 or more), got 0",
    ]
    from incident.resources import builtin_dir

    assert check_actions_playbook(builtin_dir("playbooks") / "corrective-actions.toml") == []


def test_done_then_verify_by_someone_else(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    run(f"action add {incident} --measure 照合手順の改訂 --owner 鈴木 --due 2024-08-30")
    aid = f"{incident}/A1"
    early = run(f"--actor 佐藤 action verify {aid}", expect=2)
    assert early.stderr == (f"error: {aid} is not done yet; record it first with "
                            f"`incident action done {aid} --evidence TEXT`\n")
    assert run(f"action done {aid} --evidence ''", expect=2).stderr.startswith(
        "error: field '--evidence': the evidence is empty")
    clock("2024-08-01T09:00")
    run(f"--actor 鈴木 action done {aid} --evidence 手順書第3版を周知")
    assert run(f"action done {aid} --evidence again", expect=2).stderr == f"error: {aid} is already done\n"
    own = run(f"--actor '鈴木 ' action verify {aid}", expect=2)
    assert own.stderr == (f"error: {aid} is owned by 鈴木; the effectiveness check must be made by someone else "
                          "(--actor NAME)\n")
    clock("2024-09-02T09:00")
    verified = json.loads(run(f"--actor 佐藤 action verify {aid} --json").stdout)
    assert verified["done_by"] == "鈴木"
    assert {k: verified[k] for k in ("state", "evidence", "done_at", "verified_by", "verified_at")} == {
        "state": "verified", "evidence": "手順書第3版を周知", "done_at": "2024-08-01T09:00:00+09:00",
        "verified_by": "佐藤", "verified_at": "2024-09-02T09:00:00+09:00"}
    assert run(f"--actor 高橋 action verify {aid}", expect=2).stderr == f"error: {aid} was already verified by 佐藤\n"
    entries = json.loads(run(f"audit show --incident {incident} --json").stdout)
    assert [(e["action"], e["actor"], e["changes"].get("action")) for e in entries[1:]] == [
        ("action.add", "tester", "A1"), ("action.done", "鈴木", "A1"), ("action.verify", "佐藤", "A1")]


def test_whoever_marked_it_done_cannot_verify_it(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    run(f"action add {incident} --measure 照合手順の改訂 --owner 総務課 --due 2024-08-30")
    aid = f"{incident}/A1"
    run(f"--actor 佐藤 action done {aid} --evidence 手順書第3版を周知")
    own = run(f"--actor ' 佐藤' action verify {aid}", expect=2)
    assert own.stderr == (f"error: {aid} was marked done by 佐藤; the effectiveness check must be made by someone "
                          "else (--actor NAME)\n")
    assert json.loads(run(f"--actor 田中 action verify {aid} --json").stdout)["verified_by"] == "田中"


def test_on_the_shared_register_the_role_that_marked_it_done_cannot_verify_it_under_another_name(
        run: Callable[..., Result], clock: Any, backend: str, store_dir: Path, request: pytest.FixtureRequest) -> None:
    if backend != "postgresql":
        pytest.skip("the file store authenticates no one: the names given are compared (test above)")

    from pgserver import as_role

    from incident.register.actors import actor_key

    incident = new(run)
    run(f"action add {incident} --measure 照合手順の改訂 --owner 総務課 --due 2024-08-30")
    aid = f"{incident}/A1"
    run(f"--actor 佐藤 action done {aid} --evidence 手順書第3版を周知")
    url = database_url_of(store_dir)
    role = request.getfixturevalue("pg_roles").member(url, actor_key("佐藤"))
    same_role = {"INCIDENT_DATABASE_URL": as_role(url, role)}
    refused = run(f"--actor 田中 action verify {aid}", env=same_role, expect=2)
    assert refused.stderr == (f"error: {aid} was marked done by {role}, the role you are signed in as; the "
                              "effectiveness check must be made by someone else (--actor NAME)\n")
    assert json.loads(run(f"--actor 田中 action verify {aid} --json").stdout)["verified_by"] == "田中"


def test_unknown_actions(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    assert run(f"action done {incident}/A7 --evidence x", expect=2).stderr == (
        f"error: field 'AID': {incident} has no action A7 (its actions: none yet)\n")
    assert run("action verify A1", expect=2).stderr == (
        "error: field 'AID': 'A1' is not an action; actions are named INCIDENT/ACTION, e.g. 2023-0012/A1 "
        "(`incident action list` shows them)\n")
    assert parse_aid("２０２４-０００１/A3") == ("2024-0001", "A3")
    with pytest.raises(InputError):
        parse_aid("2024-0001/B1")


def test_list_filters_across_incidents(run: Callable[..., Result], clock: Any) -> None:
    first, second = new(run), new(run)
    run(f"action add {first} --measure 後 --owner 鈴木 --due 2024-09-01")
    run(f"action add {second} --measure 期限切れ --owner 佐藤 --due 2024-07-01")
    run(f"action add {first} --measure 済み --owner 佐藤 --due 2024-06-30")
    run(f"action done {first}/A2 --evidence 記録")
    assert [a["aid"] for a in actions(run)] == [f"{first}/A2", f"{second}/A1", f"{first}/A1"]
    assert [a["aid"] for a in actions(run, "--overdue")] == [f"{second}/A1"]
    assert [a["aid"] for a in actions(run, "--owner ＳＡＴＯ")] == []
    assert [a["aid"] for a in actions(run, "--owner 佐藤")] == [f"{first}/A2", f"{second}/A1"]
    assert [a["aid"] for a in actions(run, "--state done")] == [f"{first}/A2"]
    table = run("action list").stdout
    assert f"{second}/A1" in table and "2024-07-01 (overdue 14d)" in table and "2024-09-01 (48d left)" in table


def test_closing_is_refused_while_actions_or_review_items_are_open(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    run(f"action add {incident} --measure 照合 --owner 鈴木 --due 2024-08-30")
    answer_review(run, incident, skip=2)
    refused = run(f"status {incident} closed", expect=2)
    assert refused.stderr == (f"error: {incident} cannot be closed: corrective action {incident}/A1 is open; "
                              "the post-incident review has 2 unanswered item(s) of 9 "
                              f"(`incident review {incident}`) (or close anyway with --force --reason TEXT)\n")
    run(f"action done {incident}/A1 --evidence 実施")
    refused = run(f"status {incident} closed", expect=2)
    assert "corrective action" not in refused.stderr and "2 unanswered item(s) of 9" in refused.stderr
    answer_review(run, incident)
    run(f"status {incident} closed")


def test_an_incident_never_assessed_cannot_jump_to_closed(run: Callable[..., Result], clock: Any) -> None:
    """The closing check assesses afresh: open obligations count even when `incident assess` never ran."""
    incident = str(json.loads(run(f"new --from {INCIDENTS / 'ransomware-500.toml'} --json").stdout)["id"])
    answer_review(run, incident)
    refused = run(f"status {incident} closed", expect=2).stderr
    assert f"obligation appi-business/regulator-final is not done (`incident done {incident} regulator-final`)" \
        in refused
    for obligation in ("regulator-preliminary", "regulator-final", "individual-notice"):
        run(f"done {incident} {obligation} --at 2024-07-01")
    run(f"status {incident} closed")
    undetermined = str(json.loads(run(f"new --from {EMAIL} --json").stdout)["id"])
    run(f"set {undetermined} persons=")
    answer_review(run, undetermined)
    assert "it is undetermined whether a report is due (missing: persons" in run(
        f"status {undetermined} closed", expect=2).stderr


@pytest.mark.files_only  # reads or damages the record's file
def test_a_damaged_actions_section_is_named(run: Callable[..., Result], clock: Any, store: Any) -> None:
    incident = new(run)
    bad = [{"id": "A1", "measure": "m", "owner": "o", "due": "2024-08-01", "state": "open"}]
    with pytest.raises(InputError, match=r"field 'actions\[1\]\.due': expected a date \(YYYY-MM-DD\)"):
        store.update(incident, lambda r: r.with_section("actions", bad), actor="t")
    # written behind the toolkit's back: that incident is left out with a warning, the rest still lists
    other = new(run)
    run(f"action add {other} --measure m --owner o --due 2024-08-01")
    path = store.path_of(incident)
    path.write_text(path.read_text() + '\n[[actions]]\nid = "A1"\nmeasure = "m"\nowner = "o"\n'
                    'due = "2024-08-01"\nstate = "open"\n')
    listed = run("action list --json")
    assert [a["aid"] for a in json.loads(listed.stdout)] == [f"{other}/A1"]
    assert listed.stderr == (f"warning: left out: {path}: field 'actions[1].due': expected a date (YYYY-MM-DD) "
                             "(fix the file, e.g. with `incident edit`)\n")


def test_assign_gives_an_open_action_a_new_owner_or_due_date(run: Callable[..., Result], clock: Any) -> None:
    incident = new(run)
    run(f"action add {incident} --measure 照合 --owner 鈴木 --due 2024-08-30")
    aid = f"{incident}/A1"
    assert run(f"action assign {aid}", expect=2).stderr == "error: field '--owner': give --owner NAME and/or --due DATE\n"
    moved = json.loads(run(f"action assign {aid} --owner 佐藤 --due 令和6年9月30日 --json").stdout)
    assert (moved["owner"], moved["due"]) == ("佐藤", "2024-09-30")
    run(f"action done {aid} --evidence 実施")
    assert run(f"action assign {aid} --owner 田中", expect=2).stderr == (
        f"error: {aid} is already done; only an open action is reassigned\n")
