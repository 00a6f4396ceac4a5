"""A store's keys are named after its own id (`store-id`), not its path: a store that is moved, or copied
back from a backup, keeps its audit key and roster key; a store whose keys were named after its path gets an
id and its keys filed under it the first time it is opened where it was."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from conftest import INCIDENTS, MemoryKeyring, cli_at

from incident.cli import cli
from incident.law.vocabulary import open_store


def _new_store(path: Path) -> str:
    cli_at(path, "init")
    incident = cli_at(path, "new", "--from", str(INCIDENTS / "email-cc-36.toml")).stdout.strip()
    cli_at(path, "log", incident, "初動対応")
    return incident


def _verified(store: Path) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["--store", str(store), "audit", "verify", "--json"])
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_a_moved_store_keeps_its_audit_key(tmp_path: Path) -> None:
    _new_store(tmp_path / "here")
    before = _verified(tmp_path / "here")
    store_id = (tmp_path / "here" / "store-id").read_text().strip()
    assert len(store_id) == 36 and (tmp_path / "here" / "store-id").stat().st_mode & 0o077 == 0
    shutil.move(tmp_path / "here", tmp_path / "there")
    verified = _verified(tmp_path / "there")
    assert verified["ok"] and verified["entries"] == before["entries"] == 3 and verified["keyed"]
    assert (tmp_path / "there" / "store-id").read_text().strip() == store_id
    assert len(list((tmp_path / "keys").glob("audit-*.key"))) == 1  # no second key was made


def test_a_store_keyed_by_its_path_is_filed_under_its_id(tmp_path: Path) -> None:
    store = tmp_path / "old"
    _new_store(store)
    # as a store written before ids: no store-id, its audit key named after its path
    (store / "store-id").unlink()
    keys = list((tmp_path / "keys").glob("audit-*.key"))
    assert len(keys) == 1
    by_path = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16]
    keys[0].rename(keys[0].with_name(f"audit-{by_path}.key"))
    assert _verified(store)["ok"]  # opened where it was: the path-named key is found ...
    assert len(list((tmp_path / "keys").glob("audit-*.key"))) == 2  # ... and filed under the new id
    shutil.move(store, tmp_path / "moved")
    assert _verified(tmp_path / "moved")["ok"]


def test_the_roster_key_in_the_keyring_follows_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENT_KEY_FILE")
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    store = tmp_path / "s"
    cli_at(store, "init")
    key = open_store(store).roster_key()
    store_id = (store / "store-id").read_text().strip()
    assert ("incident", f"roster-key:store:{store_id}") in backend.entries
    shutil.move(store, tmp_path / "t")
    assert open_store(tmp_path / "t").roster_key() == key
    # a roster key named after the path (before ids) is found where the store was and filed under its id
    legacy = tmp_path / "legacy"
    cli_at(legacy, "init")
    (legacy / "store-id").unlink()
    zeros = "A" * 43 + "="
    backend.entries[("incident", f"roster-key:{legacy.resolve()}")] = zeros
    assert open_store(legacy).roster_key() == bytes(32)
    legacy_id = (legacy / "store-id").read_text().strip()
    assert backend.entries[("incident", f"roster-key:store:{legacy_id}")] == zeros
    shutil.move(legacy, tmp_path / "legacy-moved")
    assert open_store(tmp_path / "legacy-moved").roster_key() == bytes(32)


def test_a_damaged_store_id_is_refused(tmp_path: Path) -> None:
    _new_store(tmp_path / "s")
    (tmp_path / "s" / "store-id").write_text("not an id\n")
    result = cli_at(tmp_path / "s", "log", "2024-0001", "x", expect=2)
    assert "store-id does not hold a store id" in result.stderr
