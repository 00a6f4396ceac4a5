"""The record format: every example loads, bad input names the file and field, saving round-trips."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import INCIDENTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident.errors import InputError
from incident.law.vocabulary import load_vocabulary
from incident.register import enums
from incident.register import record as rec

VOCAB = load_vocabulary()
JST = timezone(timedelta(hours=9))

BASE = """schema = 1
title = "誤送付"
entity = "business"
type = "misdirected-mail"
discovered_at = 2024-06-03T15:00:00+09:00
"""


def load(text: str) -> rec.Record:
    return rec.loads(text, vocab=VOCAB, file="case.toml")


@pytest.mark.parametrize("path", sorted(INCIDENTS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_loads(path: Path) -> None:
    record = rec.read_file(path, vocab=VOCAB)
    assert record.get("title")
    assert record.data, "examples name their data items"


def test_aliases_resolve_to_catalogue_ids() -> None:
    record = load(BASE + '[[data]]\nitem = "氏名"\n[[data]]\nitem = "メールアドレス"\n'
                  '[[data]]\nitem = "クレジットカード番号"\n')
    assert [d.item for d in record.data] == ["name", "email-address", "credit-card-number"]


def _with(extra: str) -> str:
    """BASE with `extra` replacing the line of the same key, or appended."""
    key = extra.split("=", 1)[0].strip()
    lines = [line for line in BASE.splitlines(keepends=True) if line.split("=", 1)[0].strip() != key]
    return "".join(lines) + extra


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ('colour = "red"\n', "colour", "unknown key"),
        ('persons = "many"\n', "persons", "whole number"),
        ("persons = -1\n", "persons", "negative"),
        ('entity = "company"\n', "entity", "business, public-body, council"),
        ('malicious = "maybe"\n', "malicious", "none, suspected, confirmed"),
        ("published = 1\n", "published", "true or false"),
        ('type = "meteor"\n', "type", "misdirected-email"),
        ("occurred_at = 2024-06-04T10:00:00+09:00\n", "discovered_at", "before it occurred"),
        ('[[data]]\nitem = "メールアドレ"\n', "data[1].item", "メールアドレス"),
        ('[[data]]\nitem = "name"\ncolor = 1\n', "data[1]", "unknown key"),
    ],
)
def test_bad_values_name_file_and_field(extra: str, field: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        load(_with(extra))
    err = info.value
    assert err.file == "case.toml"
    assert err.field == field
    assert fragment in str(err)
    assert str(err).startswith(f"case.toml: field '{field}'")


def test_future_date_is_refused() -> None:
    future = (datetime.now(JST) + timedelta(days=2)).isoformat()
    with pytest.raises(InputError, match="in the future"):
        load(BASE.replace("2024-06-03T15:00:00+09:00", future))


def test_missing_required_key() -> None:
    with pytest.raises(InputError) as info:
        load(BASE.replace('title = "誤送付"\n', ""))
    assert info.value.field == "title"


def test_malformed_toml_names_the_line() -> None:
    with pytest.raises(InputError) as info:
        load(BASE + "persons = = 3\n")
    assert info.value.line == 6
    assert "not valid TOML" in str(info.value)


def test_japanese_dates_in_a_record() -> None:
    record = load(BASE.replace("2024-06-03T15:00:00+09:00", '"令和6年6月3日"')
                  + 'occurred_at = "R6.6.1"\n')
    assert record.discovered_at == datetime(2024, 6, 3, tzinfo=JST).astimezone(record.discovered_at.tzinfo)
    assert record.facts["occurred_at"].date().isoformat() == "2024-06-01"


def test_unsupported_schema() -> None:
    with pytest.raises(InputError) as info:
        load(BASE.replace("schema = 1", "schema = 2"))
    assert info.value.field == "schema"


# --------------------------------------------------------------------------- round trip

ITEMS = ["name", "address", "email-address", "credit-card-number", "health-check-results", "my-number"]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 12, 31),
                       timezones=st.just(JST)).map(lambda d: d.replace(microsecond=0))


@st.composite
def records(draw: st.DrawFn) -> rec.Record:
    occurred = draw(moments)
    discovered = occurred + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)))
    facts: dict[str, object] = {
        "title": draw(texts.filter(lambda s: "\n" not in s and "\r" not in s and s.strip() != "")),
        "entity": draw(st.sampled_from(enums.ENTITIES)),
        "type": draw(st.sampled_from(VOCAB.types)),
        "discovered_at": discovered,
    }
    optional = {
        "occurred_at": st.just(occurred),
        "role": st.sampled_from(enums.ROLES),
        "summary": texts,
        "cause": texts,
        "persons": st.integers(min_value=0, max_value=10_000_000),
        "malicious": st.sampled_from(enums.MALICIOUS),
        "published": st.booleans(),
        "recovered": st.booleans(),
        "handled_by": st.sampled_from(enums.HANDLED_BY),
        "subject_countries": st.lists(st.sampled_from(["JP", "DE", "FR", "US"]), max_size=3),
        "risk_level": st.sampled_from(enums.RISK_LEVELS),
        "cause_category": st.sampled_from(VOCAB.causes),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            facts[key] = draw(strategy)
    data = tuple(
        rec.DataEntry(item=i, encrypted=e, key_compromised=k)
        for i, e, k in draw(st.lists(st.tuples(st.sampled_from(ITEMS), st.booleans(), st.booleans()), max_size=4))
    )
    events = tuple(sorted(
        (rec.Event(at=draw(moments), text=t, actor="a") for t in draw(st.lists(texts, max_size=3))),
        key=lambda e: e.at))
    return rec.Record(facts=facts, data=data, timeline=events)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_save_then_load_gives_the_same_record(record: rec.Record) -> None:
    loaded = rec.loads(rec.dumps(record), vocab=VOCAB)
    assert rec.to_toml_dict(loaded) == rec.to_toml_dict(record)
    assert rec.dumps(loaded) == rec.dumps(record)
