"""The register as the officer uses it: init, new, show, list, set, log, status, edit, audit."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import INCIDENTS, answer_review

from incident.cli import cli

Run = Callable[..., Result]
EMAIL = INCIDENTS / "email-cc-36.toml"
HEALTH = INCIDENTS / "health-check-3.toml"


def new(run: Run, path: Path = EMAIL, *extra: str) -> str:
    result = run(["new", "--from", str(path), "--json", *extra])
    return str(json.loads(result.stdout)["id"])


def test_init_creates_a_private_store(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["--store", str(target), "init", "--organization", "サンプル株式会社"])
    assert result.exit_code == 0, result.output
    assert f"Created the incident store at {target}" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert stat.S_IMODE((target / "config.toml").stat().st_mode) == 0o600
    assert 'organization = "サンプル株式会社"' in (target / "config.toml").read_text()
    again = CliRunner().invoke(cli, ["--store", str(target), "init"])
    assert again.exit_code == 0 and "already exists" in again.stderr


def test_missing_store_says_how_to_create_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "nowhere"), "list"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no incident store at ")
    assert "incident init" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.files_only  # reads the store's files
def test_new_assigns_yearly_ids_and_show_round_trips(run: Run, store_dir: Path) -> None:
    first, second = new(run), new(run, HEALTH)
    assert (first, second) == ("2024-0001", "2024-0002")
    shown = json.loads(run(f"show {second} --json").stdout)
    assert shown["id"] == "2024-0002"
    assert shown["status"] == "open"
    assert shown["data"] == [{"item": "name"}, {"item": "health-check-results"}]
    assert shown["discovered_at"] == "2024-06-03T15:00:00+09:00"
    path = store_dir / "incidents" / "2024-0002.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_new_from_flags_with_japanese_dates(run: Run) -> None:
    result = run(["new", "--title", "USBメモリの紛失", "--entity", "public-body", "--type", "loss",
                  "--discovered-at", "令和5年６月１２日", "--persons", "１２０", "--item", "氏名",
                  "--item", "住所:encrypted", "--json"])
    incident_id = json.loads(result.stdout)["id"]
    assert incident_id == "2023-0001"
    shown = json.loads(run(f"show {incident_id} --json").stdout)
    assert shown["persons"] == 120
    assert shown["event"] == "loss"  # the type's usual event
    assert shown["data"] == [{"item": "name"}, {"item": "address", "encrypted": True}]
    assert shown["discovered_at"] == "2023-06-12T00:00:00+09:00"


def test_bad_input_is_one_line_exit_2_and_nothing_written(run: Run, store_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EMAIL.read_text(encoding="utf-8").replace("persons = 36", 'persons = "沢山"'), encoding="utf-8")
    result = run(["new", "--from", str(bad)], expect=2)
    assert result.stderr.strip().count("\n") == 0
    assert f"{bad}: field 'persons'" in result.stderr
    assert "whole number" in result.stderr
    assert not list((store_dir / "incidents").glob("*.toml"))
    assert not (store_dir / "audit.log").exists()


def test_cp932_record_file_is_refused_clearly(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "sjis.toml"
    bad.write_bytes(EMAIL.read_text(encoding="utf-8").encode("cp932"))
    result = run(["new", "--from", str(bad)], expect=2)
    assert "not UTF-8" in result.stderr and str(bad) in result.stderr


def test_list_filters_and_orders_newest_first(run: Run, tmp_path: Path) -> None:
    older = tmp_path / "older.toml"
    older.write_text(EMAIL.read_text(encoding="utf-8").replace("2024-06-03", "2023-05-01"), encoding="utf-8")
    a, b = new(run, older), new(run, HEALTH)
    rows = json.loads(run("list --json").stdout)
    assert [r["id"] for r in rows] == [b, a]
    assert [r["id"] for r in json.loads(run("list --year 2023 --json").stdout)] == [a]
    assert [r["id"] for r in json.loads(run("list --type misdirected-mail --json").stdout)] == [b]
    assert json.loads(run("list --status closed --json").stdout) == []
    human = run("list").stdout
    assert a in human and b in human and "\x1b[" not in human


def test_a_list_is_its_records_summarized(run: Run, store_dir: Path, backend: str) -> None:
    """Each backend's list (the file store's cache, the database's columns) says what the records say."""
    from incident.law.vocabulary import open_store
    from incident.register.store import summary_of

    ids = [new(run, path) for path in sorted(INCIDENTS.glob("*.toml"))]
    for incident_id in ids[::2]:
        run(f"assess {incident_id}")
    run(f"set {ids[1]} department=情報システム課 persons=0")
    store = open_store(store_dir)
    tz, names = store.tz, store.type_names()  # type: ignore[attr-defined]
    expected = [summary_of(r, tz, names) for r in store.records()]
    assert len(expected) == len(ids) and any(s["reportable"] for s in expected) and any(s["assessed"] for s in expected)
    assert open_store(store_dir).summaries() == expected
    assert json.loads(run("list --json").stdout) == [
        {k: v for k, v in s.items() if k not in ("discovered_on", "type_ja", "assessed")} for s in expected]


