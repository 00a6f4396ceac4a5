"""Notices: completeness, each kind's sections in order, era dates, escaping, the sandbox, recording."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import rewrite_config

from incident.errors import InputError
from incident.law.vocabulary import open_store
from incident.notices.items import ITEMS, KINDS, IncompleteNotice
from incident.notices.render import Renderer, Settings, format_date, template_origin
from incident.register.changes import new_incident
from incident.register.config import Config
from incident.register.record import FIELD_BY_NAME
from incident.register.store import Store

#: when a hand-built assessment section says it was made
ASSESSED_AT = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)

ORG = "社会福祉法人テスト会"
CONTACT = "総務課 個人情報窓口 03-0000-0000"
BASE: dict[str, Any] = {
    "title": "イベント参加者へのメール誤送信",
    "entity": "business",
    "type": "misdirected-email",
    "certainty": "confirmed",
    "occurred_at": "2024-06-03T10:00:00+09:00",
    "discovered_at": "2024-06-03T15:00:00+09:00",
    "department": "総務課",
    "summary": "参加者36名へのメールを宛先欄(To)に全員のアドレスを入れて送信した。",
    "cause": "送信前のダブルチェックが不十分",
    "secondary_harm": "現時点で確認されていない",
    "persons": 36,
    "found_by": "受信者からの指摘",
    "response_to_individuals": "令和6年6月5日に対象者全員へお詫びのメールを送付",
    "publication": "公表はしていない",
    "prevention": "一斉送信はBCCを用いる手順とし、送信前に別の職員が確認する",
    "other": "特になし",
    "advice_to_individuals": "不審なメールを受け取った場合は開かずに削除してください",
    "data": [{"item": "name"}, {"item": "email-address"}],
}


def write_config(store_dir: Path, **extra: str) -> None:
    lines = [f'organization = "{ORG}"', f'contact = "{CONTACT}"']
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    rewrite_config(store_dir, "\n".join(lines) + "\n")


@pytest.fixture
def org_store(store_dir: Path) -> Store:
    write_config(store_dir)
    return open_store(store_dir)


def make(store: Store, **changes: Any) -> str:
    raw = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    return new_incident(store, raw, actor="tester").id


def headings(text: str, mark: str = "■ ") -> list[str]:
    return [line[len(mark):] for line in text.splitlines() if line.startswith(mark)]


# --------------------------------------------------------------------------- the one mapping


def test_items_cover_every_notice_item_the_regimes_name() -> None:
    from incident.law.regimes import load_regimes

    regimes = load_regimes()
    named = {i for rid in regimes for r in regimes.versions(rid) for ob in r.obligations for i in ob.items}
    assert named <= set(ITEMS)


def test_every_item_maps_to_real_record_keys() -> None:
    for item in ITEMS.values():
        for key in (*item.keys, *item.individual_keys, *item.details):
            assert key == "data" or key in FIELD_BY_NAME, (item.id, key)


def test_every_kind_has_a_template_in_each_language() -> None:
    for spec in KINDS.values():
        for lang in spec.langs:
            assert template_origin(spec.id, lang, ()).name == f"{spec.id}.j2"
        assert set(spec.items) | set(spec.always) <= set(ITEMS)


# --------------------------------------------------------------------------- completeness


def test_missing_items_stop_the_notice_naming_them(run: Any, org_store: Store) -> None:
    incident = make(org_store, cause=None, prevention=None)
    result = run(f"notice {incident} --kind regulator-final", expect=2)
    assert result.stdout == ""
    assert "「原因」 is missing (cause)" in result.stderr
    assert "「再発防止のための措置」 is missing (prevention)" in result.stderr
    assert "--draft" in result.stderr
    ja = run(f"notice {incident} --kind regulator-final", expect=2, env={"INCIDENT_LANG": "ja"}).stderr
    assert "「原因」が未記入 (cause)、「再発防止のための措置」が未記入 (prevention)" in ja
    assert "--draft で下書きを作成してください" in ja
    assert "notices" not in org_store.load(incident).sections


def test_draft_renders_visible_markers_and_is_recorded_as_draft(run: Any, org_store: Store) -> None:
    incident = make(org_store, cause=None, found_by=None)
    result = run(f"notice {incident} --kind regulator-final --draft")
    assert "発見者：【未記入：発見者】" in result.stdout
    section = result.stdout.split("■ 4 原因\n", 1)[1].split("\n", 1)[0]
    assert section == "【未記入：原因】"
    (entry,) = org_store.load(incident).sections["notices"]
    assert entry["draft"] is True and entry["missing"] == ["found_by", "cause"]


def test_missing_organization_is_named(run: Any, store_dir: Path, store: Store) -> None:
    incident = make(store)
    result = run(f"notice {incident} --kind individual-letter", expect=2)
    assert "「報告者の名称」 is missing (organization)" in result.stderr
    assert "config.toml" in result.stderr


def test_preliminary_needs_only_what_is_known(run: Any, org_store: Store) -> None:
    incident = make(org_store, cause=None, prevention=None, found_by=None)
    out = run(f"notice {incident} --kind regulator-preliminary").stdout
    assert out.split("■ 4 原因\n", 1)[1].startswith("調査中\n")
    assert "報告の種類：速報（個人情報保護法第26条第1項、同法施行規則第8条第1項、通則ガイドライン3-5-3-3）" in out
    assert out.split("\n")[2] == "【注意】報告対象事態に該当するかは未評価（報告の前に評価すること）。"


def _assess(store: Store, incident: str, obligations: list[dict[str, Any]]) -> None:
    assessment = {"assessed_at": ASSESSED_AT, "reportable": True, "assessments": [{
        "regime": "appi-business", "reportable": True,
        "conditions": [{"id": "headcount", "met": True, "reason": "1,001人が対象で1,000人を超える",
                        "citation": "個人情報保護法施行規則第7条第4号"}],
        "exemptions": [], "missing": [], "obligations": obligations}]}
    store.update(incident, lambda r: r.with_section("assessment", assessment), actor="tester")


def test_assessment_items_decide_what_is_required(run: Any, org_store: Store) -> None:
    incident = make(org_store, cause=None, secondary_harm=None, advice_to_individuals=None)
    _assess(org_store, incident, [{"id": "individual-notice", "recipient": "本人", "soft": False,
                                   "items": ["overview", "items", "cause", "bogus"]}])
    result = run(f"notice {incident} --kind individual-letter", expect=2)
    assert "「原因」 is missing (cause)" in result.stderr and "二次被害" not in result.stderr
    draft = run(f"notice {incident} --kind individual-letter --draft")
    assert "unknown notice item 'bogus'" in draft.stderr
    after = draft.stdout.split("■ 4 二次被害又はそのおそれの有無及びその内容\n", 1)[1]
    assert after.startswith("調査中です。\n")


def test_preliminary_reports_what_is_known_whatever_the_assessment_lists(run: Any, org_store: Store) -> None:
    from incident.notices.items import ALL_REPORT_ITEMS

    incident = make(org_store, cause=None, prevention=None)
    _assess(org_store, incident, [{"id": "regulator-preliminary", "recipient": "個人情報保護委員会",
                                   "due": "2024-06-07", "soft": True, "items": list(ALL_REPORT_ITEMS)},
                                  {"id": "regulator-final", "recipient": "個人情報保護委員会",
                                   "due": "2024-07-02", "soft": False, "items": list(ALL_REPORT_ITEMS)}])
    out = run(f"notice {incident} --kind regulator-preliminary").stdout
    assert out.split("■ 4 原因\n", 1)[1].startswith("調査中\n")
    assert "規則第7条各号該当性：個人情報保護法施行規則第7条第4号" in out
    assert "・本人の数が千人を超える漏えい等（個人情報保護法施行規則第7条第4号）" in out
    assert "報告の種類：速報（個人情報保護法第26条第1項、同法施行規則第8条第1項" in out and "【注意】" not in out
    assert "「原因」 is missing" in run(f"notice {incident} --kind regulator-final", expect=2).stderr


def test_renderer_raises_incomplete_with_the_items(org_store: Store) -> None:
    record = org_store.load(make(org_store, secondary_harm=None, advice_to_individuals=None))
    settings = Settings(org_store.config)
    with pytest.raises(IncompleteNotice) as info:
        Renderer(settings, record, "individual-letter")
    assert [m.key for m in info.value.missing] == ["secondary_harm", "advice_to_individuals"]
    assert info.value.exit_code == 2


# --------------------------------------------------------------------------- each kind, sections in order

REPORT_SECTIONS = [
    "報告者", "1 概要", "2 漏えい等が発生し、又は発生したおそれがある個人データの項目",
    "3 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数", "4 原因",
    "5 二次被害又はそのおそれの有無及びその内容", "6 本人への対応の実施状況", "7 公表の実施状況",
    "8 再発防止のための措置", "9 その他参考となる事項",
]
INDIVIDUAL_SECTIONS = [
    "1 概要", "2 漏えい等が発生し、又は発生したおそれがある個人情報の項目", "3 原因",
    "4 二次被害又はそのおそれの有無及びその内容", "5 その他参考となる事項", "お問い合わせ先",
]


@pytest.mark.parametrize("kind,report_type", [("regulator-final", "確報"), ("regulator-preliminary", "速報")])
def test_regulator_reports_have_the_nine_items_in_order(run: Any, org_store: Store, kind: str,
                                                        report_type: str) -> None:
    out = run(f"notice {make(org_store)} --kind {kind}").stdout
    assert out.splitlines()[0] == f"個人情報の漏えい等に関する報告書（{report_type}）"
    assert headings(out) == REPORT_SECTIONS
    for line in (f"名称：{ORG}", "区分：個人情報取扱事業者", "報告先：個人情報保護委員会", "発生日：令和6年6月3日",
                 "発見者：受信者からの指摘", "事案の種別：誤送信（漏えい）", "・氏名", "・メールアドレス", "36人",
                 "送信前のダブルチェックが不十分", "令和6年6月5日に対象者全員へお詫びのメールを送付"):
        assert line in out.splitlines(), line


def test_individual_letter_is_a_letter_with_the_five_items(run: Any, org_store: Store) -> None:
    out = run(f"notice {make(org_store)} --kind individual-letter").stdout
    lines = out.splitlines()
    assert lines[0] == "個人情報の漏えいに関するお詫びとお知らせ"
    opening = next(i for i, line in enumerate(lines) if line.startswith("拝啓　このたび"))
    assert opening < lines.index("敬具") < lines.index("記")
    assert "時下" not in out and "ご清祥" not in out  # an apology opens with the apology, no seasonal greeting
    assert "関係者各位" in lines and "あなた" not in out
    assert lines.index("記") < lines.index("■ 1 概要") and lines[-1] == "以上"
    assert headings(out) == INDIVIDUAL_SECTIONS
    assert "不審なメールを受け取った場合は開かずに削除してください" in lines
    assert CONTACT in lines
    assert "36人" not in out  # the number of people is not one of rule 10's items


def test_individual_email_has_a_subject(org_store: Store) -> None:
    record = org_store.load(make(org_store))
    rendered = Renderer(Settings(org_store.config), record, "individual-email").render()
    assert rendered.subject == f"【お詫び】個人情報の漏えいに関するお知らせ（{ORG}）"
    assert headings(rendered.text) == INDIVIDUAL_SECTIONS


@pytest.mark.parametrize("kind,signature", [("council-letter", "市議会議長"), ("council-email", "市議会議長")])
def test_council_notices_use_the_five_items_and_the_chair(run: Any, store_dir: Path, kind: str,
                                                          signature: str) -> None:
    rewrite_config(store_dir, f'organization = "テスト市議会"\nentity = "council"\ncontact = "{CONTACT}"\n')
    incident = make(open_store(store_dir), entity="council")
    out = run(f"notice {incident} --kind {kind}").stdout
    assert headings(out) == INDIVIDUAL_SECTIONS
    assert any(line.endswith("テスト" + signature) for line in out.splitlines())
    assert "皆様の個人情報" in out and "あなた" not in out


def test_public_announcement_entruster_and_internal(run: Any, org_store: Store) -> None:
    incident = make(org_store)
    public = run(f"notice {incident} --kind public-announcement").stdout
    assert headings(public) == ["1 概要", "2 漏えい等が発生し、又は発生したおそれがある個人情報の項目",
                                "3 対象となる方の人数", "4 原因", "5 二次被害又はそのおそれの有無及びその内容",
                                "6 再発防止のための措置", "7 その他", "お問い合わせ窓口"]
    result = run(f"notice {incident} --kind entruster-notice", expect=2)
    assert "「委託元」 is missing (entruster)" in result.stderr
    run(f"set {incident} role=entrustee entruster=株式会社委託元")
    entruster = run(f"notice {incident} --kind entruster-notice").stdout
    assert entruster.splitlines()[2] == "株式会社委託元　御中"
    assert headings(entruster)[:9] == ["1 概要", "2 漏えい等が発生し、又は発生したおそれがある個人データの項目",
                                       "3 本人の数", "4 原因", "5 二次被害又はそのおそれの有無及びその内容",
                                       "6 本人への対応の実施状況", "7 公表の実施状況", "8 再発防止のための措置",
                                       "9 その他参考となる事項"]
    internal = run(f"notice {incident} --kind internal-report").stdout
    assert headings(internal)[:3] == ["1 事案の概要", "2 法令上の評価", "3 期限"]
    assert "未評価です（報告の要否を評価してください）。" in internal


def test_internal_report_shows_the_deadlines_in_era_form(run: Any, org_store: Store) -> None:
    incident = make(org_store)
    assessment = {"assessed_at": ASSESSED_AT, "reportable": True, "assessments": [{
        "regime": "appi-business", "reportable": True, "conditions": [], "exemptions": [], "missing": [],
        "obligations": [{"id": "regulator-final", "recipient": "個人情報保護委員会", "due": "2024-07-02",
                         "soft": False, "items": ["overview"]},
                        {"id": "regulator-preliminary", "recipient": "個人情報保護委員会", "due": "2024-06-07",
                         "soft": True, "items": ["overview"]}]}]}
    org_store.update(incident, lambda r: r.with_section("assessment", assessment), actor="tester")
    out = run(f"notice {incident} --kind internal-report").stdout
    # an assessment stored without labels: each obligation is named as its regime playbook names it
    assert "個人情報保護委員会への報告（確報）（個人情報保護委員会）：令和6年7月2日" in out.splitlines()
    assert "個人情報保護委員会への報告（速報）（個人情報保護委員会）：令和6年6月7日（目安）" in out.splitlines()
    assert "報告・通知の義務：あり" in out.splitlines()


def test_english_kinds(run: Any, org_store: Store) -> None:
    incident = make(org_store)
    sa = run(f"notice {incident} --kind gdpr-supervisory-authority").stdout
    assert [h for h in sa.splitlines() if h.startswith("(")] == [
        "(a) Nature of the breach", "(b) Data protection officer or other contact point",
        "(c) Likely consequences", "(d) Measures taken or proposed"]
    assert "Became aware: 3 June 2024" in sa.splitlines()
    assert "Categories of personal data: name, email address" in sa.splitlines() or \
        "Categories of personal data: name, e-mail address" in sa.splitlines()
    subjects = run(f"notice {incident} --kind gdpr-data-subjects").stdout
    assert subjects.index("Nature of the breach") < subjects.index("Likely consequences") < \
        subjects.index("Measures taken or proposed") < subjects.index("Data protection officer or other contact point")
    letter = run(f"notice {incident} --kind individual-letter --lang en").stdout
    assert "Dear Sir or Madam," in letter and "What you can do" in letter
    result = run(f"notice {incident} --kind regulator-final --lang en", expect=2)
    assert "exists in ja, not 'en'" in result.stderr


# --------------------------------------------------------------------------- dates, escaping, sandbox


@pytest.mark.parametrize("day,text", [(date(2019, 4, 30), "平成31年4月30日"), (date(2019, 5, 1), "令和元年5月1日"),
                                      (date(2024, 6, 3), "令和6年6月3日"), (date(1989, 1, 7), "昭和64年1月7日"),
                                      (date(1989, 1, 8), "平成元年1月8日")])
def test_era_dates_at_the_boundaries(day: date, text: str) -> None:
    assert format_date(day, "ja", "Asia/Tokyo") == text


def test_era_boundary_in_a_rendered_report(run: Any, org_store: Store) -> None:
    incident = make(org_store, occurred_at="2019-04-30T23:00:00+09:00", discovered_at="2019-04-30T15:30:00Z")
    out = run(f"notice {incident} --kind regulator-final").stdout.splitlines()
    assert "発生日：平成31年4月30日" in out and "発覚日：令和元年5月1日" in out


def test_html_escapes_record_text(run: Any, org_store: Store) -> None:
    incident = make(org_store, summary='<script>alert("x")</script> & 調査中')
    out = run(f"notice {incident} --kind regulator-final --format html").stdout
    assert "<script>" not in out
    assert "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 調査中</p>" in out
    assert out.startswith("<!DOCTYPE html>") and "<h2>4 原因</h2>" in out
    md = run(f"notice {incident} --kind regulator-final --format md").stdout
    assert "<script>" not in md and "## 4 原因" in md


def test_organization_override_is_rendered_in_the_sandbox(run: Any, org_store: Store, store_dir: Path) -> None:
    incident = make(org_store)
    own = store_dir / "templates" / "notices" / "ja"
    own.mkdir(parents=True)
    (own / "regulator-final.j2").write_text("独自様式 {{ incident.id }} {{ v.cause }}\n", encoding="utf-8")
    assert run(f"notice {incident} --kind regulator-final").stdout == f"独自様式 {incident} 送信前のダブルチェックが不十分\n"
    kinds = json.loads(run("notice kinds --json").stdout)
    assert {(k["kind"], k["lang"]): k["template"] for k in kinds}[("regulator-final", "ja")] == "organization"
    (own / "regulator-final.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8")
    result = run(f"notice {incident} --kind regulator-final", expect=2)
    assert "attempted an unsafe operation" in result.stderr and "__class__" in result.stderr
    (own / "regulator-final.j2").write_text("{% set _ = data_items.append('x') %}\n", encoding="utf-8")
    result = run(f"notice {incident} --kind regulator-final", expect=2)
    assert "unsafe" in result.stderr


def test_a_template_typo_is_a_clear_error(run: Any, org_store: Store, store_dir: Path) -> None:
    incident = make(org_store)
    own = store_dir / "templates" / "notices" / "ja"
    own.mkdir(parents=True)
    (own / "individual-letter.j2").write_text("{{ v.nonexistent }}\n", encoding="utf-8")
    result = run(f"notice {incident} --kind individual-letter", expect=2)
    assert "uses an undefined value" in result.stderr and "nonexistent" in result.stderr


# --------------------------------------------------------------------------- recording


def test_rendering_is_recorded_with_its_hash(run: Any, org_store: Store, tmp_path: Path) -> None:
    incident = make(org_store)
    target = tmp_path / "final.html"
    run(f"notice {incident} --kind regulator-final --format html -o {target} --actor 佐藤")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (entry,) = org_store.load(incident).sections["notices"]
    assert {k: entry[k] for k in ("kind", "lang", "format", "sha256", "actor", "draft", "path")} == {
        "kind": "regulator-final", "lang": "ja", "format": "html", "sha256": digest, "actor": "佐藤",
        "draft": False, "path": str(target)}
    audit = [e for e in org_store.audit_entries() if e["action"] == "notice"]
    assert len(audit) == 1 and audit[0]["actor"] == "佐藤" and audit[0]["changes"]["sha256"] == digest
    assert audit[0]["changes"]["kind"] == "regulator-final"


def test_kinds_lists_every_kind(run: Any) -> None:
    rows = json.loads(run("notice kinds --json").stdout)
    assert sorted({r["kind"] for r in rows}) == sorted(KINDS)
    assert ("individual-letter", "en") in {(r["kind"], r["lang"]) for r in rows}


def test_unknown_kind_and_missing_kind(run: Any, org_store: Store) -> None:
    incident = make(org_store)
    assert "--kind is required" in run(f"notice {incident}", expect=2).stderr
    with pytest.raises(InputError, match="unknown notice kind"):
        Renderer(Settings(Config(organization="x")), org_store.load(incident), "nope")


# --------------------------------------------------------------------------- start-up


def test_the_notice_and_roster_commands_import_no_core_module_at_load() -> None:
    import subprocess
    import sys

    code = ("import sys, incident.cli.notice, incident.cli.roster; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jinja2', 'keyring', 'cryptography', 'rich') "
            "or m in ('email.message', 'incident.notices.render', 'incident.notices.items', 'incident.notices.mailmerge', 'incident.notices.roster', 'incident.register.store')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout
    assert loaded == "[]\n"


def test_kind_choices_are_checked_when_parsing(run: Any, org_store: Store) -> None:
    result = run(f"notice {make(org_store)} --kind nope", expect=2)
    assert "Invalid value for '--kind': 'nope' is not one of 'regulator-preliminary'," in result.stderr
    assert "'gdpr-data-subjects'." in result.stderr


# --- items and kinds are data (playbooks/notices.toml) ----------------------------------------------


def test_the_notices_checker_lists_every_problem_across_files(tmp_path: Path) -> None:
    """Item keys must be record keys, sets must name items, kinds must name real obligations, regimes
    and items: each problem at its line."""
    from incident.notices.items import check_notices_file

    path = tmp_path / "notices.toml"
    path.write_text("""schema = 1

