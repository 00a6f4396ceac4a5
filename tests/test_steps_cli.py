"""`incident steps` / `incident step`, as an officer types them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import INCIDENTS

Run = Callable[..., Result]


def _new(run: Run, example: str, *extra: str) -> str:
    result = run(["new", "--from", str(INCIDENTS / f"{example}.toml"), *extra, "--json"])
    incident_id = json.loads(result.stdout)["id"]
    assert isinstance(incident_id, str)
    return incident_id


def _show(run: Run, incident_id: str) -> dict[str, object]:
    data = json.loads(run(f"show {incident_id} --json").stdout)
    assert isinstance(data, dict)
    return data


def test_confirmed_retrieval_of_health_check_letters_means_no_report(run: Run) -> None:
    incident_id = _new(run, "health-check-3")
    result = run(f"step {incident_id} confirm-unopened done --value true --note 3通とも未開封")
    lines = result.stdout.splitlines()
    assert lines[0] == "recovered: false → true"
    assert lines[1] == "The assessment changed:"
    assert "  - reportable: true → false" in lines
    assert "  - appi-business: special-care: now not met" in lines
    assert "  - appi-business: regulator-final: no longer required" in lines
    assert lines[-1] == "Now: no report is required."
    assert result.stderr.splitlines() == [
        f"Recorded on {incident_id}: confirm-unopened done.",
        "Next: identify-mail — Find out what went to whom",
    ]
    record = _show(run, incident_id)
    assert record["recovered"] is True
    assessment = record["assessment"]
    assert isinstance(assessment, dict) and assessment["reportable"] is False
    steps = record["steps"]
    assert isinstance(steps, dict)
    assert steps["confirm-unopened"]["value"] is True and steps["confirm-unopened"]["note"] == "3通とも未開封"
    audit = json.loads(run(f"audit show --incident {incident_id} --json").stdout)
    assert [e["action"] for e in audit] == ["create", "step", "assess"]
    assert audit[1]["changes"]["recovered"] == [False, True]


def test_more_people_makes_a_plain_email_leak_reportable(run: Run) -> None:
    incident_id = _new(run, "email-cc-36")
    result = run(f"step {incident_id} count-persons done --value 1001 --json")
    out = json.loads(result.stdout)
    assert out["state"] == "done" and out["value"] == 1001 and out["reportable"] is True
    assert "appi-business: headcount: now met" in out["changes"]
    assert out["next"] == "identify-recipients"
    # the same value again changes nothing in the assessment
    again = run(f"step {incident_id} count-persons done --value 1001")
    assert again.stdout.splitlines() == ["persons: 1001 → 1001", "The assessment did not change.",
                                         "Now: a report or notice is required."]
    ja = run(f"step {incident_id} count-persons done --value 1001", env={"INCIDENT_LANG": "ja"})
    assert ja.stdout.splitlines() == ["persons: 1001 → 1001", "判定は変わりません。", "現在: 報告・通知が必要です。"]
    assert ja.stderr.splitlines()[0] == f"{incident_id} に記録しました: count-persons 完了。"


def test_key_left_with_an_encrypted_laptop_makes_it_reportable(run: Run) -> None:
    incident_id = _new(run, "encrypted-laptop")
    out = json.loads(run(f"step {incident_id} check-key done --value 病歴 --json").stdout)
    assert out["value"] == ["medical-history"] and out["reportable"] is True
    assert "appi-business: special-care: now met" in out["changes"]
    data = _show(run, incident_id)["data"]
    assert data == [{"item": "medical-history", "encrypted": True, "key_compromised": True},
                    {"item": "name", "encrypted": True}]


def test_list_items_by_japanese_names(run: Run) -> None:
    incident_id = _new(run, "email-cc-36")
    result = run(["step", incident_id, "list-items", "done", "--value", "氏名,メールアドレス,健康診断結果"])
    assert result.stdout.splitlines()[0] == ("items: name,email-address → "
                                             "name,email-address,health-check-results")
    assert "  - appi-business: special-care: now met" in result.stdout.splitlines()


def test_steps_shows_states_and_the_next_step(run: Run) -> None:
    incident_id = _new(run, "email-cc-36")
    run(f"step {incident_id} identify-recipients done --at '2024-06-03 15:20' --note 36名、CC")
    run(f"step {incident_id} recall-message skip --reason 取消し不可")
    out = json.loads(run(f"steps {incident_id} --json").stdout)
    assert out["incident"] == incident_id and out["type"] == "misdirected-email"
    assert out["next"] == "ask-deletion"
    assert out["counts"] == {"done": 1, "skipped": 1, "open": 8}
    assert out["playbook"]["version"] == "2024-04-01" and out["playbook"]["fallback"] is False
    first, second, third = out["steps"][:3]
    assert (first["state"], first["at"], first["actor"], first["note"]) == (
        "done", "2024-06-03T15:20:00+09:00", "tester", "36名、CC")
    assert (second["state"], second["reason"]) == ("skipped", "取消し不可")
    assert (third["state"], third["urgency"], third["urgency_ja"], third["due"]) == (
        "open", "within-1-hour", "1時間以内", "2024-06-03T16:00:00+09:00")
    text = run(f"steps {incident_id}").stdout
    assert f"Response steps: {incident_id} misdirected-email (2 of 10 done or skipped)" in text
    assert "▶ Next: ask-deletion — Ask each recipient to delete it" in text
    assert f"  Record it: incident step {incident_id} ask-deletion done" in text
    assert "reason: 取消し不可" in text
    ja = run(f"steps {incident_id}", env={"INCIDENT_LANG": "ja"}).stdout
    assert f"初動対応: {incident_id} misdirected-email（10手順中2手順が完了または省略）" in ja
    assert "▶ 次の手順: ask-deletion — 受信者に削除を依頼する" in ja
    assert f"  記録: incident step {incident_id} ask-deletion done" in ja
    assert "理由: 取消し不可" in ja and "Ask each recipient" not in ja


def test_the_next_step_shows_its_question_and_value_form(run: Run) -> None:
    incident_id = _new(run, "email-cc-36")
    for step in ("identify-recipients", "recall-message", "ask-deletion", "inform-management"):
        run(f"step {incident_id} {step} done")
    text = run(f"steps {incident_id}", env={"INCIDENT_LANG": "ja"}).stdout
    assert "  ? 含まれていた個人データの項目は何ですか（カンマ区切り。例: 氏名,メールアドレス）" in text
    text = run(f"steps {incident_id}").stdout
    assert (f"  Record it: incident step {incident_id} list-items done --value VALUE   "
            "(data items, comma-separated, e.g. 氏名,メールアドレス)") in text


def test_usage_errors_name_the_flag(run: Run) -> None:
    incident_id = _new(run, "health-check-3")
    missing = run(f"step {incident_id} confirm-unopened done", expect=2)
    assert missing.stderr == ("error: field '--value': step 'confirm-unopened' asks: Did every misdirected letter "
                              "come back before anyone read it (true/false)? Give the answer with --value "
                              "(true or false)\n")
    bad = run(f"step {incident_id} confirm-unopened done --value maybe", expect=2)
    assert bad.stderr.startswith("error: field '--value': recovered: expected true or false, got 'maybe'")
    no_reason = run(f"step {incident_id} resend skip", expect=2)
    assert "--reason TEXT" in no_reason.stderr
    wrong_flag = run(f"step {incident_id} resend done --reason x", expect=2)
    assert wrong_flag.stderr == "error: field '--reason': --reason is for skip; use --note for a remark on a done step\n"
    future = run(f"step {incident_id} resend done --at 2999-01-01", expect=2)
    assert "is in the future" in future.stderr
    unknown = run(f"step {incident_id} phone-home done", expect=2)
    assert "no step 'phone-home' in the misdirected-mail response playbook" in unknown.stderr
    run(f"step {incident_id} resend finished", expect=2)
    assert _show(run, incident_id).get("steps") is None


def test_on_a_terminal_the_step_asks_for_its_value(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    incident_id = _new(run, "health-check-3")
    monkeypatch.setattr("incident.cli.reporting.is_interactive", lambda: True)
    result = run(f"step {incident_id} count-persons done", input="1200\n", env={"INCIDENT_LANG": "ja"})
    assert "影響を受けた本人は何人ですか（不確かなら、おそれのある最大の数）" in result.stdout
    assert "How many" not in result.stdout and "persons: 3 → 1200" in result.stdout
    result = run(f"step {incident_id} count-persons done", input="1200\n")
    assert "How many people are affected (if uncertain, the largest number that may be)? [a whole number] [1200]: 1200" \
        in result.stdout
    assert "persons: 1200 → 1200" in result.stdout
    assert _show(run, incident_id)["persons"] == 1200


def test_a_json_run_never_asks_even_on_a_terminal(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout is one JSON document: no question is written into it, the missing answer is refused."""
    incident_id = _new(run, "health-check-3")
    for module in ("incident.cli.reporting", "incident.cli.steps"):  # a terminal, wherever the command asks
        monkeypatch.setattr(f"{module}.is_interactive", lambda: True, raising=False)
    result = run(f"step {incident_id} count-persons done --json", input="1200\n", expect=2)
    assert result.stdout == "" and "Give the answer with --value" in result.stderr
    assert _show(run, incident_id)["persons"] == 3


