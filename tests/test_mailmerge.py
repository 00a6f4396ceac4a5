"""Mail merge through the CLI: one notice per person with only their data, safe names, mbox/eml, --check."""

from __future__ import annotations

import json
import os
import stat
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from test_notices import make, write_config

from incident.errors import InputError
from incident.law.vocabulary import open_store
from incident.notices.delivery import build_email, recipient_of
from incident.notices.mailmerge import IdentityIndex, iter_mbox, mail_merge
from incident.notices.render import Renderer, Settings, tidy
from incident.notices.roster import Person

PEOPLE = [
    ("山田 太郎", "taro@example.jp", "東京都千代田区千代田1-1", "100-0001"),
    ("佐藤 花子", "hanako@example.jp", "大阪府大阪市北区梅田2-2", "530-0001"),
    ("ＳＵＺＵＫＩ Ｉｃｈｉｒｏ", "", "北海道札幌市中央区北1条西3-3", "０６０－０００１"),
    ("高橋 次郎", "jiro@example.jp", "", ""),
]


def write_csv(path: Path, people: list[tuple[str, str, str, str]] = PEOPLE, encoding: str = "cp932") -> Path:
    rows = ["氏名,メールアドレス,住所,郵便番号"] + [",".join(p) for p in people]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode(encoding))
    return path


SENDER = '\n[smtp]\nfrom_addr = "notices@example.jp"\nfrom_name = "サンプル株式会社"\n'


def write_config_with_sender(store_dir: Path) -> None:
    write_config(store_dir)
    with (store_dir / "config.toml").open("a", encoding="utf-8") as config:
        config.write(SENDER)


@pytest.fixture
def incident(run: Any, store_dir: Path, tmp_path: Path) -> str:
    write_config_with_sender(store_dir)
    incident_id = make(open_store(store_dir))
    run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}")
    return incident_id


def test_letters_one_per_person_from_a_cp932_roster(run: Any, incident: str, tmp_path: Path,
                                                     store_dir: Path) -> None:
    out = tmp_path / "letters"
    result = run(f"notice {incident} --kind individual-letter --roster --out {out} --check")
    assert sorted(p.name for p in out.iterdir()) == ["p000001.txt", "p000002.txt", "p000003.txt", "p000004.txt"]
    assert oct(out.stat().st_mode & 0o777) == "0o700" and oct((out / "p000001.txt").stat().st_mode & 0o777) == "0o600"
    first = (out / "p000001.txt").read_text(encoding="utf-8").splitlines()
    at = first.index("〒100-0001")
    assert first[at:at + 3] == ["〒100-0001", "東京都千代田区千代田1-1", "山田 太郎 様"]
    third = (out / "p000003.txt").read_text(encoding="utf-8")
    assert "ＳＵＺＵＫＩ Ｉｃｈｉｒｏ 様" in third and "〒060-0001" in third  # the name as written; the code canonical
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert sum(name in text for name, *_ in [("山田 太郎",), ("佐藤 花子",), ("ＳＵＺＵＫＩ Ｉｃｈｉｒｏ",), ("高橋 次郎",)]) == 1
        assert "■ 1 概要" in text
    assert "check: 4 notice(s) each name only their own person" in result.stderr
    assert "Rendered 4 individual-letter notice(s) (txt)" in result.stderr
    assert "warning: 1 people have no postal address" in result.stderr
    (entry,) = open_store(store_dir).load(incident).sections["notices"]
    assert entry["count"] == 4 and entry["format"] == "txt" and entry["path"] == str(out)
    audit = [e for e in open_store(store_dir).audit.entries() if e["action"] == "notice-check"]
    assert audit[0]["changes"] == {"kind": "individual-letter", "checked": 4, "failures": 0}


