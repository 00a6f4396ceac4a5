"""One input never breaks the register: bad values refused where they enter (exit 2), tool-written
sections validated on every load, index.json only a cache."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from incident.errors import InputError
from incident.register import sections
from incident.register.store import Store

Run = Callable[..., Result]
NEW = "new --title t --type misdirected-email --discovered-at 2024-06-03 --persons 10 --item 氏名"


def new(run: Run, extra: str = "") -> str:
    return run(f"{NEW} {extra}").stdout.strip()


@pytest.mark.parametrize("value", ["፩", "١٢", "1" * 5000, "12345678901234567", "-", "１２３x"])
def test_persons_written_oddly_are_refused_where_they_enter(run: Run, value: str) -> None:
    result = run(["new", "--title", "t", "--type", "misdirected-email", "--discovered-at", "2024-06-03",
                  "--persons", value], expect=2)
    assert "field '--persons': expected a whole number written with the digits 0-9" in result.stderr
    incident = new(run)
    assert "expected a whole number" in run(["set", incident, f"persons={value}"], expect=2).stderr
    assert run("list --json").exit_code == 0


def test_full_width_persons_still_read(run: Run, store: Store) -> None:
    incident = run(["new", "--title", "t", "--type", "misdirected-email", "--discovered-at", "2024-06-03",
                    "--persons", "１，２００人"]).stdout.strip()
    assert store.load(incident).get("persons") == 1200


def test_a_huge_number_of_persons_is_refused(run: Run, tmp_path: Path) -> None:
    incident = new(run)
    assert "is not a plausible number" in run(["set", incident, "persons=99999999999999"], expect=2).stderr
    file = tmp_path / "r.toml"
    file.write_text('title = "t"\ntype = "misdirected-email"\ndiscovered_at = 2024-06-03\npersons = 10000000000000\n')
    assert "is not a plausible number" in run(f"new --from {file}", expect=2).stderr


@pytest.mark.parametrize("when", ["0001-01-01", "1800-05-01", "9999-12-31", "1989-12-31"])
def test_implausible_dates_are_refused_everywhere_they_enter(run: Run, tmp_path: Path, when: str) -> None:
    assert run(f"new --title t --type misdirected-email --discovered-at {when}", expect=2).stderr.startswith(
        "error: field '--discovered-at'")
    incident = new(run)
    run(f"set {incident} occurred_at={when}", expect=2)
    run(f"log {incident} text --at {when}", expect=2)
    run(f"done {incident} regulator-final --at {when}", expect=2)
    file = tmp_path / "r.toml"
    file.write_text(f'title = "t"\ntype = "misdirected-email"\ndiscovered_at = {when}\n')
    run(f"new --from {file}", expect=2)
    # every register-wide command still works
    for line in ("list --json", "deadlines --json", "action list --json", "report annual --fiscal-year 2024",
                 "purge --dry-run"):
        run(line)


def test_done_at_in_the_future_is_refused(run: Run, store: Store) -> None:
    incident = new(run, "--persons 1001")
    run(f"assess {incident}")
    result = run(f"done {incident} regulator-final --at 2099-01-01", expect=2)
    assert "is in the future" in result.stderr
    assert "obligations" not in store.load(incident).sections


def test_deeply_nested_toml_is_refused(run: Run, tmp_path: Path, store_dir: Path) -> None:
    file = tmp_path / "deep.toml"
    file.write_text('title = "t"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested too deeply" in run(f"new --from {file}", expect=2).stderr
    (store_dir / "config.toml").write_text("organization = " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = run("list", expect=2)
    assert "config.toml" in result.stderr and "nested too deeply" in result.stderr


@pytest.mark.parametrize("line, message", [
    ("retention_years = 100000000000", "expected at most 100 years"),
    ("retention_years = -1", "must not be negative"),
    ("[smtp]\nport = 99999", "expected a port number"),
])
def test_config_values_out_of_range_are_refused(run: Run, store_dir: Path, line: str, message: str) -> None:
    (store_dir / "config.toml").write_text(line + "\n")
    assert message in run("purge --dry-run", expect=2).stderr


def test_a_new_record_starts_open_without_tool_written_sections(run: Run, tmp_path: Path) -> None:
    base = 'title = "t"\ntype = "misdirected-email"\ndiscovered_at = 2024-06-03\n'
    file = tmp_path / "r.toml"
    file.write_text(base + 'status = "closed"\n')
    assert "a new incident starts open" in run(f"new --from {file}", expect=2).stderr
    for section in ("[roster]\ncount = 3", "[[actions]]\nid = \"A1\"", "[sending]\nstate = \"approved\"",
                    "[assessment]\nreportable = false", "[steps]", "[obligations]", "[review]",
                    "[[notices]]\nkind = \"x\""):
        file.write_text(base + section + "\n")
        result = run(f"new --from {file}", expect=2)
        assert "is written by the toolkit" in result.stderr, section
    file.write_text(base + 'status = "open"\n')
    run(f"new --from {file}")


def _editor(tmp_path: Path, code: str) -> dict[str, str]:
    script = tmp_path / "editor.py"
    script.write_text("import sys,pathlib\np=pathlib.Path(sys.argv[1])\nt=p.read_text()\n" + code + "\np.write_text(t)\n")
    return {"EDITOR": f"{sys.executable} {script}"}


def test_edit_cannot_close_or_rewrite_tool_sections(run: Run, tmp_path: Path, store: Store) -> None:
    incident = new(run)
    run(f"action add {incident} --measure m --owner o --due 2024-08-01")
    closed = run(["edit", incident], env=_editor(tmp_path, "t=t.replace('status = \"open\"','status = \"closed\"')"),
                 expect=2)
    assert "change it with `incident status" in closed.stderr
    edited = run(["edit", incident], env=_editor(tmp_path, "t=t.replace('state = \"open\"','state = \"verified\"')"),
                 expect=2)
    assert "field 'actions" in edited.stderr
    forged = run(["edit", incident], env=_editor(tmp_path, "t=t.replace('measure = \"m\"','measure = \"x\"')"),
                 expect=2)
    assert "[actions] is written by the toolkit" in forged.stderr
    assert store.load(incident).status == "open"
    run(["edit", incident], env=_editor(tmp_path, "t=t.replace('title = \"t\"','title = \"u\"')"))
    assert store.load(incident).get("title") == "u"


@pytest.mark.parametrize("name, bad", [
    ("roster", {"count": "lots", "columns": [], "encoding": "utf-8"}),
    ("sending", {"state": "approved", "count": 10**20}),
    ("steps", {"a": {"state": "done", "at": "yesterday"}}),
    ("obligations", {"appi-business": {"regulator-final": {"done_at": 5}}}),
    ("review", {"answers": {"x": {"answer": "maybe"}}}),
    ("assessment", {"reportable": True}),
    ("notices", [{"kind": "x", "at": "now"}]),
])
def test_a_poisoned_section_on_disk_leaves_out_only_that_incident(run: Run, store: Store, name: str,
                                                                    bad: Any) -> None:
    import tomli_w

    good, poisoned = new(run), new(run)
    run("list --json")  # the index now caches both
    path = store.path_of(poisoned)
    path.write_text(path.read_text() + "\n" + tomli_w.dumps({name: bad}))
    with pytest.raises(InputError, match=f"field '{name}"):
        store.load(poisoned)
    lines = ("list --json", "deadlines --json", "action list --json",
             "report annual --fiscal-year 2024 --format json", "purge --dry-run --json")
    for line in lines:
        result = run(line)
        assert f"warning: left out: {path}: field '{name}" in result.stderr, line
    assert [r["id"] for r in json.loads(run("list --json").stdout)] == [good]


def test_sections_keep_what_the_toolkit_writes(run: Run, store: Store, tmp_path: Path) -> None:
    """A record that went through every stage parses and serializes to exactly what is stored."""
    incident = new(run, "--persons 1001")
    run(f"assess {incident}")
    run(f"done {incident} regulator-preliminary --ref R-1")
    run(f"action add {incident} --measure m --owner o --due 2024-08-01")
    roster = tmp_path / "r.csv"
    roster.write_text("氏名,メールアドレス\n山田太郎,taro@example.jp\n", encoding="utf-8")
    run(f"roster import {incident} {roster}")
    run(f"notice {incident} --kind internal-report --draft")
    record = store.load(incident)
    assert {"assessment", "obligations", "actions", "roster", "notices"} <= set(record.sections)
    for name, value in record.sections.items():
        assert sections.normalize(name, value) == value, name
    typed = sections.assessment_of(record.sections)
    assert typed is not None and typed.reportable is True
    assert sections.obligations_of(record.sections).done["appi-business"]["regulator-preliminary"].ref == "R-1"


@pytest.mark.parametrize("content", [
    b"[]", b"{\"version\": 3, \"entries\": [1, 2]}", b"\xff\xfe garbage",
    b"{\"version\": 3, \"entries\": {\"2024-0001.toml\": {\"key\": 5, \"record\": []}}}",
    b"[" * 100_000,
])
def test_a_malformed_index_is_rebuilt(run: Run, store_dir: Path, content: bytes) -> None:
    incident = new(run)
    (store_dir / "index.json").write_bytes(content)
    assert [r["id"] for r in json.loads(run("list --json").stdout)] == [incident]
    assert json.loads((store_dir / "index.json").read_bytes())["version"] == 4


def _index_title(store_dir: Path, incident: str, title: str, *, taken_ns: int | None = None) -> None:
    """Make the index say another title for `incident` (its file untouched), and optionally when it was taken."""
    index = json.loads((store_dir / "index.json").read_bytes())
    index["entries"][f"{incident}.toml"]["record"]["title"] = title
    if taken_ns is not None:
        index["taken_ns"] = taken_ns
    (store_dir / "index.json").write_text(json.dumps(index))


def test_a_settled_file_is_listed_from_the_index_by_its_status(run: Run, store_dir: Path) -> None:
    incident = new(run)
    run("list --json")
    _index_title(store_dir, incident, "from the index", taken_ns=2**62)  # every file long settled
    assert json.loads(run("list --json").stdout)[0]["title"] == "from the index"  # the file was not read
    path = store_dir / "incidents" / f"{incident}.toml"
    text = path.read_text(encoding="utf-8")
    before = path.stat()
    path.write_text(text.replace('title = "', 'title = "X', 1), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the modification time put back
    assert json.loads(run("list --json").stdout)[0]["title"].startswith("X")  # its change time moved


@pytest.mark.parametrize(("taken_ns", "listed"), [(None, "changed"), (2**62, "before")])
def test_a_file_changed_just_before_the_index_was_written_is_read_again(
        run: Run, store_dir: Path, taken_ns: int | None, listed: str) -> None:
    """Within the file system's clock tick a change can leave the status alike: the index holds the status
    after a change and the content before it. A file that had not settled when its status was taken is
    hashed and parsed again (only an index claiming to be taken long after the change trusts the status)."""
    incident = new(run, "--title before")
    run("list --json")
    path = store_dir / "incidents" / f"{incident}.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('title = "before"', 'title = "changed"'),
                    encoding="utf-8")
    index = json.loads((store_dir / "index.json").read_bytes())
    status = path.stat()
    index["entries"][f"{incident}.toml"]["status"] = [status.st_size, status.st_mtime_ns, status.st_ctime_ns,
                                                      status.st_ino]
    if taken_ns is not None:
        index["taken_ns"] = taken_ns
    (store_dir / "index.json").write_text(json.dumps(index))
    assert json.loads(run("list --json").stdout)[0]["title"] == listed


def test_a_lying_index_never_decides_a_purge(run: Run, store: Store, store_dir: Path) -> None:
    incident = new(run)
    run("list --json")
    index = json.loads((store_dir / "index.json").read_bytes())
    entry = index["entries"][f"{incident}.toml"]
    entry["record"]["status"] = "closed"
    entry["record"]["updated_at"] = {"__dt__": "2000-01-01T00:00:00+09:00"}
    (store_dir / "index.json").write_text(json.dumps(index))
    (store_dir / "rosters").mkdir(exist_ok=True)
    roster = store_dir / "rosters" / f"{incident}.roster"
    roster.write_bytes(b"x")
    run("purge --yes")
    assert roster.exists()
    assert json.loads(run("purge --dry-run --json").stdout)["incidents"] == []


def test_no_input_ends_in_an_unexpected_failure(run: Run, tmp_path: Path) -> None:
    incident = new(run)
    missing = tmp_path / "no" / "such" / "dir"
    for line in (f"send {incident} --approve", f"notice {incident} --kind internal-report --draft -o {missing}/x.txt",
                 f"deadlines --ics {missing}/x.ics", f"report annual --fiscal-year 2024 -o {missing}/y.md"):
        result = run(line, expect=2)
        assert "unexpected failure" not in result.stderr and "error: " in result.stderr, line


@pytest.mark.parametrize("variant", ["山田\u200b太郎", "山田 太郎", "ＹＡＭＡＤＡ", "yamada\u00ad", "\ufeffyamada",
                                     "YAMADA\u200d", "ya\u2060mada", "Yamada\ufe0f", "  yamada  "])
def test_one_comparison_of_actors_sees_through_disguises(variant: str) -> None:
    from incident.followup.actions import same_person
    from incident.notices.batch import _same_person
    from incident.register.actors import same_actor

    original = "山田太郎" if "山田" in variant else "yamada"
    assert same_actor(variant, original)
    assert same_person(variant, original) and _same_person(variant, original)
    assert not same_actor("山田太郎", "山田次郎")


def test_deadlines_in_a_pipe_are_plain_text_and_long_step_lists_summarised(run: Run) -> None:
    first = new(run, "--persons 1001")
    for _ in range(30):
        new(run)
    out = run("deadlines").stdout
    lines = out.splitlines()
    assert lines[0].startswith("Open obligations (") and lines[1].split() == [
        "Due", "Left", "Incident", "Obligation", "To", "Title"]
    assert any(first in line and "regulator-final" in line for line in lines)
    assert "\x1b[" not in out and "┃" not in out and "│" not in out  # no rich layout in a pipe
    summary = next(line for line in lines if line.startswith("Overdue response steps"))
    assert summary.endswith("of 31 incidents (the earliest of each; `incident steps ID` lists them)")


def test_opening_a_store_reads_its_config_once(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The config chooses the backend and is the store's config: one read of config.toml, not two."""
    from incident.register import backend, config, store
    from incident.register.backend import open_register

    reads: list[Path] = []
    real = config.load_config

    def counted(path: Path) -> config.Config:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(config, "load_config", counted)
    monkeypatch.setattr(store, "load_config", counted)
    monkeypatch.setattr(backend, "load_config", counted)
    opened = open_register(store_dir)
    assert opened.config.timezone == "Asia/Tokyo"
    assert reads == [store_dir / "config.toml"]
