"""The reporters: a JSON run prints exactly one document; a human run shows the view, data on stdout and
messages on stderr, without colour under NO_COLOR or on a pipe. And command modules decide nothing on
`as_json` themselves: they hand their result to a reporter."""

from __future__ import annotations

import ast
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident.cli.group import Env
from incident.cli.reporting import Column, JsonReporter, Markup, RichReporter, reporter

CLI = Path(__file__).resolve().parents[1] / "incident" / "cli"

#: command modules that still branch on `as_json` themselves; a module leaves this list when it is
#: converted to the reporter, and none joins it
NOT_CONVERTED: set[str] = set()

SGR = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _show_everything(rep: JsonReporter | RichReporter, views: list[str]) -> None:
    rep.result({"id": "2024-0001", "at": datetime(2024, 4, 1, 9, 30, tzinfo=UTC), "名前": "山田"},
               lambda out: (views.append("shown"), out.echo("2024-0001")))
    rep.echo("a data line")
    rep.print("[bold]markup[/]")
    rep.table("Things (2)", ["Name", Column("Count", justify="right", no_wrap=True), "Report?"],
              [["[bold]stored[/]", "1,200", Markup("[bold red]yes[/]")], ["plain", "3", "no"]])
    rep.info("a summary")
    rep.hint("Next: `incident show 2024-0001`.")
    rep.note("a warning")


def test_a_json_run_prints_the_result_as_one_document_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    views: list[str] = []
    _show_everything(reporter(True), views)
    out, err = capsys.readouterr()
    assert out == '{\n  "id": "2024-0001",\n  "at": "2024-04-01T09:30:00+00:00",\n  "名前": "山田"\n}\n'
    assert err == "a warning\n"
    assert views == []


def test_a_json_result_given_as_a_function_is_built_only_in_a_json_run(capsys: pytest.CaptureFixture[str]) -> None:
    built: list[int] = []

    def data() -> list[int]:
        built.append(1)
        return [1, 2]

    reporter(False, Env()).result(data)
    assert built == [] and capsys.readouterr().out == ""
    reporter(True).result(data)
    assert built == [1] and capsys.readouterr().out == "[\n  1,\n  2\n]\n"


def test_a_human_run_on_a_pipe_shows_the_view_data_on_stdout_messages_on_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    views: list[str] = []
    _show_everything(reporter(False, Env()), views)
    out, err = capsys.readouterr()
    assert views == ["shown"]
    assert out == ("2024-0001\n"
                   "a data line\n"
                   "markup\n"
                   "Things (2)\n"
                   "┏━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━┓\n"
                   "┃ Name            ┃ Count ┃ Report? ┃\n"
                   "┡━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━┩\n"
                   "│ [bold]stored[/] │ 1,200 │ yes     │\n"
                   "│ plain           │     3 │ no      │\n"
                   "└─────────────────┴───────┴─────────┘\n")
    assert err == "a summary\nNext: `incident show 2024-0001`.\na warning\n"


def _terminal_table(monkeypatch: pytest.MonkeyPatch, no_color: bool) -> str:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    monkeypatch.setattr("sys.stdout", stream)
    RichReporter(Env()).table(None, ["Report?"], [[Markup("[bold red]yes[/]")], ["[red]no[/]"]])
    return stream.getvalue()


def test_a_terminal_gets_colour_and_no_color_takes_it_away(monkeypatch: pytest.MonkeyPatch) -> None:
    coloured = _terminal_table(monkeypatch, no_color=False)
    assert "\x1b[1;31myes" in coloured  # bold red
    assert "[red]no[/]" in coloured  # stored text is never read as markup
    plain = _terminal_table(monkeypatch, no_color=True)
    assert "\x1b[1myes" in plain and "31m" not in plain  # bold stays, the colour goes
    assert SGR.sub("", plain) == SGR.sub("", coloured)


def test_a_human_message_shows_control_characters_of_stored_text_as_escapes(
        capsys: pytest.CaptureFixture[str]) -> None:
    reporter(False, Env()).info("title \x1b]0;pwned\x07")
    assert "\x1b" not in capsys.readouterr().err


def as_json_decisions(source: str) -> list[int]:
    """The lines where a module reads `as_json` other than to choose its reporter (`reporter(as_json)`)."""
    tree = ast.parse(source)
    chosen = {id(call.args[0]) for call in ast.walk(tree) if isinstance(call, ast.Call)
              and isinstance(call.func, ast.Name) and call.func.id == "reporter" and call.args}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == "as_json" and id(node) not in chosen]


def test_the_check_finds_a_decision_on_as_json() -> None:
    assert as_json_decisions("def f(as_json: bool) -> None:\n    rep = reporter(as_json)\n") == []
    assert as_json_decisions("def f(as_json: bool) -> None:\n    if as_json:\n        pass\n") == [2]
    assert as_json_decisions("def f(as_json: bool) -> None:\n    g(as_json)\n") == [2]


def test_converted_command_modules_leave_the_choice_of_output_to_the_reporter() -> None:
    branching = {}
    for path in sorted(CLI.glob("*.py")):
        if path.stem == "reporting":  # the one place that chooses
            continue
        lines = as_json_decisions(path.read_text(encoding="utf-8"))
        if lines:
            branching[path.stem] = lines
    assert {name: lines for name, lines in branching.items() if name not in NOT_CONVERTED} == {}
    # a module converted since is taken off the list, so the list only shrinks
    assert sorted(NOT_CONVERTED - set(branching)) == []


def test_only_a_human_run_on_a_terminal_may_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incident.cli.reporting.is_interactive", lambda: True)
    assert RichReporter(Env()).interactive() is True
    assert JsonReporter().interactive() is False
    monkeypatch.setattr("incident.cli.reporting.is_interactive", lambda: False)
    assert RichReporter(Env()).interactive() is False


def test_progress_on_a_pipe_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    for rep in (reporter(True), reporter(False, Env())):
        with rep.progress("sending", 3) as update:
            for done in range(1, 4):
                update(done)
    assert capsys.readouterr() == ("", "")
