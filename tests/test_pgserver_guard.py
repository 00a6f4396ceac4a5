"""Without a PostgreSQL server the database tests skip and say why; under INCIDENT_REQUIRE_DATABASE=1 (CI)
the same absence fails the run."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

TEST = "tests/test_pgstore.py::test_a_pending_migration_is_named"
#: nothing listens on port 1
NOWHERE = "postgresql://postgres@127.0.0.1:1/postgres"


def _pytest(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", TEST],
                          check=False, cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_an_absent_server_skips_with_a_message() -> None:
    result = _pytest(INCIDENT_TEST_DATABASE_URL=NOWHERE)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout and "no PostgreSQL server for the database tests" in result.stdout
    unset = _pytest()
    assert "INCIDENT_TEST_DATABASE_URL is not set" in unset.stdout


def test_an_absent_server_fails_when_required() -> None:
    result = _pytest(INCIDENT_TEST_DATABASE_URL=NOWHERE, INCIDENT_REQUIRE_DATABASE="1")
    assert result.returncode == 1, result.stdout
    assert "PostgreSQL is required" in result.stdout


def test_a_new_run_drops_what_a_killed_run_left_on_the_server(pg_database: str) -> None:
    """A run killed before its end leaves its database and roles behind; the next run drops those of dead
    processes and keeps those of live ones."""
    import secrets

    import psycopg
    from pgserver import ENV_URL, _sweep_dead_runs

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = int(finished.stdout)
    tag = secrets.token_hex(4)
    dead_db, live_db = f"incident_test_{dead}_{tag}", f"incident_test_{os.getpid()}_{tag}"
    dead_role = f"incident_t{dead}_{tag[:6]}_1_r"
    with psycopg.connect(os.environ[ENV_URL], autocommit=True) as admin:
        try:
            for name in (dead_db, live_db):
                admin.execute(f'CREATE DATABASE "{name}"'.encode())
            admin.execute(f'CREATE ROLE "{dead_role}" LOGIN'.encode())
            _sweep_dead_runs(admin)
            databases = {row[0] for row in admin.execute(b"SELECT datname FROM pg_database")}
            roles = {row[0] for row in admin.execute(b"SELECT rolname FROM pg_roles")}
            assert dead_db not in databases and dead_role not in roles
            assert live_db in databases and pg_database.rsplit("/", 1)[-1] in databases
        finally:
            for name in (dead_db, live_db):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            admin.execute(f'DROP ROLE IF EXISTS "{dead_role}"'.encode())
