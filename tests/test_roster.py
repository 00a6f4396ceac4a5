"""The affected-person roster: CSV import, encryption at rest, streaming reads, masking."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from incident.errors import InputError
from incident.notices.masking import mask_address, mask_email, mask_name, mask_phone, mask_postal_code
from incident.notices.roster import (
    Duplicate,
    ImportResult,
    Person,
    RosterRowsError,
    RowProblem,
    import_csv,
    iter_people,
    sample,
)
from incident.notices.rosterfile import RosterInfo, roster_info

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
WHEN = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)

JA_CSV = """氏名,フリガナ,住所,郵便番号,メールアドレス,電話番号,会員番号
山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,東京都千代田区千代田１－１,１００－０００１,ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ,０９０ー１２３４ー５６７８,Ａ００１
鈴木 花子,スズキ ハナコ,大阪府大阪市北区梅田1-1,5300001,hanako@example.jp,,A002
"""

YAMADA = Person(  # as written, but for the e-mail address, the postal code and the phone (sendable forms)
    key="p000001",
    name="山田　太郎",
    kana="ﾔﾏﾀﾞ ﾀﾛｳ",
    address="東京都千代田区千代田１－１",
    postal_code="100-0001",
    email="yamada@example.jp",
    phone="090-1234-5678",
    extra={"会員番号": "Ａ００１"},
    line=2,
)
SUZUKI = Person(
    key="p000002",
    name="鈴木 花子",
    kana="スズキ ハナコ",
    address="大阪府大阪市北区梅田1-1",
    postal_code="530-0001",
    email="hanako@example.jp",
    phone="",
    extra={"会員番号": "A002"},
    line=3,
)
JA_COLUMNS = ("name", "kana", "address", "postal_code", "email", "phone", "会員番号")


def write(tmp_path: Path, text: str, *, name: str = "people.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def people(path: Path, key: bytes = KEY) -> list[Person]:
    return list(iter_people(path, key))


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "store" / "rosters" / "2024-0001.roster"


# -- encodings and headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932")]
)
def test_import_japanese_headers_in_each_encoding(
    tmp_path: Path, dest: Path, encoding: str, detected: str
) -> None:
    src = write(tmp_path, JA_CSV, encoding=encoding)
    result = import_csv(src, dest, KEY, imported_at=WHEN)
    assert result == ImportResult(count=2, columns=JA_COLUMNS, encoding=detected, data_lines=2)
    assert people(dest) == [YAMADA, SUZUKI]


def test_cp932_only_characters(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "氏名,住所\n髙橋 ①郎,神奈川県横浜市港北区㈱ビル\n", encoding="cp932")
    assert import_csv(src, dest, KEY).encoding == "cp932"
    [person] = people(dest)
    assert (person.name, person.address) == ("髙橋 ①郎", "神奈川県横浜市港北区㈱ビル")


def test_file_in_neither_encoding_is_refused(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "name,email\nJosé,jose@example.jp\n", encoding="latin-1")
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY)
    assert str(err.value) == (
        f"{src}: neither UTF-8 nor Shift_JIS (cp932) text (first bad byte 0xe9 at offset 14 (line 2)); "
        "save it from Excel as 'CSV UTF-8', or give its encoding with --encoding NAME "
        "(e.g. --encoding euc_jp, --encoding latin-1)"
    )
    assert not dest.exists()
    assert import_csv(src, dest, KEY, encoding="latin-1").encoding == "iso8859-1"
    assert [p.name for p in people(dest)] == ["José"]


def test_english_headers_in_any_case_and_spacing(tmp_path: Path, dest: Path) -> None:
    src = write(
        tmp_path,
        "Name,Kana,E-mail,Postal Code,Address,Phone,Note\n"
        "Taro Yamada,ヤマダ,taro@example.jp,1000001,Tokyo,03-1234-5678,VIP\n",
    )
    result = import_csv(src, dest, KEY)
    assert result.columns == ("name", "kana", "email", "postal_code", "address", "phone", "Note")
    assert people(dest) == [
        Person("p000001", "Taro Yamada", "ヤマダ", "Tokyo", "100-0001", "taro@example.jp", "03-1234-5678",
               {"Note": "VIP"}, 2)
    ]  # fmt: skip


def test_mapping_names_unknown_headers_and_overrides_recognized_ones(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "宛て名,連絡先,メール,〒\n佐藤 一郎,sato@example.jp,old@example.jp,〒060-0001\n")
    result = import_csv(src, dest, KEY, mapping={"宛て名": "name", "連絡先": "email"})
    assert result.columns == ("name", "email", "メール", "postal_code")
    [person] = people(dest)
    assert (person.name, person.email, person.postal_code, dict(person.extra)) == (
        "佐藤 一郎",
        "sato@example.jp",
        "060-0001",
        {"メール": "old@example.jp"},
    )


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        ("氏名,x\n", {"x": "mail"}, "--map x=mail: unknown field 'mail'; valid: name, kana, address, postal_code, email, phone"),
        ("氏名,x\n", {"y": "email"}, "people.csv: --map y=email: no column 'y' in the header"),
        ("氏名,x,y\n", {"x": "email", "y": "email"}, "--map gives email twice; map one column to each field"),
        ("メール,email\n", None, "people.csv: columns 'メール' and 'email' both give email; choose one with --map"),
        ("\n氏名,備考,備考\n", None, "people.csv:2: column '備考' appears twice in the header"),
        ("会員番号,備考\n", None, ("people.csv: no name column (氏名) and neither an address (住所) nor an e-mail "
                                   "(メールアドレス) column among the columns 会員番号, 備考; name them with "
                                   "--map COLUMN=name,COLUMN=address (or =email)")),
        ("お名前,〒,会員番号\n", None, ("people.csv: neither an address (住所) nor an e-mail (メールアドレス) column "
                                        "among the columns お名前, 〒, 会員番号; name them with "
                                        "--map COLUMN=name,COLUMN=address (or =email)")),
        ("住所,E-mail\n", None, ("people.csv: no name column (氏名) among the columns 住所, E-mail; name them with "
                                 "--map COLUMN=name,COLUMN=address (or =email)")),
        ('"氏名\n",住所\n', None, ("people.csv:2: the header row spans lines (a quoted heading with a line break, "
                                  "or an unclosed quote)")),
        ("", None, "people.csv: the file is empty; expected a header row such as 氏名,メールアドレス,住所"),
        ("氏名,住所\n\n", None, "people.csv: the file has a header but no rows of people"),
    ],
)  # fmt: skip
def test_header_problems(
    tmp_path: Path, dest: Path, monkeypatch: pytest.MonkeyPatch, header: str, mapping: dict[str, str] | None,
    message: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    write(tmp_path, header)
    with pytest.raises(InputError) as err:
        import_csv(Path("people.csv"), dest, KEY, mapping=mapping)
    assert str(err.value) == message
    assert not dest.exists()


# -- values ---------------------------------------------------------------------------------------------------


def test_blank_lines_and_line_numbers(tmp_path: Path, dest: Path) -> None:
    src = write(
        tmp_path,
        '\n氏名,住所,メモ\r\n山田 太郎,"東京都港区芝公園4-2-8",\r\n\r\n,,\r\n"",,\r\n鈴木 花子,大阪府堺市,"a,""b"""\r\n',
    )
    result = import_csv(src, dest, KEY)
    assert (result.count, result.data_lines) == (2, 2)
    assert [(p.key, p.line, p.address, dict(p.extra)) for p in people(dest)] == [
        ("p000001", 3, "東京都港区芝公園4-2-8", {"メモ": ""}),
        ("p000002", 7, "大阪府堺市", {"メモ": 'a,"b"'}),
    ]


