"""Purge really removes personal data: leftovers of killed runs and output recorded before it is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_mailmerge import write_csv
from test_notices import make, write_config

from incident.law.vocabulary import open_store
from incident.register.store import Store


@pytest.fixture
def incident(run: Any, store_dir: Path, tmp_path: Path) -> str:
    write_config(store_dir)
    incident_id = make(open_store(store_dir))
    run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}")
    return incident_id


def test_a_killed_imports_temporary_roster_is_cleaned(run: Any, incident: str, store_dir: Path,
                                                      tmp_path: Path) -> None:
    left = store_dir / "rosters" / f".{incident}.roster.k1ll3d.tmp"
    left.write_bytes(b"encrypted people")
    assert json.loads(run("purge --dry-run --json").stdout)["stray"] == [f"rosters/{left.name}"]
    run(f"roster import {incident} {write_csv(tmp_path / 'again.csv')} --replace --reason again", expect=None)
    if left.exists():  # an import that refuses (e.g. no --replace) still cleans before it starts
        pytest.fail("the next import left the killed import's temporary roster")
    left.write_bytes(b"encrypted people")
    run("purge --yes")  # the incident is open: only the leftover goes
    assert not left.exists() and (store_dir / "rosters" / f"{incident}.roster").exists()
    assert [e["action"] for e in open_store(store_dir).audit.entries()][-1] == "purge.stray"


def test_mail_merge_output_is_recorded_before_it_is_written(run: Any, incident: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    from incident.notices import issuing

    out = tmp_path / "letters"

    def killed(*_args: Any, **_kwargs: Any) -> Any:
        out.mkdir(mode=0o700, exist_ok=True)
        (out / "p000001.txt").write_text("山田太郎 様")  # the first letter, then the process dies
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(issuing, "mail_merge", killed)  # the merge as the notice workflow calls it
        run(f"notice {incident} --kind individual-letter --roster --out {out} --draft", expect=130)
    (entry,) = store.load(incident).sections["notices"]
    assert (entry["state"], entry["path"], entry["count"]) == ("writing", str(out.resolve()), 4)
    holdings = json.loads(run("purge --dry-run --json").stdout)["holdings"]
    assert [str(out / "p000001.txt")] == [p for h in holdings for p in h["paths"] if p.startswith(str(out))]
    run(f"notice {incident} --kind individual-letter --roster --out {out} --draft")
    (done,) = store.load(incident).sections["notices"]
    assert done["state"] == "written" and done["sha256"]


def test_purge_says_when_recorded_output_is_gone_or_changed(run: Any, incident: str, tmp_path: Path) -> None:
    out = tmp_path / "letters"
    run(f"notice {incident} --kind individual-letter --roster --out {out} --draft")
    (out / "p000001.txt").unlink()
    notes = [n for h in json.loads(run("purge --dry-run --json").stdout)["holdings"] for n in h["notes"]]
    assert notes == [f"{out.resolve()}: changed since written (3 of 4 per-person files)"]
    for f in out.iterdir():
        f.unlink()
    out.rmdir()
    notes = [n for h in json.loads(run("purge --dry-run --json").stdout)["holdings"] for n in h["notes"]]
    assert len(notes) == 1 and notes[0].startswith(f"{out.resolve()}: gone")
    assert "gone" in run("purge --dry-run").stdout
