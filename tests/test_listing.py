"""`incident list` from its cache (list.json): the same answer as the store gives, never a stale one, and
the plain table it prints, against a cell-by-cell reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from incident.cli import cli
from incident.cli.tables import cell_width, plain_table
from incident.law.vocabulary import init_store, open_store
from incident.register import listing
from incident.register.record import dumps, from_mapping
from incident.safetext import terminal_safe

SAMPLE = {
    "title": "説明会の案内メールを宛先を表示したまま一斉送信", "entity": "business", "type": "misdirected-email",
    "event": "leak", "certainty": "confirmed", "department": "総務課",
}


@pytest.fixture(autouse=True)
def _settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written a moment ago count as settled (the real wait, two seconds, is tested once below)."""
    monkeypatch.setattr(listing, "SETTLED_NS", -10**12)


def _store(tmp_path: Path, count: int = 5) -> Path:
    root = tmp_path / "store"
    store = init_store(root)
    for n in range(count):
        record = from_mapping({**SAMPLE, "id": f"2024-{n + 1:04d}", "status": "open", "title": f"件名 {n}",
                               "persons": n * 1000, "discovered_at": f"2024-06-{n + 1:02d}T00:30:00+09:00",
                               "occurred_at": "2024-05-31T09:00:00+09:00"}, vocab=store.vocabulary)
        (root / "incidents" / f"{record.id}.toml").write_text(dumps(record), encoding="utf-8")
    return root


