"""200 random SIGKILLs across the commands that change a store: afterwards every change on disk has its
audit entry, `audit verify` passes, and purge after closing leaves no personal data of the incident anywhere
it was recorded.

Each command runs in a forked child (the modules are already imported, so a run takes milliseconds)
that is killed after a random delay within that command's own running time.
"""

from __future__ import annotations

import gc
import json
import os
import random
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from test_mailmerge import write_csv
from test_notices import make, write_config

from incident.followup.purge import PER_PERSON_FILE
from incident.law.vocabulary import open_store

KILLS = 200
TOKYO = ZoneInfo("Asia/Tokyo")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork() to kill a run at a random moment")


def _child(args: list[str]) -> None:
    """Run one command in this (forked) process and leave without running anything of the parent's."""
    code = 0
    try:
        from incident.cli import cli

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        cli.main(args=args, prog_name="incident", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a refused command (exit 2) is as good as a finished one here
        code = 2
    os._exit(code)


def _run(args: list[str], kill_after: float | None) -> float:
    """Fork, run `args`, kill with SIGKILL after `kill_after` seconds (None: let it finish); its duration."""
    gc.freeze()  # the child's collector leaves the parent's pages alone (copy-on-write stays cheap)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(args)
    if kill_after is not None:
        deadline = start + kill_after
        while time.perf_counter() < deadline:
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                return time.perf_counter() - start
            time.sleep(0.0005)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.waitpid(pid, 0)
    return time.perf_counter() - start


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory in memory where there is one (/dev/shm): a SIGKILL tests the process, not the disk, and
    the runs' fsyncs cost nothing there."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(dir=shm, prefix="incident-crash-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_random_kills_leave_an_audited_store_and_purge_leaves_nothing(
        fast_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from incident.cli import cli
    from incident.law.vocabulary import init_store

    store_dir = fast_dir / "store"
    init_store(store_dir)

    def run(line: str, expect: int | None = 0) -> Result:
        result = CliRunner().invoke(cli, ["--store", str(store_dir), *shlex.split(line)], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (line, result.stdout, result.stderr)
        return result

    write_config(store_dir)
    store = open_store(store_dir)
    incident = make(store)
    csv = write_csv(tmp_path / "roster.csv")
    out = fast_dir / "letters"
    base = ["--store", str(store_dir), "--actor", "clerk"]
    run(f"roster import {incident} {csv}")
    step = json.loads(run(f"steps {incident} --json").stdout)["steps"][0]["id"]
    commands: list[Callable[[int], list[str]]] = [
        lambda n: ["new", "--title", f"t{n}", "--type", "misdirected-email", "--discovered-at", "2024-06-03",
                   "--persons", str(n + 1)],
        lambda n: ["set", incident, f"persons={n + 10}"],
        lambda n: ["log", incident, f"記録 {n}"],
        lambda n: ["step", incident, step, "done", "--note", f"n{n}"],
        lambda n: ["action", "add", incident, "--measure", f"m{n}", "--owner", "総務課", "--due", "2024-08-01"],
        lambda n: ["roster", "import", incident, str(csv), "--replace", "--reason", f"r{n}"],
        lambda n: ["notice", incident, "--kind", "individual-letter", "--roster", "--out", str(out), "--draft"],
    ]
    for make_args in commands:  # once here first: the forked runs then find every module imported
        run(shlex.join(make_args(0)), expect=None)
    durations = [_run(base + make_args(0), None) for make_args in commands]  # each command's own time

    rng = random.Random(20241201)
    for n in range(KILLS):
        which = rng.randrange(len(commands))
        _run(base + commands[which](n + 1), rng.uniform(0, durations[which] * 1.2))
        # after every kill (as at the next start): each record as on disk is the one its last entry names
        checked = open_store(store_dir).verify_audit()
        assert checked.ok, (n, commands[which](n + 1)[0], checked.problem)

    verified = run("audit verify --json", expect=None)
    assert verified.exit_code == 0, verified.stdout  # reconciles what the kills left half-logged, then checks
    assert json.loads(verified.stdout)["ok"]

    run(f"status {incident} closed --force --reason test")
    later = datetime(2040, 1, 1, 9, 0, tzinfo=TOKYO)
    from incident import dates

    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": later.astimezone(ZoneInfo(tz)))
    run("purge --yes")
    left: list[Any] = []
    for name in ("rosters", "batches", "notices"):
        directory = store_dir / name
        if directory.is_dir():
            left += [p for p in directory.iterdir() if p.name.lstrip(".").startswith(incident)
                     and not p.name.endswith(".lock")]
    if out.is_dir():
        left += [p for p in out.iterdir() if PER_PERSON_FILE.fullmatch(p.name) or p.name.startswith(".")]
    assert left == []
    run("audit verify")