def test_show_lists_the_open_steps_until_closed(run: Run, store_dir: Path) -> None:
    incident_id = _new(run, "ransomware-500")
    text = run(f"show {incident_id}").stdout
    # the hint names the store given with --store, so it works as printed
    assert (f"Open response steps (15 of 15, 14 overdue) — `incident --store {store_dir} steps "
            f"{incident_id}` for details:") in text
    assert "(call-experts) overdue" in text
    assert " ▶ [within 1 hour, by " in text
    assert "Take the infected machines and the backups off the network (isolate)" in text
    ja = run(f"show {incident_id}", env={"INCIDENT_LANG": "ja"}).stdout
    assert (f"未了の初動対応（15手順中15手順、14件が期限超過）— 詳細は `incident --store {store_dir} steps "
            f"{incident_id}`:") in ja
    assert "(call-experts) 期限超過" in ja and " ▶ [1時間以内、" in ja
    assert "感染した機器とバックアップをネットワークから切り離す (isolate)" in ja
    assert "   … and 10 more" in text
    run(f"status {incident_id} closed --force --reason テスト")
    assert "response steps" not in run(f"show {incident_id}").stdout


def test_an_organizations_override_shows_in_steps(run: Run, store_dir: Path) -> None:
    override = store_dir / "playbooks" / "response" / "misdirected-mail.toml"
    override.parent.mkdir(parents=True)
    override.write_text("""type = "misdirected-mail"
version = "org-1"

[[steps]]
id = "retrieve"
title_ja = "郵便物を職員2名で回収する"

[[steps]]
id = "call-post-office"
title_ja = "郵便局に連絡する"
title_en = "Call the post office"
do_ja = "配達前なら取戻しを請求する。"
do_en = "Ask for the letter back if not yet delivered."
why_ja = "配達前なら止められる。"
why_en = "It can be stopped before delivery."
who_ja = "所管課"
who_en = "department in charge"
urgency = "within-1-hour"
after = "identify-mail"
""", encoding="utf-8")
    incident_id = _new(run, "health-check-3")
    out = json.loads(run(f"steps {incident_id} --json").stdout)
    ids = [s["id"] for s in out["steps"]]
    assert ids[:3] == ["identify-mail", "call-post-office", "contact-recipient"]
    retrieve = next(s for s in out["steps"] if s["id"] == "retrieve")
    assert retrieve["title_ja"] == "郵便物を職員2名で回収する" and retrieve["title_en"] == "Get the letter back"
    assert out["playbook"]["version"] == "org-1" and out["playbook"]["sources"][-1] == str(override)
    run(f"step {incident_id} call-post-office done")
    override.write_text('type = "misdirected-mail"\nversion = "x"\n[[steps]]\nid = "retrieve"\nurgency = "now"\n',
                        encoding="utf-8")
    broken = run(f"steps {incident_id}", expect=2)
    assert "urgency 'now' is not valid" in broken.stderr
    shown = run(f"show {incident_id}").stdout
    assert "Response steps unavailable:" in shown


