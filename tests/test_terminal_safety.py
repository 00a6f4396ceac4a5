"""Stored text is shown, never acted on: no escape sequence reaches the terminal, no text is read as
rich markup (`show`, `list`, the audit log, messages)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from incident.cli.group import make_console
from incident.safetext import terminal_safe

CLEAR = "\x1b[2J\x1b]0;pwned\x07"
TITLE = f"誤送付{CLEAR}[/][bold red]偽[/]\u202eevil"


def test_terminal_safe() -> None:
    assert terminal_safe("a\tb\nc") == "a\tb\nc"
    assert terminal_safe(CLEAR) == "\\x1b[2J\\x1b]0;pwned\\x07"
    assert terminal_safe("\r\x00\x7f\x9b\u202e\u2066") == "\\x0d\\x00\\x7f\\x9b\\u202e\\u2066"
    assert terminal_safe("山田　太郎 ①") == "山田　太郎 ①"


@pytest.mark.parametrize("tty", [False, True])
def test_the_console_writes_no_control_character_from_text(tty: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    console = make_console(stream)
    console.print(f"[bold]{terminal_safe('x')}[/] " + CLEAR.replace("[", "\\["))
    from rich.table import Table

    table = Table("a")
    table.add_row(CLEAR.replace("[", "\\["))
    console.print(table)
    out = stream.getvalue()
    assert "\x07" not in out and "\\x1b[2J\\x1b]0;pwned" in out
    if tty:  # rich's own styling still reaches the terminal
        assert "\x1b[1m" in out
    else:
        assert "\x1b" not in out


def test_show_list_log_and_messages_never_print_raw_escapes(run: Any) -> None:
    made = run(["new", "--title", TITLE, "--entity", "public-body", "--type", "loss", "--discovered-at",
                "2024-06-03", "--department", f"総務課{CLEAR}", "--json"])
    incident = json.loads(made.stdout)["id"]
    run(["log", incident, f"連絡{CLEAR}[/]", "--at", "2024-06-04 10:00"])
    for line in ([ "show", incident], ["list"], ["audit", "show"]):
        result = run(line)
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout, line
        assert "\u202e" not in result.stdout, line
    shown = run(["show", incident]).stdout
    assert "[/][bold red]偽[/]" in shown and "\\x1b[2J" in shown and "\\u202eevil" in shown
    assert "連絡\\x1b[2J" in shown
    failed = run(["show", f"2024-{CLEAR}"], expect=2)
    assert "\x1b" not in failed.stderr and "\\x1b[2J" in failed.stderr
    assert json.loads(run(["show", incident, "--json"]).stdout)["title"] == TITLE  # the data is kept as is