def test_an_unclosed_quote_imports_nobody(tmp_path: Path, dest: Path) -> None:
    rows = [f"人{i},東京都{i},p{i}@example.jp" for i in range(1000)]
    rows[1] = '人1,"東京都1,p1@example.jp'  # the quote is never closed: it would swallow the 998 rows below
    src = write(tmp_path, "氏名,住所,メール\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY, skip_invalid=True)
    assert str(err.value) == f"{src}: line 3: not valid CSV: unexpected end of data (nothing imported)"
    rows[1] = '人1,"東京都1,p1@example.jp'
    rows[5] = '人5,東京都5",p5@example.jp'  # ... closed on a later line: one field spanning lines 3-7
    src = write(tmp_path, "氏名,住所,メール\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY, skip_invalid=True)
    assert str(err.value).startswith(
        f"{src}: line 3: a quoted field spans lines 3-7; is a closing quote (\") missing?")
    assert str(err.value).endswith("(the file's structure is broken: nothing imported; "
                                   "--skip-invalid does not skip these)")
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_a_multiline_cell_is_refused(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, '氏名,住所\r\n山田 太郎,"東京都港区\r\n芝公園4-2-8"\r\n鈴木 花子,大阪府\r\n')
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY)
    assert "line 2: a quoted field spans lines 2-3" in str(err.value)
    assert not dest.exists()


def test_rows_with_another_number_of_fields_are_refused_with_their_lines(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "氏名,メール,住所\n山田 太郎\n鈴木 花子,s@example.jp,大阪\n佐藤,t@example.jp,京都,,\n")
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY, skip_invalid=True)
    assert str(err.value) == (
        f"{src}: line 2: 1 fields, but the header (line 1) has 3; is a comma or a quote missing or extra?; "
        "line 4: 5 fields, but the header (line 1) has 3; is a comma or a quote missing or extra? "
        "(the file's structure is broken: nothing imported; --skip-invalid does not skip these)"
    )
    assert not dest.exists()


