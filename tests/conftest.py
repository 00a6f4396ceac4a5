"""Shared fixtures: a fresh store, a command runner that reads like the user's command lines."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from click.testing import CliRunner, Result
from hypothesis import settings
from pgserver import as_role, pg_database, pg_roles, pg_url  # noqa: F401 - fixtures

# One profile for the whole suite: no deadline (a loaded machine must not fail a property test; speed is
# measured in bench/, never asserted). CI runs the property tests with a fixed seed, so a landing never
# depends on luck; developers' runs keep exploring new examples (`HYPOTHESIS_PROFILE=ci` reproduces CI).
settings.register_profile("incident", deadline=None)
settings.register_profile("ci", parent=settings.get_profile("incident"), derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "incident")

REPO = Path(__file__).resolve().parents[1]

#: the suite's own incident records, each with the assessment it must get (NAME.expected.json)
INCIDENTS = Path(__file__).resolve().parent / "cases" / "incidents"

#: the keyring backend every test (and every process a test starts) sees: none, as on a headless server
NO_KEYRING = "keyring.backends.fail.Keyring"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test touches the real user data directory, OS keyring or terminal settings.

    The keyring is the fail backend in this process and in child processes; a test that needs a keyring
    sets its own backend (tests/test_secrets.py)."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", NO_KEYRING)
    monkeypatch.setenv("INCIDENT_HOME", str(tmp_path / "home-store"))
    monkeypatch.setenv("INCIDENT_KEY_FILE", str(tmp_path / "keys" / "roster.key"))
    monkeypatch.setenv("INCIDENT_ACTOR", "tester")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # English unless a test asks for Japanese (INCIDENT_LANG=ja), whatever the machine's locale
    monkeypatch.setenv("INCIDENT_LANG", "en")
    monkeypatch.delenv("LANGUAGE", raising=False)
    from incident import i18n

    i18n.activate("en")


#: test modules that run on both backends (the store fixture is parametrized over files and postgresql)
BOTH_BACKENDS = {"test_register_cli", "test_assessments", "test_tracking", "test_notices", "test_actions",
                 "test_review", "test_reports", "test_purge", "test_send_cli", "test_workflows"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_dir" in metafunc.fixturenames and metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_BACKENDS:
        both = metafunc.definition.get_closest_marker("files_only") is None
        metafunc.parametrize("backend", ["files", "postgresql"] if both else ["files"], indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the fixture store keeps its register: "files" unless a module runs on both backends."""
    return str(getattr(request, "param", "files"))


@pytest.fixture
def store_dir(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Path:
    from incident.law.vocabulary import init_store
    from incident.register.config import Config

    path = tmp_path / "store"
    if backend == "postgresql":
        init_store(path, Config(database_url=request.getfixturevalue("pg_url")))
    else:
        init_store(path)
    return path


@pytest.fixture
def store(store_dir: Path):  # type: ignore[no-untyped-def]
    from incident.law.vocabulary import open_store

    return open_store(store_dir)


def _actor_arg(args: list[str]) -> str | None:
    for n, arg in enumerate(args):
        if arg == "--actor" and n + 1 < len(args):
            return args[n + 1]
        if arg.startswith("--actor="):
            return arg.split("=", 1)[1]
    return None


@pytest.fixture
def run(store_dir: Path, backend: str, request: pytest.FixtureRequest) -> Callable[..., Result]:
    """`run("new --from x.toml --json")`: the CLI against the fixture store; exceptions propagate.

    On PostgreSQL, where the authenticated role is who acts, each person named with `--actor` connects as
    a database role of their own (a member of the central desk, made for the run)."""
    from incident.cli import cli

    def _run(line: str | list[str], *, input: str | None = None, expect: int | None = 0,
             env: dict[str, str] | None = None) -> Result:
        args = shlex.split(line) if isinstance(line, str) else line
        actor = _actor_arg(args)
        if backend == "postgresql" and actor is not None and not (env or {}).get("INCIDENT_DATABASE_URL"):

            from incident.register.actors import actor_key

            url = database_url_of(store_dir)
            role = request.getfixturevalue("pg_roles").member(url, actor_key(actor))
            env = {**(env or {}), "INCIDENT_DATABASE_URL": as_role(url, role)}
        runner = CliRunner()
        result = runner.invoke(cli, ["--store", str(store_dir), *args], input=input, env=env,
                               catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"exit {result.exit_code} (expected {expect})\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    return _run


def rewrite_config(store_dir: Path, text: str) -> None:
    """Replace the fixture store's config.toml with `text`, keeping the database it names (a store whose
    register is on PostgreSQL stays there)."""
    import tomllib

    path = store_dir / "config.toml"
    url = tomllib.loads(path.read_text(encoding="utf-8")).get("database_url") if path.exists() else None
    path.write_text((f'database_url = "{url}"\n' if url else "") + text, encoding="utf-8")


def answer_review(run: Callable[..., Result], incident: str, skip: int = 0) -> None:
    """Answer every item of the incident's post-incident review yes, but the last `skip` (closing waits
    for the review)."""
    import json

    items = json.loads(run(f"review {incident} --json").stdout)["items"]
    for item in items[:len(items) - skip]:
        run(f"review {incident} --answer {item['id']}=yes")


def cli_at(store: Path, *args: str, expect: int = 0, env: dict[str, str] | None = None) -> Result:
    """`incident --store STORE ARGS…` in this process, its exit status checked (exceptions propagate): for
    tests with more than one store, where the `run` fixture's one store does not serve."""
    from incident.cli import cli

    result = CliRunner().invoke(cli, ["--store", str(store), *args], env=env, catch_exceptions=False)
    assert result.exit_code == expect, (result.stdout, result.stderr)
    return result


@pytest.fixture
def database(tmp_path: Path, pg_url: str) -> Path:  # noqa: F811 - pg_url is the fixture imported above
    """A store directory whose register is in a database of its own (created and dropped by the fixture)."""
    from incident.law.vocabulary import init_store
    from incident.register.config import Config

    store = tmp_path / "db"
    init_store(store, Config(database_url=pg_url))
    return store


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps entries in a dict, for tests."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    """This process's keyring: one in memory (restored by `_isolated_env` for the next test)."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def database_url_of(store_dir: Path) -> str:
    """The database a fixture store's register is in (its config's `database_url`)."""
    import tomllib

    return str(tomllib.loads((store_dir / "config.toml").read_text(encoding="utf-8"))["database_url"])

