"""Sending closes the notice: the register marks the notice to individuals done once everyone is covered."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from smtp_server import SmtpTestServer
from test_mailmerge import PEOPLE, write_csv
from test_notices import make
from test_send_cli import configure

from incident import dates
from incident.law.vocabulary import open_store

WITH_EMAIL = [p for p in PEOPLE if p[1]]


@pytest.fixture
def reportable(store_dir: Path) -> str:
    """1,200 e-mail addresses leaked: the notice to individuals is due; response_to_individuals not written."""
    configure(store_dir, 25)
    return make(open_store(store_dir), persons=1200, response_to_individuals=None)


def send_all(run: Any, store_dir: Path, incident: str) -> dict[str, Any]:
    run(f"send {incident} --prepare --actor alice")
    run(f"send {incident} --approve --actor bob")
    with SmtpTestServer() as server:
        configure(store_dir, server.port)
        result = run(f"send {incident} --actor alice")
        assert len(server.received) == len(WITH_EMAIL) or server.received
    return {"stderr": result.stderr}


def notice_entry(store_dir: Path, incident: str) -> dict[str, Any]:
    return dict(open_store(store_dir).load(incident).sections["obligations"]["appi-business"]["individual-notice"])


def today_ja() -> str:
    return dates.era_date(dates.now().date())


def test_sending_to_everyone_marks_the_notice_done(run: Any, store_dir: Path, tmp_path: Path,
                                                   reportable: str) -> None:
    run(f"roster import {reportable} {write_csv(tmp_path / 'r.csv', WITH_EMAIL)}")
    sent = send_all(run, store_dir, reportable)
    assert "Marked appi-business/individual-notice done (3 people by email, " in sent["stderr"]
    entry = notice_entry(store_dir, reportable)
    assert {k: entry[k] for k in ("method", "count", "email", "letters", "source")} == {
        "method": "email", "count": 3, "email": 3, "letters": 0, "source": "send"}
    record = open_store(store_dir).load(reportable)
    assert record.get("response_to_individuals") == f"{today_ja()}までに、本人3名に電子メールで通知した。"
    assert "individual-notice" not in [r["obligation"] for r in json.loads(run("deadlines --json").stdout)
                                       if r["incident"] == reportable]
    [entry_log] = [e for e in open_store(store_dir).audit.entries() if e["action"] == "notice.complete"]
    assert entry_log["changes"]["obligations"] == ["appi-business/individual-notice"]
    assert entry_log["actor"] == "alice"


def test_the_remainder_handed_to_letters_completes_it(run: Any, store_dir: Path, tmp_path: Path,
                                                      reportable: str) -> None:
    run(f"roster import {reportable} {write_csv(tmp_path / 'r.csv')}")
    sent = send_all(run, store_dir, reportable)
    assert "1 people without an e-mail address still need a letter" in sent["stderr"]
    assert "obligations" not in open_store(store_dir).load(reportable).sections
    none = run(f"notice {reportable} --mark-mailed --at 2024-07-01", expect=2)
    assert "no letter print run of" in none.stderr
    run(f"notice {reportable} --kind individual-letter --roster --out {tmp_path / 'letters'}")
    future = run(f"notice {reportable} --mark-mailed --at 2999-01-01", expect=2)
    assert "is in the future" in future.stderr
    today = dates.now().date().isoformat()
    mailed = run(f"notice {reportable} --mark-mailed --at {today}")
    assert "Marked 4 individual-letter letter(s)" in mailed.stderr
    assert "Marked appi-business/individual-notice done (4 people by both)" in mailed.stderr
    entry = notice_entry(store_dir, reportable)
    assert {k: entry[k] for k in ("method", "count", "email", "letters", "source")} == {
        "method": "both", "count": 4, "email": 3, "letters": 4, "source": "mark-mailed"}
    record = open_store(store_dir).load(reportable)
    assert record.get("response_to_individuals") == f"{today_ja()}までに、本人4名に電子メール及び書面（郵送）で通知した。"
    again = run(f"notice {reportable} --mark-mailed --at {today}", expect=2)
    assert "was marked mailed on" in again.stderr


def test_the_officers_own_words_and_marks_are_kept(run: Any, store_dir: Path, tmp_path: Path,
                                                   reportable: str) -> None:
    run(f"set {reportable} response_to_individuals=電話と書面でお詫びした")
    run(f"roster import {reportable} {write_csv(tmp_path / 'r.csv', WITH_EMAIL)}")
    send_all(run, store_dir, reportable)
    assert open_store(store_dir).load(reportable).get("response_to_individuals") == "電話と書面でお詫びした"
    assert notice_entry(store_dir, reportable)["source"] == "send"
    other = make(open_store(store_dir), persons=1200, response_to_individuals=None)
    run(f"done {other} individual-notice --at 2024-06-05 --ref 手交")
    run(f"roster import {other} {write_csv(tmp_path / 'r.csv', WITH_EMAIL)}")
    send_all(run, store_dir, other)
    assert notice_entry(store_dir, other) == {"done_at": notice_entry(store_dir, other)["done_at"], "ref": "手交"}
    assert open_store(store_dir).load(other).get("response_to_individuals") is None


def test_a_roster_notices_were_made_from_is_not_replaced_silently(run: Any, store_dir: Path, tmp_path: Path,
                                                                   reportable: str) -> None:
    csv = write_csv(tmp_path / "r.csv", WITH_EMAIL)
    run(f"roster import {reportable} {csv}")
    run(f"roster import {reportable} {csv}")  # nothing made from it yet: a corrected list replaces it
    run(f"send {reportable} --prepare --actor alice")
    old = hashlib.sha256((store_dir / "rosters" / f"{reportable}.roster").read_bytes()).hexdigest()
    refused = run(f"roster import {reportable} {csv}", expect=2)
    assert refused.stderr == (f"error: {reportable} already has a roster and an e-mail batch of 3 was prepared "
                              "from it (prepared); replace it with --replace --reason TEXT (the old roster's hash "
                              "is logged)\n")
    assert hashlib.sha256((store_dir / "rosters" / f"{reportable}.roster").read_bytes()).hexdigest() == old
    assert run(f"roster import {reportable} {csv} --replace", expect=2).stderr.startswith(
        "error: field '--reason': --replace needs --reason TEXT")
    run(f"roster import {reportable} {csv} --replace --reason 住所の誤りを訂正")
    last = [e for e in open_store(store_dir).audit.entries() if e["action"] == "roster-import"][-1]
    assert (last["changes"]["replaced_sha256"], last["changes"]["reason"]) == (old, "住所の誤りを訂正")