def test_an_overlong_cell_is_refused(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, f"氏名,住所\n山田 太郎,{'東' * 1001}\n鈴木 花子,大阪\n")
    with pytest.raises(RosterRowsError) as err:
        import_csv(src, dest, KEY)
    assert err.value.problems == (
        RowProblem(2, "address: 1,001 characters (at most 1,000); is a closing quote missing?"),)
    assert not dest.exists()


BAD_CSV = (
    "氏名,メール,郵便番号,住所\n"
    "山田 太郎,yamada@example.jp,100-0001,東京都\n"  # 2: good
    "佐藤,foo@,,\n"  # 3
    "鈴木,'suzuki@example.jp',12-345,\n"  # 4: two problems
    ',,,\n'  # 5: blank, skipped
    ',,1000001,\n'  # 6: nobody
    '田中\x07一郎,a@example.jp,,\n'  # 7: a control character in a name
    '高橋,t@example.jp Bcc: all@example.jp,,\n'  # 8: header injection
    '伊藤,"i@example.jp,x@example.jp",,\n'  # 9
    "渡辺,,,\n"  # 10: no way to reach them
    "小林,k@example.jp,5300001,大阪府\n"  # 11: good
)  # fmt: skip
_HOST = "cannot be sent to (the domain after @ is not a valid host name (e.g. example.jp))"
BAD_PROBLEMS = [
    RowProblem(3, f"email 'foo@': {_HOST}"),
    RowProblem(4, f"email ''suzuki@example.jp'': {_HOST}"),
    RowProblem(4, "postal_code '12-345': not NNN-NNNN or NNNNNNN"),
    RowProblem(6, 'no name (a letter would be addressed " 様")'),
    RowProblem(6, "no address or e-mail: no notice can reach this person"),
    RowProblem(7, "name '田中\\x07一郎': contains a line break or control character; it must be one line"),
    RowProblem(8, "email 't@example.jp Bcc: all@example.jp': cannot be sent to (the part before @ holds a "
                  "character mail servers refuse (space, quote, @, <, > ...))"),
    RowProblem(9, "email 'i@example.jp,x@example.jp': cannot be sent to (contains a comma or semicolon "
                  "(one address per person))"),
    RowProblem(10, "no address or e-mail: no notice can reach this person"),
]


