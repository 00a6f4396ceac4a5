"""Deadline reminders against a real local SMTP server: the right people, one message each, never twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from conftest import INCIDENTS
from smtp_server import SmtpTestServer

from incident.law.vocabulary import open_store
from incident.register.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
FROM = "privacy@example.jp"
PEOPLE = {"privacy-desk": "desk@example.jp", "総務課": "somu@example.jp", "田中": "tanaka@example.jp",
          "佐藤": "sato@example.jp"}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    from incident import dates

    current = {"now": datetime(2024, 6, 5, 9, 0, tzinfo=TOKYO)}
    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": current["now"].astimezone(ZoneInfo(tz)))

    def set_clock(text: str) -> None:
        current["now"] = datetime.fromisoformat(text).replace(tzinfo=TOKYO)

    return set_clock


def configure(store_dir: Path, port: int, people: dict[str, str] = PEOPLE) -> None:
    table = "\n".join(f'"{name}" = "{address}"' for name, address in people.items())
    (store_dir / "config.toml").write_text(
        'organization = "サンプル市"\n\n[smtp]\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\nfrom_addr = "{FROM}"\nfrom_name = "個人情報保護担当"\n\n'
        f"[people]\n{table}\n", encoding="utf-8")


@pytest.fixture
def register(run: Callable[..., Result], store_dir: Path, clock: Any) -> str:
    """A ransomware incident of 総務課 discovered 2024-06-03 (速報 due 06-07) and an action of 田中 due 06-06."""
    configure(store_dir, 25)
    incident = str(json.loads(run(f"new --from {INCIDENTS / 'ransomware-500.toml'} --json").stdout)["id"])
    run(f"action add {incident} --measure バックアップの分離 --owner 田中 --due 2024-06-06")
    return incident


def received(server: SmtpTestServer) -> dict[str, list[str]]:
    """Recipient -> the subjects and bodies of what it received (each message has exactly one recipient)."""
    out: dict[str, list[str]] = {}
    for message in server.received:
        assert len(message.rcpt_tos) == 1 and message.rcpt_commands == 1
        parsed = message.message()
        assert parsed["Cc"] is None and parsed["Bcc"] is None
        body = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        out.setdefault(message.rcpt_tos[0], []).append(f"{parsed['Subject']}\n{body}")
    return out


def test_each_person_gets_one_message_and_never_the_same_reminder_twice(
        run: Callable[..., Result], store_dir: Path, register: str, clock: Callable[[str], None]) -> None:
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        result = run("remind --send")
        got = received(server)
    assert sorted(got) == ["desk@example.jp", "somu@example.jp", "tanaka@example.jp"]
    assert all(len(messages) == 1 for messages in got.values())
    desk = got["desk@example.jp"][0]
    assert "個人情報保護委員会への報告（速報）" in desk and "2024-06-07" in desk and "あと2日" in desk
    assert "確報" not in desk  # 57 days left: no threshold reached yet
    assert "バックアップの分離" in got["tanaka@example.jp"][0] and "あと1日" in got["tanaka@example.jp"][0]
    somu = got["somu@example.jp"][0]
    assert "本人への通知" in somu and "期限の定めなし（速やかに）" in somu and "初動対応" in somu
    assert "Sent 3 reminder message(s)" in result.stderr
    logged = [e for e in open_store(store_dir).audit.entries() if e["action"] == "remind.sent"]
    assert sorted(e["changes"]["to"] for e in logged) == ["privacy-desk", "田中", "総務課"]
    with SmtpTestServer() as server:  # the same day again: nothing new
        configure(store_dir, server.port)
        again = run("remind --send")
        assert server.received == []
    assert "Sent 0 reminder message(s)" in again.stderr
    clock("2024-06-06T09:00")  # the day before the 速報: the 1-day threshold is new; the action's is not
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        run("remind --send")
        got = received(server)
    assert "tanaka@example.jp" not in got and len(got["desk@example.jp"]) == 1
    assert "あと1日" in got["desk@example.jp"][0]
    assert "本人への通知" not in got["somu@example.jp"][0]  # the steps of 3 days are new, the rest was sent


def test_a_reassigned_action_reminds_the_new_owner(run: Callable[..., Result], store_dir: Path, register: str,
                                                   store: Store) -> None:
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        run("remind --send")
        assert "tanaka@example.jp" in received(server)

    run(f"--actor 課長 action assign {register}/A1 --owner 佐藤")
    entry = [e for e in store.audit.entries() if e["action"] == "action.assign"][-1]
    assert entry["changes"]["owner"] == ["田中", "佐藤"]
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        run("remind --send")
        got = received(server)
    assert list(got) == ["sato@example.jp"] and "バックアップの分離" in got["sato@example.jp"][0]


def test_a_dry_run_sends_and_records_nothing(run: Callable[..., Result], store_dir: Path, register: str) -> None:
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        text = run("remind --dry-run").stdout
        data = json.loads(run("remind --json").stdout)
        assert server.received == []
    assert "Dry run: 3 message(s) would be sent" in text and "To: 田中 <tanaka@example.jp>" in text
    assert data["dry_run"] is True and [m["to"] for m in data["messages"]] == ["privacy-desk", "田中", "総務課"]
    action = data["messages"][1]["items"][0]
    assert {k: action[k] for k in ("kind", "incident", "ref", "due", "days_left", "threshold")} == {
        "kind": "action", "incident": register, "ref": "A1", "due": "2024-06-06", "days_left": 1, "threshold": "1"}
    assert not [e for e in open_store(store_dir).audit.entries() if e["action"] == "remind.sent"]
    wide = json.loads(run("remind --json --days 60").stdout)
    assert "appi-business/regulator-final" in [i["ref"] for m in wide["messages"] for i in m["items"]]
    assert run("remind --days soon", expect=2).stderr.startswith("error: field '--days': expected days")


def test_someone_without_an_address_is_named_and_reminded_later(run: Callable[..., Result], store_dir: Path,
                                                                 register: str) -> None:
    without = {k: v for k, v in PEOPLE.items() if k != "田中"}
    with SmtpTestServer() as server:
        configure(store_dir, server.port, without)
        result = run("remind --send", expect=1)
        assert sorted(received(server)) == ["desk@example.jp", "somu@example.jp"]
    assert "not sent to 田中: no address in [people] (`incident people set 田中 ADDRESS`)" in result.stderr
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        run("remind --send")
        assert list(received(server)) == ["tanaka@example.jp"]


def test_people_set_checks_addresses_and_keeps_one_spelling(run: Callable[..., Result], store_dir: Path) -> None:
    run("people set 田中 tanaka@example.jp")
    bad = run("people set 佐藤 'sato@example.jp, boss@example.jp'", expect=2)
    assert bad.stderr.startswith("error: field 'people.佐藤': 'sato@example.jp, boss@example.jp' is not one e-mail")
    run("people set '田中 ' t.tanaka@example.jp")
    assert json.loads(run("people list --json").stdout) == [{"name": "田中", "address": "t.tanaka@example.jp"}]
    run("people set 田中")
    assert json.loads(run("people list --json").stdout) == []
    (store_dir / "config.toml").write_text('[people]\n"総務課" = "not-an-address"\n', encoding="utf-8")
    assert "field 'people.総務課'" in run("people list", expect=2).stderr


def test_a_reminder_speaks_one_language_per_run(run: Callable[..., Result], store_dir: Path, register: str) -> None:
    from incident.followup.response import load_response

    steps = load_response("ransomware").steps
    ja = run("remind --dry-run", env={"INCIDENT_LANG": "ja"}).stdout
    en = run("remind --dry-run").stdout
    shown = [s for s in steps if s.title_ja in ja]
    assert shown and all(s.title_en in en for s in shown)
    assert not [s.title_en for s in steps if s.title_en in ja] and not [s.title_ja for s in steps if s.title_ja in en]
    assert "期限7日前のお知らせ" in ja and "期限の定めなし" in ja and "undated" not in ja
    assert "threshold 7" in en and "threshold undated" in en
    data = json.loads(run("remind --json", env={"INCIDENT_LANG": "ja"}).stdout)
    step_items = [i for m in data["messages"] for i in m["items"] if i["kind"] == "step"]
    by_id = {s.id: s for s in steps}
    assert step_items and all((i["what"], i["what_en"]) == (by_id[i["ref"]].title_ja, by_id[i["ref"]].title_en)
                              for i in step_items)