[[item]]
id = "overview"
ja = "概要"
en = "overview"
keys = ["summary", "sumary"]
source = "施行規則第8条第1項第1号"

[sets]
short = ["overview", "persons"]

[[kind]]
id = "note"
langs = ["ja"]
audience = "regulator"
description_ja = "メモ"
description_en = "a note"
obligations = ["regulator-finale"]
regimes = ["appi-busines"]
items = ["@short", "@long", "cause"]
partial = "yes"
""", encoding="utf-8")
    problems = check_notices_file(path)
    assert [(p.field, p.line) for p in problems] == [
        ("item.keys", 7), ("sets.short", 11), ("kind.obligations", 19), ("kind.regimes", 20),
        ("kind.items", 21), ("kind.items", 21), ("kind.partial", 22)]
    assert [p.message.split(", which")[0].split("names ")[1] for p in problems if p.field == "kind.items"] == [
        "'@long'", "'cause'"]
    assert "'sumary', which is not a key of the record" in problems[0].message
    assert "'regulator-finale', which is not an obligation of any regime playbook" in problems[2].message


def test_the_bundled_kinds_each_have_a_template_per_language() -> None:
    from incident.notices.items import KINDS
    from incident.resources import builtin_dir

    for kind in KINDS.values():
        for lang in kind.langs:
            assert (builtin_dir("templates") / "notices" / lang / f"{kind.id}.j2").is_file()