def test_bad_rows_are_all_listed_and_nothing_is_written(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, BAD_CSV)
    with pytest.raises(RosterRowsError) as err:
        import_csv(src, dest, KEY)
    assert err.value.problems == tuple(BAD_PROBLEMS)
    assert err.value.total == 9
    assert str(err.value) == (
        f"{src}: " + "; ".join(str(p) for p in BAD_PROBLEMS)
        + " (nothing imported; fix these rows, or leave them out with --skip-invalid)"
    )  # fmt: skip
    assert err.value.exit_code == 2
    assert list(dest.parent.iterdir()) == []


def test_failed_import_leaves_the_old_roster_untouched(tmp_path: Path, dest: Path) -> None:
    import_csv(write(tmp_path, JA_CSV, name="first.csv"), dest, KEY)
    before = dest.read_bytes()
    with pytest.raises(RosterRowsError):
        import_csv(write(tmp_path, BAD_CSV), dest, KEY)
    assert dest.read_bytes() == before
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]
    assert people(dest) == [YAMADA, SUZUKI]


def test_error_message_lists_twenty_problems_then_counts_the_rest(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "氏名,メール\n" + "".join(f"n{i},bad{i}@\n" for i in range(25)))
    with pytest.raises(RosterRowsError) as err:
        import_csv(src, dest, KEY)
    text = str(err.value)
    assert text.count("cannot be sent to") == 20
    assert f"row 21: email 'bad19@': {_HOST}; … and 5 more (nothing imported;" in text
    assert len(err.value.problems) == 25


def test_skip_invalid_imports_the_good_rows_and_lists_the_rest(tmp_path: Path, dest: Path) -> None:
    result = import_csv(write(tmp_path, BAD_CSV), dest, KEY, skip_invalid=True)
    assert result == ImportResult(
        count=2,
        columns=("name", "email", "postal_code", "address"),
        encoding="utf-8",
        skipped=tuple(BAD_PROBLEMS),
        skipped_rows=7,
        data_lines=9,
    )
    assert [(p.key, p.line, p.name, p.postal_code) for p in people(dest)] == [
        ("p000001", 2, "山田 太郎", "100-0001"),
        ("p000002", 11, "小林", "530-0001"),
    ]


def test_skip_invalid_with_no_valid_row_imports_nothing(tmp_path: Path, dest: Path) -> None:
    with pytest.raises(RosterRowsError) as err:
        import_csv(write(tmp_path, "氏名,メール\n,x@\n"), dest, KEY, skip_invalid=True)
    assert err.value.message == (f"row 2: email 'x@': {_HOST}; row 2: no name (a letter would be addressed "
                                 '" 様") (no valid rows, nothing imported)')
    assert not dest.exists()


def test_duplicates_are_reported_and_kept(tmp_path: Path, dest: Path) -> None:
    src = write(
        tmp_path,
        "氏名,メール,住所\n"
        "山田 太郎,yamada@example.jp,東京都港区1-1\n"
        "山田太郎,other@example.jp,東京都 港区1-1\n"
        "鈴木 花子,YAMADA@example.jp,大阪府\n"
        "山田 太郎,yamada@example.jp,東京都港区1-1\n"
        "山田　太郎,,東京都港区１－１\n",  # matched after NFKC; kept as written
    )
    result = import_csv(src, dest, KEY)
    assert result.count == 5
    assert result.duplicate_count == 4
    assert result.duplicates == (
        Duplicate(3, "p000002", "p000001", "same name and address"),
        Duplicate(4, "p000003", "p000001", "same email"),
        Duplicate(5, "p000004", "p000001", "same email"),
        Duplicate(6, "p000005", "p000001", "same name and address"),
    )
    assert str(result.duplicates[0]) == "row 3 (p000002): same name and address as p000001"
    assert [p.address for p in people(dest)][-1] == "東京都港区１－１"


