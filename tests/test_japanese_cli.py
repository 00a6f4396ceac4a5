"""The main commands in Japanese (INCIDENT_LANG=ja): what they print is Japanese, no English sentence
leaks into it (ids, file paths, commands in backquotes and numbers are allowed), the JSON stays English,
and Japanese input is accepted where an officer would type it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import INCIDENTS
from test_mailmerge import write_csv
from test_send_cli import configure

JA = {"INCIDENT_LANG": "ja"}
#: three English words in a row: a sentence (or a fragment of one) in English
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}\b")
#: a word of the toolkit's English messages standing alone ("sent 48 of 48", "Recorded", "No reminders"):
#: never an id, a key or a command (those are lower-case words joined by hyphens, or in backquotes)
ENGLISH_WORD = re.compile(
    r"(?<![\w./-])(?:No|Not|None|Sent|sent|Recorded|Updated|Wrote|Created|Removed|Next|Now|Nothing|nothing|Error|"
    r"error|Warning|warning|Done|done|Skipped|skipped|Overdue|overdue|Dry|run|To|Subject|Mailed|mailed|Posted|"
    r"posted|letters?|messages?|reminders?|threshold|undated|promptly|left|out|of|the|and|or|to|for|by|with|from|"
    r"is|are|was|were|has|have|not|no|yes|see|set|use|after|before|since|until|already|each|every|all|"
    r"open|closed|Open|Closed|Total|total|Status|Type|Title|Who|When|Step|Target|Incident|"
    r"Notice|Notices|Kind|Language|Format|For|Description|Template|builtin|kind|lang|description|template)"
    r"(?![\w./-])")
#: what may stay as written: commands in backquotes, paths, e-mail addresses, option names, command lines,
#: an id in brackets beside its Japanese label (対応中 (open)), or its label beside it (open (対応中))
ALLOWED = re.compile(r"[(（][a-z0-9_-]+[)）]|\b[a-z0-9][a-z0-9_-]* [(（][^\x00-\x7f][^)）]*[)）]|`[^`]*`|\S*/\S*|\S+@\S+|--[a-z-]+(?: [A-Z]+)?|\bincident(?: [a-z0-9/-]+)+")


def english_sentences(text: str) -> list[str]:
    """The English word runs and message words left in `text` once the allowed parts are taken out."""
    found = []
    for line in text.splitlines():
        rest = ALLOWED.sub(" ", line)
        runs = [m.group(0) for m in ENGLISH.finditer(rest)]
        found += runs or [m.group(0) for m in ENGLISH_WORD.finditer(rest)]
    return found


def test_the_detector_finds_english_and_allows_ids() -> None:
    assert english_sentences("Recorded 2024-0001: 件名. Next: `incident show 2024-0001`.") == ["Recorded", "Next"]
    assert english_sentences("2024-0001 を記録しました。次: `incident show 2024-0001`") == []
    assert english_sentences("エラー: the roster is empty") == ["the roster is empty"]
    assert english_sentences("送信: sent 48 of 48") == ["sent", "of"]
    assert english_sentences("No reminders due") == ["No reminders due"]
    assert english_sentences("期限超過 overdue") == ["overdue"]
    assert english_sentences("appi-business/regulator-final 個人情報保護委員会 /tmp/x/y.pdf a@b.jp") == []
    assert english_sentences("記録: incident step 2024-0001 list-items skip --reason TEXT") == []
    assert english_sentences("privacy-desk <desk@example.jp> individual-letter no-address left-out") == []
    assert english_sentences("状態 対応中 (open)、状態（status） なし (none)") == []
    assert english_sentences("次のいずれか: open (対応中), closed (終結)") == []
    assert english_sentences("open (not yet)") == ["open", "not"]


@pytest.fixture
def incident(run: Any, store_dir: Path, tmp_path: Path) -> str:
    configure(store_dir, 25)
    result = run(["new", "--from", str(INCIDENTS / "health-check-3.toml")], env=JA)
    incident_id = result.stdout.strip()
    assert english_sentences(result.stderr) == [], result.stderr
    assert result.stderr.startswith(f"{incident_id} を記録しました: ")
    run(["set", incident_id, "found_by=受取人", "response_to_individuals=電話で説明", "publication=予定なし",
         "prevention=二人で照合", "other=なし", "advice_to_individuals=ご注意ください", "cause=封入の誤り"])
    run(f"roster import {incident_id} {write_csv(tmp_path / 'roster.csv')}", env=JA)
    return incident_id


COMMANDS = [
    "assess {id}",
    "deadlines",
    "steps {id}",
    "show {id}",
    "list",
    "notice kinds",
    "notice {id} --kind individual-letter",
    "notice {id} --kind individual-letter --roster --out {tmp}/letters",
    "notice {id} --mark-mailed --at 令和6年6月10日",
    "roster show {id}",
    "send {id} --prepare --actor 佐藤",
    "send {id} --status",
    "send {id} --approve --actor 鈴木",
    "send {id} --status",
    "action add {id} --measure 封入時に二人で照合する --owner 田中 --due 令和6年7月31日",
    "action list",
    "action done {id}/A1 --evidence 手順書を改訂",
    "review {id} --show",
    "report annual --fiscal-year 令和6",
    "remind",
    "remind --days 400",
    "people list",
    "status {id} 封じ込め済み",
    "log {id} 受取人から回収 --at 午前0時",
    "step {id} confirm-unopened 完了 --value いいえ",
    "done {id} regulator-preliminary",
    "audit verify",
    "purge --dry-run",
]
#: commands refused on purpose: the refusal is Japanese too
REFUSED = [
    "status {id} 終結",
    "send {id} --approve --actor 佐藤",
    "list --status 何か",
]


def test_no_english_sentence_leaks_into_japanese_output(run: Any, incident: str, tmp_path: Path) -> None:
    for line in COMMANDS + REFUSED:
        command = line.format(id=incident, tmp=tmp_path)
        result = run(command, env=JA, expect=2 if line in REFUSED else 0)
        leaked = english_sentences(result.stdout + "\n" + result.stderr)
        assert leaked == [], f"incident {command}: {leaked}\n{result.stdout}\n{result.stderr}"


def test_japanese_words_in_the_main_outputs(run: Any, incident: str) -> None:
    assessed = run(f"assess {incident}", env=JA).stdout
    for words in ("報告・通知の義務あり", "事態", "理由", "根拠", "義務", "宛先", "期限", "記載事項", "知った日"):
        assert words in assessed, words
    listed = run("list", env=JA).stdout
    assert listed.splitlines()[0].split() == ["ID", "状態", "発覚日", "種別", "件名", "所管", "本人の数", "報告・通知"]
    assert "対応中" in listed and "誤送付" in listed
    assert "未了の義務（" in run("deadlines", env=JA).stdout
    prepared = run(f"send {incident} --prepare --actor 佐藤", env=JA).stderr
    assert f"{incident} の送信バッチ: " in prepared and "次: 佐藤 以外の者が見本を確認し" in prepared
    refused = run(f"send {incident} --approve --actor 佐藤", expect=2, env=JA).stderr
    assert refused.startswith("エラー: 佐藤 はこの送信バッチを準備したため承認できません")
    shown = run(f"roster show {incident}", env=JA).stdout
    assert "人、取り込み" in shown and "伏せ字" in shown


def test_json_stays_english_in_a_japanese_run(run: Any, incident: str) -> None:
    data = json.loads(run(f"assess {incident} --json", env=JA).stdout)
    assert set(data) >= {"incident", "reportable", "assessments"}
    listed = json.loads(run("list --json", env=JA).stdout)
    assert listed[0]["status"] == "open" and listed[0]["type"] == "misdirected-mail"
    run(f"status {incident} 封じ込め済み", env=JA)
    assert json.loads(run("list --json", env=JA).stdout)[0]["status"] == "contained"


def test_japanese_input(run: Any, store_dir: Path) -> None:
    made = run(["new", "--title", "会員向けメールをCCで一斉送信", "--type", "誤送信", "--event", "漏えい",
                "--discovered-at", "令和6年6月3日 午後3時", "--persons", "1001", "--item", "氏名、メールアドレス",
                "--json"], env=JA)
    incident_id = json.loads(made.stdout)["id"]
    shown = json.loads(run(f"show {incident_id} --json").stdout)
    assert (shown["type"], shown["event"], shown["discovered_at"]) == (
        "misdirected-email", "leak", "2024-06-03T15:00:00+09:00")
    assert [d["item"] for d in shown["data"]] == ["name", "email-address"]
    assert json.loads(run("list --status 対応中 --json").stdout)[0]["id"] == incident_id
    assert json.loads(run("list --status closed --json").stdout) == []
    bad = run("list --status 未定義", expect=2, env=JA).stderr
    assert bad.startswith("エラー: 項目 '--status': '未定義' は使えません。") and "closed (終結)" in bad
    event = run(["new", "--title", "t", "--type", "誤送信", "--event", "漏洩した", "--discovered-at", "2024-06-03"],
                expect=2, env=JA).stderr
    assert event.startswith("エラー: 項目 '--event': '漏洩した' は使えません。") and "leak (漏えい)" in event


#: a bad value for each choice an officer types, and an id and Japanese label the error must list
BAD_CHOICES = [
    ("new --title t --type 何か --discovered-at 2024-06-03", "--type", "misdirected-mail (誤送付)"),
    ("new --title t --type misdirected-mail --event 何か --discovered-at 2024-06-03", "--event", "leak (漏えい)"),
    ("list --status 何か", "--status", "closed (終結)"),
    ("status {id} 何か", "STATUS", "contained (封じ込め済み)"),
    ("init --entity 何か", "--entity", "public-body (行政機関等)"),
    ("action list --state 何か", "--state", "verified (確認済み)"),
    ("notice {id} --kind 何か", "--kind", "individual-letter"),
    ("notice {id} --lang 何か", "--lang", "ja (日本語)"),
    ("notice {id} --format 何か", "--format", "pdf"),
    ("send {id} --prepare --kind 何か", "--kind", "individual-email"),
    ("send {id} --prepare --lang 何か", "--lang", "en (英語)"),
    ("list --format 何か", "--format", "xlsx"),
    ("report annual --fiscal-year 令和6 --layout 何か", "--layout", "table5"),
    ("step {id} count-persons 何か", "done|skip", "skip (省略)"),
]


@pytest.mark.parametrize(("command", "option", "listed"), BAD_CHOICES)
def test_a_bad_choice_is_one_japanese_line_listing_the_labels(run: Any, store_dir: Path, command: str, option: str,
                                                              listed: str) -> None:
    made = run(["new", "--title", "t", "--type", "misdirected-mail", "--discovered-at", "2024-06-03"])
    refused = run(command.format(id=made.stdout.strip()), expect=2, env=JA)
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"エラー: 項目 '{option}': '何か' は使えません。次のいずれかを指定してください: ")
    assert listed in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr


def test_a_choice_takes_the_japanese_label_and_english_runs_keep_clicks_words(run: Any, store_dir: Path) -> None:
    made = run(["new", "--title", "t", "--type", "misdirected-mail", "--discovered-at", "2024-06-03"])
    assert run(f"notice {made.stdout.strip()} --kind individual-letter --lang 英語 --draft", env=JA).stdout.count("Dear") == 1
    english = run("list --status 何か", expect=2).stderr
    assert "Invalid value for '--status': '何か' is not one of 'open', 'contained', 'reported', 'closed'." in english


def test_a_bad_choice_at_a_prompt_is_asked_again_in_japanese(ja: None) -> None:
    import click

    from incident.cli.common import LabelledChoice

    choice = LabelledChoice(["open", "closed"], {"open": "対応中", "closed": "終結"})
    assert choice.convert("終結", None, None) == "closed"
    with pytest.raises(click.BadParameter, match=r"'何か' は使えません。次のいずれかを指定してください: open \(対応中\), closed \(終結\)"):
        choice.convert("何か", None, None)


@pytest.fixture
def ja() -> Any:
    from incident import i18n

    i18n.activate("ja")
    yield
    i18n.activate("en")


def test_notice_kinds_are_described_in_the_runs_language(run: Any, store_dir: Path) -> None:
    from incident.notices.items import KINDS

    ja = run("notice kinds", env=JA).stdout
    en = run("notice kinds").stdout
    assert [c.strip() for c in ja.splitlines()[1].split("┃")[1:-1]] == ["種類", "言語", "宛先", "説明", "テンプレート"]
    assert [c.strip() for c in en.splitlines()[1].split("┃")[1:-1]] == ["kind", "lang", "for", "description", "template"]
    assert english_sentences(ja) == []
    for spec in KINDS.values():  # a piece of each description (a long one is folded over lines)
        assert max(spec.description_ja.split(), key=len)[:10] in ja, spec.id
        english = max(re.findall(r"[A-Za-z]+", spec.description_en), key=len)
        assert english in en, spec.id
    data = json.loads(run("notice kinds --json", env=JA).stdout)
    assert data[0]["audience"] == "regulator" and data[0]["description"] == KINDS[data[0]["kind"]].description_en
    assert data[0]["description_ja"] == KINDS[data[0]["kind"]].description_ja


def test_writing_emails_without_a_sender_is_refused_in_japanese(ja: None) -> None:
    from incident.errors import InputError
    from incident.notices.mailmerge import require_sender
    from incident.register.config import Config

    with pytest.raises(InputError) as caught:
        require_sender(Config())
    assert caught.value.message.startswith("メールは実際に送る形で") and english_sentences(str(caught.value)) == []


def test_the_lists_type_names_are_the_taxonomys(tmp_path: Path) -> None:
    from incident.law.taxonomy import load_taxonomy
    from incident.law.vocabulary import vocabulary_of
    from incident.register.store import Store

    store = Store.init(tmp_path / "s", vocabulary=vocabulary_of(tmp_path / "s"))
    assert store.type_names() == {t.id: t.ja for t in load_taxonomy().types.values()}




def _one_japanese_error(result: Any) -> str:
    """The run's error: exit 2, nothing on stdout, one line of stderr, Japanese with no English sentence."""
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert result.stderr.startswith("エラー: ") and result.stderr.count("\n") == 1, result.stderr
    assert english_sentences(result.stderr) == [], result.stderr
    return str(result.stderr)


