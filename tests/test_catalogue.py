"""Tests for the data-item catalogue: the builtin items and flags, name resolution, overrides, the checker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident.errors import InputError, MultipleErrors
from incident.law.catalogue import (
    Catalogue,
    DataItem,
    check_catalogue_file,
    load_catalogue,
    normalize_name,
)
from incident.resources import builtin_dir

SPECIAL_CARE = {
    "race", "creed", "social-status", "medical-history", "criminal-record", "crime-victim", "disability",
    "health-check-results", "medical-treatment", "criminal-procedure", "juvenile-procedure",
}
IDENTIFICATION_CODES = {
    "biometric-data", "dna-sequence", "face-data", "fingerprint-data", "voiceprint", "iris-data", "gait-data",
    "vein-data", "passport-number", "health-insurance-number", "pension-number", "drivers-licence-number",
    "resident-code", "residence-card-number", "employment-insurance-number", "nursing-care-insurance-number",
    "my-number",
}
REQUIRED = {
    "name", "address", "postal-code", "phone", "email-address", "birth-date", "gender", "photo",
    "bank-account-number", "credit-card-number", "card-security-code", "card-last4-expiry",
    "payment-login-credentials", "basic-resident-register", "income", "assets-and-debts", "welfare-services-use",
    "household-composition", "employment-status", "public-assistance", "login-credentials", "customer-number",
    "employee-number", "student-number", "allergy-information", "signature", "vehicle-number", "web-form-input",
} | SPECIAL_CARE | IDENTIFICATION_CODES


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def write(directory: Path, text: str) -> Path:
    path = directory / "data-items.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the builtin items and their flags -------------------------------------------------------------


def test_every_required_item_is_present(catalogue: Catalogue) -> None:
    assert REQUIRED - set(catalogue.items) == set()


def test_special_care_is_exactly_the_legal_list_plus_allergy(catalogue: Catalogue) -> None:
    flagged = {item.id for item in catalogue.items.values() if item.special_care}
    assert flagged == SPECIAL_CARE | {"allergy-information"}
    assert "病歴" in (catalogue.items["allergy-information"].note or "")


def test_welfare_items_are_not_special_care_by_themselves(catalogue: Catalogue) -> None:
    for item_id in ("public-assistance", "income", "assets-and-debts", "welfare-services-use",
                    "household-composition", "employment-status"):
        item = catalogue.items[item_id]
        assert (item.special_care, item.financial_harm, item.identification_code) == (False, False, False)


def test_financial_harm_card_versus_account(catalogue: Catalogue) -> None:
    flags = {i: catalogue.items[i].financial_harm for i in (
        "credit-card-number", "card-security-code", "payment-login-credentials",
        "bank-account-number", "card-last4-expiry", "login-credentials")}
    assert flags == {
        "credit-card-number": True, "card-security-code": True, "payment-login-credentials": True,
        "bank-account-number": False, "card-last4-expiry": False, "login-credentials": False,
    }
    assert catalogue.items["credit-card-number"].citation == "個人情報保護法施行規則第7条第2号; 個人情報保護委員会Q&A 6-12"
    assert "Q&A 14-8" in (catalogue.items["bank-account-number"].note or "")
    assert "Q&A 6-12" in (catalogue.items["card-last4-expiry"].note or "")


def test_identification_codes_and_my_number(catalogue: Catalogue) -> None:
    flagged = {item.id for item in catalogue.items.values() if item.identification_code}
    assert IDENTIFICATION_CODES <= flagged
    assert {item.id for item in catalogue.items.values() if item.my_number} == {"my-number"}
    assert catalogue.items["resident-code"].identification_code is True
    assert catalogue.items["basic-resident-register"].identification_code is False
    assert catalogue.items["photo"].identification_code is False


def test_every_flagged_item_cites_the_law(catalogue: Catalogue) -> None:
    uncited = [
        item.id for item in catalogue.items.values()
        if (item.special_care or item.financial_harm or item.identification_code or item.my_number)
        and not item.citation
    ]
    assert uncited == []


def test_the_builtin_file_checks_clean() -> None:
    assert check_catalogue_file(builtin_dir("playbooks") / "data-items.toml") == []


def test_the_builtin_load_is_cached(catalogue: Catalogue, tmp_path: Path) -> None:
    assert load_catalogue() is catalogue
    assert load_catalogue([tmp_path]) is catalogue  # no data-items.toml there


# --- resolving names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "item_id"),
    [
        ("氏名", "name"), ("名前", "name"), ("full name", "name"), ("Name", "name"),
        ("メールアドレス", "email-address"), ("メアド", "email-address"), ("ｅｍａｉｌ", "email-address"),
        ("E-Mail", "email-address"), ("email address", "email-address"), ("email_address", "email-address"),
        ("  EMAIL-ADDRESS　", "email-address"), ("ﾒｰﾙｱﾄﾞﾚｽ", "email-address"),
        ("クレジットカード番号", "credit-card-number"), ("カード番号", "credit-card-number"),
        ("電話番号", "phone"), ("TEL", "phone"), ("ＴＥＬ", "phone"),
        ("マイナンバー", "my-number"), ("個人番号", "my-number"),
        ("健康診断結果", "health-check-results"), ("健診結果", "health-check-results"),
        ("住民票コード", "resident-code"), ("在留カード番号", "residence-card-number"),
        ("生活保護", "public-assistance"), ("資産・債務", "assets-and-debts"), ("資産債務", "assets-and-debts"),
        ("指紋", "fingerprint-data"), ("driver's license number", "drivers-licence-number"),
    ],
)
def test_resolve_accepts_ids_and_aliases_in_any_form(catalogue: Catalogue, name: str, item_id: str) -> None:
    assert catalogue.resolve(name).id == item_id


def test_every_name_of_every_item_resolves_to_it(catalogue: Catalogue) -> None:
    wrong = [(name, item.id) for item in catalogue.items.values() for name in item.names
             if catalogue.resolve(name).id != item.id]
    assert wrong == []


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@settings(max_examples=60)
@given(data=st.data())
def test_case_width_and_separators_never_change_the_item(data: st.DataObject) -> None:
    catalogue = load_catalogue()
    item = data.draw(st.sampled_from(sorted(catalogue.items.values(), key=lambda i: i.id)))
    name = data.draw(st.sampled_from(item.names))
    separators = data.draw(st.lists(st.sampled_from([" ", "-", "_", "　"]), min_size=len(name),
                                    max_size=len(name)))
    mangled = "".join(c + s for c, s in zip(name, separators, strict=True))
    if data.draw(st.booleans()):
        mangled = mangled.upper()
    if data.draw(st.booleans()):
        mangled = _fullwidth(mangled)
    assert catalogue.resolve(mangled) is item


def test_unknown_name_suggests_the_closest(catalogue: Catalogue) -> None:
    with pytest.raises(InputError) as caught:
        catalogue.resolve("メールアドレ", file="2024-0001.toml", field="data")
    assert caught.value.message == ("unknown data item 'メールアドレ'; did you mean: メールアドレス (email-address)?; "
                                    "or, for an item outside the catalogue, write it as a free item: other:メールアドレ")
    assert str(caught.value).startswith("2024-0001.toml: field 'data': unknown data item")
    with pytest.raises(InputError, match=r"did you mean: credit-card-number"):
        catalogue.resolve("credit-card-numbr")


def test_unknown_name_without_a_close_match(catalogue: Catalogue) -> None:
    with pytest.raises(InputError) as caught:
        catalogue.resolve("xyzzy")
    assert caught.value.message == (
        f"unknown data item 'xyzzy'; no similar name among the {len(catalogue.items)} known items "
        "(ids and aliases are listed in playbooks/data-items.toml); or, for an item outside the catalogue, "
        "write it as a free item: other:xyzzy"
    )


@pytest.mark.parametrize("bad", ["", " - ", 42])
def test_empty_or_non_text_names_are_refused(catalogue: Catalogue, bad: object) -> None:
    with pytest.raises(InputError, match="empty data item name|must be given as text"):
        catalogue.resolve(bad)  # type: ignore[arg-type]


def test_normalize_name_keeps_the_long_vowel_mark() -> None:
    assert normalize_name("Ｅ－Ｍａｉｌ ｱﾄﾞﾚｽ") == "emailアドレス"
    assert normalize_name("メール") != normalize_name("メル")


def test_a_catalogue_built_in_code_rejects_a_shared_name() -> None:
    items = {
        "a": DataItem(id="a", ja="項目", en="item a"),
        "b": DataItem(id="b", ja="別項目", en="item b", aliases=("Item-A",)),
    }
    with pytest.raises(InputError, match="the name 'Item-A' of item 'b' is already a name of item 'a'"):
        Catalogue(items=items)


# --- an organization's own items -------------------------------------------------------------------

ORG = """
[[item]]
id = "bank-account-number"
ja = "口座番号"
en = "bank account number"
aliases = ["口座"]
financial_harm = true
citation = "当組織の方針"