def test_valid_email_forms(tmp_path: Path, dest: Path) -> None:
    good = ["a.b+tag@mail.example.co.jp", "foo..bar@docomo.ne.jp", "x_y-z@sub-domain.example.com"]
    bad = ["a b@example.jp", "a@example", "@example.jp", "a@-example.jp", "a<b>@example.jp", "a@exa_mple.jp"]
    src = write(tmp_path, "氏名,メール\n" + "".join(f'人,"{e}"\n' for e in good + bad))
    with pytest.raises(RosterRowsError) as err:
        import_csv(src, dest, KEY)
    assert [p.line for p in err.value.problems] == [5, 6, 7, 8, 9, 10]


# -- the file on disk --------------------------------------------------------------------------------------------


def test_file_on_disk_holds_no_personal_data_and_is_private(tmp_path: Path, dest: Path) -> None:
    import_csv(write(tmp_path, JA_CSV), dest, KEY)
    raw = dest.read_bytes()
    for person in (YAMADA, SUZUKI):
        for value in (person.name, person.email, person.address, person.kana, "yamada", "hanako", "A001"):
            for encoding in ("utf-8", "cp932", "utf-16-le"):
                assert value.encode(encoding) not in raw
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(dest.parent.parent.stat().st_mode) == 0o700


def test_roster_info_without_the_key(tmp_path: Path, dest: Path) -> None:
    import_csv(write(tmp_path, JA_CSV), dest, KEY, imported_at=WHEN)
    assert roster_info(dest) == RosterInfo(count=2, columns=JA_COLUMNS, imported_at=WHEN)


# Written by the roster writer before incident.notices.sealed existed (two people, key bytes(range(32))): the
# on-disk format must keep reading it.
EARLIER_ROSTER = (
    "SU5DUlNUUjHZ4syaapFomP7AguWO+1BaACfBG0R4tRLtFDcml5YNhq4B5BsBsT+e41BqKwAAADgAeApJQYcwFNA+F9oWgIyorRbToLBG"
    "+0BTsWwzps46gANMmhtLRYtqWeARPsKYs0PAZqJ72sQQ/R8AAACnAQBSpixKPq7+6Ly2lAY/rElXPvQPPLDWI07A46o7VTs8IepheGv6"
    "OftXZ0nafn3gtR/mPw2+4EXcdNGFtCut6e2iMynEf1v10Jn8FDUqKCwTNdZLhLOABoxNlQEsB78aBXch1zwJx3f6xQEMwP1bSzl1fotL"
    "10xLLE2UarQf9adIAanvFjxapYw6lXwfysjJ69Ij8Pend0vdRawWgh6E2PO9Gs0UNAbMAAAAKAIfad3pHFvx0Qauy8szBJxm7LVveIAt"
    "8//joHXtzrKzVWi22LaihcFreyJmb3JtYXQiOiAxLCAiY291bnQiOiAyLCAiY29sdW1ucyI6IFsibmFtZSIsICJlbWFpbCIsICLkvJrl"
    "k6Hnlarlj7ciXSwgImltcG9ydGVkX2F0IjogIjIwMjQtMDYtMDNUMDk6MzA6MDArMDA6MDAifQAAAHNJTkNSRU5EMQ=="
)


def test_a_roster_written_before_the_shared_sealed_format_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "earlier.roster"
    path.write_bytes(base64.b64decode(EARLIER_ROSTER))
    assert roster_info(path) == RosterInfo(count=2, columns=("name", "email", "会員番号"), imported_at=WHEN)
    assert people(path) == [
        Person("p000001", "山田 太郎", "", "", "", "yamada@example.jp", "", {"会員番号": "A001"}, 2),
        Person("p000002", "鈴木 花子", "", "", "", "hanako@example.jp", "", {"会員番号": "A002"}, 3),
    ]
    with pytest.raises(InputError, match="the key does not match this roster"):
        people(path, OTHER_KEY)