def test_a_database_store_that_is_not_there_is_one_japanese_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from incident.cli import cli

    env = {**JA, "INCIDENT_DATABASE_URL": "postgresql://officer@127.0.0.1:1/nothing"}
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "none"), "list"], env=env)
    told = _one_japanese_error(result)
    assert "に保存先がありません。`incident init --database URL` で作成してください" in told
    assert not (tmp_path / "none").exists()


def test_db_import_and_export_refusals_are_japanese(tmp_path: Path, pg_url: str) -> None:
    from click.testing import CliRunner

    from incident.cli import cli
    from incident.law.vocabulary import init_store
    from incident.register.config import Config

    database = tmp_path / "db"
    init_store(database, Config(database_url=pg_url))
    (tmp_path / "plain").mkdir()
    told = _one_japanese_error(CliRunner().invoke(cli, ["--store", str(database), "db", "import",
                                                        str(tmp_path / "plain")], env=JA))
    assert "にファイルの保存先がありません（incidents/ ディレクトリがありません）" in told
    (tmp_path / "plain" / "x.txt").write_text("x", encoding="utf-8")
    told = _one_japanese_error(CliRunner().invoke(cli, ["--store", str(database), "db", "export",
                                                        str(tmp_path / "plain")], env=JA))
    assert "は空のディレクトリではありません。新しいディレクトリに書き出してください" in told
    files = tmp_path / "files"
    init_store(files)
    told = _one_japanese_error(CliRunner().invoke(cli, ["--store", str(files), "db", "import", str(tmp_path)],
                                                  env=JA))
    assert "の保存先は台帳をファイルで保存しています。" in told


