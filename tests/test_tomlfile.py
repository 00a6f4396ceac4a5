"""One wording for unreadable TOML, whichever kind of file it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident import tomlfile
from incident.errors import InputError


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('title = "x"\n[[data]\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        tomlfile.read(path)
    assert info.value.line == 2
    assert str(info.value) == (f"{path}:2: not valid TOML: Expected ']]' at the end of an array declaration "
                               "(column 7)")


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        tomlfile.read(tmp_path / "nope.toml")
    sjis = tmp_path / "sjis.toml"
    sjis.write_bytes('title = "誤送付"\n'.encode("cp932"))
    with pytest.raises(InputError) as info:
        tomlfile.read(sjis, hint="save the record as UTF-8")
    assert str(info.value) == f"{sjis}: not UTF-8 text; save the record as UTF-8"


def test_new_from_a_malformed_file_names_the_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\npersons = = 3\n', encoding="utf-8")
    result = run(["new", "--from", str(bad)], expect=2)
    assert result.stderr.startswith(f"error: {bad}:2: not valid TOML:")


def test_table_line_finds_keys_in_arrays_sub_tables_and_inline_tables() -> None:
    locator = tomlfile.TomlLocator("""id = "x"
[[condition]]
id = "a"
[[condition]]
id = "b"
[condition.reason]
met = "..."
deadline = { kind = "days", days = 30 }
["quoted"]
key = 1
""")
    assert locator.table_line(None, key="id") == 1
    assert locator.table_line("condition", 1, "id") == 5
    assert locator.table_line("condition", 1, "met") == 7          # inside the sub-table of that block
    assert locator.table_line("condition", 1, "days") == 8         # inside an inline table
    assert locator.table_line("condition", 0, "met") == 2          # not in block 0: its header line
    assert locator.table_line("condition", 5, "id") is None
    assert locator.table_line("quoted", None, "key") == 10
    assert locator.table_line(None, key="missing") is None