def test_set_coerces_and_refuses_what_it_must(run: Run, store: object) -> None:
    incident_id = new(run)
    run(["set", incident_id, "persons=1,200", "malicious=suspected", "published=はい"])
    shown = json.loads(run(f"show {incident_id} --json").stdout)
    assert (shown["persons"], shown["malicious"], shown["published"]) == (1200, "suspected", True)
    assert "unknown key" in run(["set", incident_id, "colour=red"], expect=2).stderr
    assert "incident status" in run(["set", incident_id, "status=closed"], expect=2).stderr
    assert "expected one of" in run(["set", incident_id, "entity=firm"], expect=2).stderr
    run(["set", incident_id, "risk_level=high"])
    run(["set", incident_id, "risk_level="])
    assert "risk_level" not in json.loads(run(f"show {incident_id} --json").stdout)


def test_timeline_in_time_order(run: Run) -> None:
    incident_id = new(run)
    run(["log", incident_id, "警察へ届出", "--at", "2024-06-05 10:00"])
    run(["log", incident_id, "発覚", "--at", "令和6年6月3日"])
    events = json.loads(run(f"show {incident_id} --json").stdout)["timeline"]
    assert [e["text"] for e in events] == ["発覚", "警察へ届出"]
    assert events[0]["actor"] == "tester"
    assert "--at" in run(["log", incident_id, "x", "--at", "someday"], expect=2).stderr


@pytest.mark.files_only  # reads the store's files
def test_status_moves_forward_and_logs(run: Run, store_dir: Path) -> None:
    incident_id = new(run)
    run(["status", incident_id, "contained"])
    assert "already contained" in run(["status", incident_id, "contained"], expect=2).stderr
    assert "--force" in run(["status", incident_id, "open"], expect=2).stderr
    answer_review(run, incident_id)
    run(["status", incident_id, "closed"])
    assert "--reason" in run(["status", incident_id, "open", "--force"], expect=2).stderr
    run(["status", incident_id, "open", "--force", "--reason", "新たな事実が判明"])
    entries = [json.loads(line) for line in (store_dir / "audit.log").read_text().splitlines()]
    forced = [e for e in entries if e["action"] == "status" and e["changes"].get("forced")]
    assert forced and forced[0]["changes"]["reason"] == "新たな事実が判明"


@pytest.mark.files_only  # reads the store's files
def test_edit_refuses_an_invalid_save_and_keeps_the_file(run: Run, store_dir: Path, tmp_path: Path) -> None:
    incident_id = new(run)
    path = store_dir / "incidents" / f"{incident_id}.toml"
    before = path.read_text()
    editor = tmp_path / "editor.py"
    editor.write_text("import sys,pathlib\np=pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('persons = 36','persons = -5'))\n")
    result = run(["edit", incident_id], env={"EDITOR": f"{sys.executable} {editor}"}, expect=2)
    assert "field 'persons'" in result.stderr and "negative" in result.stderr
    assert path.read_text() == before
    editor.write_text("import sys,pathlib\np=pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('persons = 36','persons = 40'))\n")
    run(["edit", incident_id], env={"EDITOR": f"{sys.executable} {editor}"})
    assert json.loads(run(f"show {incident_id} --json").stdout)["persons"] == 40


@pytest.mark.files_only  # reads the store's files
def test_audit_log_records_and_verifies(run: Run, store_dir: Path) -> None:
    incident_id = new(run)
    run(["set", incident_id, "persons=40"])
    run(["log", incident_id, "初動対応"])
    result = json.loads(run("audit verify --json").stdout)
    assert {k: result[k] for k in ("ok", "entries", "line", "problem", "keyed")} == {
        "ok": True, "entries": 3, "line": None, "problem": "", "keyed": True}
    assert result["head"] == json.loads((store_dir / "audit.head").read_text())["hash"]
    entries = json.loads(run(f"audit show --incident {incident_id} --json").stdout)
    assert [e["action"] for e in entries] == ["create", "set", "log"]
    assert entries[1]["changes"]["persons"] == [36, 40]
    assert all(e["actor"] == "tester" for e in entries)


