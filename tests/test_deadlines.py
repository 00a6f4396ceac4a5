"""Due dates by deadline kind, open obligations across incidents, and the iCalendar export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from incident.law.deadlines import DEADLINE_KINDS, compute_due, open_obligations, to_ics
from incident.law.rules import assess
from incident.law.vocabulary import load_vocabulary
from incident.register.record import from_mapping

JST = timezone(timedelta(hours=9))
FINAL = {"days": 30, "days_if": {"condition": "malicious", "days": 60}, "roll_forward": True}


@pytest.mark.parametrize(("learned", "malicious", "due", "rolled"), [
    (date(2024, 6, 3), False, "2024-07-02", ()),
    (date(2024, 10, 4), False, "2024-11-05", ("2024-11-02 土曜日", "2024-11-03 文化の日", "2024-11-04 文化の日 振替休日")),
    (date(2023, 12, 1), False, "2024-01-04", ("2023-12-30 年末年始 (12/29–1/3)", "2023-12-31 年末年始 (12/29–1/3)",
                                              "2024-01-01 元日", "2024-01-02 年末年始 (12/29–1/3)",
                                              "2024-01-03 年末年始 (12/29–1/3)")),
    (date(2023, 12, 10), False, "2024-01-09", ("2024-01-08 成人の日",)),
    (date(2024, 4, 5), False, "2024-05-07", ("2024-05-04 みどりの日", "2024-05-05 こどもの日",
                                             "2024-05-06 こどもの日 振替休日")),
    (date(2024, 6, 3), True, "2024-08-01", ()),
    (date(2025, 12, 1), False, "2026-01-05", ("2025-12-30 年末年始 (12/29–1/3)", "2025-12-31 年末年始 (12/29–1/3)",
                                              "2026-01-01 元日", "2026-01-02 年末年始 (12/29–1/3)",
                                              "2026-01-03 年末年始 (12/29–1/3)", "2026-01-04 日曜日")),
])
def test_day_count(learned: date, malicious: bool, due: str, rolled: tuple[str, ...]) -> None:
    result = compute_due("day-count", FINAL, met={"malicious": malicious}, learned=learned, discovered=None)
    assert result.due == due and result.rolled_past == rolled and result.soft is False
    assert result.days == (60 if malicious else 30)
    assert result.day_n == (learned + timedelta(days=59 if malicious else 29)).isoformat()


def test_day_count_without_rolling() -> None:
    result = compute_due("day-count", {"days": 30, "roll_forward": False}, met={}, learned=date(2024, 10, 4),
                         discovered=None)
    assert result.due == "2024-11-02" and result.rolled_past == ()


def test_soft_target_day_5_is_not_moved() -> None:
    result = compute_due("soft-target", {"day": 5}, met={}, learned=date(2024, 12, 27), discovered=None)
    assert (result.due, result.soft) == ("2024-12-31", True)


@pytest.mark.parametrize(("discovered", "due"), [
    (datetime(2024, 6, 3, 15, 0, tzinfo=JST), "2024-06-06T15:00:00+09:00"),
    (datetime(2024, 10, 3, 20, 0, tzinfo=UTC), "2024-10-06T20:00:00+00:00"),
    (datetime(2024, 10, 26, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2024-10-29T12:00:00+02:00"),
])
def test_hours_keep_the_offset(discovered: datetime, due: str) -> None:
    result = compute_due("hours", {"hours": 72}, met={}, learned=None, discovered=discovered)
    assert result.due == due and result.hours == 72


def test_hours_across_a_dst_change_are_exact() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 10, 26, 12, 0, tzinfo=berlin)  # CEST; the clocks go back on 10-27
    result = compute_due("hours", {"hours": 72}, met={}, learned=None, discovered=start)
    assert result.due == "2024-10-29T11:00:00+01:00"
    assert datetime.fromisoformat(result.due) - start == timedelta(hours=72)


def test_none_has_no_date_and_unknown_kind_is_an_error() -> None:
    assert compute_due("none", {}, met={}, learned=date(2024, 1, 1), discovered=None).due is None
    with pytest.raises(KeyError, match="unknown deadline kind 'weeks'"):
        compute_due("weeks", {}, met={}, learned=None, discovered=None)
    assert set(DEADLINE_KINDS) == {"day-count", "soft-target", "hours", "none"}


# --------------------------------------------------------------------------- open obligations


def _assessment(discovered: datetime, **facts: Any) -> dict[str, Any]:
    raw = {"title": "t", "entity": "business", "type": "loss", "persons": 1, "discovered_at": discovered,
           "data": [{"item": "medical-history"}], **facts}
    return assess(from_mapping(raw, vocab=load_vocabulary())).to_json(None)


def test_open_obligations_soonest_first_with_days_left() -> None:
    a = _assessment(datetime(2024, 6, 3, 10, tzinfo=JST))
    b = _assessment(datetime(2024, 6, 10, 10, tzinfo=JST), subject_countries=["DE"], risk_level="risk")
    done = {"appi-business": {"regulator-preliminary": {"done_at": "2024-06-05T10:00:00+09:00", "ref": "R-1"}}}
    rows = open_obligations([("2024-0001", "A", a, done), ("2024-0002", "B", b, {})], today=date(2024, 6, 12))
    assert [(o.incident, o.regime, o.id, o.days_left, o.overdue) for o in rows] == [
        ("2024-0002", "gdpr", "supervisory-authority", 1, False),
        ("2024-0002", "appi-business", "regulator-preliminary", 2, False),
        ("2024-0001", "appi-business", "regulator-final", 20, False),
        ("2024-0002", "appi-business", "regulator-final", 27, False),
        ("2024-0001", "appi-business", "individual-notice", None, False),
        ("2024-0002", "appi-business", "individual-notice", None, False),
    ]
    assert rows[0].to_json() == {
        "incident": "2024-0002", "title": "B", "regime": "gdpr", "obligation": "supervisory-authority",
        "label": "監督機関への通知", "recipient": "監督機関（主監督機関）", "due": "2024-06-13T10:00:00+09:00",
        "soft": False, "days_left": 1, "overdue": False}


def test_overdue_by_date_and_by_instant() -> None:
    a = _assessment(datetime(2024, 6, 3, 10, tzinfo=JST), subject_countries=["DE"], risk_level="high")
    rows = open_obligations([("2024-0001", "A", a, {})], today=date(2024, 7, 3),
                            now=datetime(2024, 7, 3, 9, tzinfo=JST))
    state = {o.id: (o.days_left, o.overdue) for o in rows}
    assert state["regulator-final"] == (-1, True)
    assert state["regulator-preliminary"] == (-26, True)
    assert state["supervisory-authority"] == (-27, True)
    assert state["data-subjects"] == (None, False)


def _due(regime: str, obligation: str, due: str | None) -> dict[str, Any]:
    return {"regime": regime, "obligations": [{"id": obligation, "label": obligation, "recipient": "r", "due": due,
                                               "soft": False}]}


def test_open_obligations_order_dates_and_instants_by_moment_and_read_a_generator() -> None:
    """A date sorts at the start of its day in UTC terms: before a later instant, after an earlier one."""
    consumed: list[str] = []

    def items() -> Any:
        for incident, regime, obligation, due in [
                ("2024-0001", "gdpr", "supervisory-authority", "2024-06-13T10:00:00+09:00"),
                ("2024-0002", "appi-business", "regulator-final", "2024-06-13"),
                ("2024-0003", "gdpr", "supervisory-authority", "2024-06-13T00:30:00+09:00"),
                ("2024-0004", "council", "individual-notice", None),
                ("2024-0005", "appi-business", "regulator-final", "2024-06-13")]:
            consumed.append(incident)
            yield incident, "", {"assessments": [_due(regime, obligation, due)]}, {}

    rows = open_obligations(items(), today=date(2024, 6, 12))
    assert consumed == ["2024-0001", "2024-0002", "2024-0003", "2024-0004", "2024-0005"]
    assert [(o.incident, o.days_left) for o in rows] == [
        ("2024-0003", 1), ("2024-0002", 1), ("2024-0005", 1), ("2024-0001", 1), ("2024-0004", None)]
    assert rows[0].due == datetime(2024, 6, 13, 0, 30, tzinfo=JST) and rows[1].due == date(2024, 6, 13)


# --------------------------------------------------------------------------- iCalendar


def test_ics_has_an_event_with_alarms_per_dated_obligation() -> None:
    a = _assessment(datetime(2024, 6, 3, 10, tzinfo=JST), subject_countries=["DE"], risk_level="risk")
    rows = open_obligations([("2024-0001", "A", a, {})], today=date(2024, 6, 3))
    stamp = datetime(2024, 6, 3, tzinfo=UTC)
    data = to_ics(rows, stamp=stamp)
    assert data == to_ics(rows, stamp=stamp)  # deterministic
    cal = Calendar.from_ical(data)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 3  # individual-notice has no date
    starts = {str(e["uid"]).split("-", 2)[2].rsplit("-", 1)[0]: e.decoded("dtstart") for e in events}
    assert starts == {"appi-business-regulator-preliminary": date(2024, 6, 7),
                      "appi-business-regulator-final": date(2024, 7, 2),
                      "gdpr-supervisory-authority": datetime(2024, 6, 6, 1, tzinfo=UTC)}
    for event in events:
        alarms = event.walk("VALARM")
        assert len(alarms) == 2
        assert str(event["uid"]).endswith("@incident")
    summaries = sorted(str(e["summary"]) for e in events)
    assert summaries[0] == "[2024-0001] 個人情報保護委員会への報告（確報） (期限) — 個人情報保護委員会"


# --------------------------------------------------------------------------- deadlines and done commands


def test_deadlines_and_done_commands(run: Any, store: Any, tmp_path: Any) -> None:
    import json

    from conftest import INCIDENTS

    first = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--json"]).stdout)["id"]
    json.loads(run(["new", "--from", str(INCIDENTS / "email-cc-36.toml"), "--json"]).stdout)
    ics = tmp_path / "d.ics"
    rows = json.loads(run(["deadlines", "--json", "--ics", str(ics)]).stdout)
    assert [(r["incident"], r["obligation"], r["due"], r["overdue"]) for r in rows] == [
        (first, "regulator-preliminary", "2024-06-07", True),
        (first, "regulator-final", "2024-08-01", True),
        (first, "individual-notice", None, False)]
    assert len(Calendar.from_ical(ics.read_bytes()).walk("VEVENT")) == 2
    out = run("deadlines").stdout
    assert "2024-08-01 (木)" in out and "overdue" in out
    run(["done", first, "regulator-final", "--at", "2024-07-30 10:00", "--ref", "R6-123"])
    done = store.load(first).sections["obligations"]["appi-business"]["regulator-final"]
    assert done["ref"] == "R6-123" and done["done_at"] == datetime(2024, 7, 30, 10, tzinfo=JST)
    rows = json.loads(run("deadlines --json").stdout)
    assert [r["obligation"] for r in rows] == ["regulator-preliminary", "individual-notice"]
    assert [e["action"] for e in store.audit.entries()][-1] == "done"
    missing = run(["done", first, "data-subjects"], expect=2)
    assert "has no obligation 'data-subjects'" in missing.stderr


def test_done_asks_which_regime_when_ambiguous(run: Any, tmp_path: Path) -> None:
    import json

    from conftest import INCIDENTS

    raw = (INCIDENTS / "mynumber-150.toml").read_text(encoding="utf-8").replace("persons = 150", "persons = 1500")
    file = tmp_path / "r.toml"
    file.write_text(raw, encoding="utf-8")
    incident_id = json.loads(run(["new", "--from", str(file), "--json"]).stdout)["id"]
    result = run(["done", incident_id, "regulator-final"], expect=2)
    assert "name one of: appi-business/regulator-final, mynumber/regulator-final" in result.stderr
    run(["done", incident_id, "mynumber/regulator-final"])
    rows = json.loads(run("deadlines --json").stdout)
    assert ("appi-business", "regulator-final") in [(r["regime"], r["obligation"]) for r in rows]
    assert ("mynumber", "regulator-final") not in [(r["regime"], r["obligation"]) for r in rows]


def test_deadlines_never_render_a_reason(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`incident deadlines` reads only the obligations of each assessment (the reasons are not formatted)."""
    import json

    from conftest import INCIDENTS

    import incident.law.assessment

    incident_id = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--json"]).stdout)["id"]

    def refuse(*args: Any) -> str:
        raise AssertionError("a reason was rendered")

    monkeypatch.setattr(incident.law.assessment, "_reason", refuse)
    rows = json.loads(run("deadlines --json").stdout)
    assert [(r["incident"], r["obligation"], r["due"]) for r in rows] == [
        (incident_id, "regulator-preliminary", "2024-06-07"), (incident_id, "regulator-final", "2024-08-01"),
        (incident_id, "individual-notice", None)]