def test_a_roster_in_no_known_encoding_is_refused_in_japanese(run: Any, store_dir: Path, tmp_path: Path) -> None:
    made = run(["new", "--title", "t", "--type", "misdirected-mail", "--discovered-at", "2024-06-03"])
    roster = tmp_path / "roster.csv"
    roster.write_bytes("氏名,住所\n".encode() + b"\x82 x,y\n")
    told = _one_japanese_error(run(["roster", "import", made.stdout.strip(), str(roster)], env=JA, expect=None))
    assert "UTF-8 のテキストでも Shift_JIS（cp932）のテキストでもありません" in told and "CSV UTF-8" in told


def test_a_rosters_bad_rows_are_told_in_japanese_and_json_stays_english(run: Any, store_dir: Path,
                                                                        tmp_path: Path) -> None:
    made = run(["new", "--title", "t", "--type", "misdirected-mail", "--discovered-at", "2024-06-03"])
    incident_id = made.stdout.strip()
    roster = tmp_path / "roster.csv"
    roster.write_text("氏名,メールアドレス,住所,郵便番号\n佐藤 一郎,sato@example.jp,東京都千代田区1-1,100-0001\n"
                      ",suzuki@,,12-345\n佐藤 一郎,sato@example.jp,東京都千代田区1-1,100-0001\n", encoding="utf-8")
    refused = _one_japanese_error(run(["roster", "import", incident_id, str(roster)], env=JA, expect=None))
    assert "3行目: email 'suzuki@': 送信できません（@ の後のドメインが正しいホスト名ではありません" in refused
    assert "3行目: 氏名がありません" in refused and "何も取り込んでいません" in refused
    told = run(["roster", "import", incident_id, str(roster), "--skip-invalid"], env=JA).stderr
    assert english_sentences(told) == [], told
    assert "  3行目: postal_code '12-345': NNN-NNNN か NNNNNNN の形ではありません" in told
    assert "  4行目（p000002）: p000001 とメールアドレスが同じ" in told
    data = json.loads(run(["roster", "import", incident_id, str(roster), "--skip-invalid", "--replace",
                           "--reason", "再取り込み", "--json"], env=JA).stdout)
    assert "row 3: postal_code '12-345': not NNN-NNNN or NNNNNNN" in data["skipped_rows"]
    assert any(s.startswith("row 3: email 'suzuki@': cannot be sent to (the domain after @") for s in data["skipped_rows"])
    assert data["duplicate_rows"] == ["row 4 (p000002): same email as p000001"]


