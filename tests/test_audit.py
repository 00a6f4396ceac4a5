"""The audit chain on its own: a torn tail is reported, then repaired openly by the next append."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from incident.register.audit import AuditLog

AT = datetime(2024, 6, 3, 15, 0, tzinfo=timezone(timedelta(hours=9)))


def test_torn_tail_is_reported_then_repaired_and_logged(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    for n in range(3):
        log.append(actor="a", action="set", incident="2024-0001", changes={"n": n}, at=AT)
    with open(log.path, "ab") as fh:
        fh.write(b'{"seq":4,"actor":"a","act')
    result = log.verify()
    assert (result.ok, result.line) == (False, 4)
    assert "torn" in result.problem
    log.append(actor="b", action="set", incident="2024-0001", changes={"n": 9}, at=AT)
    after = log.verify()
    assert after.ok and after.entries == 5
    entries = list(log.entries())
    assert [e["action"] for e in entries] == ["set", "set", "set", "audit.repair", "set"]
    assert entries[3]["changes"]["torn_bytes"] == 25
    assert (tmp_path / "audit.torn").read_bytes() == b'{"seq":4,"actor":"a","act\n'


def test_empty_and_missing_logs_verify(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    assert log.verify().ok and log.verify().entries == 0
    log.append(actor="a", action="init", incident=None, changes={}, at=AT)
    assert log.verify().entries == 1


def test_deleting_the_head_file_is_detected(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.append(actor="a", action="init", incident=None, changes={}, at=AT)
    log.head_path.unlink()
    result = log.verify()
    assert not result.ok and "audit.head" in result.problem
