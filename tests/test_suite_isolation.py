"""The suite's own guards (tests/conftest.py): no wall-clock deadline on property tests, no OS keyring,
no real store, in this process and in the processes tests start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backends.fail
from hypothesis import settings


def test_property_tests_have_no_deadline() -> None:
    assert settings.default.deadline is None
    # a test's own @settings(...) starts from the profile, so it has none either
    assert settings(max_examples=5).deadline is None


def test_no_test_reaches_the_os_keyring(tmp_path: Path) -> None:
    assert isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring)
    child = subprocess.run([sys.executable, "-c", "import keyring; print(type(keyring.get_keyring()).__module__)"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "keyring.backends.fail"
    assert Path(os.environ["INCIDENT_HOME"]).is_relative_to(tmp_path)
    assert Path(os.environ["INCIDENT_KEY_FILE"]).is_relative_to(tmp_path)
