"""Tamper evidence that holds: the chain is bound to the store's key, records are checked against their last
audited state, a change and its entry survive a crash together, anchors can be filed elsewhere."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import Result

from incident.register.audit import AuditLog, entry_hash
from incident.register.store import INTENT, Store

Run = Callable[..., Result]
AT = datetime(2024, 6, 3, 15, 0, tzinfo=timezone(timedelta(hours=9)))


def _setup(run: Run) -> str:
    incident = run("new --title t --type misdirected-email --discovered-at 2024-06-03 --persons 3").stdout.strip()
    run(f"set {incident} persons=4")
    run(f"log {incident} 電話で連絡")
    run("audit verify")
    return incident


def _failed(run: Run) -> str:
    return str(run("audit verify", expect=1).stdout)


def _lines(store_dir: Path) -> list[str]:
    return (store_dir / "audit.log").read_text().splitlines(keepends=True)


def test_deleting_both_audit_files_is_detected(run: Run, store_dir: Path) -> None:
    _setup(run)
    (store_dir / "audit.log").unlink()
    (store_dir / "audit.head").unlink()
    assert "has no audit entry" in _failed(run) or "holds no entry made with it" in _failed(run)


def test_removing_the_last_entry_and_rewriting_the_head_is_detected(run: Run, store_dir: Path) -> None:
    _setup(run)
    lines = _lines(store_dir)
    before = json.loads(lines[-2])
    (store_dir / "audit.log").write_text("".join(lines[:-1]))
    (store_dir / "audit.head").write_text(json.dumps({"seq": before["seq"], "hash": before["hash"]}))
    assert "audit.head is not the toolkit's" in _failed(run)


def test_removing_the_last_entry_with_an_old_signed_head_is_detected(run: Run, store_dir: Path) -> None:
    incident = _setup(run)
    old_head = (store_dir / "audit.head").read_text()
    old_lines = _lines(store_dir)
    run(f"set {incident} persons=5")
    (store_dir / "audit.log").write_text("".join(old_lines))
    (store_dir / "audit.head").write_text(old_head)
    assert f"incident {incident} does not match its last audited state" in _failed(run)


def test_a_recomputed_chain_is_detected(run: Run, store_dir: Path) -> None:
    _setup(run)
    prev = "0" * 64
    out = []
    for line in _lines(store_dir):
        entry = json.loads(line)
        if entry["action"] == "set":
            entry["actor"] = "someone-else"
        entry.pop("v", None)  # without the key, only a plain hash can be recomputed
        entry["prev"] = prev
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
        out.append(json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
    (store_dir / "audit.log").write_text("".join(out))
    (store_dir / "audit.head").write_text(json.dumps({"seq": len(out), "hash": prev}))
    assert "holds no entry made with it" in _failed(run)


def test_an_entry_rehashed_with_a_guessed_key_is_detected(run: Run, store_dir: Path) -> None:
    _setup(run)
    lines = _lines(store_dir)
    entry = json.loads(lines[1])
    entry["changes"]["persons"] = [3, 400]
    entry["hash"] = entry_hash(entry, b"\x00" * 32)
    lines[1] = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    (store_dir / "audit.log").write_text("".join(lines))
    assert "line 2" in _failed(run)


def test_a_hand_edited_record_is_detected(run: Run, store: Store) -> None:
    incident = _setup(run)
    path = store.path_of(incident)
    path.write_text(path.read_text().replace("persons = 4", "persons = 40"))
    assert f"incident {incident} does not match its last audited state" in _failed(run)


def test_a_record_restored_from_elsewhere_without_an_entry_is_detected(run: Run, store: Store) -> None:
    incident = _setup(run)
    copy = store.path_of(incident).read_text().replace(incident, "2024-0099")
    store.path_of("2024-0099").write_text(copy)
    assert "incident 2024-0099 has no audit entry" in _failed(run)


def test_a_laundered_torn_line_stays_a_failure(run: Run, store_dir: Path) -> None:
    incident = _setup(run)
    lines = _lines(store_dir)
    (store_dir / "audit.log").write_text("".join(lines[:-1]) + lines[-1][:40])  # the head still counts it
    run(f"log {incident} 次の記録")  # moves the "torn" line aside and logs the repair
    assert "made to look like a torn write" in _failed(run)


def test_a_real_torn_write_is_repaired_openly(run: Run, store_dir: Path) -> None:
    incident = _setup(run)
    with open(store_dir / "audit.log", "a") as fh:
        fh.write('{"seq":4,"actor":"a"')  # a crash in the middle of an append: the head was not moved yet
    assert "torn" in _failed(run)
    run(f"log {incident} 次の記録")
    run("audit verify")
    actions = [json.loads(line)["action"] for line in _lines(store_dir)]
    assert actions[-2:] == ["audit.repair", "log"]


def test_a_change_written_but_not_logged_is_logged_at_the_next_start(run: Run, store: Store,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    incident = _setup(run)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies between the record and its entry

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(store.audit, "append", killed)
        store.update(incident, lambda r: r.with_facts(persons=7), actor="clerk", action="set")
    assert (store.root / INTENT).exists() and "persons = 7" in store.path_of(incident).read_text()
    run("audit verify")  # reconciles first
    last = json.loads(_lines(store.root)[-1])
    assert (last["action"], last["actor"], last["changes"]["persons"]) == ("set", "clerk", [4, 7])
    assert last["changes"]["logged_after_interruption"] is True
    assert not (store.root / INTENT).exists()


def test_an_intent_whose_record_was_never_written_is_dropped(run: Run, store: Store,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    incident = _setup(run)
    entries = len(_lines(store.root))
    import incident.register.store as store_module

    real = store_module.atomic_write_bytes

    def die_on_record(path: Path, data: bytes, **kwargs: object) -> None:
        if path.suffix == ".toml":
            raise KeyboardInterrupt
        real(path, data)

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(store_module, "atomic_write_bytes", die_on_record)
        store.update(incident, lambda r: r.with_facts(persons=9), actor="clerk", action="set")
    run("audit verify")
    assert len(_lines(store.root)) == entries and not (store.root / INTENT).exists()


def test_anchor_is_printed_and_checked(run: Run, store_dir: Path) -> None:
    incident = _setup(run)
    anchor = run("audit anchor").stdout.strip()
    seq, digest = anchor.split(":")
    assert int(seq) == 3 and len(digest) == 64
    run(f"log {incident} more")
    run(f"audit verify --anchor {anchor}")
    assert "the anchor" in run("audit verify --anchor 3:" + "ab" * 32, expect=1).stdout


def test_a_store_from_before_keys_is_upgraded_and_says_so(run: Run, store: Store, store_dir: Path) -> None:
    legacy = AuditLog(store_dir / "audit.log")  # the unkeyed chain earlier versions wrote
    legacy.append(actor="a", action="init", incident=None, changes={}, at=AT)
    path = store.path_of("2024-0001")
    path.parent.mkdir(exist_ok=True)
    path.write_text('schema = 1\nid = "2024-0001"\nstatus = "open"\ntitle = "t"\nentity = "business"\n'
                    'type = "misdirected-email"\ndiscovered_at = 2024-06-03T00:00:00+09:00\n'
                    'created_at = 2024-06-03T00:00:00+09:00\n')
    legacy.append(actor="a", action="create", incident="2024-0001", changes={}, at=AT)
    assert "not yet bound to a key" in run("audit verify").stdout
    run("log 2024-0001 upgraded")
    entries = [json.loads(line) for line in _lines(store_dir)]
    upgrade = entries[2]
    assert upgrade["action"] == "audit.upgrade" and upgrade["changes"]["legacy_entries"] == 2
    assert upgrade["changes"]["records"]["2024-0001"] == hashlib.sha256(
        path.read_bytes()).hexdigest() or entries[3]["record_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "bound to the store's key" in run("audit verify").stdout
    path.write_text(path.read_text().replace('title = "t"', 'title = "x"'))
    assert "does not match its last audited state" in _failed(run)


def test_a_missing_key_is_reported(run: Run, tmp_path: Path) -> None:
    _setup(run)
    for key in (tmp_path / "keys").glob("audit-*.key"):
        key.unlink()
    assert "audit key" in _failed(run)
