"""The PostgreSQL server the database tests run against: `INCIDENT_TEST_DATABASE_URL` names it (a role that
may create databases); each test run creates its own database and drops it afterwards, and each test gets
its own schema in it. Without a server the tests skip, saying so; with `INCIDENT_REQUIRE_DATABASE=1` (CI)
a missing server fails them instead."""

from __future__ import annotations

import os
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
    name = f"incident_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"'.encode())
    params = conninfo_to_dict(base)
    params["dbname"] = name
    user, host, port = params.get("user", ""), params.get("host", "localhost"), params.get("port", "5432")
    assert make_conninfo(**params)
    try:
        yield f"postgresql://{quote(str(user))}@{host}:{port}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.close()


_counter = iter(range(1, 10**9))


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A URL whose search_path is a schema of this test's own (the tables of one register)."""
    import psycopg

    schema = f"t{next(_counter)}_{secrets.token_hex(3)}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    return f"{pg_database}?options={quote(f'-csearch_path={schema}')}"
