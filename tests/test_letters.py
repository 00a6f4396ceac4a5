"""The wording a resident expects in every letter and e-mail to a person: 「○○ 様」, never 「あなた」; a
guardian addressed as 「△△ 様（○○ 様の保護者様）」; no seasonal greeting in an apology; the 文書番号 and
date of the letter head; the address as the roster holds it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from test_notices import make, write_config

from incident.law.vocabulary import open_store
from incident.notices.render import Renderer, Settings
from incident.notices.roster import Person
from incident.register.store import Store

PERSON_KINDS = ("individual-letter", "individual-email", "council-letter", "council-email")
CHILD = Person("p000001", "山田 花子", "", "東京都千代田区千代田1-1", "100-0001", "", "", {"保護者": "山田 一郎"}, 2)
ADULT = Person("p000002", "佐藤 次郎", "", "大阪府大阪市北区梅田1-1", "530-0001", "", "", {}, 3)


@pytest.fixture
def store(store_dir: Path) -> Store:
    write_config(store_dir)
    return open_store(store_dir)


@pytest.mark.parametrize("kind", PERSON_KINDS)
@pytest.mark.parametrize("entity", ["business", "public-body", "council"])
def test_the_person_is_addressed_by_name(store: Store, kind: str, entity: str) -> None:
    record = store.load(make(store, entity=entity))
    renderer = Renderer(Settings(store.config), record, kind, draft=True)
    adult = renderer.render(ADULT).text
    assert "あなた" not in adult and "お客様の" not in adult
    assert "佐藤 次郎 様" in adult and "保護者" not in adult
    child = renderer.render(CHILD).text
    assert "山田 一郎 様（山田 花子 様の保護者様）" in child
    assert "山田 花子 様の個人情報" in child and "保護者である山田 一郎 様" in child
    nobody = renderer.render().text
    assert "あなた" not in nobody and "皆様の個人情報" in nobody


@pytest.mark.parametrize("kind", ["individual-letter", "council-letter"])
def test_an_apology_has_no_seasonal_greeting(store: Store, kind: str) -> None:
    text = Renderer(Settings(store.config), store.load(make(store)), kind, draft=True).render(ADULT).text
    assert "拝啓　このたび" in text and "敬具" in text
    assert not any(word in text for word in ("時下", "ご清祥", "ご清栄", "候"))


def test_every_template_avoids_anata() -> None:
    import re

    from incident.resources import builtin_dir

    for template in (builtin_dir("templates") / "notices" / "ja").glob("*.j2"):
        wording = re.sub(r"\{#.*?#\}", "", template.read_text(encoding="utf-8"), flags=re.DOTALL)  # comments aside
        assert "あなた" not in wording, template.name


def test_the_head_has_the_number_date_and_sender(store_dir: Path) -> None:
    (store_dir / "config.toml").write_text(
        'organization = "テスト市"\ncontact = "総務課"\n[letter]\nsender_title = "テスト市長"\n'
        'sender_name = "山本 一郎"\nseal = "omitted"\ndepartment = "総務部総務課"\n', encoding="utf-8")
    store = open_store(store_dir)
    renderer = Renderer(Settings(store.config), store.load(make(store)), "individual-letter", draft=True,
                        dated=date(2024, 6, 10), doc_number="総第12-{n}号")
    lines = renderer.render(ADULT, number=7).text.splitlines()
    at = lines.index("総第12-7号")
    assert lines[at + 1] == "令和6年6月10日"
    assert lines.index("〒530-0001") < lines.index("大阪府大阪市北区梅田1-1") < lines.index("佐藤 次郎 様")
    sender = lines.index("テスト市")
    assert lines[sender + 1:sender + 4] == ["テスト市長　山本 一郎", "（公印省略）", "総務部総務課"]
    assert "総第12-{n}号" in renderer.render(ADULT).text.splitlines()  # outside a print run: as given


def test_the_mail_merge_numbers_each_letter(run: Callable[..., Result], store_dir: Path, tmp_path: Path) -> None:
    write_config(store_dir)
    incident = make(open_store(store_dir))
    roster = tmp_path / "people.csv"
    roster.write_text("氏名,住所\n山田 太郎,東京都\n佐藤 花子,大阪府\n", encoding="utf-8")
    run(f"roster import {incident} {roster}")
    out = tmp_path / "letters"
    run(["notice", incident, "--kind", "individual-letter", "--roster", "--out", str(out), "--doc-number",
         "第{n}号", "--date", "令和6年7月1日"])
    second = (out / "p000002.txt").read_text(encoding="utf-8").splitlines()
    assert "第2号" in second and "令和6年7月1日" in second and "佐藤 花子 様" in second