def test_wrong_key_says_so(tmp_path: Path, dest: Path) -> None:
    import_csv(write(tmp_path, JA_CSV), dest, KEY)
    with pytest.raises(InputError) as err:
        iter_people(dest, OTHER_KEY)  # fails before the first person is asked for
    assert err.value.message.startswith("the key does not match this roster")
    assert err.value.file == str(dest)
    with pytest.raises(InputError, match="the key does not match this roster"):
        sample(dest, OTHER_KEY)


def test_altered_and_truncated_files_are_detected(tmp_path: Path, dest: Path) -> None:
    import_csv(write(tmp_path, JA_CSV), dest, KEY)
    raw = bytearray(dest.read_bytes())
    altered = tmp_path / "altered.roster"
    raw[140] ^= 1
    altered.write_bytes(raw)
    with pytest.raises(InputError, match=r"the roster file is damaged or altered \(frame 1\)"):
        people(altered)
    truncated = tmp_path / "truncated.roster"
    truncated.write_bytes(dest.read_bytes()[:-200])
    with pytest.raises(InputError, match="truncated"):
        people(truncated)
    with pytest.raises(InputError, match="truncated or damaged"):
        roster_info(truncated)


def test_not_a_roster(tmp_path: Path) -> None:
    other = write(tmp_path, JA_CSV)
    with pytest.raises(InputError, match="not a roster file"):
        roster_info(other)
    with pytest.raises(InputError, match="not a roster file"):
        iter_people(other, KEY)
    with pytest.raises(InputError, match="no roster has been imported"):
        roster_info(tmp_path / "missing.roster")
    with pytest.raises(InputError, match="no roster has been imported"):
        iter_people(tmp_path / "missing.roster", KEY)


def test_missing_csv(tmp_path: Path, dest: Path) -> None:
    with pytest.raises(InputError) as err:
        import_csv(tmp_path / "nope.csv", dest, KEY)
    assert str(err.value) == f"{tmp_path / 'nope.csv'}: cannot read the file: No such file or directory"


def test_key_of_the_wrong_size_is_refused(tmp_path: Path, dest: Path) -> None:
    with pytest.raises(InputError, match="a roster key is 32 bytes; this one is 16"):
        import_csv(write(tmp_path, JA_CSV), dest, KEY[:16])


def test_many_chunks_round_trip(tmp_path: Path, dest: Path) -> None:
    rows = "".join(f"人{i},p{i}@example.jp\n" for i in range(2500))
    import_csv(write(tmp_path, "氏名,email\n" + rows), dest, KEY)
    got = people(dest)
    assert [p.key for p in got[:2]] + [got[-1].key] == ["p000001", "p000002", "p002500"]
    assert [p.email for p in got] == [f"p{i}@example.jp" for i in range(2500)]
    assert roster_info(dest).count == 2500