def test_demo_shows_the_open_steps(run: Run) -> None:
    text = run("demo").stdout
    assert text.count("Open response steps") == 2
    assert run("demo", env={"INCIDENT_LANG": "ja"}).stdout.count("未了の初動対応") == 2


def test_steps_recorded_before_a_change_of_type_are_still_shown(run: Run) -> None:
    incident_id = _new(run, "health-check-3")
    run(f"step {incident_id} confirm-unopened done --value false --at '2024-06-03 18:00'")
    run(f"set {incident_id} type=loss")
    out = json.loads(run(f"steps {incident_id} --json").stdout)
    assert out["type"] == "loss" and out["next"] == "search"
    assert out["not_in_playbook"] == {"confirm-unopened": {
        "state": "done", "at": "2024-06-03T18:00:00+09:00", "actor": "tester", "note": "", "reason": "",
        "value": False}}
    text = run(f"steps {incident_id}").stdout
    assert "Recorded for a step not in this playbook: confirm-unopened done 2024-06-03 18:00" in text


def test_playbooks_check_validates_response_files(run: Run, store_dir: Path) -> None:
    from incident.followup.response import builtin_path

    assert run(["playbooks", "check", str(builtin_path("ransomware"))]).stdout.endswith(": OK\n")
    path = store_dir / "playbooks" / "response" / "theft.toml"
    path.parent.mkdir(parents=True)
    path.write_text('type = "theft"\nversion = "1"\n\n[[steps]]\nid = "report-police"\nurgency = "asap"\n'
                    'sets = "stolen"\n', encoding="utf-8")
    out = json.loads(run(["playbooks", "check", str(path), "--json"], expect=2).stdout)
    assert [(p["line"], p["field"]) for p in out["problems"]] == [(6, "urgency"), (7, "sets")]