def test_html_letters_escape_roster_fields(run: Any, store_dir: Path, tmp_path: Path) -> None:
    write_config(store_dir)
    incident_id = make(open_store(store_dir))
    people = [("<b>O'Brien</b> Sean", "sean@example.jp", "東京都港区1-1", "105-0001"), ("田中 一", "ichi@example.jp", "", "")]
    run(f"roster import {incident_id} {write_csv(tmp_path / 'r.csv', people, 'utf-8-sig')}")
    out = tmp_path / "html"
    run(f"notice {incident_id} --kind individual-letter --roster --out {out} --format html --check")
    text = (out / "p000001.html").read_text(encoding="utf-8")
    assert "<b>O" not in text and "&lt;b&gt;O&#39;Brien&lt;/b&gt; Sean 様" in text


def test_emails_to_eml_and_mbox_one_recipient_each(run: Any, incident: str, tmp_path: Path) -> None:
    out = tmp_path / "eml"
    result = run(f"notice {incident} --kind individual-email --roster --out {out} --format eml --check")
    assert sorted(p.name for p in out.iterdir()) == ["p000001.eml", "p000002.eml", "p000004.eml"]
    assert "1 people have no e-mail address" in result.stderr
    msg = message_from_bytes((out / "p000002.eml").read_bytes(), policy=policy.default)
    assert msg.get_all("To") == ["佐藤 花子 <hanako@example.jp>"] and msg["Cc"] is None and msg["Bcc"] is None
    assert recipient_of(str(msg["Message-ID"])) == "p000002"
    assert msg["From"] == "サンプル株式会社 <notices@example.jp>"
    assert "佐藤 花子 様" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    mbox = tmp_path / "all.mbox"
    result = run(f"notice {incident} --kind individual-email --roster --mbox {mbox} --check --json")
    report = json.loads(result.stdout)
    assert report["count"] == 3 and report["no_email"] == 1 and report["check"]["failures"] == 0
    messages = [message_from_bytes(m, policy=policy.default) for m in iter_mbox(mbox)]
    assert [recipient_of(str(m["Message-ID"])) for m in messages] == ["p000001", "p000002", "p000004"]
    assert [len(m.get_all("To")) for m in messages] == [1, 1, 1]


def test_letters_cannot_go_to_an_mbox(run: Any, incident: str, tmp_path: Path) -> None:
    result = run(f"notice {incident} --kind individual-letter --roster --mbox {tmp_path / 'x.mbox'}", expect=2)
    assert "not an e-mail notice" in result.stderr
    result = run(f"notice {incident} --kind regulator-final --roster --out {tmp_path / 'x'}", expect=2)
    assert "not a notice to a person" in result.stderr
    assert "add --roster" in run(f"notice {incident} --kind individual-letter --out {tmp_path}", expect=2).stderr


def test_check_catches_a_template_that_names_everyone(run: Any, incident: str, tmp_path: Path,
                                                       store_dir: Path) -> None:
    own = store_dir / "templates" / "notices" / "ja"
    own.mkdir(parents=True)
    (own / "individual-letter.j2").write_text(
        "{{ person.name }} 様\n同報先: 山田 太郎、佐藤 花子、jiro@example.jp\n{{ v.overview }}\n", encoding="utf-8")
    out = tmp_path / "bad"
    result = run(f"notice {incident} --kind individual-letter --roster --out {out} --check --json", expect=1)
    check = json.loads(result.stdout)["check"]
    assert check["checked"] == 4 and check["failures"] == 4
    by_key = {f["key"]: f["others"] for f in check["failed"]}
    assert by_key == {"p000001": ["p000002", "p000004"], "p000002": ["p000001", "p000004"],
                      "p000003": ["p000001", "p000002", "p000004"], "p000004": ["p000001", "p000002"]}
    text = run(f"notice {incident} --kind individual-letter --roster --out {out} --check", expect=1).stderr
    assert "check FAILED: 4 of 4 notice(s)" in text and "山田" not in text


def _person(key: str, name: str, email: str = "") -> Person:
    return Person(key, name, "", "", "", email, "", {}, 2)