[[item]]
id = "loyalty-card-number"
ja = "ポイントカード番号"
en = "loyalty card number"
aliases = ["ポイントカード"]
"""


def test_an_extra_directory_overrides_and_adds(tmp_path: Path, catalogue: Catalogue) -> None:
    write(tmp_path, ORG)
    merged = load_catalogue([tmp_path])
    assert merged.resolve("口座").financial_harm is True
    assert merged.get("銀行口座番号") is None  # the override replaces the whole item, aliases too
    assert merged.resolve("ポイントカード").id == "loyalty-card-number"
    assert merged.sources["loyalty-card-number"] == str(tmp_path / "data-items.toml")
    assert list(merged.items)[-1] == "loyalty-card-number"
    assert len(merged.items) == len(catalogue.items) + 1
    assert load_catalogue().items["bank-account-number"].financial_harm is False


def test_the_first_extra_directory_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write(first, '[[item]]\nid = "x-number"\nja = "X番号"\nen = "first"\n')
    write(second, '[[item]]\nid = "x-number"\nja = "X番号"\nen = "second"\n')
    assert load_catalogue([first, second]).items["x-number"].en == "first"
    assert load_catalogue([second, first]).items["x-number"].en == "second"


def test_an_edited_extra_file_is_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path, '[[item]]\nid = "x-number"\nja = "X番号"\nen = "before"\n')
    assert load_catalogue([tmp_path]).items["x-number"].en == "before"
    path.write_text('[[item]]\nid = "x-number"\nja = "X番号"\nen = "after edit"\n', encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_catalogue([tmp_path]).items["x-number"].en == "after edit"


def test_an_extra_item_may_not_take_a_builtin_name(tmp_path: Path) -> None:
    write(tmp_path, '[[item]]\nid = "nickname"\nja = "愛称"\nen = "nickname"\naliases = ["名前"]\n')
    with pytest.raises(InputError) as caught:
        load_catalogue([tmp_path])
    assert caught.value.message.startswith("the name '名前' of item 'nickname' is already a name of item 'name'")
    assert caught.value.file == str(tmp_path / "data-items.toml")


def test_a_broken_extra_file_reports_all_its_problems(tmp_path: Path) -> None:
    write(tmp_path, '[[item]]\nid = "a"\nja = "甲"\n\n[[item]]\nid = "b"\nen = "b"\n')
    with pytest.raises(MultipleErrors) as caught:
        load_catalogue([tmp_path])
    assert [(e.line, e.field) for e in caught.value.errors] == [(1, "en"), (5, "ja")]


# --- the checker -----------------------------------------------------------------------------------

BROKEN = """schema = 2
colour = "blue"