def test_report_bound_steps_are_due_with_the_assessed_report(run: Run) -> None:
    incident_id = _new(run, "health-check-3")
    before = json.loads(run(f"steps {incident_id} --json").stdout)
    assert next(s["due"] for s in before["steps"] if s["id"] == "check-contacts") is None
    run(f"assess {incident_id}")
    after = json.loads(run(f"steps {incident_id} --json").stdout)
    assert next(s["due"] for s in after["steps"] if s["id"] == "check-contacts") == "2024-06-07"


def test_the_steps_actions_and_report_commands_load_nothing_but_click_and_common() -> None:
    import subprocess
    import sys

    code = ("import sys, click, incident.cli.common, incident.cli.reporting; before = set(sys.modules); "
            "import incident.cli.steps, incident.cli.actions, incident.cli.report; "
            "print(sorted(set(sys.modules) - before))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout
    assert loaded == "['incident.cli.actions', 'incident.cli.report', 'incident.cli.steps']\n"


def test_who_does_a_step_is_shown_in_the_runs_language(run: Run) -> None:
    from incident.followup.response import load_response

    incident_id = _new(run, "health-check-3")
    steps = load_response("misdirected-mail").steps
    ja = run(f"steps {incident_id}", env={"INCIDENT_LANG": "ja"}).stdout
    en = run(f"steps {incident_id}").stdout
    assert {s.who_ja for s in steps} <= set(ja.split()) and not [s.who_en for s in steps if s.who_en in ja]
    assert not [s.who_ja for s in steps if s.who_ja in en]
    assert [s.who_en for s in steps if s.who_en in en]
    data = json.loads(run(f"steps {incident_id} --json", env={"INCIDENT_LANG": "ja"}).stdout)
    assert [(s["who_ja"], s["who_en"], s["who"]) for s in data["steps"]] == [
        (s.who_ja, s.who_en, f"{s.who_ja} / {s.who_en}") for s in steps]


def test_a_playbook_gives_who_in_each_language(tmp_path: Path) -> None:
    from incident.followup.response import check_response_file

    path = tmp_path / "response" / "misdirected-mail.toml"
    path.parent.mkdir()
    path.write_text('type = "misdirected-mail"\nversion = "1"\n\n[[steps]]\nid = "ask-return"\n'
                    'who = "所管課 / department in charge"\n', encoding="utf-8")
    assert [(e.line, e.field, e.message) for e in check_response_file(path)] == [
        (6, "who", ("step 'ask-return': who is given in each language: who_ja = \"所管課\" and who_en = "
                    "\"department in charge\""))]
