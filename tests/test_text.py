"""The one text normalizer (incident.text): NFKC and the hyphen-like marks NFKC keeps, and the places that
read typed text through it (dates, ids, names, headers, rosters)."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident.text import DASHES, LONG_VOWEL, compare_key, normalize

#: every mark typed for a hyphen: the dashes as typed (‑ ﹘ ﹣ － become one of them or ASCII under NFKC)
TYPED_DASHES = DASHES + "\u2011\ufe58\ufe63\uff0d"
LONG_VOWELS = LONG_VOWEL + "\uff70"  # ー and the half-width ｰ

texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(TYPED_DASHES + LONG_VOWELS + "0123456789")))
modes = st.sampled_from(["keep", "dashes", "numeric"])


@given(texts)
def test_keep_is_nfkc(text: str) -> None:
    assert normalize(text, "keep") == unicodedata.normalize("NFKC", text)


@given(texts, modes)
def test_idempotent_and_one_hyphen_per_mark(text: str, mode: str) -> None:
    once = normalize(text, mode)  # type: ignore[arg-type]
    assert normalize(once, mode) == once  # type: ignore[arg-type]
    assert len(once) == len(unicodedata.normalize("NFKC", text))


@given(texts)
def test_no_dash_is_left_and_the_long_vowel_mark_only_in_words(text: str) -> None:
    dashes = normalize(text)
    assert not set(dashes) & set(DASHES)
    nfkc = unicodedata.normalize("NFKC", text)
    for i, ch in enumerate(dashes):
        if nfkc[i] == LONG_VOWEL:
            between_digits = 0 < i < len(nfkc) - 1 and nfkc[i - 1] in "0123456789" and nfkc[i + 1] in "0123456789"
            assert ch == ("-" if between_digits else LONG_VOWEL)
    assert not set(normalize(text, "numeric")) & set(DASHES + LONG_VOWEL)


@given(st.from_regex(r"[0-9０-９]{1,4}", fullmatch=True), st.sampled_from(TYPED_DASHES + LONG_VOWELS),
       st.from_regex(r"[0-9０-９]{1,4}", fullmatch=True))
def test_a_mark_between_digits_is_a_hyphen(left: str, mark: str, right: str) -> None:
    expected = unicodedata.normalize("NFKC", left) + "-" + unicodedata.normalize("NFKC", right)
    assert normalize(left + mark + right) == expected
    assert normalize(left + mark + right, "numeric") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("メールアドレス", "メールアドレス"),  # a long vowel in a word stays
    ("ﾃﾞｰﾀ", "データ"),
    ("〒123ー4567", "〒123-4567"),
    ("港区1ー2ー3", "港区1-2-3"),
    ("ABC—DEF", "ABC-DEF"),
    ("２０２４−０６−０３", "2024-06-03"),
])
def test_examples(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_numeric_makes_every_mark_a_hyphen() -> None:
    assert normalize("03ー1234ｰ5678", "numeric") == "03-1234-5678"
    assert normalize("ー", "numeric") == "-" and normalize("ー") == "ー"


def test_compare_key() -> None:
    assert compare_key(" Jean‐Luc  ＤＵＰＯＮＴ ") == compare_key("jean-luc dupont") == "jean-lucdupont"


# --------------------------------------------------------------------------- what each reader now accepts


@pytest.mark.parametrize("text", ["2024ー06ー03", "2024−06−03", "2024‐06‐03", "２０２４―０６―０３"])
def test_dates_typed_with_any_hyphen(text: str) -> None:
    from incident.dates import parse_date

    assert parse_date(text) == date(2024, 6, 3)


def test_an_action_id_typed_with_a_minus_sign() -> None:
    from incident.followup.actions import parse_aid

    assert parse_aid("2024−0001/A3") == parse_aid("2024ー0001/A3") == ("2024-0001", "A3")


def test_a_month_typed_with_a_long_vowel_mark() -> None:
    from incident.followup.reports import parse_period

    assert parse_period("2024ー04") == parse_period("2024-04")


def test_an_answer_of_a_dash_is_not_applicable() -> None:
    from incident.followup.review import parse_answer

    assert parse_answer("−") == parse_answer("-") == "na"


def test_an_id_typed_with_a_dash() -> None:
    from incident.register.record import FIELDS, coerce

    entity = next(f for f in FIELDS if f.name == "entity")
    assert coerce(entity, "public‐body", tz="Asia/Tokyo", file=None, vocab=None) == "public-body"
    assert coerce(entity, "ｃｏｕｎｃｉｌ", tz="Asia/Tokyo", file=None, vocab=None) == "council"


def test_names_differing_in_the_dash_are_one_actor() -> None:
    from incident.register.actors import same_actor

    assert same_actor("Jean‐Luc", "jean-luc")
    assert not same_actor("Jean‐Luc", "JeanLuc")


def test_a_header_with_a_dash() -> None:
    from incident.notices.rostertable import header_key

    assert header_key("E‐mail") == header_key("e-mail") == header_key("Email")


def test_an_address_with_long_vowel_marks_is_the_same_address(tmp_path: Path) -> None:
    from incident.notices.roster import Duplicate, import_csv

    src = tmp_path / "roster.csv"
    src.write_text("氏名,住所,郵便番号,電話\n山田 太郎,港区芝1-2-3,〒105ー0014,03ー1234ー5678\n"
                   "山田太郎,港区芝1ー2ー3,,\n", encoding="utf-8")
    result = import_csv(src, tmp_path / "r.roster", b"k" * 32)
    assert result.duplicates == (Duplicate(3, "p000002", "p000001", "same name and address"),)
