"""Roster input that used to be read wrongly in silence: other encodings, header variants, addresses
rewritten on import, and e-mail addresses accepted at import but refused at sending."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident.errors import InputError
from incident.notices.emailaddr import check_email, email_problem, smtp_address
from incident.notices.roster import RosterRowsError, RowProblem, import_csv, import_rows, iter_people
from incident.notices.rostertable import field_of

KEY = bytes(range(32))


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "store" / "rosters" / "2024-0001.roster"


def write(tmp_path: Path, data: bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- encodings --------------------------------------------------------------------------------------------------


def test_utf16_tab_separated_unicode_text_from_excel(tmp_path: Path, dest: Path) -> None:
    text = "氏名\t住所\tメールアドレス\r\n山田 太郎\t東京都港区1-1\tyamada@example.jp\r\n"
    for codec in ("utf-16-le", "utf-16-be"):
        bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
        src = write(tmp_path, bom + text.encode(codec))
        result = import_csv(src, dest, KEY)
        assert (result.encoding, result.count, result.columns) == ("utf-16", 1, ("name", "address", "email"))
        [person] = iter_people(dest, KEY)
        assert (person.name, person.address, person.email) == ("山田 太郎", "東京都港区1-1", "yamada@example.jp")


def test_euc_jp_is_not_read_as_cp932(tmp_path: Path, dest: Path) -> None:
    text = "氏名,address\n山田太郎,大阪府大阪市\n佐藤花子,大阪府\n"
    src = write(tmp_path, text.encode("euc_jp"))
    assert src.read_bytes().decode("cp932")  # it does decode as cp932: 「ｻｳﾅﾄﾂﾀﾏｺ」
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY)
    assert str(err.value) == (
        f"{src}: the file decodes as Shift_JIS (cp932) but reads like EUC-JP text decoded wrongly (the names "
        "would be printed as mojibake); give its encoding with --encoding NAME (e.g. --encoding euc_jp, "
        "--encoding latin-1), or --encoding cp932 if it really is Shift_JIS")
    assert not dest.exists()
    assert import_csv(src, dest, KEY, encoding="euc_jp").encoding == "euc_jp"
    assert [p.name for p in iter_people(dest, KEY)] == ["山田太郎", "佐藤花子"]


def test_latin1_names_are_not_read_as_cp932(tmp_path: Path, dest: Path) -> None:
    text = "name,email\nFrançoise Renée,f@example.fr\nRenée Dupont,s@example.fr\n"
    src = write(tmp_path, text.encode("latin-1"))
    assert src.read_bytes().decode("cp932")  # 「Fran輟ise Ren馥」
    with pytest.raises(InputError) as err:
        import_csv(src, dest, KEY)
    assert "reads like Latin-1 / Windows-1252 text decoded wrongly" in str(err.value)
    assert "--encoding" in str(err.value)
    import_csv(src, dest, KEY, encoding="cp1252")
    assert [p.name for p in iter_people(dest, KEY)] == ["Françoise Renée", "Renée Dupont"]


def test_user_defined_cp932_characters_are_refused(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "氏名,住所\n".encode("cp932") + b"\xf0\x40,x\n")
    with pytest.raises(InputError, match="reads like another encoding"):
        import_csv(src, dest, KEY)


@pytest.mark.parametrize("kana", ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｱｲ ｳｴｵ", "ﾀﾛｳ"])
def test_genuine_cp932_with_half_width_kana_is_accepted(tmp_path: Path, dest: Path, kana: str) -> None:
    src = write(tmp_path, f"氏名,フリガナ,住所\n山田 太郎,{kana},東京都\nTaro Yamada,{kana},Tokyo\n".encode("cp932"))
    assert import_csv(src, dest, KEY).encoding == "cp932"
    assert [p.kana for p in iter_people(dest, KEY)] == [kana, kana]


def test_an_unknown_or_wrong_encoding_is_named(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "氏名,住所\n山田,東京\n".encode())
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        import_csv(src, dest, KEY, encoding="klingon")
    with pytest.raises(InputError, match=r"not ascii text \(first bad byte 0xe6 at offset 0 \(line 1\)\); check"):
        import_csv(src, dest, KEY, encoding="ascii")


# -- headers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [("お名前", "name"), ("ご氏名", "name"), ("ＮＡＭＥ", "name"), ("〒", "postal_code"), ("ご住所", "address"),
     ("E-mail", "email"), ("電子メール", "email"), ("Ｅメール", "email"), ("携帯メール", "email"),
     ("携帯", "phone"), ("お電話番号", "phone"), ("TEL", "phone"), ("フリガナ", "kana"), ("備考", None),
     ("お", None)],
)  # fmt: skip
def test_header_variants(header: str, field: str | None) -> None:
    assert field_of(header) == field


def test_common_japanese_form_headers_import(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "お名前,〒,ご住所,E-mail\n山田 太郎,1000001,東京都港区1-1,yamada@example.jp\n".encode())
    result = import_csv(src, dest, KEY)
    assert result.columns == ("name", "postal_code", "address", "email")
    [person] = iter_people(dest, KEY)
    assert (person.name, person.postal_code, person.address) == ("山田 太郎", "100-0001", "東京都港区1-1")


# -- values as written ---------------------------------------------------------------------------------------------


def test_addresses_and_names_are_kept_as_written(tmp_path: Path, dest: Path) -> None:
    address = "東京都港区芝公園１丁目２－３　グリーンハイツ１０１号室～別館"
    src = write(tmp_path, f"氏名,住所,電話\n髙橋　①郎,{address},０３－１２３４－５６７８\n".encode())
    import_csv(src, dest, KEY)
    [person] = iter_people(dest, KEY)
    assert (person.name, person.address, person.phone) == ("髙橋　①郎", address, "03-1234-5678")


def test_rows_interface_for_other_formats(tmp_path: Path, dest: Path) -> None:
    rows = [(2, ["山田 太郎", "yamada@example.jp"]), (3, ["佐藤", "bad@"]), (5, ["鈴木", "s@example.jp"])]
    with pytest.raises(RosterRowsError) as err:
        import_rows(["氏名", "メール"], iter(rows), dest, KEY, source=Path("people.xlsx"), encoding="xlsx")
    assert [p.line for p in err.value.problems] == [3]
    result = import_rows(["氏名", "メール"], iter(rows), dest, KEY, source=Path("people.xlsx"), encoding="xlsx",
                         skip_invalid=True)
    assert (result.count, result.skipped_rows, result.data_lines, result.encoding) == (2, 1, 3, "xlsx")
    assert [p.line for p in iter_people(dest, KEY)] == [2, 5]


def test_rows_that_a_source_counts_differently_import_nothing(tmp_path: Path, dest: Path) -> None:
    rows = [(2, ["山田 太郎", "yamada@example.jp"])]
    with pytest.raises(InputError, match="read 1 rows but the file holds 2 data rows; nothing imported"):
        import_rows(["氏名", "メール"], rows, dest, KEY, source=Path("x.xlsx"), data_lines=lambda: 2)
    assert not dest.exists()


def test_the_count_imported_is_compared_with_the_data_lines(tmp_path: Path, dest: Path) -> None:
    body = "".join(f"人{i},p{i}@example.jp\n" for i in range(1000))
    result = import_csv(write(tmp_path, ("氏名,メール\n\n" + body + "\n,\n").encode()), dest, KEY)
    assert (result.count, result.data_lines) == (1000, 1000)


# -- one e-mail rule ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "sent_as"),
    [("a.b+tag@mail.example.co.jp", "a.b+tag@mail.example.co.jp"),
     ("foo..bar.@example.jp", '"foo..bar."@example.jp'),
     (".taro@docomo.ne.jp", '".taro"@docomo.ne.jp'),
     ("x_y-z@sub-domain.example.com", "x_y-z@sub-domain.example.com")],
)  # fmt: skip
def test_legacy_carrier_addresses_are_sendable(addr: str, sent_as: str) -> None:
    assert email_problem(addr) is None
    assert smtp_address(addr) == sent_as
    check_email(addr, "recipient p000001", "to_addr")


@pytest.mark.parametrize(
    "addr",
    ["a b@example.jp", "a@example", "@example.jp", "a@-example.jp", "a<b>@example.jp", "a@exa_mple.jp",
     'a"b@example.jp', "a@b@example.jp", "x" * 65 + "@example.jp", "ｙ@example.jp", "a@example.jp\r\nBcc: x",
     "a@example.jp,b@example.jp", ""],
)  # fmt: skip
def test_addresses_refused_at_import_and_at_sending_alike(tmp_path: Path, dest: Path, addr: str) -> None:
    assert email_problem(addr) is not None
    with pytest.raises(InputError):
        check_email(addr, "recipient p000001", "to_addr")
    if addr and not any(c in addr for c in '\r"ｙ'):
        src = write(tmp_path, f'氏名,メール,住所\n山田,"{addr}",東京\n'.encode())
        with pytest.raises(RosterRowsError) as err:
            import_csv(src, dest, KEY)
        assert err.value.problems[0].line == 2
        assert err.value.problems[0].reason.startswith("email ")


def test_a_row_nobody_can_receive_is_reported_at_import(tmp_path: Path, dest: Path) -> None:
    src = write(tmp_path, "氏名,メール\n山田,yamada@example.jp\n佐藤,\n".encode())
    with pytest.raises(RosterRowsError) as err:
        import_csv(src, dest, KEY)
    assert err.value.problems == (RowProblem(3, "no address or e-mail: no notice can reach this person"),)
