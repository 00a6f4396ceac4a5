"""The interface language: chosen per run ($INCIDENT_LANG, the store's `language`, the locale), every
message extracted and translated in the Japanese catalogue, click's own words included."""

from __future__ import annotations

import gettext
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from catalogue import MO, PO, extract, load_po, placeholders
from click.testing import CliRunner

from incident import i18n
from incident.cli import COMMANDS, cli

# --------------------------------------------------------------------------- choosing the language


def test_incident_lang_comes_first(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('language = "en"\n', encoding="utf-8")
    env = {"INCIDENT_LANG": "ja", "LANG": "en_US.UTF-8"}
    assert i18n.resolve(tmp_path, env) == "ja"
    assert i18n.resolve(tmp_path, {**env, "INCIDENT_LANG": "EN"}) == "en"


def test_then_the_stores_language_then_the_locale(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('organization = "x"\nlanguage = "ja"\n', encoding="utf-8")
    assert i18n.resolve(tmp_path, {"LANG": "C.UTF-8"}) == "ja"
    (tmp_path / "config.toml").write_text('organization = "language"\n', encoding="utf-8")
    assert i18n.resolve(tmp_path, {"LANG": "ja_JP.UTF-8"}) == "ja"
    assert i18n.resolve(tmp_path, {"LANG": "C.UTF-8"}) == "en"
    assert i18n.resolve(None, {}) == "en"


@pytest.mark.parametrize(("text", "expected"), [
    ('language = ""\n', ""),  # what `incident init` writes: read without the TOML parser
    ("organization = 'x'\n  language  =  ''  \n", ""),
    ('language = "ja"  # 日本語\n', "ja"),
    ('language = ""\n[smtp]\nhost = "language"\n', ""),
    ('[smtp]\nlanguage = "ja"\n', ""),  # not the store's setting
    ('"language" = "ja"\n', "ja"),
    ('language = """\nlanguage = ""\n"""\n', ""),  # not a language, and bad TOML: left to the config
    ('language = ""\r\nlanguage = "ja"\r\n', ""),  # a key twice: bad TOML, reported by the config
    ('note = """\nlanguage = ""\n"""\nlanguage = "ja"\n', "ja"),
])
def test_the_stores_language_as_toml_reads_it(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "config.toml").write_text(text, encoding="utf-8", newline="")
    assert i18n.configured_language(tmp_path / "config.toml") == expected
    assert i18n.configured_language(str(tmp_path / "config.toml")) == expected


@pytest.mark.parametrize(("env", "expected"), [
    ({"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),
    ({"LC_MESSAGES": "ja_JP.eucJP", "LANG": "C"}, "ja"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
])
def test_the_locale_in_posix_order(env: dict[str, str], expected: str) -> None:
    assert i18n.locale_language(env) == expected


def test_a_bad_incident_lang_is_refused_not_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_LANG", "fr")
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 2
    assert "INCIDENT_LANG" in result.stderr and "'fr'" in result.stderr and "ja or en" in result.stderr


def test_the_store_setting_chooses_japanese(run, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("INCIDENT_LANG")
    monkeypatch.setenv("LANG", "C")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    result = run("config set language=fr", expect=2)
    assert "'language'" in result.stderr and "ja, en" in result.stderr
    run("config set language=ja")
    assert "使い方:" in run("list --help").stdout
    monkeypatch.setenv("INCIDENT_LANG", "en")
    assert "Usage:" in run("list --help").stdout


# --------------------------------------------------------------------------- the catalogue


def test_every_message_has_a_japanese_translation_with_the_same_placeholders() -> None:
    catalog = load_po()
    translations = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}  # type: ignore[attr-defined]
    missing, fuzzy, broken = [], [], []
    for message, where in extract().items():
        entry = translations.get(message)
        strings = (entry.string if isinstance(entry.string, tuple) else (entry.string,)) if entry else ()
        if entry is None or not all(strings):
            missing.append(f"{where[0]}: {message!r}")
            continue
        if entry.fuzzy:
            fuzzy.append(f"{where[0]}: {message!r}")
        source = message[-1] if isinstance(message, tuple) else message  # Japanese has one plural form
        for text in strings:
            if placeholders(text) != placeholders(source):
                broken.append(f"{where[0]}: {message!r} -> {text!r}")
    assert not missing, f"{len(missing)} without a translation (run `python tests/catalogue.py`):\n" + \
        "\n".join(missing)
    assert not fuzzy, "\n".join(fuzzy)
    assert not broken, "placeholders differ:\n" + "\n".join(broken)


def test_the_compiled_catalogue_is_the_po() -> None:
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    catalog = load_po()
    for message in catalog:  # type: ignore[attr-defined]
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(*message.id, 2) == message.string[0], message.id
        else:
            assert compiled.gettext(message.id) == message.string, f"{message.id!r}: run tests/catalogue.py"
    assert PO.stat().st_size > 0


def test_placeholders_are_compared_exactly() -> None:
    assert placeholders("{n} of {total!r} %(prog)s") == ["%(prog)s", "{n}", "{total!r}"]
    assert placeholders("{total} {n}") != placeholders("{n} of {total!r}")


# --------------------------------------------------------------------------- click's own words


def _incident(*args: str, lang: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INCIDENT_LANG": lang}
    return subprocess.run([sys.executable, "-m", "incident", *args], capture_output=True, text=True, env=env,
                          check=False)


def test_top_level_help_in_japanese_with_clicks_words() -> None:
    out = _incident("--help", lang="ja")
    assert out.returncode == 0
    assert out.stdout.startswith("使い方: incident [オプション] コマンド [引数]...")
    for words in ("オプション:", "コマンド:", "このヘルプを表示して終了します。",
                  "新しい事案を記録し、その番号を表示します。", "個人データの漏えい等事案を記録し"):
        assert words in out.stdout, words
    assert "Show this message and exit." not in out.stdout
    assert "Record a new incident" not in out.stdout


def test_clicks_errors_in_japanese() -> None:
    out = _incident("nosuch", lang="ja")
    assert out.returncode == 2
    assert "エラー: コマンド 'nosuch' はありません。" in out.stderr
    assert "'incident --help' でヘルプを表示できます。" in out.stderr
    out = _incident("show", lang="ja")
    assert "エラー: 引数が指定されていません 'ID'。" in out.stderr or "引数が指定されていません" in out.stderr
    out = _incident("list", "--nosuch", lang="ja")
    assert "エラー: オプション '--nosuch' はありません。" in out.stderr and "No such option" not in out.stderr
    assert "Invalid value" not in out.stderr


def test_english_stays_english() -> None:
    out = _incident("nosuch", lang="en")
    assert "Error: No such command 'nosuch'." in out.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_translated_summary_is_the_commands_translated_short_help(name: str) -> None:
    i18n.activate("ja")
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    summary = i18n._(COMMANDS[name][1])
    assert summary != COMMANDS[name][1], "the summary has no Japanese translation"
    assert summary == command.get_short_help_str(limit=10**6)
    i18n.activate("en")
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.get_short_help_str(limit=10**6) == COMMANDS[name][1]


def test_no_internal_source_names_reach_the_officer() -> None:
    """The sources are named as the officer knows them (練馬区の公表例, the ordinance's name), never by the
    project's internal numbering: not in help texts, playbook values or the READMEs."""
    from conftest import REPO

    messages = [m if isinstance(m, str) else " ".join(m) for m in extract()]
    assert not [m for m in messages if "seed 0" in m]
    for readme in ("README.md", "README.ja.md"):
        path = REPO / readme
        assert not path.exists() or "seed 0" not in path.read_text(encoding="utf-8"), readme
    for toml in (REPO / "playbooks").rglob("*.toml"):
        values = [line for line in toml.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in values if "seed 0" in line.split("#")[0]], toml


def _mo(entries: dict[str, str], byteorder: str) -> bytes:
    """A .mo file of `entries` (originals sorted, as the format wants), in little- or big-endian order."""
    import struct

    order = "<" if byteorder == "little" else ">"
    keys = sorted(entries, key=lambda k: k.encode())
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    start = 7 * 4 + 16 * len(keys)
    table, offset, blobs = [], start, b""
    for blob in ids + strs:
        table.append((len(blob), offset))
        offset += len(blob) + 1
        blobs += blob + b"\0"
    header = struct.pack(order + "7I", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    return header + b"".join(struct.pack(order + "2I", *t) for t in table) + blobs


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_the_catalogue_finds_each_message_when_asked(byteorder: str, tmp_path: Path) -> None:
    import io

    entries = {"": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n",
               "Apple": "りんご", "apple": "リンゴ", "a": "あ", "zz": "ずず",
               "{n} item\0{n} items": "{n}個目\0{n}個", "ctx\x04Open": "開く"}
    catalogue = i18n.Catalogue(io.BytesIO(_mo(entries, byteorder)))
    assert [catalogue.gettext(m) for m in ("Apple", "apple", "a", "zz", "b", "")] == [
        "りんご", "リンゴ", "あ", "ずず", "b", entries[""]]
    assert [catalogue.ngettext("{n} item", "{n} items", n) for n in (1, 2)] == ["{n}個目", "{n}個"]
    assert catalogue.ngettext("{n} pear", "{n} pears", 2) == "{n} pears"
    assert (catalogue.pgettext("ctx", "Open"), catalogue.pgettext("other", "Open")) == ("開く", "Open")


def test_the_lazy_catalogue_answers_as_gettext_does() -> None:
    reference = gettext.GNUTranslations(MO.open("rb"))
    with MO.open("rb") as f:
        catalogue = i18n.Catalogue(f)
    for key, text in reference._catalog.items():  # type: ignore[attr-defined]
        if isinstance(key, str):
            assert catalogue.gettext(key) == text, key
    for message in load_po():  # type: ignore[attr-defined]
        if message.pluralizable:
            for n in (1, 2, 10):
                assert catalogue.ngettext(*message.id, n) == reference.ngettext(*message.id, n)
    assert catalogue.gettext("no such message") == "no such message"


def test_the_bundled_catalogues_originals_are_sorted() -> None:
    """The binary search of i18n.Catalogue relies on it (the .mo format asks for it; Babel writes it so)."""
    import struct

    data = MO.read_bytes()
    count, originals = struct.unpack_from("<2I", data, 8)
    keys = [data[o:o + n] for n, o in (struct.unpack_from("<2I", data, originals + 8 * i) for i in range(count))]
    assert count > 900 and keys == sorted(keys)


def test_clicks_words_come_from_the_one_loaded_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANGUAGE", raising=False)
    i18n.activate("ja")
    try:
        assert gettext.gettext("Show this message and exit.") == "このヘルプを表示して終了します。"
        loaded = gettext._translations[(gettext.GNUTranslations, os.path.abspath(MO))]  # type: ignore[attr-defined]
        assert isinstance(loaded, i18n.Catalogue) and loaded is i18n._translation
    finally:
        i18n.activate("en")