def _list(root: Path, *args: str, lang: str = "en") -> str:
    result = CliRunner().invoke(cli, ["--store", str(root), "list", *args], env={"INCIDENT_LANG": lang},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_cache_gives_what_the_store_gives(tmp_path: Path) -> None:
    root = _store(tmp_path)
    assert listing.cached_summaries(root) is None  # nothing listed yet
    from_store = open_store(root).summaries()
    assert (root / listing.LIST_FILE).is_file()
    assert listing.cached_summaries(root) == from_store
    assert [s["id"] for s in from_store] == ["2024-0005", "2024-0004", "2024-0003", "2024-0002", "2024-0001"]
    # discovered 00:30 in Tokyo is the day before in UTC: the date listed is Tokyo's
    assert from_store[-1]["discovered_on"] == "2024-06-01" and from_store[-1]["type_ja"] == "誤送信"
    assert (root / listing.LIST_FILE).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("args", [[], ["--json"], ["--year", "2024", "--status", "open"], ["--type", "loss"],
                                  ["--format", "csv"]])
def test_a_list_from_the_cache_is_the_list_from_the_store(tmp_path: Path, lang: str, args: list[str]) -> None:
    root = _store(tmp_path)
    first = _list(root, *args, lang=lang)  # through the store (writes the cache)
    assert (root / listing.LIST_FILE).is_file()
    assert _list(root, *args, lang=lang) == first


def test_a_change_is_listed_at_once(tmp_path: Path) -> None:
    root = _store(tmp_path)
    _list(root)
    runner = CliRunner()
    done = runner.invoke(cli, ["--store", str(root), "set", "2024-0003", "title=差し替えた件名"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert listing.cached_summaries(root) is None  # the file's status changed
    assert "差し替えた件名" in _list(root)
    assert "差し替えた件名" in _list(root)  # and from the cache written again
    assert listing.cached_summaries(root) is not None


def test_an_edit_of_the_same_size_outside_the_tool_is_seen(tmp_path: Path) -> None:
    root = _store(tmp_path)
    _list(root)
    path = root / "incidents" / "2024-0002.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("件名 1", "件名 9"), encoding="utf-8")  # same size
    assert listing.cached_summaries(root) is None
    assert "件名 9" in _list(root)


def test_a_file_added_or_removed_or_a_config_changed_is_seen(tmp_path: Path) -> None:
    root = _store(tmp_path)
    _list(root)
    row = next(line for line in _list(root).splitlines() if line.startswith("2024-0002"))
    assert "2024-06-02" in row
    (root / "incidents" / "2024-0001.toml").unlink()
    assert listing.cached_summaries(root) is None
    assert "2024-0001" not in _list(root)
    assert listing.cached_summaries(root) is not None
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("Asia/Tokyo", "UTC"), encoding="utf-8")
    assert listing.cached_summaries(root) is None  # dates are taken in the store's timezone
    row = next(line for line in _list(root).splitlines() if line.startswith("2024-0002"))
    assert "2024-06-01" in row  # discovered 2024-06-02 00:30 in Tokyo, 2024-06-01 in UTC


def test_a_bad_file_is_warned_about_every_time(tmp_path: Path) -> None:
    root = _store(tmp_path)
    _list(root)
    (root / "incidents" / "2024-0009.toml").write_text("title = 1\n", encoding="utf-8")
    for _ in range(2):  # never answered from a cache that leaves the file out silently
        result = CliRunner().invoke(cli, ["--store", str(root), "list"], env={"INCIDENT_LANG": "en"})
        assert "warning: left out" in result.stderr and "2024-0009" in result.stderr
        assert listing.cached_summaries(root) is None


@pytest.mark.parametrize("damage", [b"", b"{", b"[]", b'{"version": 2}', b'{"version": 2, "entries": 1}'])
def test_a_damaged_cache_is_ignored_and_written_again(tmp_path: Path, damage: bytes) -> None:
    root = _store(tmp_path)
    expected = _list(root)
    data = json.loads((root / listing.LIST_FILE).read_bytes())
    (root / listing.LIST_FILE).write_bytes(damage if damage else json.dumps(
        {**data, "entries": [[n, s, {**v, "id": "2024-9999"}] for n, s, v in data["entries"]]}).encode())
    assert listing.cached_summaries(root) is None
    assert _list(root) == expected
    assert listing.cached_summaries(root) is not None


def test_no_cache_for_a_register_in_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _store(tmp_path)
    _list(root)
    monkeypatch.setenv("INCIDENT_DATABASE_URL", "postgresql://someone@127.0.0.1:5432/register")
    assert listing.cached_summaries(root) is None


def test_a_file_changed_within_the_clock_tick_is_not_vouched_for(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "SETTLED_NS", 2_000_000_000)
    root = _store(tmp_path)
    open_store(root).summaries()  # the files changed just now: their status alone cannot vouch for them
    assert not (root / listing.LIST_FILE).exists()


def test_a_cached_list_loads_neither_the_store_nor_the_records_schema(tmp_path: Path) -> None:
    """What keeps `incident list` fast (bench/startup.py measures it): told here without timing."""
    root = _store(tmp_path)
    _list(root)
    script = ("import sys\nfrom incident.cli import main\nsys.argv = ['incident', 'list']\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m in ('incident.register.store', 'incident.register.record',"
              " 'incident.register.sections', 'rich', 'pathlib', 'tomllib')), file=sys.stderr)")
    env = {**os.environ, "INCIDENT_HOME": str(root), "INCIDENT_LANG": "ja"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert "2024-0005" in done.stdout
    assert done.stderr.strip() == "[]"


# ---------------------------------------------------------------- the plain table

def _reference_table(headers: tuple[str, ...], rows: list[list[str]], max_width: int) -> str:
    """The table cell by cell: each cell cleaned, put on one line, cut, then padded to its column."""
    def shown(text: str) -> tuple[str, int]:
        text = terminal_safe(text).replace("\n", " ")
        width = cell_width(text)
        if width <= max_width:
            return text, width
        out, used = "", 0
        for ch in text:
            if used + cell_width(ch) > max_width - 1:
                break
            out, used = out + ch, used + cell_width(ch)
        return out + "…", used + 1

    cells = [[shown(c) for c in row] for row in [list(headers), *rows]]
    widths = [max(row[i][1] for row in cells) for i in range(len(headers))]
    return "".join("  ".join(c + " " * (w - cw) for (c, cw), w in zip(row, widths)).rstrip() + "\n"
                   for row in cells)


_TEXT = st.text(alphabet=st.sampled_from(list("ab 1-漏えい件名ｱｶﾞ　\n\t\x1b\u202e…ー")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=4).flatmap(lambda n: st.tuples(
    st.lists(_TEXT, min_size=n, max_size=n).map(tuple),
    st.lists(st.lists(_TEXT, min_size=n, max_size=n), max_size=6))), st.integers(min_value=2, max_value=10))
def test_the_plain_table_is_the_cell_by_cell_table(table: tuple[tuple[str, ...], list[list[str]]],
                                                   max_width: int) -> None:
    headers, rows = table
    assert plain_table(headers, rows, max_width=max_width, clean=terminal_safe) == \
        _reference_table(headers, rows, max_width)
