"""A plain (non-editable) install ships playbooks/ and templates/ inside the wheel, and the installed
command finds them there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True)
    (found,) = out.glob("incident-*.whl")
    return found


def test_wheel_carries_playbooks_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("incident/playbooks/data-items.toml", "incident/playbooks/incident-types.toml",
                     "incident/playbooks/causes.toml", "incident/playbooks/regimes/appi-business.toml"):
        assert expected in names, expected
    bundled = {p.relative_to(REPO).as_posix() for p in (REPO / "playbooks").rglob("*.toml")}
    bundled |= {p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*") if p.is_file()}
    missing = {b for b in bundled if f"incident/{b}" not in names}
    assert not missing, missing
    assert any(n.startswith("incident/templates/notices/") for n in names)


def test_installed_command_runs_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True)
    env = {**os.environ, "INCIDENT_HOME": str(tmp_path / "store"), "PYTHONPATH": ""}
    code = "from incident.resources import builtin_dir; print(builtin_dir('playbooks')); " \
        "print(builtin_dir('templates'))"
    where = subprocess.run([str(py), "-c", code],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    playbooks, templates = where.stdout.split()
    assert "site-packages" in playbooks and "site-packages" in templates
    exe = venv / "bin" / "incident"
    assert subprocess.run([str(exe), "--help"], cwd=tmp_path, env=env, capture_output=True,
                          check=False).returncode == 0
    subprocess.run([str(exe), "init"], cwd=tmp_path, env=env, check=True, capture_output=True)
    example = REPO.parent / "shared" / "domain" / "examples" / "03-health-check-3.toml"
    if example.exists():
        made = subprocess.run([str(exe), "new", "--from", str(example), "--json"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=True)
        assert json.loads(made.stdout) == {"id": "2024-0001"}
    bad = subprocess.run([str(exe), "show", "2024-9999"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    module = subprocess.run([str(py), "-m", "incident", "--version"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    assert "incident" in module.stdout
