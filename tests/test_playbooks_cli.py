"""`incident playbooks check` picks the right checker for every kind of playbook file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import REPO

Run = Callable[..., Result]


@pytest.mark.parametrize("name", ["data-items.toml", "incident-types.toml", "causes.toml",
                                  "corrective-actions.toml", "regimes/appi-business.toml",
                                  "response/ransomware.toml"])
def test_every_bundled_playbook_checks_clean(run: Run, name: str) -> None:
    result = json.loads(run(["playbooks", "check", str(REPO / "playbooks" / name), "--json"]).stdout)
    assert result["ok"] is True, result["problems"]


def test_corrective_actions_file_is_checked_as_such(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "corrective-actions.toml"
    bad.write_text('schema = 1\n[contractor_report]\ndue_days = -3\ncolour = "red"\n', encoding="utf-8")
    result = run(["playbooks", "check", str(bad), "--json"], expect=2)
    problems = json.loads(result.stdout)["problems"]
    assert problems, "a broken corrective-actions file must report problems"
    assert not any("kind" in p["message"] for p in problems), "it must not be read as a regime"
    assert any(p["line"] == 3 for p in problems)


def test_a_regime_file_reports_every_problem(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "my-regime.toml"
    bad.write_text('id = "x"\n[[conditions]]\nid = "c"\nkind = "astrology"\n', encoding="utf-8")
    result = run(["playbooks", "check", str(bad)], expect=2)
    assert "astrology" in result.stdout
    assert result.stdout.count("\n") >= 2


def test_every_bundled_playbook_file_has_its_own_checker_and_checks_clean(run: Run) -> None:
    """A playbook file that no checker knows would be read as a regime and fail: each top-level file of
    playbooks/ is registered with its checker, and the bundled ones have no problem."""
    from incident.cli.playbooks import CHECKERS
    from incident.resources import builtin_dir

    files = sorted(p.name for p in builtin_dir("playbooks").glob("*.toml"))
    assert [name for name in files if name not in CHECKERS] == []
    for name in files:
        run(f"playbooks check {builtin_dir('playbooks') / name}")
