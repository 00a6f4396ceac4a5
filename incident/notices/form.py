"""The regulator's report as the fields of the PPC's web form, in the form's order, ready to paste.

The field list is data: `playbooks/forms/<id>.toml` (ppc-business, ppc-public, ppc-mynumber), each field
with its label, the value it shows and either the source that confirms the label or why it is inferred.
What a value is comes from VALUES, an explicit registry: a field naming an unknown value is an error in
the playbook, named with its file. Values come from the notice's context (the same facts and wording as
the printed report), the record, the roster and send log (本人への対応) and the corrective actions
(再発防止, done and planned).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from incident import tomlfile
from incident.errors import InputError
from incident.i18n import _
from incident.law.catalogue import load_catalogue
from incident.law.sectors import sector_of
from incident.notices.items import KINDS, find_missing, kind_spec, plan_items
from incident.notices.render import Renderer, format_date
from incident.register import sections
from incident.register.record import Record
from incident.resources import builtin_dir
from incident.sheets import Column, write_table

FORM_KINDS: Final = ("regulator-preliminary", "regulator-final")
FORM_IDS: Final = ("ppc-business", "ppc-public", "ppc-mynumber")


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class FormField:
    """One field of the form: its label, the value shown, and how sure the label is."""

    id: str
    section: str
    label: str
    value: str
    """A name in VALUES."""
    confirmed: str = ""
    """The id of the source whose text shows this label."""
    inferred: str = ""
    """Why the label is what it is when no source shows it."""
    note: str = ""
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class FormSpec:
    id: str
    title: str
    law: str
    recipient: str
    regime: str
    sources: Mapping[str, Source]
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class FilledField:
    number: int
    field: FormField
    value: str

    @property
    def chars(self) -> int:
        """Characters as the form counts them (a line break is one)."""
        return len(self.value.replace("\r\n", "\n"))


# --------------------------------------------------------------------------- loading


def form_path(form_id: str, playbook_dirs: Sequence[Path] = ()) -> Path:
    for directory in (*playbook_dirs, builtin_dir("playbooks")):
        candidate = directory / "forms" / f"{form_id}.toml"
        if candidate.is_file():
            return candidate
    raise InputError(_("no form {form_id}; known: {join}").format(form_id=form_id, join=', '.join(FORM_IDS)), field="form")


@lru_cache(maxsize=16)
def _load(path: Path, mtime: float) -> FormSpec:
    raw, _text = tomlfile.read(path)

    def bad(message: str, field: str) -> InputError:
        return InputError(message, file=path, field=field)

    for key in ("id", "title", "law", "recipient", "regime"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise bad(_("expected a non-empty string"), key)
    sources: dict[str, Source] = {}
    for sid, table in (raw.get("sources") or {}).items():
        if not isinstance(table, dict) or not isinstance(table.get("title"), str) or not isinstance(table.get("url"), str):
            raise bad(_("expected a table with title and url"), f"sources.{sid}")
        sources[sid] = Source(sid, table["title"], table["url"])
    fields: list[FormField] = []
    seen: set[str] = set()
    for index, table in enumerate(raw.get("field") or [], 1):
        where = f"field[{index}]"
        if not isinstance(table, dict):
            raise bad(_("expected a table"), where)
        unknown = set(table) - {"id", "section", "label", "value", "confirmed", "inferred", "note", "options"}
        if unknown:
            raise bad(_("unknown key {key!r}").format(key=min(unknown)), where)
        fid = table.get("id")
        if not isinstance(fid, str) or not fid or fid in seen:
            raise bad(_("a unique id is required (got {value!r})").format(value=fid), where)
        seen.add(fid)
        for key in ("section", "label", "value"):
            if not isinstance(table.get(key), str) or not table[key]:
                raise bad(_("expected a non-empty string"), f"{where}.{key} ({fid})")
        if table["value"] not in VALUES:
            raise bad(_("unknown value {value!r}; known: {known}").format(value=table["value"], known=", ".join(sorted(VALUES))),
                      f"{where}.value ({fid})")
        confirmed, inferred = table.get("confirmed", ""), table.get("inferred", "")
        if bool(confirmed) == bool(inferred):
            raise bad(_("give either confirmed (a source id) or inferred (why), not both or neither"), f"{where} ({fid})")
        if confirmed and confirmed not in sources:
            raise bad(_("unknown source {value!r}; [sources] has: {known}").format(value=confirmed, known=", ".join(sources)),
                      f"{where}.confirmed ({fid})")
        options = tuple(Option(str(o.get("id", "")), str(o.get("label", ""))) for o in table.get("options", [])
                        if isinstance(o, dict))
        fields.append(FormField(fid, table["section"], table["label"], table["value"], confirmed, inferred,
                                str(table.get("note", "")), options))
    if not fields:
        raise bad(_("expected one or more [[field]] tables"), "field")
    return FormSpec(raw["id"], raw["title"], raw["law"], raw["recipient"], raw["regime"], sources, tuple(fields))


def load_form(form_id: str, playbook_dirs: Sequence[Path] = ()) -> FormSpec:
    """The form's field list (the organization's same-named file in its playbooks/forms/ wins)."""
    path = form_path(form_id, playbook_dirs)
    return _load(path, path.stat().st_mtime)


def form_for(record: Record, catalogue_dirs: Sequence[Path] = ()) -> str:
    """Which branch of the PPC form the report goes through: any My Number (or not knowing) -> the My
    Number form (問1: 「不明な場合には、「はい」から」); else public bodies and businesses."""
    if mynumber_involved(record, catalogue_dirs) != "no":
        return "ppc-mynumber"
    return "ppc-public" if record.get("entity") == "public-body" else "ppc-business"


def mynumber_involved(record: Record, catalogue_dirs: Sequence[Path] = ()) -> str:
    """"yes", "no", or "unknown" (no data items recorded yet)."""
    if not record.data:
        return "unknown"
    catalogue = load_catalogue(catalogue_dirs)
    for entry in record.data:
        item = catalogue.get(entry.item)
        if "my_number" in entry.flags or (item is not None and item.my_number):
            return "yes"
    return "no"


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class FormContext:
    """What the values are computed from."""

    renderer: Renderer
    spec: FormSpec
    field: FormField

    @property
    def record(self) -> Record:
        return self.renderer.record

    @property
    def v(self) -> Mapping[str, str]:
        values: Mapping[str, str] = self.renderer.base["v"]
        return values

    def date(self, value: date | datetime | None) -> str:
        return format_date(value, "ja", self.renderer.settings.tz)


Value = Callable[[FormContext], str]
LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "medium": {"paper": "紙", "electronic": "電子", "both": "紙及び電子"},
    "subject_category": {"customers": "顧客情報", "employees": "従業員情報", "residents": "住民の情報", "other": "その他"},
    "secondary_harm_status": {"yes": "有", "no": "無", "unknown": "不明"},
    "publication_method": {"website": "ホームページに掲載", "press": "記者発表", "notice-board": "掲示", "other": "その他"},
    "event": {"leak": "漏えい", "loss": "滅失", "damage": "毀損"},
}


def _label(key: str) -> Value:
    return lambda c: LABELS[key].get(str(c.record.get(key, "")), "")


def _v(key: str) -> Value:
    return lambda c: c.v.get(key, "")


def _mynumber(c: FormContext) -> str:
    found = mynumber_involved(c.record, c.renderer.settings.playbook_dirs)
    return {"yes": "はい", "no": "いいえ", "unknown": "はい（漏えい等した項目が未確定のため）"}[found]


def _organization(c: FormContext) -> str:
    if c.record.get("entity") == "public-body":
        return "行政機関等"
    return "民間事業者・個人情報保護法別表第二に掲げる法人等（いわゆる規律移行法人）"


def _delegated(c: FormContext) -> str:
    sector = sector_of(c.renderer.settings.config.sector, c.renderer.settings.playbook_dirs)
    if sector is not None:
        return f"はい（権限委任先: {sector.recipient}）" if sector.delegated else "いいえ"
    regulator = c.renderer.settings.config.regulator
    return f"はい（権限委任先: {regulator}）" if regulator else "いいえ"


def _report_type(c: FormContext) -> str:
    if c.renderer.spec.id == "regulator-final":
        return "確報"

    final, _lang = kind_spec("regulator-final", "ja")
    missing = find_missing(c.record, c.renderer.settings.config, final, plan_items(c.record, final).required)
    return "速報" if missing else "速報（全ての事項を報告できるため、確報を兼ねることができる）"


def _event(c: FormContext) -> str:
    maybe = "（おそれ）" if c.record.get("certainty") == "suspected" else ""
    return f"{c.renderer.base['incident']['type_label']}（{LABELS['event'].get(str(c.record.get('event', 'leak')), '')}{maybe}）"


def _conditions(c: FormContext) -> str:
    if not c.renderer.base["assessed"]:
        return "未評価（incident assess で評価してください）"
    met = {cond["id"] for cond in c.renderer.base["conditions"] if cond["regime"] == c.spec.regime}
    return "\n".join(("■" if o.id in met else "□") + o.label for o in c.field.options)


def _entrustment(c: FormContext) -> str:
    record = c.record
    if record.get("role") == "entrustee":
        return f"委託元あり（{record.get('entruster') or '名称未記入'}）"
    if record.get("handled_by"):
        return f"委託先あり（{record.get('handled_by')}が取り扱い中に発生）"
    return "なし"


def _course(c: FormContext) -> str:
    return "\n".join(f"{e['date']} {e['text']}" for e in c.renderer.base["timeline"])


def _items(c: FormContext) -> str:
    items: list[str] = c.renderer.base["data_items"]
    return "、".join(items) if items else c.v.get("items", "")


def _persons(c: FormContext) -> str:
    persons = c.record.get("persons")
    if persons is None:
        return ""
    return f"{persons:,}人" + ("（概数）" if c.record.get("persons_estimated") else "")


def _cause_actor(c: FormContext) -> str:
    handled_by = str(c.record.get("handled_by", ""))
    if handled_by:
        return f"委託先（{handled_by}）"
    return "報告者（委託元）" if c.record.get("role") == "entrustee" else "報告者"


METHODS: Final = {"pdf": "書面（郵送）", "txt": "書面", "html": "書面", "md": "書面", "docx": "書面（郵送）",
                  "eml": "電子メール", "mbox": "電子メール"}


def _response(c: FormContext) -> str:
    """What was done for the people: the record's own account, then what the store knows it did
    (letters printed or rendered per person, e-mails sent from an approved batch, the roster's size)."""
    record = c.record
    lines = [c.v.get("response_to_individuals", "")] if c.v.get("response_to_individuals") else []
    for entry in sections.notices_of(record.sections):
        if entry.count is None or entry.draft:
            continue
        spec = KINDS.get(entry.kind)
        if spec is None or not spec.per_person:
            continue
        method = "電子メール（作成）" if spec.email else METHODS.get(entry.format, "書面")
        lines.append(f"{c.date(entry.at)} {method}による通知文 {entry.count:,}名分を作成".strip())
    sending = sections.sending_of(record.sections)
    if sending is not None and sending.sent:
        when = c.date(sending.last_run_at) if sending.last_run_at is not None else ""
        failed = f"（送信できなかったもの {sending.failed:,}件）" if sending.failed else ""
        lines.append(f"{when} 電子メールにより {sending.sent:,}名に通知{failed}".strip())
    roster = sections.roster_of(record.sections)
    if roster is not None and roster.count:
        lines.append(f"対象者名簿 {roster.count:,}名")
    return "\n".join(lines)


def _actions(c: FormContext, done: bool) -> str:
    """The corrective actions (再発防止のための措置) done (done or verified) or planned (open), from the
    record's `actions` section; without any, the record's `prevention` counts as planned."""
    actions = sections.actions_of(c.record.sections)
    if not actions:
        return "" if done else c.v.get("prevention", "")
    lines = []
    for action in actions:
        if (action.state != "open") != done:
            continue
        when = action.done_at if done else action.due
        suffix = ""
        if when is not None:
            suffix = f"（{c.date(when)}実施）" if done else f"（{c.date(when)}まで）"
        lines.append(f"・{action.measure}{suffix}")
    return "\n".join(lines)


def _published_on(c: FormContext) -> str:
    value = c.record.get("published_on")
    return c.date(value) if isinstance(value, (date, datetime)) else ""


VALUES: Final[Mapping[str, Value]] = {
    "routing.mynumber": _mynumber,
    "routing.organization": _organization,
    "routing.delegated": _delegated,
    "report.type": _report_type,
    "reporter.name": lambda c: c.renderer.settings.config.organization,
    "reporter.department": lambda c: str(c.record.get("department", "")),
    "reporter.contact": lambda c: c.v.get("contact", "") or c.renderer.settings.config.contact,
    "overview.summary": _v("overview"),
    "overview.occurred": _v("occurred_at"),
    "overview.discovered": _v("discovered_at"),
    "overview.event": _event,
    "overview.found_by": _v("found_by"),
    "overview.conditions": _conditions,
    "overview.entrustment": _entrustment,
    "overview.course": _course,
    "items.list": _items,
    "items.medium": _label("medium"),
    "items.category": _label("subject_category"),
    "persons": _persons,
    "cause.text": _v("cause"),
    "cause.actor": _cause_actor,
    "harm.status": _label("secondary_harm_status"),
    "harm.content": _v("secondary_harm"),
    "response": _response,
    "publication.status": _v("publication"),
    "publication.date": _published_on,
    "publication.method": _label("publication_method"),
    "publication.url": lambda c: str(c.record.get("publication_url", "")),
    "prevention.done": lambda c: _actions(c, True),
    "prevention.planned": lambda c: _actions(c, False),
    "other": _v("other"),
}
"""Every value a form field may show, by name (a field naming another is refused when the form loads)."""


def fill(spec: FormSpec, renderer: Renderer) -> list[FilledField]:
    """The form's fields with this incident's values, numbered in the form's order."""
    if renderer.spec.id not in FORM_KINDS:
        raise InputError(_("the form is for the reports to the regulator ({join}), not {id}")
                         .format(join=', '.join(FORM_KINDS), id=renderer.spec.id), field="kind")
    filled = []
    for number, field in enumerate(spec.fields, 1):
        value = VALUES[field.value](FormContext(renderer, spec, field)).strip()
        filled.append(FilledField(number, field, value))
    return filled


def form_text(spec: FormSpec, filled: Sequence[FilledField], renderer: Renderer) -> str:
    """Numbered blocks (label, value, character count) to paste one by one."""
    record = renderer.record
    kind = "速報" if renderer.spec.id == "regulator-preliminary" else "確報"
    out = [f"{spec.title} — {kind}", f"事案 {record.id} {record.get('title', '')} ／ 報告先 {spec.recipient}（{spec.law}）",
           "「推定」の欄名は出典で確認できていないもの: 実際のフォームで確かめてから貼り付けてください。", ""]
    section = ""
    for item in filled:
        field = item.field
        if field.section != section:
            section = field.section
            out.append(f"■ {section}")
        status = f"出典 {field.confirmed}" if field.confirmed else "推定"
        out.append(f"【{item.number}】{field.label}（{status}）")
        if field.note:
            out.append(f"  ※{field.note}")
        out.append(item.value if item.value else "（空欄）")
        out.append(f"（{item.chars}文字）")
        out.append("")
    out.append("■ 欄名の出典")
    out.extend(f"[{source.id}] {source.title} {source.url}" for source in spec.sources.values())
    return "\n".join(out).rstrip("\n") + "\n"


def to_json(spec: FormSpec, filled: Sequence[FilledField]) -> dict[str, Any]:
    return {"form": spec.id, "title": spec.title, "fields": [
        {"number": f.number, "id": f.field.id, "section": f.field.section, "label": f.field.label, "value": f.value,
         "chars": f.chars, "confirmed": f.field.confirmed or None, "inferred": f.field.inferred or None}
        for f in filled]}


FORM_COLUMNS = (Column("項番", 6, number=True), Column("区分", 18, wrap=True), Column("欄", 40, wrap=True),
                Column("値", 70, wrap=True), Column("文字数", 8, number=True), Column("欄名の出典", 24, wrap=True))


def form_sheet(spec: FormSpec, filled: Sequence[FilledField], path: Path) -> str:
    """The form's fields as a sheet (項番, 欄, 値, 文字数), in the form's order."""
    rows = ([f.number, f.field.section, f.field.label, f.value, f.chars,
             f.field.confirmed and spec.sources[f.field.confirmed].title or "推定: " + f.field.inferred]
            for f in filled)
    return write_table(path, spec.title, FORM_COLUMNS, rows, sheet="報告フォーム",
                       subtitle=f"{spec.recipient}（{spec.law}）")