def test_the_closed_day_test_agrees_with_the_reason_every_day_2024_to_2026() -> None:
    """is_closed_day answers weekends and the year end without the holiday library: the same answer."""
    from incident.law.workdays import closed_day_reason, is_closed_day

    day = date(2024, 1, 1)
    while day < date(2027, 1, 1):
        assert is_closed_day(day) is (closed_day_reason(day) is not None), day
        day += timedelta(days=1)


# --------------------------------------------------------------------------- follow-through


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the toolkit's clock: clock("2024-06-03T17:00") (Tokyo time)."""
    from zoneinfo import ZoneInfo

    from incident import dates

    current = {"now": datetime(2024, 7, 15, 10, 0, tzinfo=JST)}
    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": current["now"].astimezone(ZoneInfo(tz)))

    def set_clock(text: str) -> None:
        current["now"] = datetime.fromisoformat(text).replace(tzinfo=JST)

    return set_clock


def test_a_second_done_never_drops_the_receipt_number(run: Any, store: Any, clock: Any) -> None:
    import json

    from conftest import INCIDENTS

    first = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--json"]).stdout)["id"]
    run(["done", first, "regulator-final", "--at", "2024-07-01 10:00", "--ref", "R6-123"])
    again = run(["done", first, "regulator-final", "--at", "2024-07-02"], expect=2)
    assert again.stderr == (f"error: appi-business/regulator-final of {first} is already done "
                            "(2024-07-01T10:00:00+09:00, ref R6-123); change it with --replace\n")
    run(["done", first, "regulator-final", "--at", "2024-07-02", "--replace"])
    done = store.load(first).sections["obligations"]["appi-business"]["regulator-final"]
    assert done == {"done_at": datetime(2024, 7, 2, tzinfo=JST), "ref": "R6-123"}
    run(["done", first, "regulator-final", "--at", "2024-07-02", "--ref", "R6-124", "--replace"])
    assert store.load(first).sections["obligations"]["appi-business"]["regulator-final"]["ref"] == "R6-124"
    entries = [e for e in store.audit.entries() if e["action"] == "done"]
    assert [(e["changes"]["ref"], e["changes"].get("replace")) for e in entries] == [
        ("R6-123", None), ("R6-123", True), ("R6-124", True)]


