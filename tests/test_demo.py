"""`incident demo`: its samples go to a demo store of their own, and every command it suggests works as
printed, against that store."""

from __future__ import annotations

import re
import shlex

from click.testing import CliRunner

from incident.cli import cli

HINT = re.compile(r"`(incident [^`]+)` for details")


def test_the_demo_hints_name_the_demo_store_and_run_as_printed() -> None:
    runner = CliRunner()
    demo = runner.invoke(cli, ["demo"], catch_exceptions=False)
    assert demo.exit_code == 0, demo.output
    hints = HINT.findall(demo.stdout)
    assert len(hints) == 4, demo.stdout  # assess and steps, for each of the two samples
    store = re.search(r"Demo store: (\S+)", demo.stderr)
    assert store is not None, demo.stderr
    for hint in hints:
        args = shlex.split(hint)
        assert args[:3] == ["incident", "--store", store.group(1)], hint
        result = runner.invoke(cli, args[1:], catch_exceptions=False)
        assert result.exit_code == 0, (hint, result.output)
        if args[3] == "assess":  # the demo assessed it already, in that store
            assert "No change since the last assessment." in result.stdout, result.stdout
        else:
            assert args[-1] in result.stdout, result.stdout  # the incident's id


def test_hints_name_no_store_for_the_default_one(tmp_path: object) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0  # $INCIDENT_HOME, the default store here
    made = runner.invoke(cli, ["new", "--title", "t", "--type", "loss", "--discovered-at", "2024-06-03 10:00",
                               "--persons", "3", "--item", "氏名", "--department", "総務課", "--json"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(cli, ["assess", "2024-0001"]).exit_code == 0
    show = runner.invoke(cli, ["show", "2024-0001"])
    assert "`incident assess 2024-0001` for details" in show.stdout


def test_the_demo_shows_a_reminder_dry_run(tmp_path: object) -> None:
    from pathlib import Path

    from incident.law.vocabulary import open_store

    store = Path(str(tmp_path)) / "demo"
    result = CliRunner().invoke(cli, ["--store", str(store), "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "incident remind --dry-run" in text and "nothing was sent" in text
    assert "To: privacy-desk <privacy@city.example.jp>" in text and "To: 保健給食課 <kyushoku@city.example.jp>" in text
    assert not [e for e in open_store(store).audit.entries() if e["action"] == "remind.sent"]


def test_the_demo_runs_where_there_is_no_keyring_and_no_key_file(monkeypatch: object, tmp_path: object) -> None:
    """`pip install . && incident demo` on a fresh headless machine: the demo keeps its keys in a key file
    beside the demo store (mode 0600), and its hints run as printed. A real store still asks for a key file."""
    import os
    from pathlib import Path

    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.delenv("INCIDENT_KEY_FILE", raising=False)
    runner = CliRunner()
    demo = runner.invoke(cli, ["demo"], catch_exceptions=False)
    assert demo.exit_code == 0, demo.output
    store = re.search(r"Demo store: (\S+)", demo.stderr)
    assert store is not None, demo.stderr
    keys = sorted(Path(store.group(1)).parent.glob("*.key"))  # the audit key, beside the demo store
    assert keys and all((k.stat().st_mode & 0o777) == 0o600 for k in keys), keys
    for hint in HINT.findall(demo.stdout):
        assert runner.invoke(cli, shlex.split(hint)[1:], catch_exceptions=False).exit_code == 0, hint
    real = runner.invoke(cli, ["--store", str(Path(str(tmp_path)) / "real"), "init"])
    assert real.exit_code == 2 and "INCIDENT_KEY_FILE" in real.output, real.output
    assert os.environ.get("INCIDENT_KEY_FILE") is None
