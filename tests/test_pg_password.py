"""The database password: never in the URL or a file of ours; `$PGPASSWORD`, else the OS keyring's
``incident-db`` entry ``user@host`` (`incident db password`), else libpq's `$PGPASSFILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from conftest import MemoryKeyring

from incident.cli import cli
from incident.register import pgstore
from incident.register.config import Config
from incident.register.secrets import DB_SERVICE

URL = "postgresql://officer@db.example.lg.jp:5432/incident"


@pytest.fixture
def passwords(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The password each connection was opened with (the connection itself is not made)."""
    seen: list[str | None] = []

    def fake_connect(url: str, **kwargs: Any) -> None:
        seen.append(kwargs.get("password"))
        raise psycopg.OperationalError("not connecting in this test")

    monkeypatch.setattr(psycopg, "connect", fake_connect)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return seen


def test_the_keyring_entry_of_user_at_host_is_the_password(memory_keyring: MemoryKeyring,
                                                           passwords: list[str | None]) -> None:
    memory_keyring.set_password(DB_SERVICE, "officer@db.example.lg.jp", "s3cret")
    memory_keyring.set_password(DB_SERVICE, "other@db.example.lg.jp", "not this")
    with pytest.raises(Exception, match="cannot connect to the register at postgresql://officer@db.example.lg.jp"):
        pgstore.connect(URL)
    assert passwords == ["s3cret"]


def test_pgpassword_wins_and_without_either_libpq_decides(memory_keyring: MemoryKeyring, passwords: list[str | None],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    memory_keyring.set_password(DB_SERVICE, "officer@db.example.lg.jp", "s3cret")
    monkeypatch.setenv("PGPASSWORD", "from-env")
    with pytest.raises(Exception, match="cannot connect"):
        pgstore.connect(URL)
    monkeypatch.delenv("PGPASSWORD")
    with pytest.raises(Exception, match="cannot connect"):
        pgstore.connect(URL.replace("officer", "nobody"))
    assert passwords == [None, None]  # libpq reads PGPASSWORD, or PGPASSFILE, itself


def test_no_keyring_means_pgpassfile(passwords: list[str | None]) -> None:
    with pytest.raises(Exception, match="cannot connect"):
        pgstore.connect(URL)
    assert passwords == [None]


def test_user_and_host_default_as_libpq_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGUSER", "kacho")
    monkeypatch.delenv("PGHOST", raising=False)
    assert pgstore.login_of("postgresql:///incident") == ("kacho", "localhost")
    assert pgstore.login_of(URL) == ("officer", "db.example.lg.jp")


def _store(tmp_path: Path) -> Path:
    import tomli_w

    store = tmp_path / "s"
    store.mkdir()
    (store / "config.toml").write_text(tomli_w.dumps(Config(database_url=URL).to_toml_dict()), encoding="utf-8")
    return store


def test_db_password_keeps_it_in_the_keyring(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    result = CliRunner().invoke(cli, ["--store", str(_store(tmp_path)), "db", "password", "--stdin"],
                                input="s3cret\n")
    assert result.exit_code == 0, result.stderr
    assert memory_keyring.get_password(DB_SERVICE, "officer@db.example.lg.jp") == "s3cret"
    assert "officer@db.example.lg.jp" in result.stderr and "s3cret" not in result.output
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and b"s3cret" in p.read_bytes()]


def test_db_password_without_a_keyring_names_the_alternatives(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--store", str(_store(tmp_path)), "db", "password", "--stdin"],
                                input="s3cret\n")
    assert result.exit_code == 2
    assert "PGPASSFILE" in result.stderr and "Traceback" not in result.stderr