[[item]]
id = "Loyalty_Card"
ja = "ポイントカード番号"
special-care = true

[[item]]
id = "hobby"
en = "hobby"
aliases = ["趣味", "氏名"]
financial_harm = "yes"

[[item]]
id = "hobby"
ja = "趣味2"
en = "hobby 2"
my_number = true
"""


def test_the_checker_reports_every_problem_with_its_line(tmp_path: Path, catalogue: Catalogue) -> None:
    path = write(tmp_path, BROKEN)
    problems = check_catalogue_file(path, base=catalogue)
    assert [(p.line, p.field) for p in problems] == [
        (1, "schema"),
        (2, "colour"),
        (4, "en"),
        (5, "id"),
        (7, "special-care"),
        (9, "ja"),
        (12, "aliases"),
        (13, "financial_harm"),
        (16, "id"),
        (19, "my_number"),
        (19, "my_number"),
    ]
    messages = [p.message for p in problems]
    assert "item 'Loyalty_Card': unknown key 'special-care'; did you mean 'special_care'?" in messages[4]
    assert messages[6] == "item 'hobby': the name '氏名' is already a name of item 'name'"
    assert messages[8] == "duplicate id 'hobby' (first at line 9)"
    assert messages[10] == "item 'hobby' sets my_number but has no citation (the article the flag comes from)"
    assert all(p.file == str(path) for p in problems)


def test_the_checker_finds_duplicate_names_within_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[[item]]\nid = "a"\nja = "甲"\nen = "a"\n\n'
                           '[[item]]\nid = "b"\nja = "乙"\nen = "b"\naliases = ["x", "A"]\n')
    problems = check_catalogue_file(path)
    assert [(p.line, p.message) for p in problems] == [
        (10, "item 'b': the name 'A' is already a name of item 'a' ('a')"),
    ]


def test_the_checker_reports_a_toml_syntax_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[item]]\nid = "a"\nja = \n')
    problems = check_catalogue_file(path)
    assert len(problems) == 1
    assert problems[0].line == 3
    assert problems[0].message.startswith("not valid TOML: ")


def test_the_checker_wants_item_tables(tmp_path: Path) -> None:
    path = write(tmp_path, 'item = "name"\n')
    assert [(p.line, p.message) for p in check_catalogue_file(path)] == [
        (1, "expected one or more [[item]] tables"),
    ]
