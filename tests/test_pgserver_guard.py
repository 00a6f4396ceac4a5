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