def test_a_failed_audit_is_told_in_japanese_and_its_json_stays_english(run: Any, store_dir: Path) -> None:
    made = run(["new", "--title", "t", "--type", "misdirected-mail", "--discovered-at", "2024-06-03"])
    incident_id = made.stdout.strip()
    record = store_dir / "incidents" / f"{incident_id}.toml"
    record.write_text(record.read_text(encoding="utf-8").replace('title = "t"', 'title = "u"'), encoding="utf-8")
    told = run("audit verify", env=JA, expect=1).stdout
    assert f"事案 {incident_id} が監査ログに最後に記録された状態と一致しません（ツールの外で記録が変更されています）" in told
    assert english_sentences(told) == [], told
    data = json.loads(run("audit verify --json", env=JA, expect=1).stdout)
    assert data["problem"] == (f"incident {incident_id} does not match its last audited state (the record was "
                               "changed outside the toolkit)")


def test_a_damaged_roster_is_told_in_japanese(run: Any, store_dir: Path, tmp_path: Path) -> None:
    made = run(["new", "--title", "t", "--type", "misdirected-mail", "--discovered-at", "2024-06-03"])
    incident_id = made.stdout.strip()
    run(["roster", "import", incident_id, str(write_csv(tmp_path / "roster.csv"))])
    sealed = store_dir / "rosters" / f"{incident_id}.roster"
    sealed.write_bytes(sealed.read_bytes()[:-40])
    told = _one_japanese_error(run(["roster", "show", incident_id], env=JA, expect=None))
    assert "本人一覧のファイルが" in told, told


