"""The roster key (key file or OS keyring) and secrets (keyring or environment, never a file)."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from conftest import MemoryKeyring

from incident.errors import InputError
from incident.register.secrets import (
    NO_KEYRING_HINT,
    ensure_private_dir,
    get_secret,
    key_file_from_env_or_config,
    keyring_available,
    load_or_create_key,
    set_secret,
)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the login keyring is locked")


class ForgetfulKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        pass


@pytest.fixture(autouse=True)
def _restore_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("INCIDENT_KEY_FILE", raising=False)
    monkeypatch.delenv("INCIDENT_SMTP_PASSWORD", raising=False)
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())


# -- key file -----------------------------------------------------------------------------------------------


def test_key_file_is_created_with_mode_0600_and_reused(tmp_path: Path, no_keyring: None) -> None:
    key_file = tmp_path / "keys" / "deep" / "roster.key"
    key = load_or_create_key(tmp_path / "store", key_file=key_file)
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert base64.urlsafe_b64decode(key_file.read_text().strip()) == key
    assert load_or_create_key(tmp_path / "other-store", key_file=key_file) == key


def test_key_file_is_used_even_when_a_keyring_exists(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    key = load_or_create_key(tmp_path / "store", key_file=tmp_path / "roster.key")
    assert memory_keyring.entries == {}
    assert (tmp_path / "roster.key").exists()
    assert len(key) == 32


def test_key_file_readable_by_others_is_refused_with_the_chmod_to_run(tmp_path: Path) -> None:
    key_file = tmp_path / "roster.key"
    load_or_create_key(tmp_path, key_file=key_file)
    os.chmod(key_file, 0o644)
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=key_file)
    assert err.value.message == (
        f"the key file {key_file} is readable by group or others (mode 0644); run: chmod 600 {key_file}"
    )
    assert err.value.file == str(key_file)


def test_key_file_with_garbage_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "roster.key"
    key_file.write_text("not a key\n")
    os.chmod(key_file, 0o600)
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=key_file)
    assert err.value.message == (
        f"the key file {key_file} does not hold a valid roster key (expected 32 bytes in URL-safe base64)"
    )


def test_key_file_from_env_or_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert key_file_from_env_or_config(None) is None
    assert key_file_from_env_or_config("") is None
    assert key_file_from_env_or_config("/etc/incident/key") == Path("/etc/incident/key")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert key_file_from_env_or_config("~/k") == tmp_path / "k"
    monkeypatch.setenv("INCIDENT_KEY_FILE", "/run/secrets/roster.key")
    assert key_file_from_env_or_config("/etc/incident/key") == Path("/run/secrets/roster.key")


def test_ensure_private_dir_leaves_existing_directories_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    ensure_private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700


# -- keyring --------------------------------------------------------------------------------------------------


def test_no_keyring_names_the_key_file_alternative(tmp_path: Path, no_keyring: None) -> None:
    assert not keyring_available()
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=None)
    assert str(err.value) == (
        "no OS keyring is available here; set INCIDENT_KEY_FILE=/path/to/keyfile (created with mode 0600) "
        "or key_file in config.toml"
    )
    assert list(tmp_path.iterdir()) == []  # nothing written, certainly no plaintext key


@pytest.mark.parametrize("backend", ["null", "empty-chainer"])
def test_null_and_empty_chainer_backends_count_as_no_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    if backend == "null":
        keyring.set_keyring(keyring.backends.null.Keyring())
    else:
        monkeypatch.setattr(keyring.backend, "get_all_keyring", list)
        keyring.set_keyring(keyring.backends.chainer.ChainerBackend())
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=None)
    assert err.value.message == NO_KEYRING_HINT


def test_keyring_errors_become_input_errors(tmp_path: Path) -> None:
    keyring.set_keyring(BrokenKeyring())
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=None)
    assert (
        err.value.message
        == f"the OS keyring failed (KeyringLocked: the login keyring is locked); {NO_KEYRING_HINT}"
    )


def test_keyring_that_does_not_keep_the_key_is_refused(tmp_path: Path) -> None:
    keyring.set_keyring(ForgetfulKeyring())
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=None)
    assert err.value.message == f"the OS keyring did not keep the roster key; {NO_KEYRING_HINT}"


def test_keyring_key_per_store(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    key_one = load_or_create_key(one, key_file=None)
    key_two = load_or_create_key(two, key_file=None)
    assert key_one != key_two
    assert len(key_one) == len(key_two) == 32
    assert load_or_create_key(two / ".." / "one", key_file=None) == key_one
    assert sorted(memory_keyring.entries) == [
        ("incident", f"roster-key:{one.resolve()}"),
        ("incident", f"roster-key:{two.resolve()}"),
    ]
    assert (
        base64.urlsafe_b64decode(memory_keyring.entries[("incident", f"roster-key:{one.resolve()}")])
        == key_one
    )


def test_keyring_entry_that_is_not_a_key_is_refused(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[("incident", f"roster-key:{tmp_path.resolve()}")] = "hunter2"
    with pytest.raises(InputError) as err:
        load_or_create_key(tmp_path, key_file=None)
    assert err.value.message == (
        f"the keyring entry incident/roster-key:{tmp_path.resolve()} does not hold a valid roster key "
        "(expected 32 bytes in URL-safe base64)"
    )


# -- secrets ----------------------------------------------------------------------------------------------------


def test_secret_from_keyring_first(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_SMTP_PASSWORD", "from-env")
    set_secret("smtp", "from-keyring")
    assert memory_keyring.entries == {("incident", "secret:smtp"): "from-keyring"}
    assert get_secret("smtp", env_var="INCIDENT_SMTP_PASSWORD") == "from-keyring"


def test_secret_from_environment_when_keyring_has_none(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_secret("smtp", env_var="INCIDENT_SMTP_PASSWORD") is None
    monkeypatch.setenv("INCIDENT_SMTP_PASSWORD", "from-env")
    assert get_secret("smtp", env_var="INCIDENT_SMTP_PASSWORD") == "from-env"


def test_secret_without_keyring(no_keyring: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert get_secret("smtp", env_var="INCIDENT_SMTP_PASSWORD") is None
    monkeypatch.setenv("INCIDENT_SMTP_PASSWORD", "from-env")
    assert get_secret("smtp", env_var="INCIDENT_SMTP_PASSWORD") == "from-env"
    with pytest.raises(InputError) as err:
        set_secret("smtp", "s3cret", env_var="INCIDENT_SMTP_PASSWORD")
    assert err.value.message == (
        "no OS keyring is available here to store the secret 'smtp'; set INCIDENT_SMTP_PASSWORD in the "
        "environment instead"
    )
    assert list(tmp_path.iterdir()) == []


def test_secret_with_broken_keyring_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(BrokenKeyring())
    monkeypatch.setenv("INCIDENT_SMTP_PASSWORD", "from-env")
    assert get_secret("smtp", env_var="INCIDENT_SMTP_PASSWORD") == "from-env"


def test_secret_set_refuses_empty_values_and_odd_names(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(InputError, match="the secret 'smtp' is empty"):
        set_secret("smtp", "")
    with pytest.raises(InputError, match="invalid secret name 'roster-key:x'"):
        set_secret("roster-key:x", "v")
    assert memory_keyring.entries == {}


def test_no_keyring_is_told_in_the_runs_language(tmp_path: Path) -> None:
    from incident import i18n

    keyring.set_keyring(keyring.backends.null.Keyring())
    i18n.activate("ja")
    try:
        with pytest.raises(InputError) as err:
            load_or_create_key(tmp_path, key_file=None)
    finally:
        i18n.activate("en")
    assert err.value.message.startswith("ここでは OS のキーリングが使えません。INCIDENT_KEY_FILE=")