def test_identity_index_own_name_inside_a_longer_name_and_homonyms() -> None:
    index = IdentityIndex.build([_person("p1", "山田 太郎", "t@example.jp"), _person("p2", "山田太"),
                                 _person("p3", "山田 太郎"), _person("p4", "X"), _person("p5", "佐藤 花子", "H@Example.jp")])
    assert index.others_in("p1", "山田　太郎 様 t@example.jp") == set()
    assert index.others_in("p2", "山田太 様") == set()
    assert index.others_in("p2", "山田太郎 様") == {"p1"}
    assert index.others_in("p1", "cc: h@example.jp") == {"p5"}
    assert index.others_in("p1", "ＳＡＴＯ? 佐藤花子") == {"p5"}
    assert index.unchecked == 1


def test_more_people_than_persons_is_reported(run: Any, store_dir: Path, tmp_path: Path) -> None:
    write_config(store_dir)
    incident_id = make(open_store(store_dir), persons=2)
    result = run(f"roster import {incident_id} {write_csv(tmp_path / 'r.csv')}")
    assert "the roster has 4 people but the incident's persons (本人の数) is 2" in result.stderr
    assert open_store(store_dir).load(incident_id).get("persons") == 2  # never changed without asking


def test_on_a_terminal_only_a_human_run_offers_to_update_persons(run: Any, store_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(store_dir)
    incident_id = make(open_store(store_dir), persons=2)
    for module in ("incident.cli.reporting", "incident.cli.roster"):  # a terminal, wherever the command asks
        monkeypatch.setattr(f"{module}.is_interactive", lambda: True, raising=False)
    quiet = run(f"roster import {incident_id} {write_csv(tmp_path / 'r.csv')} --json", input="y\n")
    assert "the roster has 4 people" in quiet.stderr and "Update persons" not in quiet.stderr
    assert json.loads(quiet.stdout)["count"] == 4
    assert open_store(store_dir).load(incident_id).get("persons") == 2
    asked = run(f"roster import {incident_id} {tmp_path / 'r.csv'}", input="y\n")
    assert "Update persons to 4? [Y/n]" in asked.stderr and "persons = 4" in asked.stderr
    assert open_store(store_dir).load(incident_id).get("persons") == 4


def test_each_person_is_told_only_their_own_items(run: Any, store_dir: Path, tmp_path: Path) -> None:
    write_config(store_dir)
    incident_id = make(open_store(store_dir), data=[{"item": "name"}, {"item": "email-address"},
                                                     {"item": "health-check-results"}])
    src = tmp_path / "items.csv"
    src.write_text("氏名,メールアドレス,項目\n山田 太郎,taro@example.jp,氏名、メールアドレス\n"
                   "佐藤 花子,hanako@example.jp,氏名、健康診断等の結果\n鈴木 一郎,ichiro@example.jp,\n", encoding="utf-8")
    run(f"roster import {incident_id} {src}")
    out = tmp_path / "letters"
    run(f"notice {incident_id} --kind individual-letter --roster --out {out} --check")

    def items(key: str) -> list[str]:
        text = (out / f"{key}.txt").read_text(encoding="utf-8")
        section = text.split("■ 2 漏えい等が発生し、又は発生したおそれがある個人情報の項目\n", 1)[1].split("\n\n", 1)[0]
        return section.splitlines()

    assert items("p000001") == ["・氏名", "・メールアドレス"]
    assert items("p000002")[0] == "・氏名" and len(items("p000002")) == 2 and items("p000002")[1] == "・健康診断等の結果"
    assert len(items("p000003")) == 3  # no column value: the incident's items
    src.write_text("氏名,住所,項目\n山田 太郎,東京都,氏名、存在しない項目\n", encoding="utf-8")
    run(f"roster import {incident_id} {src}")
    result = run(f"notice {incident_id} --kind individual-letter --roster --out {out}", expect=2)
    assert "line 2" in result.stderr and "存在しない項目" in result.stderr


def _letters(store_dir: Path) -> Renderer:
    write_config(store_dir)
    store = open_store(store_dir)
    return Renderer(Settings(store.config), store.load(make(store)), "individual-letter")


def test_merge_writes_each_file_once_and_fsyncs_only_the_directory(store_dir: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = _letters(store_dir)
    people = [_person(f"p{n:06d}", name, email) for n, (name, email, *_) in enumerate(PEOPLE, 1)]
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_mode) or real_fsync(fd))
    progress: list[int] = []
    out = tmp_path / "letters"
    result = mail_merge(renderer, people, out_dir=out, progress=progress.append)
    assert [stat.S_ISDIR(mode) for mode in synced] == [True]
    assert progress == [4] and result.count == 4
    assert (out / "p000002.txt").read_text(encoding="utf-8") == renderer.render(people[1]).text
    assert result.sha256 == mail_merge(renderer, people, out_dir=tmp_path / "again").sha256


