"""The README's commands run as written: every ```console block, in order, against a temporary store.

Each block is a list of steps: a `$ ` line (with `\\` continuation lines) is a command, the lines after it
its output as shown. A step must exit with status 0, or with N when its shown output ends in a line
`[exit N]`. Where the shown output is only an incident or action id (`2024-0001`, `2024-0001/A1`), the
command must print exactly that. Every other shown line that starts at the left margin and is not a
table must be printed too, compared without whitespace, `…` standing for anything, date-times masked
and the README's `/home/you` read as the test's HOME; indented lines and tables are illustrations, not
checked. A new console block in the README is picked up by this test without
changing it.

The commands run in bash, one process each, from a working directory holding the repository's
`examples/`, with HOME a temporary directory (so `~/…` paths stay inside it) and no INCIDENT_* variable of
the test environment: the tour sets its own with `export` lines, which apply to every later command.
`incident` is the interpreter running the tests (`python -m incident`), never another installed copy.
The tour's mail server is replaced by a local one: in `incident config set`, `smtp.host`, `smtp.port` and
`smtp.security` point at tests/smtp_server.py (plain SMTP on 127.0.0.1) and `smtp.user` is cleared.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO
from smtp_server import SmtpTestServer

README = REPO / "README.md"
#: the tour in Japanese (INCIDENT_LANG=ja), run by the same test
README_JA = REPO / "README.ja.md"
BLOCK = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXIT = re.compile(r"^\[exit (\d+)\]$")
ID_ONLY = re.compile(r"^\d{4}-\d{4}(/A\d+)?$")


@dataclass(frozen=True)
class Step:
    line: int
    """The README line of the `$ ` prompt."""
    command: str
    """The command as bash reads it (continuation lines joined by their backslash-newline)."""
    shown: tuple[str, ...]
    """The output lines shown under it."""

    @property
    def expected_exit(self) -> int:
        found = EXIT.match(self.shown[-1]) if self.shown else None
        return int(found.group(1)) if found else 0


def tour_steps(text: str) -> list[Step]:
    """Every command of every console block of `text`, in order."""
    steps: list[Step] = []
    for block in BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start()) + 2
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise AssertionError(f"README.md:{first_line + i}: console output before any command")
            start = i
            command = [lines[i][2:]]
            while command[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            i += 1
            shown = []
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i])
                i += 1
            steps.append(Step(first_line + start, "\n".join(command), tuple(shown)))
    return steps


TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?([+-]\d\d:\d\d| UTC)?")


def _checked(shown: str) -> bool:
    """A shown line that must be printed: text at the start of the line, not a table."""
    return bool(shown) and not shown[0].isspace() and shown[0] not in "╭│╰|{}[]" and not EXIT.match(shown)


def _pattern(shown: str, home: Path) -> re.Pattern[str]:
    """The shown line as a pattern over comparable text: each `…` stands for anything."""
    return re.compile(".*?".join(re.escape(part) for part in _comparable(shown, home).split("…")))


def _comparable(text: str, home: Path) -> str:
    """Text without whitespace, with moments as <time> and the README's /home/you as the test's HOME."""
    text = TIME.sub("<time>", text.replace("/home/you", str(home)))
    return re.sub(r"\s+", "", text)


def local_smtp(command: str, port: int) -> str:
    """`incident config set` with the mail server replaced by the local test server."""
    if not command.startswith("incident config set") or "smtp." not in command:
        return command
    command = re.sub(r"smtp\.host=\S+", "smtp.host=127.0.0.1", command)
    command = re.sub(r"smtp\.port=\S+", f"smtp.port={port}", command)
    command = re.sub(r"smtp\.security=\S+", "smtp.security=none", command)
    command = re.sub(r"smtp\.user=\S+", "smtp.user=", command)
    return command + " smtp.security=none"


def test_the_tour_parses_into_steps() -> None:
    steps = tour_steps(README.read_text(encoding="utf-8"))
    assert len(steps) >= 20
    assert steps[0].command.startswith("export INCIDENT_HOME=")
    assert all(s.command.startswith(("incident ", "export ")) for s in steps), \
        [s.command for s in steps if not s.command.startswith(("incident ", "export "))]
    multi = next(s for s in steps if s.command.startswith("incident new --title"))
    assert "\\\n    --persons 1001" in multi.command and multi.shown == ("2024-0002",)
    assert tour_steps("```console\n$ incident x\n[exit 2]\n```\n")[0].expected_exit == 2


@pytest.mark.parametrize("readme", [README, README_JA], ids=["en", "ja"])
def test_the_readme_tour_runs_as_written(tmp_path: Path, readme: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    bin_dir = tmp_path / "bin"
    for d in (home, work, bin_dir):
        d.mkdir()
    shutil.copytree(REPO / "examples", work / "examples")
    shim = bin_dir / "incident"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m incident "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_")}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", COLUMNS="120")
    exports: list[str] = []
    sent_any = False
    with SmtpTestServer() as server:
        for step in tour_steps(readme.read_text(encoding="utf-8")):
            command = local_smtp(step.command, server.port)
            script = "\n".join([*exports, command])
            done = subprocess.run(["bash", "-c", script], cwd=work, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=300, check=False)
            where = f"{readme.name}:{step.line}: $ {step.command}"
            assert done.returncode == step.expected_exit, (
                f"{where}\nexit {done.returncode}, shown {step.expected_exit}\nstdout:\n{done.stdout}\n"
                f"stderr:\n{done.stderr}")
            assert "Traceback" not in done.stderr, f"{where}\n{done.stderr}"
            if len(step.shown) == 1 and ID_ONLY.match(step.shown[0]):
                assert done.stdout.strip() == step.shown[0], f"{where}\nprinted {done.stdout!r}"
            printed = _comparable(done.stdout + done.stderr, home)
            for shown in step.shown:
                if _checked(shown):
                    assert _pattern(shown, home).search(printed), (
                        f"{where}\nnot printed: {shown}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
            if step.command.startswith("export "):
                exports.append(step.command)
            sent_any = sent_any or bool(re.match(r"incident send \S+\s*(#|$)", step.command))
        received = server.received
    if sent_any:
        assert received, "the tour sends e-mail, and the local server received none"
        assert all(len(r.rcpt_tos) == 1 for r in received)
