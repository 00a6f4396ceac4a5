"""The PostgreSQL server the database tests run against: `INCIDENT_TEST_DATABASE_URL` names it (a role that
may create databases); each test run creates its own database and drops it afterwards, and each test gets
its own schema in it. Without a server the tests skip, saying so; with `INCIDENT_REQUIRE_DATABASE=1` (CI)
a missing server fails them instead."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest

ENV_URL = "INCIDENT_TEST_DATABASE_URL"
ENV_REQUIRE = "INCIDENT_REQUIRE_DATABASE"


def _unavailable(reason: str) -> None:
    if os.environ.get(ENV_REQUIRE) == "1":
        pytest.fail(f"PostgreSQL is required ({ENV_REQUIRE}=1) but {reason}")
    pytest.skip(f"no PostgreSQL server for the database tests: {reason} (set {ENV_URL})")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of a database created for this run (dropped at its end)."""
    base = os.environ.get(ENV_URL, "").strip()
    if not base:
        _unavailable(f"{ENV_URL} is not set")
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unavailable(f"cannot connect to {ENV_URL}: {str(exc).strip().splitlines()[0]}")
    params = conninfo_to_dict(base)
    if str(params.get("host", "localhost")) in ("localhost", "127.0.0.1", "::1") or str(params.get("host", "")).startswith("/"):
        _sweep_dead_runs(admin)
    name = f"incident_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"'.encode())
    params["dbname"] = name
    user, host, port = params.get("user", ""), params.get("host", "localhost"), params.get("port", "5432")
    assert make_conninfo(**params)
    try:
        yield f"postgresql://{quote(str(user))}@{host}:{port}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.close()


#: what a run makes on the server, named after the test process (pg_database, Roles)
_RUN_DATABASE = re.compile(r"incident_test_(\d+)_[0-9a-f]{8}")
_RUN_ROLE = re.compile(r"incident_t(\d+)_[0-9a-f]{6}_.+")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def _sweep_dead_runs(admin: object) -> None:
    """Drop the databases and roles of earlier runs on this machine whose process is gone (a run that was
    killed could not drop them at its end). Only on a local server, where a run's process id means
    something; a database or role still in use by a live run is left alone."""
    import psycopg

    assert isinstance(admin, psycopg.Connection)
    for (name,) in admin.execute(b"SELECT datname FROM pg_database").fetchall():
        match = _RUN_DATABASE.fullmatch(name)
        if match and not _alive(int(match[1])):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    for (role,) in admin.execute(b"SELECT rolname FROM pg_roles").fetchall():
        match = _RUN_ROLE.fullmatch(role)
        if match and not _alive(int(match[1])):
            try:
                admin.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())
            except psycopg.Error:  # still owns something in a database that was kept: leave it
                pass


_counter = iter(range(1, 10**9))


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A URL whose search_path is a schema of this test's own (the tables of one register)."""
    import psycopg

    schema = f"t{next(_counter)}_{secrets.token_hex(3)}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    return f"{pg_database}?options={quote(f'-csearch_path={schema}')}"


class Roles:
    """Login roles made for this run (roles are cluster-wide: unique names, dropped at the end of the run)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.made: list[str] = []
        self._tag = f"incident_t{os.getpid()}_{secrets.token_hex(3)}"
        #: (database URL, name a test gave) -> the role made for it
        self._for: dict[tuple[str, str], str] = {}

    def create(self, label: str = "r") -> str:
        """A new login role (no privileges until granted)."""
        import psycopg

        role = f"{self._tag}_{len(self.made) + 1}_{label}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN'.encode())
        self.made.append(role)
        return role

    def member(self, url: str, name: str, *, department: str = "", central: bool = True) -> str:
        """The role that acts as the person `name` on the register at `url` (made and granted once)."""
        import psycopg

        from incident.register.pgstore import grant

        key = (url, name)
        if key not in self._for:
            role = self.create(f"m{len(self._for) + 1}")
            with psycopg.connect(url, autocommit=True) as conn:
                grant(conn, role, department=department, central=central and not department)
            self._for[key] = role
        return self._for[key]


def as_role(url: str, role: str) -> str:
    """`url` (its database and options kept) connecting as `role` (trust authentication on the test server)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(role)}@{host}"))


@pytest.fixture(scope="session")
def pg_roles(pg_database: str) -> Iterator[Roles]:
    """Make login roles for the run; at its end their privileges in the run's database and the roles go."""
    import psycopg

    roles = Roles(os.environ[ENV_URL].strip())
    try:
        yield roles
    finally:
        if roles.made:
            names = ", ".join(f'"{r}"' for r in roles.made)
            with psycopg.connect(pg_database, autocommit=True) as conn:
                conn.execute(f"DROP OWNED BY {names}".encode())
            with psycopg.connect(roles.admin_url, autocommit=True) as conn:
                for role in roles.made:
                    conn.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())