def test_a_rerun_replaces_the_files_privately_and_never_writes_through_a_symlink(store_dir: Path,
                                                                                 tmp_path: Path) -> None:
    renderer = _letters(store_dir)
    people = [_person("p000001", "山田 太郎"), _person("p000002", "佐藤 花子")]
    out = tmp_path / "letters"
    out.mkdir(mode=0o700)
    (out / "p000001.txt").write_text("old and longer than the new letter " * 100, encoding="utf-8")
    os.chmod(out / "p000001.txt", 0o644)
    mail_merge(renderer, people, out_dir=out)
    assert (out / "p000001.txt").read_text(encoding="utf-8") == renderer.render(people[0]).text
    assert oct((out / "p000001.txt").stat().st_mode & 0o777) == "0o600"
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched", encoding="utf-8")
    (out / "p000002.txt").unlink()
    (out / "p000002.txt").symlink_to(victim)
    with pytest.raises(InputError, match="cannot write the notice p000002.txt"):
        mail_merge(renderer, people, out_dir=out)
    assert victim.read_text(encoding="utf-8") == "untouched"


@pytest.mark.parametrize("raw,tidied", [
    ("a\n\n\n\nb\n", "a\n\nb\n"), ("a  \nb\t\n\n\n", "a\nb\n\n"), ("a\n\nb\n", "a\n\nb\n"), ("", ""),
])
def test_tidy_removes_trailing_blanks_and_blank_runs(raw: str, tidied: str) -> None:
    assert tidy(raw) == tidied


def test_the_eml_preview_is_the_message_that_will_be_sent(run: Any, incident: str, tmp_path: Path,
                                                          store_dir: Path) -> None:
    """One builder: the .eml written by the merge has the bytes `send` builds for the same person (only the
    Date header, the time of writing, differs)."""
    out = tmp_path / "eml"
    run(f"notice {incident} --kind individual-email --roster --out {out} --format eml")
    preview = (out / "p000002.eml").read_bytes()
    from incident.notices.delivery import SmtpSettings
    from incident.notices.mailmerge import email_messages
    from incident.notices.roster import iter_people

    store = open_store(store_dir)
    renderer = Renderer(Settings(store.config), store.load(incident), "individual-email", None, "txt")
    people = [p for p in iter_people(store.roster_path(incident), store.roster_key()) if p.key == "p000002"]
    (message,) = list(email_messages(renderer, people, {"no_email": 0}))
    settings = SmtpSettings("smtp.example.jp", 587, "starttls", None, "notices@example.jp", "サンプル株式会社")
    sent = build_email(message, settings, incident)

    def without_date(data: bytes) -> list[bytes]:
        return [line for line in data.split(b"\r\n") if not line.startswith(b"Date: ")]

    assert without_date(preview) == without_date(sent)


def test_writing_e_mails_needs_the_sender_address(run: Any, store_dir: Path, tmp_path: Path) -> None:
    write_config(store_dir)
    incident_id = make(open_store(store_dir))
    run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}")
    result = run(f"notice {incident_id} --kind individual-email --roster --out {tmp_path / 'e'} --format eml",
                 expect=2)
    assert "incident config set smtp.from_addr=" in result.stderr
    assert not (tmp_path / "e").exists()
