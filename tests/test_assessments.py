"""The suite's own incidents (tests/cases/incidents/) are assessed as their expected.json says, and the
`--json` contract holds for each.

The facts follow the thresholds of the law (1,000 persons, special-care data, financial harm, malice, the
My Number Act's 100 persons, high-level encryption, the entrustee's notice); each case sits on one of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import INCIDENTS
from expectations import assert_assessed_as_expected, expected_path

CASES = sorted(INCIDENTS.glob("*.toml"))


def test_the_cases_are_here_each_with_its_expectation() -> None:
    assert len(CASES) >= 8
    for case in CASES:
        assert expected_path(case).is_file(), case.name


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_is_assessed_as_expected(path: Path) -> None:
    data = assert_assessed_as_expected(path)
    # the --json contract: these keys exist with these types
    assert data["incident"] is None
    assert data["reportable"] in (True, False, None)
    for regime in data["assessments"]:
        assert {"regime", "reportable", "conditions", "exemptions", "obligations", "missing"} <= set(regime)
        for c in regime["conditions"]:
            assert {"id", "met", "reason", "citation"} <= set(c) and c["reason"] and c["citation"]
        for x in regime["exemptions"]:
            assert {"id", "applied", "reason"} <= set(x) and isinstance(x["applied"], bool)
        for o in regime["obligations"]:
            assert {"id", "recipient", "due", "soft", "items"} <= set(o) and o["items"]