def test_the_facts_of_a_record_are_explained_in_japanese(run: Any, tmp_path: Path) -> None:
    """`incident new --help` explains each fact, and a missing one is named, in the run's language; the
    record's keys and ids stay as they are typed."""
    from incident.register.record import FIELDS

    shown = run("new --help", env=JA).stdout
    assert "件名: 1行の件名" in shown and "主体の区分: business（個人情報取扱事業者）" in shown
    fields = "\n".join(line for line in shown.split("オプション:")[-1].split("\n  --")
                       if line.split(" ")[0].replace("-", "_") in {spec.name for spec in FIELDS})
    assert fields.count("VALUE") >= 30
    # yes and no are the values of secondary_harm_status, typed as they are
    assert [w for w in english_sentences(fields) if w not in ("yes", "no")] == []
    record = tmp_path / "no-title.toml"
    record.write_text('type = "loss"\ndiscovered_at = 2024-06-03T09:00:00+09:00\n', encoding="utf-8")
    refused = run(["new", "--from", str(record)], env=JA, expect=2).stderr
    assert "'title'" in refused and "1行の件名" in refused and english_sentences(refused) == []
    assert "a one-line title" in run(["new", "--from", str(record)], expect=2).stderr  # English runs unchanged
    assert all(spec.help for spec in FIELDS)


#: a list of ids, keys or values as a checker names them ("leak, loss, damage"): kept as written
ID_LIST = re.compile(r"[a-z0-9_@.-]+(?:, [a-z0-9_@.-]+)+")