def test_done_at_cannot_be_in_the_future(run: Any, store: Any, clock: Any) -> None:
    import json

    from conftest import INCIDENTS

    first = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--json"]).stdout)["id"]
    late = run(["done", first, "regulator-final", "--at", "2024-07-16"], expect=2)
    assert late.stderr == ("error: field '--at': 2024-07-16T00:00:00+09:00 is in the future; record an obligation "
                           "when it is done\n")
    assert "obligations" not in store.load(first).sections
    run(["done", first, "regulator-final", "--at", "2024-07-15 10:05"])  # within the clock allowance


def test_overdue_steps_are_marked_in_steps_and_deadlines(run: Any, clock: Any) -> None:
    import json

    from conftest import INCIDENTS

    clock("2024-06-03T15:30")  # discovered 15:00: the 1-hour steps are due at 16:00
    first = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--json"]).stdout)["id"]
    steps = json.loads(run(f"steps {first} --json").stdout)["steps"]
    assert not any(s["overdue"] for s in steps)
    assert "overdue" not in run(f"steps {first}").stdout
    assert "Overdue response steps" not in run("deadlines").stdout
    clock("2024-06-03T16:01")
    steps = json.loads(run(f"steps {first} --json").stdout)["steps"]
    assert [s["id"] for s in steps if s["overdue"]] == [s["id"] for s in steps if s["urgency"] == "within-1-hour"]
    run(f"step {first} isolate done")
    steps = json.loads(run(f"steps {first} --json").stdout)["steps"]
    assert "isolate" not in [s["id"] for s in steps if s["overdue"]]
    assert "overdue" in run(f"steps {first}").stdout
    assert "期限超過" in run(f"steps {first}", env={"INCIDENT_LANG": "ja"}).stdout
    text = run("deadlines").stdout
    assert "Overdue response steps (2)" in text and "preserve-evidence" in text and "isolate" not in text
    clock("2024-06-04T00:00")  # the day after: the same-day steps are late too
    today = [s["id"] for s in json.loads(run(f"steps {first} --json").stdout)["steps"] if s["urgency"] == "today"]
    assert set(today) <= {s["id"] for s in json.loads(run(f"steps {first} --json").stdout)["steps"] if s["overdue"]}


def test_a_calendar_per_department(run: Any, tmp_path: Path) -> None:
    import json

    from conftest import INCIDENTS

    ransomware = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--json"]).stdout)["id"]
    other = json.loads(run(["new", "--from", str(INCIDENTS / "ransomware-500.toml"), "--department", "営業部",
                            "--json"]).stdout)["id"]
    ics = tmp_path / "sales.ics"
    rows = json.loads(run(["deadlines", "--ics", str(ics), "--department", "営業部", "--json"]).stdout)
    assert {r["incident"] for r in rows} == {other}
    calendar = Calendar.from_ical(ics.read_bytes())
    assert str(calendar["x-wr-calname"]) == "incident deadlines — 営業部"
    assert {str(e["summary"])[1:10] for e in calendar.walk("VEVENT")} == {other}
    assert ransomware != other
    unknown = run(["deadlines", "--department", "経理部"], expect=2)
    assert unknown.stderr.startswith("error: field '--department': no incident or [people] entry names the "
                                     "department '経理部'; known: ")
