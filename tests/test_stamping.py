"""Stamped notices (one render per shape, values written into placeholders) are exactly the notices a
full render gives, for every builtin per-person kind; a template that transforms a field is rendered
in full."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_notices import make, org_store  # noqa: F401  (a fixture)

from incident.notices.items import KINDS
from incident.notices.render import Renderer, Settings
from incident.notices.roster import Person
from incident.notices.stamping import Stamper
from incident.register.store import Store

PER_PERSON = [(kind, lang) for kind, spec in KINDS.items() if spec.per_person for lang in spec.langs]
VALUES = st.one_of(
    st.just(""), st.sampled_from(["山田　太郎", "株式会社テスト", "ＳＵＺＵＫＩ", "東京都港区1-1\n2F", "〒", "{{ x }}",
                                  "a  b", "\ue000", "様", "%s", "\\1"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
)


def person(number: int, name: str, address: str, postal: str, email: str, guardian: str, items: str) -> Person:
    extra = {"保護者": guardian, "項目": items}
    return Person(f"p{number:06d}", name, "", address, postal, email, "", MappingProxyType(extra), number + 1)


@pytest.mark.parametrize(("kind", "lang"), PER_PERSON)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(VALUES, VALUES, st.sampled_from(["", "100-0001"]), st.sampled_from(["", "a@example.jp"]),
                               st.sampled_from(["", "山田 花子"]), st.sampled_from(["", "氏名、メールアドレス"])),
                     min_size=1, max_size=40))
def test_stamped_notices_equal_full_renders(org_store: Store, kind: str, lang: str,  # noqa: F811
                                            rows: list[tuple[str, ...]]) -> None:
    record = org_store.load(make(org_store))
    stamped = Renderer(Settings(org_store.config), record, kind, lang, draft=True)
    full = Renderer(Settings(org_store.config), record, kind, lang, draft=True, stamp=False)
    assert stamped.stamper is not None and full.stamper is None
    people = [person(i, *row) for i, row in enumerate(rows * 5)]  # each shape seen past its verification
    assert [stamped.render(p) for p in people] == [full.render(p) for p in people]


def test_stamping_is_used_and_counted(org_store: Store) -> None:  # noqa: F811
    record = org_store.load(make(org_store))
    renderer = Renderer(Settings(org_store.config), record, "individual-email", "ja")
    for i in range(20):
        renderer.render(person(i, f"山田 {i}", "東京都", "100-0001", f"u{i}@example.jp", "", ""))
    assert renderer.stamper is not None and renderer.stamper.stamped == 20  # the first 3 verified in full too


def test_a_template_that_transforms_a_field_is_rendered_in_full() -> None:
    calls: list[str] = []

    def initial(fields: dict[str, str]) -> tuple[str, str]:  # prints the first character only
        calls.append(fields["name"])
        return f"{fields['name'][:1]} 様", ""

    stamper = Stamper()
    assert [stamper.render({"name": n}, None, initial)[0] for n in ("山田", "佐藤", "鈴木")] == ["山 様", "佐 様", "鈴 様"]
    assert stamper.stamped == 0


def test_a_template_that_branches_on_a_value_is_caught_while_verifying() -> None:
    def honorific(fields: dict[str, str]) -> tuple[str, str]:
        name = fields["name"]
        return f"{name} {'御中' if name.startswith('株式会社') else '様'}", ""

    stamper = Stamper()
    out = [stamper.render({"name": n}, None, honorific)[0] for n in ("株式会社A", "山田", "佐藤", "鈴木")]
    assert out == ["株式会社A 御中", "山田 様", "佐藤 様", "鈴木 様"] and stamper.stamped == 0
