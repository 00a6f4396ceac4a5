"""Output paths the officer names: a missing directory is exit 2 everywhere; personal data is never
written through a symbolic link nor into a directory other users can read."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from test_mailmerge import write_csv
from test_notices import make, write_config

from incident.errors import InputError
from incident.law.vocabulary import open_store
from incident.outputs import output_file, private_output_dir

MISSING = "does not exist"


@pytest.fixture
def incident(run: Any, store_dir: Path, tmp_path: Path) -> str:
    write_config(store_dir)
    with (store_dir / "config.toml").open("a", encoding="utf-8") as config:  # e-mails need a sender
        config.write('\n[smtp]\nfrom_addr = "notices@example.jp"\n')
    incident_id = make(open_store(store_dir))
    run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}")
    return incident_id


def test_output_file_checks(tmp_path: Path) -> None:
    assert output_file(tmp_path / "a.txt", option="-o") == tmp_path / "a.txt"
    with pytest.raises(InputError) as err:
        output_file(tmp_path / "no" / "such" / "a.txt", option="--ics")
    assert (err.value.field, err.value.exit_code) == ("--ics", 2)
    assert str(err.value) == (f"field '--ics': the directory {tmp_path / 'no' / 'such'} does not exist "
                              f"(for {tmp_path / 'no' / 'such' / 'a.txt'}); create it first or give another path")
    with pytest.raises(InputError, match="is a directory; -o takes a file name"):
        output_file(tmp_path, option="-o")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is not a directory"):
        output_file(tmp_path / "f" / "a.txt", option="-o")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere.txt")
    assert output_file(tmp_path / "link", option="-o")  # not personal: atomic replace replaces the link
    with pytest.raises(InputError, match="symbolic link"):
        output_file(tmp_path / "link", option="--mbox", personal=True)


def test_private_output_dir(tmp_path: Path) -> None:
    made = private_output_dir(tmp_path / "new", option="--out")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    with pytest.raises(InputError, match=MISSING):
        private_output_dir(tmp_path / "no" / "new", option="--out")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(InputError) as err:
        private_output_dir(shared, option="--out")
    assert "can be read by other users (mode 0755)" in str(err.value)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # never changed without asking
    asked: list[str] = []
    with pytest.raises(InputError):
        private_output_dir(shared, option="--out", confirm=lambda q: asked.append(q) or False)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755 and len(asked) == 1
    private_output_dir(shared, option="--out", confirm=lambda q: True)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    (tmp_path / "dirlink").symlink_to(made)
    with pytest.raises(InputError, match="symbolic link"):
        private_output_dir(tmp_path / "dirlink", option="--out")


@pytest.mark.parametrize(
    "line",
    [
        "deadlines --ics {missing}/d.ics",
        "report annual --fiscal-year 2024 -o {missing}/r.md",
        "notice {incident} --kind public-announcement -o {missing}/n.txt",
        "review {incident} --export md -o {missing}/m.md",
        "notice {incident} --kind individual-letter --roster --out {missing}/letters",
        "notice {incident} --kind individual-email --roster --mbox {missing}/m.mbox",
    ],
)
def test_a_missing_output_directory_is_exit_2_everywhere(run: Any, incident: str, tmp_path: Path,
                                                         line: str) -> None:
    missing = tmp_path / "no-such-dir"
    result = run(line.format(missing=missing, incident=incident), expect=2)
    assert f"the directory {missing} does not exist" in result.stderr
    assert "unexpected" not in result.stderr and not missing.exists()


def test_mbox_refuses_a_symlink_and_is_private(run: Any, incident: str, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "m.mbox"
    link.symlink_to(target)
    result = run(f"notice {incident} --kind individual-email --roster --mbox {link}", expect=2)
    assert "symbolic link" in result.stderr and target.read_text() == "keep"
    existing = tmp_path / "old.mbox"
    existing.write_text("old")
    existing.chmod(0o644)
    run(f"notice {incident} --kind individual-email --roster --mbox {existing}")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600 and b"From " in existing.read_bytes()


def test_out_refuses_a_shared_directory_and_a_symlink(run: Any, incident: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    result = run(f"notice {incident} --kind individual-letter --roster --out {shared}", expect=2)
    assert "can be read by other users (mode 0755)" in result.stderr
    assert list(shared.iterdir()) == [] and stat.S_IMODE(shared.stat().st_mode) == 0o755
    private = tmp_path / "private"
    run(f"notice {incident} --kind individual-letter --roster --out {private}")
    assert stat.S_IMODE(private.stat().st_mode) == 0o700 and len(list(private.iterdir())) == 4
    link = tmp_path / "link"
    link.symlink_to(private)
    assert "symbolic link" in run(f"notice {incident} --kind individual-letter --roster --out {link}",
                                  expect=2).stderr