BROKEN_REGIME = """schema = 1
id = "bad-regime"
name_ja = "テスト"
name_en = "Test"
law = "テスト法"
version = "1"
effective_from = 2024-04-01

[[conditions]]
id = "big"
ja = "大規模"
en = "Big"
kind = "headcount"
more_than = -5

[conditions.reason]
met = "{persons}人"
met_en = "{persons} persons"
not_met = "該当しない"
not_met_en = "not met"
unknown = "不明"
unknown_en = "unknown"

[[conditions]]
id = "odd"
ja = "変"
en = "Odd"
citation = "第1条"
kind = "no-such-kind"
"""
BROKEN_TYPES = """[[type]]
id = "Bad_ID"
ja = "悪い"
en = "Bad"
default_event = "leek"

[[type]]
id = "ok-type"
en = "OK"
default_event = "leak"
malicious_presumed = "はい"
"""
BROKEN_RESPONSE = """type = "misdirected-email"
version = "2024-04-01"

[[steps]]
id = "ask"
urgency = "whenever"
sets = "nonsense"
question_ja = "消去をお願いしましたか"
"""


def _broken_playbooks(tmp_path: Path) -> list[Path]:
    files = [tmp_path / "a" / "regimes" / "bad.toml", tmp_path / "a" / "incident-types.toml",
             tmp_path / "b" / "response" / "misdirected-email.toml"]  # the response's regimes are the bundled ones
    for path, text in zip(files, (BROKEN_REGIME, BROKEN_TYPES, BROKEN_RESPONSE), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return files


def _check(tmp_path: Path, path: Path, *options: str, env: dict[str, str] | None = None) -> Any:
    from click.testing import CliRunner

    from incident.cli import cli

    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), "playbooks", "check", str(path),
                                      *options], env={"INCIDENT_LANG": "en", **(env or {})})
    assert result.exit_code == 2, result.output
    return result


def test_a_playbooks_problems_are_told_in_japanese_one_line_each(tmp_path: Path) -> None:
    expected = {
        "bad.toml": ["項目 'conditions[0].citation': citation がありません",
                     "項目 'conditions[0].more_than': しきい値 -5 が正しくありません。人数を 0 以上の整数で指定してください",
                     "項目 'conditions[1].kind': 不明な種類 'no-such-kind' です。次のいずれかを指定してください: item-flag"],
        "incident-types.toml": ["項目 'id': 種別 'Bad_ID': id は小文字の英数字の語をハイフンでつないだもの",
                                "種別 'Bad_ID': default_event 'leek' は使えません。使える値: leak, loss, damage",
                                "種別 'ok-type': ja の名称がありません",
                                "種別 'ok-type': malicious_presumed は true か false でなければなりません（'はい' は使えません）"],
        "misdirected-email.toml": ["手順 'ask': question_ja と question_en は両方指定するか、どちらも指定しないでください",
                                   "手順 'ask': 緊急度 urgency 'whenever' は使えません。使える値: within-1-hour",
                                   "手順 'ask': sets 'nonsense' は手順で確定できるキーではありません"],
    }
    for path in _broken_playbooks(tmp_path):
        told = _check(tmp_path, path, env=JA).stdout
        lines = told.splitlines()
        assert len(lines) == len(expected[path.name]), told
        for line, wanted in zip(lines, expected[path.name], strict=True):
            assert line.startswith(f"{path}:") and wanted in line, (line, wanted)
            assert english_sentences(ID_LIST.sub(" ", line.removeprefix(f"{path}:"))) == [], line


def test_a_playbooks_problems_stay_english_in_english_and_in_json(tmp_path: Path) -> None:
    regime, types, response = _broken_playbooks(tmp_path)
    told = _check(tmp_path, regime).stdout
    assert f"{regime}:9: field 'conditions[0].citation': missing citation\n" in told
    assert "field 'conditions[0].more_than': bad threshold -5: expected a whole number of persons, 0 or more" in told
    assert "field 'conditions[1].kind': unknown kind 'no-such-kind'; expected one of: item-flag, headcount" in told
    assert "type 'Bad_ID': default_event 'leek' is not one of leak, loss, damage" in _check(tmp_path, types).stdout
    assert "step 'ask': give both question_ja and question_en, or neither" in _check(tmp_path, response).stdout
    for path in (regime, types, response):
        english = json.loads(_check(tmp_path, path, "--json").stdout)
        assert json.loads(_check(tmp_path, path, "--json", env=JA).stdout) == english
        # no Japanese but in the values the file gives ('はい')
        assert all(not re.search(r"[^\x00-\x7f]", re.sub(r"'[^']*'", "", p["message"]))
                   for p in english["problems"]), english
    data = json.loads(_check(tmp_path, regime, "--json", env=JA).stdout)
    assert {"line": 9, "field": "conditions[0].citation", "message": "missing citation"} in data["problems"]