@pytest.mark.files_only  # reads the store's files
def test_audit_verify_names_the_first_bad_line(run: Run, store_dir: Path) -> None:
    incident_id = new(run)
    for n in range(4):
        run(["set", incident_id, f"persons={50 + n}"])
    log = store_dir / "audit.log"
    lines = log.read_text().splitlines(keepends=True)

    def verify_after(new_lines: list[str]) -> Result:
        log.write_text("".join(new_lines))
        return run("audit verify", expect=1)

    edited = lines.copy()
    edited[2] = edited[2].replace('"persons":[50,51]', '"persons":[50,99]')
    assert edited[2] != lines[2]
    assert "line 3" in verify_after(edited).stdout and "edited" in verify_after(edited).stdout
    assert "line 3" in verify_after(lines[:2] + lines[3:]).stdout
    reordered = lines[:1] + [lines[2], lines[1]] + lines[3:]
    assert "line 2" in verify_after(reordered).stdout
    assert "removed from the end" in verify_after(lines[:-2]).stdout
    torn = verify_after(lines[:-1] + [lines[-1][:30]]).stdout
    assert "line 5" in torn and "torn" in torn
    log.write_text("".join(lines))
    run("audit verify")


def test_actor_from_flag_and_no_colour_in_pipes(run: Run) -> None:
    incident_id = new(run, EMAIL, "--actor", "佐藤")
    entries = json.loads(run("audit show --json").stdout)
    assert entries[-1]["actor"] == "佐藤"
    out = run(f"show {incident_id}", env={"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in out and incident_id in out


def _on_a_terminal(store_dir: Path, args: list[str], env: dict[str, str]) -> str:
    """What `incident ARGS` writes to its standard output when that is a terminal (a pseudo-terminal here)."""
    import pty

    main_fd, child_fd = pty.openpty()
    child_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **env}
    child_env.pop("FORCE_COLOR", None)
    with subprocess.Popen([sys.executable, "-m", "incident", "--store", str(store_dir), *args], stdout=child_fd,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=child_env) as proc:
        os.close(child_fd)
        chunks = []
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
    os.close(main_fd)
    return b"".join(chunks).decode("utf-8")


COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7]|38;[25];[0-9;]+)m")  # a foreground colour escape


def test_colour_on_a_terminal_unless_no_color(run: Run, store_dir: Path) -> None:
    incident_id = new(run, HEALTH)
    run(f"assess {incident_id}")
    coloured = _on_a_terminal(store_dir, ["show", incident_id], {})
    assert incident_id in coloured and COLOUR.search(coloured), "a terminal gets colour"
    plain = _on_a_terminal(store_dir, ["show", incident_id], {"NO_COLOR": "1"})
    assert incident_id in plain and not COLOUR.search(plain), "NO_COLOR turns colour off on a terminal too"


def test_every_command_has_help() -> None:
    from incident.cli import COMMANDS

    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.stdout


def test_unknown_id_and_bad_id_form(run: Run) -> None:
    assert "no incident 2024-0099" in run("show 2024-0099", expect=2).stderr
    assert "2024-0007" in run("show foo", expect=2).stderr


def test_store_env_variable(tmp_path: Path) -> None:
    home = tmp_path / "via-env"
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env={"INCIDENT_HOME": str(home)}).exit_code == 0
    assert (home / "incidents").is_dir()
    made = runner.invoke(cli, ["new", "--from", str(EMAIL), "--json"], env={"INCIDENT_HOME": str(home)})
    assert made.exit_code == 0, made.output
    assert [p.name for p in (home / "incidents").iterdir()] == ["2024-0001.toml"]
    # --store comes before $INCIDENT_HOME
    flag = tmp_path / "via-flag"
    assert runner.invoke(cli, ["--store", str(flag), "init"], env={"INCIDENT_HOME": str(home)}).exit_code == 0
    assert runner.invoke(cli, ["--store", str(flag), "new", "--from", str(EMAIL)],
                         env={"INCIDENT_HOME": str(home)}).exit_code == 0
    assert [p.name for p in (flag / "incidents").iterdir()] == ["2024-0001.toml"]
    assert len(list((home / "incidents").iterdir())) == 1