@settings(max_examples=25)
@given(
    st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1), min_size=1)
)
def test_any_printable_names_round_trip(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> None:
    import csv

    expected = [n.strip() for n in names]  # as written
    kept = [e for e in expected if e]
    assume(kept)  # a file with no valid row is refused (tested above)
    directory = tmp_path_factory.mktemp("prop")
    src = directory / "p.csv"
    with open(src, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["氏名", "メール"])
        writer.writerows([[n, "x@example.jp"] for n in names])
    dest = directory / "r.roster"
    result = import_csv(src, dest, KEY, skip_invalid=True)
    assert result.count == len(kept)
    assert [p.name for p in people(dest)] == kept


# -- memory ---------------------------------------------------------------------------------------------------------

BIG_SCRIPT = """
import resource, sys
from pathlib import Path
from incident.notices.roster import import_csv, iter_people
n, src, dest = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
key = bytes(range(32))
with open(src, "w", encoding="utf-8", newline="") as fh:
    fh.write("氏名,住所,郵便番号,メールアドレス,電話番号,備考\\n")
    for i in range(n):
        fh.write(f"山田 太郎{i},東京都千代田区千代田{i}-1,100-0001,user{i}@example.jp,090-0000-{i % 10000:04d},x\\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = import_csv(src, dest, key)
after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
last = None
count = 0
for person in iter_people(dest, key):
    count += 1
    last = person
after_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
unit = 1 if sys.platform == "darwin" else 1024
print(result.count, count, last.key, last.email, src.stat().st_size, (after_import - before) * unit,
      (after_read - before) * unit)
"""


def test_large_roster_imports_and_reads_in_bounded_memory(tmp_path: Path) -> None:
    rows = 200_000
    out = subprocess.run(
        [sys.executable, "-c", BIG_SCRIPT, str(rows), str(tmp_path / "big.csv"), str(tmp_path / "big.roster")],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent,
    ).stdout.split()  # fmt: skip
    imported, read, last_key, last_email, csv_size, import_growth, read_growth = out
    assert (int(imported), int(read), last_key, last_email) == (
        rows,
        rows,
        "p200000",
        "user199999@example.jp",
    )
    assert int(csv_size) > 20_000_000
    # Holding the rows would take several times the file's size; the digest table takes ~12 bytes a slot.
    assert int(import_growth) < 50_000_000
    assert int(read_growth) < 50_000_000


def test_reading_holds_one_chunk_at_a_time(tmp_path: Path, dest: Path) -> None:
    rows = "".join(f"山田 太郎{i},東京都千代田区千代田{i}-1,user{i}@example.jp\n" for i in range(20_000))
    import_csv(write(tmp_path, "氏名,住所,email\n" + rows), dest, KEY)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_people(dest, KEY))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert dest.stat().st_size > 1_500_000
    assert peak < 1_500_000  # about one decrypted chunk, far below the whole roster


# -- masking ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("山田 太郎", "山田 **"),
        ("山田　太郎", "山田 **"),
        ("山田太郎", "山**"),
        ("John Smith", "John **"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [("yamada@example.jp", "y***@example.jp"), ("a@b.jp", "a***@b.jp"), ("broken", "***"), ("", "")],
)
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("090-1234-5678", "***-****-5678"), ("+81 3 1234 5678", "+** * **** 5678"), ("110", "***"), ("", "")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("東京都千代田区千代田1-1", "東京都千代田区***"),
        ("大阪府大阪市北区梅田1-1", "大阪府大阪市北区***"),
        ("神奈川県横浜市港北区日吉2-3", "神奈川県横浜市港北区***"),
        ("千葉県市川市八幡1-1", "千葉県市川市***"),
        ("東京都八王子市元本郷町3-24-1", "東京都八王子市***"),
        ("長野県北安曇郡白馬村北城1", "長野県北安曇郡白馬村***"),
        ("北海道札幌市中央区北1条西2丁目", "北海道札幌市中央区***"),
        ("京都府京都市中京区寺町通御池上る", "京都府京都市中京区***"),
        ("港区芝公園4-2-8", "港区***"),
        ("1-2-3 Chiyoda, Tokyo", "***"),
        ("", ""),
    ],
)
def test_mask_address(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_mask_postal_code() -> None:
    assert [mask_postal_code(p) for p in ("100-0001", "")] == ["100-****", ""]


def test_sample_is_masked_unless_revealed(tmp_path: Path, dest: Path) -> None:
    import_csv(write(tmp_path, JA_CSV), dest, KEY)
    assert sample(dest, KEY, n=1) == (
        Person("p000001", "山田 **", "ﾔﾏﾀﾞ **", "東京都千代田区***", "100-****", "y***@example.jp", "***-****-5678",
               {"会員番号": "***"}, 2),
    )  # fmt: skip
    assert sample(dest, KEY, n=5, reveal=True) == (YAMADA, SUZUKI)
    assert sample(dest, KEY, n=0) == ()
    assert json.dumps([p.name for p in sample(dest, KEY)], ensure_ascii=False) == '["山田 **", "鈴木 **"]'
