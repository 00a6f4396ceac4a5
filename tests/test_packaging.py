"""A plain (non-editable) install ships playbooks/ and templates/ inside the wheel, and the installed
command finds them there, in a fresh venv whose dependencies really resolve."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import INCIDENTS, REPO


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
    assert "incident/locale/ja/LC_MESSAGES/incident.mo" in names  # the compiled catalogue, no .po parsing


def _site_dirs() -> list[str]:
    """The directories the running interpreter imports installed packages from (never the checkout)."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    seen: list[str] = []
    for d in dirs:
        if Path(d).is_dir() and Path(d).resolve() != REPO and d not in seen:
            seen.append(d)
    return seen


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed in it. Its dependencies are those of the running environment,
    seen through a .pth file listing this environment's site directories (appended after the venv's own,
    so the wheel's `incident` comes first; no index, no network). Returns the venv."""
    venv = tmp_path_factory.mktemp("child") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "zz_running_environment.pth").write_text("\n".join(_site_dirs()) + "\n", encoding="utf-8")
    # the child runs pip (seen through the .pth) to install the wheel into itself, scripts included;
    # --ignore-installed: the running environment's own `incident` must not count as installed here
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile",
                    "--ignore-installed", str(wheel)], check=True, env=_child_env(venv.parent))
    return venv


def _child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "INCIDENT_HOME": str(tmp_path / "store"), "PYTHONNOUSERSITE": "",
            "PATH": f"{tmp_path / 'no-bin'}{os.pathsep}{env.get('PATH', '')}"}


def test_the_installed_package_resolves_its_dependencies(installed: Path, tmp_path: Path) -> None:
    """Every requirement of the installed `incident` is met in the child venv, and the code, playbooks and
    templates it runs are the installed copies inside the child venv, not the checkout."""
    code = """if True:
        import json, incident
        from importlib.metadata import distribution, version
        from packaging.requirements import Requirement
        from incident.resources import builtin_dir
        dist = distribution("incident")
        problems = []
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            try:
                have = version(req.name)
            except Exception as exc:
                problems.append(f"{req}: {type(exc).__name__}")
                continue
            if not req.specifier.contains(have, prereleases=True):
                problems.append(f"{req}: {have} installed")
        print(json.dumps({"problems": problems, "module": incident.__file__,
                          "dist": str(dist.locate_file("")), "playbooks": str(builtin_dir("playbooks")),
                          "templates": str(builtin_dir("templates"))}))
    """
    out = subprocess.run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path, env=_child_env(tmp_path),
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["problems"] == []
    inside = installed.resolve()
    for key in ("module", "dist", "playbooks", "templates"):
        path = Path(found[key]).resolve()
        assert path.is_relative_to(inside), f"{key} comes from {path}, not from the installed package"
        assert not path.is_relative_to(REPO), f"{key} comes from the checkout: {path}"
    assert (Path(found["playbooks"]) / "data-items.toml").is_file()
    assert (Path(found["templates"]) / "notices").is_dir()
    script = (installed / "bin" / "incident").read_text(encoding="utf-8").splitlines()[0]
    assert script.startswith(f"#!{installed}"), f"the installed command runs another interpreter: {script}"


def test_installed_command_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    env = _child_env(tmp_path)
    exe = installed / "bin" / "incident"

    def incident(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(exe), *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done

    incident("--help")
    incident("init")
    made = incident("new", "--from", str(INCIDENTS / "health-check-3.toml"), "--json")
    assert json.loads(made.stdout) == {"id": "2024-0001"}
    assessed = json.loads(incident("assess", "2024-0001", "--json").stdout)
    assert assessed["reportable"] is True
    incident("deadlines", "--ics", str(tmp_path / "due.ics"))
    assert (tmp_path / "due.ics").read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")
    letter = incident("notice", "2024-0001", "--kind", "individual-letter", "--draft").stdout
    assert letter.startswith("個人情報の漏えいに関するお詫びとお知らせ") and "【未記入：報告者の名称】" in letter
    incident("show", "2024-9999", code=2)
    # Japanese from the installed catalogue: our messages and click's own words
    env["INCIDENT_LANG"] = "ja"
    helped = incident("--help").stdout
    assert helped.startswith("使い方: incident [オプション]") and "新しい事案を記録し、その番号を表示します。" in helped
    assert "エラー: " in incident("show", "2024-9999", code=2).stderr
    env["INCIDENT_LANG"] = "en"
    module = subprocess.run([str(installed / "bin" / "python"), "-m", "incident", "--version"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, check=True)
    assert "incident" in module.stdout
