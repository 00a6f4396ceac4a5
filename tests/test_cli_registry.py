"""The command registry: one summary per command, kept equal to the command's own help, so that
`incident --help` lists every command without importing any command module."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from incident.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_registry_summary_is_the_commands_own_short_help(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert COMMANDS[name][1] == command.get_short_help_str(limit=10**6)


def test_top_level_help_lists_every_command_and_imports_no_command_module() -> None:
    code = ("import sys\nfrom incident.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print([m for m in sys.modules if m.startswith('incident.') and m not in "
            "('incident.cli', 'incident.cli.group', 'incident.errors', 'incident.i18n')], file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"
    listed = [line.split()[0] for line in out.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)
    assert "Record a new incident and print its ID." in out.stdout
