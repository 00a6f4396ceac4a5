"""Every public example incident (shared/domain/examples/ beside the repository, or the `domain/examples`
directory of $INCIDENT_SHARED) is assessed as its expected.json says.

The suite does not need them: its own cases are in tests/cases/ (tests/test_assessments.py). Where the
public examples are absent, this one test skips and says where it looked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import REPO
from expectations import assert_assessed_as_expected, expected_path


def examples_dir() -> Path:
    shared = os.environ.get("INCIDENT_SHARED")
    return (Path(shared) if shared else REPO.parent / "shared") / "domain" / "examples"


EXAMPLES = examples_dir()
CASES = sorted(EXAMPLES.glob("*.toml")) if EXAMPLES.is_dir() else []
ABSENT = pytest.param(None, id="absent", marks=pytest.mark.skip(
    reason=f"the public examples are not here: no *.toml in {EXAMPLES} (set INCIDENT_SHARED to a shared/ "
           "directory to run them)"))


@pytest.mark.parametrize("path", CASES or [ABSENT], ids=lambda p: p.stem if isinstance(p, Path) else None)
def test_public_example(path: Path) -> None:
    assert expected_path(path).is_file(), f"{path.name} has no {expected_path(path).name}"
    assert_assessed_as_expected(path)
