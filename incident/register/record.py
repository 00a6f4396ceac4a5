"""The incident record: its schema, validation, and TOML (de)serialization.

The same TOML is what the store keeps, what `incident new --from FILE` reads and what
`incident assess --facts FILE` reads. `FIELDS` is the one description of every top-level fact:
validation, `incident set KEY=VALUE`, the flags of `incident new` and the prompts all read it.
Sections that later stages add (assessment, notices, actions, review, steps, ...) are listed in
`SECTIONS`; their owning modules validate their insides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import tomli_w

from incident import dates, i18n, tomlfile
from incident.dates import parse_datetime
from incident.errors import InputError
from incident.i18n import N_, _
from incident.register.enums import (
    CERTAINTIES,
    ENTITIES,
    ENUM_LABELS_JA,
    EVENTS,
    HANDLED_BY,
    HARM_STATUSES,
    MALICIOUS,
    MEDIA,
    PUBLICATION_METHODS,
    RISK_LEVELS,
    ROLES,
    STATUSES,
    SUBJECT_CATEGORIES,
)
from incident.register.sections import EARLIEST, LATEST, parse_section
from incident.register.sections import remember as remember_section
from incident.register.sections import serialize as serialize_section
from incident.text import normalize

SCHEMA_VERSION = 1

def enum_from_label(field: str, text: str) -> str:
    """The id of an enumeration value given by its id or its Japanese label ('' = not one of them)."""
    choices = ENUM_CHOICES.get(field, ())
    value = normalize(text).strip()
    if value in choices:
        return value
    for key, label in ENUM_LABELS_JA.get(field, {}).items():
        if value == label:
            return key
    return ""


Kind = Literal["str", "text", "int", "bool", "datetime", "enum", "list", "vocab", "url"]


@dataclass(frozen=True)
class FieldSpec:
    """One top-level key of the record."""

    name: str
    kind: Kind
    ja: str
    help: str
    choices: tuple[str, ...] = ()
    required: bool = False
    #: for kind="vocab": which vocabulary validates it ("type", "cause", "regime")
    vocab: str = ""
    #: managed by the store, not settable by `incident set`
    managed: bool = False


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "str", "番号", N_("incident ID (YYYY-NNNN), assigned by the store"), managed=True),
    FieldSpec("status", "enum", "状態", N_("open, contained, reported or closed"), STATUSES, managed=True),
    FieldSpec("created_at", "datetime", "登録日時", N_("when the incident was recorded"), managed=True),
    FieldSpec("updated_at", "datetime", "更新日時", N_("when the record last changed"), managed=True),
    FieldSpec("title", "str", "件名", N_("a one-line title"), required=True),
    FieldSpec("entity", "enum", "主体の区分", N_("business (個人情報取扱事業者), public-body (行政機関等) "
              "or council (地方議会)"), ENTITIES, required=True),
    FieldSpec("role", "enum", "立場", N_("controller, or entrustee (委託を受けた者)"), ROLES),
    FieldSpec("entruster", "str", "委託元", N_("who entrusted the data, when role = entrustee")),
    FieldSpec("department", "str", "所管", N_("the department responsible (所管課)")),
    FieldSpec("handled_by", "enum", "取扱者", N_("'' or 委託事業者 or 指定管理者: a contractor handled the data"),
              HANDLED_BY),
    FieldSpec("type", "vocab", "種別", N_("incident type (playbooks/incident-types.toml)"), required=True,
              vocab="type"),
    FieldSpec("event", "enum", "事態", N_("leak (漏えい), loss (滅失) or damage (毀損)"), EVENTS),
    FieldSpec("certainty", "enum", "確度", N_("confirmed, or suspected (発生したおそれ)"), CERTAINTIES),
    FieldSpec("occurred_at", "datetime", "発生日時", N_("when it happened")),
    FieldSpec("discovered_at", "datetime", "発覚日時", N_("when the organization learned of it (知った時)"),
              required=True),
    FieldSpec("summary", "text", "概要", N_("what happened")),
    FieldSpec("cause", "text", "原因", N_("why it happened")),
    FieldSpec("cause_category", "vocab", "原因区分", N_("cause id (playbooks/causes.toml)"), vocab="cause"),
    FieldSpec("malicious", "enum", "不正の目的", N_("none, suspected or confirmed"), MALICIOUS),
    FieldSpec("published", "bool", "不特定多数の閲覧", N_("viewable by an unspecified number of people")),
    FieldSpec("recovered", "bool", "回収済み", N_("every copy retrieved or deleted before anyone could see it")),
    FieldSpec("copy_exists", "bool", "同一内容のデータの別保管",
              N_("an identical copy of the data is kept elsewhere (then a loss or damage is no 滅失/毀損)")),
    FieldSpec("being_acquired", "bool", "取得しようとしていた個人情報",
              N_("the data was being acquired and not yet held as 個人データ (web skimming, a tampered form)")),
    FieldSpec("secondary_harm", "text", "二次被害", N_("secondary harm or its risk (二次被害又はそのおそれの有無及びその内容)")),
    FieldSpec("persons", "int", "本人の数", N_("number of people; when uncertain, the largest that may be affected")),
    FieldSpec("subject_countries", "list", "本人の所在国", N_("ISO country codes of the affected people ('EU' accepted)")),
    FieldSpec("risk_level", "enum", "リスク (GDPR)", N_("unlikely, risk or high"), RISK_LEVELS),
    FieldSpec("mynumber_system", "bool", "番号制度のシステム", N_("the data sat in the My Number network systems")),
    FieldSpec("regimes", "vocab", "適用法令", N_("regime ids, overriding the derivation"), vocab="regime"),
    FieldSpec("found_by", "str", "発見者", N_("who found it")),
    FieldSpec("response_to_individuals", "text", "本人への対応の実施状況", N_("what was done for the individuals")),
    FieldSpec("publication", "text", "公表の実施状況", N_("public announcement status")),
    FieldSpec("prevention", "text", "再発防止のための措置", N_("measures against recurrence")),
    FieldSpec("other", "text", "その他参考となる事項", N_("other useful matters")),
    FieldSpec("advice_to_individuals", "text", "本人が取り得る措置", N_("what a person can do to protect themselves")),
    FieldSpec("contact", "text", "問合せ窓口", N_("inquiry desk (default from config)")),
    FieldSpec("medium", "enum", "媒体", N_("paper (紙), electronic (電子) or both: the medium of the data"), MEDIA),
    FieldSpec("subject_category", "enum", "本人の種類", N_("customers (顧客), employees (従業員), residents (住民) "
              "or other: whose data it is"), SUBJECT_CATEGORIES),
    FieldSpec("persons_estimated", "bool", "本人の数は概数", N_("persons is an estimate (概数), as a 速報 may give")),
    FieldSpec("secondary_harm_status", "enum", "二次被害の有無", N_("yes, no or unknown (二次被害又はそのおそれの有無)"),
              HARM_STATUSES),
    FieldSpec("published_on", "datetime", "公表日", N_("when the incident was announced publicly (公表)")),
    FieldSpec("publication_method", "enum", "公表方法", N_("website (ホームページ), press (記者発表), notice-board "
              "(掲示) or other"), PUBLICATION_METHODS),
    FieldSpec("publication_url", "url", "公表先URL", N_("the address of the public announcement (https://…)")),
)
FIELD_BY_NAME: Mapping[str, FieldSpec] = {f.name: f for f in FIELDS}
ENUM_CHOICES: Mapping[str, tuple[str, ...]] = {f.name: f.choices for f in FIELDS if f.kind == "enum"}
LIST_VOCAB_FIELDS = {"regimes"}

#: legal flags a free item (`other:LABEL`) may carry; a catalogue item's flags come from the catalogue
DATA_FLAGS = ("special_care", "financial_harm", "identification_code", "my_number")
DATA_ITEM_KEYS = ("item", "label", "encrypted", "key_compromised", *DATA_FLAGS)
#: a free item: `item = "other:LABEL"`, or `item = "other"` with `label = "LABEL"`
FREE_ITEM = "other"
#: the longest text a fact may hold, and the largest count (persons): beyond them a value is a mistake
MAX_TEXT = 100_000
MAX_COUNT = 10**10
MAX_DATA_ITEMS = 1_000
MAX_EVENTS = 10_000

#: Sections added by later stages; each is owned and deep-validated by one module.
SECTIONS: Mapping[str, type] = {
    "data": list,
    "timeline": list,
    "assessment": dict,
    "obligations": dict,
    "notices": list,
    "actions": list,
    "review": dict,
    "steps": dict,
    "sending": dict,
    "roster": dict,
}


@dataclass(frozen=True)
class DataEntry:
    """One personal-data item involved (漏えい等が発生した個人データの項目)."""

    item: str
    encrypted: bool = False
    key_compromised: bool = False
    #: legal flags the record sets on a free item (other:LABEL), e.g. ("special_care",)
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """A dated event of the incident's timeline (発覚, 初動対応, 警察へ届出 ...)."""

    at: datetime
    text: str
    actor: str = ""
    kind: str = "note"


@dataclass(frozen=True)
class Vocabulary:
    """What validates the open-ended keys: data items, types, causes and regimes come from playbooks."""

    resolve_item: Callable[[str], str]
    types: tuple[str, ...]
    causes: tuple[str, ...]
    regimes: tuple[str, ...]
    default_events: Mapping[str, str] = field(default_factory=dict)
    """type id -> the event a new record of that type has when it names none (誤送付 -> leak)."""
    #: vocab -> a label as typed (the playbook's Japanese name, e.g. 誤送付) -> the id it names
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def choices(self, vocab: str) -> tuple[str, ...]:
        return {"type": self.types, "cause": self.causes, "regime": self.regimes}[vocab]


@dataclass(frozen=True)
class Record:
    """An incident record. Optional facts left out are None (the assessment names those that matter)."""

    facts: Mapping[str, Any]
    data: tuple[DataEntry, ...] = ()
    timeline: tuple[Event, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.facts.get(name)
        return default if value is None else value

    @property
    def id(self) -> str:
        return str(self.facts.get("id") or "")

    @property
    def status(self) -> str:
        return str(self.facts.get("status") or "open")

    @property
    def discovered_at(self) -> datetime:
        value = self.facts["discovered_at"]
        assert isinstance(value, datetime)
        return value

    def with_facts(self, **changes: Any) -> Record:
        facts = dict(self.facts)
        for key, value in changes.items():
            if value is None:
                facts.pop(key, None)
            else:
                facts[key] = value
        return replace(self, facts=facts)

    def with_section(self, name: str, value: Any) -> Record:
        if name not in SECTIONS or name in ("data", "timeline"):
            raise KeyError(name)
        sections = dict(self.sections)
        if value is None:
            sections.pop(name, None)
        else:
            sections[name] = value
        return replace(self, sections=sections)

    def with_event(self, event: Event) -> Record:
        return replace(self, timeline=tuple(sorted((*self.timeline, event), key=lambda e: e.at)))


# --------------------------------------------------------------------------- coercion


def _nfkc(text: str) -> str:
    return normalize(text).strip()


_URL = re.compile(r"https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?")
_TRUE = {"true", "yes", "y", "1", "はい", "有", "あり"}
_FALSE = {"false", "no", "n", "0", "いいえ", "無", "なし"}


def coerce(spec: FieldSpec, value: Any, *, tz: str, file: str | None, vocab: Vocabulary | None) -> Any:
    """Turn a TOML value or a command-line string into the field's type, or raise InputError."""

    def bad(msg: str) -> InputError:
        return InputError(msg, file=file, field=spec.name)

    if spec.kind in ("str", "text"):
        if not isinstance(value, str):
            raise bad(_("expected a string, got {name}").format(name=type(value).__name__))
        if len(value) > MAX_TEXT:
            raise bad(_("longer than {max_text:,} characters").format(max_text=MAX_TEXT))
        if spec.kind == "str" and ("\n" in value or "\r" in value):
            raise bad(_("must be a single line"))
        return value
    if spec.kind == "int":
        if isinstance(value, bool):
            raise bad(_("expected a whole number, got true/false"))
        if isinstance(value, str):
            text = _nfkc(value).replace(",", "").removesuffix("人").removesuffix("名")
            digits = text.removeprefix("-")
            # only 0-9 (full-width digits become these under NFKC); other scripts' digits are refused
            if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 15:
                shown = value if len(value) <= 40 else value[:40] + "…"
                raise bad(_("expected a whole number written with the digits 0-9, got {shown!r}")
                          .format(shown=shown))
            value = int(text)
        if not isinstance(value, int):
            raise bad(_("expected a whole number, got {name}").format(name=type(value).__name__))
        if value < 0:
            raise bad(_("must not be negative (got {value})").format(value=value))
        if value > MAX_COUNT:
            raise bad(_("{value:,} is not a plausible number (at most {max_count:,})")
                      .format(value=value, max_count=MAX_COUNT))
        return value
    if spec.kind == "bool":
        if isinstance(value, str):
            text = _nfkc(value).lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise bad(_("expected true or false, got {value!r}").format(value=value))
        if not isinstance(value, bool):
            raise bad(_("expected true or false, got {name}").format(name=type(value).__name__))
        return value
    if spec.kind == "enum":
        if isinstance(value, str) and value not in spec.choices:
            value = enum_from_label(spec.name, value) or value  # the Japanese label (漏えい) names the id
        if not isinstance(value, str) or value not in spec.choices:
            labels = ENUM_LABELS_JA.get(spec.name, {}) if i18n.is_japanese() else {}
            shown = ", ".join((repr(c) if c == "" else c) + (f" ({labels[c]})" if c in labels else "")
                              for c in spec.choices)
            raise bad(_("{value!r} is not valid; expected one of: {shown}").format(value=value, shown=shown))
        return value
    if spec.kind == "datetime":
        return coerce_datetime(value, tz=tz, file=file, field=spec.name)
    if spec.kind == "list":
        items = _as_list(value, bad)
        return [_nfkc(v).upper() for v in items]
    if spec.kind == "url":
        if not isinstance(value, str):
            raise bad(_("expected a string, got {name}").format(name=type(value).__name__))
        text = value.strip()
        if not _URL.fullmatch(text):
            raise bad(_("expected an http:// or https:// address, got {value!r}").format(value=value))
        return text
    if spec.kind == "vocab":
        if spec.name in LIST_VOCAB_FIELDS:
            items = _as_list(value, bad)
            return [_check_vocab(spec, v, vocab, file) for v in items]
        if not isinstance(value, str):
            raise bad(_("expected a string, got {name}").format(name=type(value).__name__))
        return _check_vocab(spec, value, vocab, file)
    raise AssertionError(_("unhandled field kind {kind}").format(kind=spec.kind))


def _as_list(value: Any, bad: Callable[[str], InputError]) -> list[str]:
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(_("expected a list of strings"))
    return list(value)


def _check_vocab(spec: FieldSpec, value: str, vocab: Vocabulary | None, file: str | None) -> str:
    value = _nfkc(value)
    if vocab is None:
        return value
    choices = vocab.choices(spec.vocab)
    if value not in choices:
        value = vocab.labels.get(spec.vocab, {}).get(value.strip(), value)  # 誤送付 names its id
    if value not in choices:
        named: dict[str, str] = {}
        if i18n.is_japanese():  # each id with its Japanese name beside it: either may be typed
            for label, key in vocab.labels.get(spec.vocab, {}).items():
                named.setdefault(key, label)
        raise InputError(_("{value!r} is not valid; expected one of: {join}")
                         .format(value=value, join=', '.join(f"{c} ({named[c]})" if c in named else c
                                                              for c in choices)), file=file,
                         field=spec.name)
    return value


def coerce_datetime(value: Any, *, tz: str, file: str | None, field: str) -> datetime:
    """A TOML datetime/date or a string (ISO or Japanese forms) as an aware datetime."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=ZoneInfo(tz))
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value, tz, field=field)
        except InputError as exc:
            exc.file = file
            raise
    else:
        raise InputError(_("expected a date and time, got {name}").format(name=type(value).__name__), file=file, field=field)
    return check_range(moment, file=file, field=field)


def check_range(moment: datetime, *, file: str | None, field: str) -> datetime:
    """A date of the register: from 1990 (earlier is not a plausible incident) to 2199."""
    try:
        inside = EARLIEST <= moment < LATEST
    except OverflowError:
        inside = False
    if not inside:
        if moment.year >= LATEST.year:
            raise InputError(_("{isoformat} is in the future").format(isoformat=moment.date().isoformat()), file=file, field=field)
        raise InputError(_("{isoformat} is not a plausible date; dates of the register run from {isoformat2} to today")
                         .format(isoformat=moment.date().isoformat(), isoformat2=EARLIEST.date().isoformat()), file=file, field=field)
    return moment


# --------------------------------------------------------------------------- building and validation


def from_mapping(
    raw: Mapping[str, Any],
    *,
    vocab: Vocabulary | None,
    tz: str = "Asia/Tokyo",
    file: str | Path | None = None,
    now: datetime | None = None,
    require: bool = True,
) -> Record:
    """Validate a parsed TOML table (or the equivalent dict) into a Record; the first problem raises."""
    fname = str(file) if file is not None else None
    schema = raw.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise InputError(_("unsupported schema {schema!r}; this version reads schema = {schema_version}")
                         .format(schema=schema, schema_version=SCHEMA_VERSION),
                         file=fname, field="schema")
    facts: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "schema" or key in SECTIONS:
            continue
        spec = FIELD_BY_NAME.get(key)
        if spec is None:
            raise InputError(_("unknown key; valid keys: {join}").format(join=', '.join(known_keys())), file=fname, field=key)
        facts[key] = coerce(spec, value, tz=tz, file=fname, vocab=vocab)
    if require:
        for spec in FIELDS:
            if spec.required and facts.get(spec.name) in (None, ""):
                raise InputError(_("missing; {help}").format(help=_(spec.help)), file=fname, field=spec.name)
    data = _data_entries(raw.get("data", []), vocab, fname)
    timeline = _timeline(raw.get("timeline", []), tz, fname)
    sections: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    for name, typ in SECTIONS.items():
        if name in ("data", "timeline") or name not in raw:
            continue
        if not isinstance(raw[name], typ):
            raise InputError(_("expected a table") if typ is dict else _("expected an array of tables"), file=fname,
                             field=name)
        parsed[name] = parse_section(name, raw[name], where=fname)
        sections[name] = serialize_section(parsed[name])
    for name, value in parsed.items():  # the stages read these typed values without parsing again
        remember_section(sections, name, value)
    record = Record(facts=facts, data=data, timeline=timeline, sections=sections)
    check_consistency(record, file=fname, now=now)
    return record


def from_trusted(raw: Mapping[str, Any]) -> Record:
    """Rebuild a record from a table this program validated and cached itself (the store's index).

    No validation: only for data that `from_mapping` accepted before and that nobody else wrote.
    """
    facts = {k: v for k, v in raw.items() if k != "schema" and k not in SECTIONS}
    data = tuple(DataEntry(item=d["item"], encrypted=d.get("encrypted", False),
                           key_compromised=d.get("key_compromised", False),
                           flags=tuple(f for f in DATA_FLAGS if d.get(f))) for d in raw.get("data", ()))
    timeline = tuple(Event(at=e["at"], text=e["text"], actor=e.get("actor", ""), kind=e.get("kind", "note"))
                     for e in raw.get("timeline", ()))
    sections = {k: raw[k] for k in SECTIONS if k in raw and k not in ("data", "timeline")}
    return Record(facts=facts, data=data, timeline=timeline, sections=sections)


def known_keys() -> list[str]:
    return ["schema", *(f.name for f in FIELDS), *SECTIONS]


def _data_entries(raw: Any, vocab: Vocabulary | None, file: str | None) -> tuple[DataEntry, ...]:
    if not isinstance(raw, list):
        raise InputError(_("expected an array of tables ([[data]])"), file=file, field="data")
    if len(raw) > MAX_DATA_ITEMS:
        raise InputError(_("more than {max_data_items:,} data items").format(max_data_items=MAX_DATA_ITEMS), file=file, field="data")
    entries: list[DataEntry] = []
    for i, table in enumerate(raw, start=1):
        where = f"data[{i}]"
        if not isinstance(table, dict):
            raise InputError(_("expected a table with item = ..."), file=file, field=where)
        for key in table:
            if key not in DATA_ITEM_KEYS:
                raise InputError(_("unknown key {key!r}; valid keys: {join}")
                                 .format(key=key, join=', '.join(DATA_ITEM_KEYS)), file=file,
                                 field=where)
        item = table.get("item")
        if not isinstance(item, str) or not item.strip():
            raise InputError(_("item is missing; name a data item by id or alias (e.g. name, 氏名)"), file=file,
                             field=f"{where}.item")
        item = _free_form(item, table.get("label"), file, where)
        if vocab is not None:
            try:
                item = vocab.resolve_item(item)
            except InputError as exc:
                raise InputError(exc.message, file=file, field=f"{where}.item") from None
        flags = {}
        for key in ("encrypted", "key_compromised", *DATA_FLAGS):
            value = table.get(key, False)
            if not isinstance(value, bool):
                raise InputError(_("expected true or false"), file=file, field=f"{where}.{key}")
            flags[key] = value
        legal = tuple(f for f in DATA_FLAGS if flags.pop(f))
        if legal and not item.startswith(FREE_ITEM + ":"):
            raise InputError(_("{value} can be set only on a free item (other:LABEL); a catalogue item's flags come from the catalogue (name the fitting catalogue item instead, e.g. 病歴)")
                             .format(value=legal[0]),
                             file=file, field=f"{where}.{legal[0]}")
        entries.append(DataEntry(item=item, encrypted=flags["encrypted"], key_compromised=flags["key_compromised"],
                                 flags=legal))
    return tuple(entries)


def _free_form(item: str, label: Any, file: str | None, where: str) -> str:
    """`item = "other"` with a label as the free item `other:LABEL`; a label on any other item is an error."""
    if label is None:
        return item
    if not isinstance(label, str) or not " ".join(label.split()):
        raise InputError(_("expected the free item's name as text, e.g. label = \"保育料の額\""), file=file,
                         field=f"{where}.label")
    if _nfkc(item).casefold() != FREE_ITEM:
        raise InputError(_('label goes with item = "{free_item}" (a free item); for {item!r} leave label out')
                         .format(free_item=FREE_ITEM, item=item),
                         file=file, field=f"{where}.label")
    return f"{FREE_ITEM}:{' '.join(label.split())}"


def _timeline(raw: Any, tz: str, file: str | None) -> tuple[Event, ...]:
    if not isinstance(raw, list):
        raise InputError(_("expected an array of tables ([[timeline]])"), file=file, field="timeline")
    if len(raw) > MAX_EVENTS:
        raise InputError(_("more than {max_events:,} events").format(max_events=MAX_EVENTS), file=file, field="timeline")
    events: list[Event] = []
    for i, table in enumerate(raw, start=1):
        where = f"timeline[{i}]"
        if not isinstance(table, dict) or not isinstance(table.get("text"), str) or "at" not in table:
            raise InputError(_("expected a table with at = DATETIME and text = \"...\""), file=file, field=where)
        unknown = set(table) - {"at", "text", "actor", "kind"}
        if unknown:
            raise InputError(_("unknown key {min!r}; valid keys: at, text, actor, kind")
                             .format(min=min(unknown)), file=file,
                             field=where)
        at = coerce_datetime(table["at"], tz=tz, file=file, field=f"{where}.at")
        for key in ("text", "actor", "kind"):
            value = table.get(key, "")
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise InputError(_("expected a string of at most {max_text:,} characters")
                                 .format(max_text=MAX_TEXT), file=file,
                                 field=f"{where}.{key}")
        events.append(Event(at=at, text=table["text"], actor=table.get("actor", ""),
                            kind=table.get("kind", "note")))
    return tuple(sorted(events, key=lambda e: e.at))


#: allowance for clock differences between machines before a date counts as "in the future"
FUTURE_SKEW = timedelta(minutes=10)


def check_consistency(record: Record, *, file: str | None = None, now: datetime | None = None) -> None:
    """Impossible combinations: discovery before occurrence, dates in the future, entrustee without entruster."""
    moment = now or dates.now()
    occurred = record.facts.get("occurred_at")
    discovered = record.facts.get("discovered_at")
    for name in ("occurred_at", "discovered_at"):
        value = record.facts.get(name)
        if isinstance(value, datetime) and value > moment + FUTURE_SKEW:
            raise InputError(_("{isoformat} is in the future").format(isoformat=value.isoformat()), file=file, field=name)
    if isinstance(occurred, datetime) and isinstance(discovered, datetime) and discovered < occurred:
        raise InputError(
            _("discovered ({isoformat}) before it occurred ({isoformat2}); discovered_at must be on or after occurred_at")
            .format(isoformat=discovered.isoformat(), isoformat2=occurred.isoformat()), file=file, field="discovered_at")
    for event in record.timeline:
        if event.at > moment + FUTURE_SKEW:
            raise InputError(_("event at {isoformat} is in the future")
                             .format(isoformat=event.at.isoformat()), file=file, field="timeline")


# --------------------------------------------------------------------------- TOML


def to_toml_dict(record: Record) -> dict[str, Any]:
    """The record as a TOML-ready dict, keys in the documented order, None left out."""
    out: dict[str, Any] = {"schema": SCHEMA_VERSION}
    for spec in FIELDS:
        value = record.facts.get(spec.name)
        if value is not None:
            out[spec.name] = value
    if record.data:
        out["data"] = [
            {"item": d.item, **({"encrypted": True} if d.encrypted else {}),
             **({"key_compromised": True} if d.key_compromised else {}), **dict.fromkeys(d.flags, True)}
            for d in record.data
        ]
    if record.timeline:
        out["timeline"] = [
            {"at": e.at, "text": e.text, **({"actor": e.actor} if e.actor else {}),
             **({"kind": e.kind} if e.kind != "note" else {})}
            for e in record.timeline
        ]
    for name in SECTIONS:
        if name in record.sections:
            out[name] = record.sections[name]
    return out


def dumps(record: Record) -> str:
    return tomli_w.dumps(to_toml_dict(record), multiline_strings=True)


def loads(text: str, *, vocab: Vocabulary | None, tz: str = "Asia/Tokyo", file: str | Path | None = None,
          now: datetime | None = None, require: bool = True) -> Record:
    return from_mapping(tomlfile.parse(text, file=file), vocab=vocab, tz=tz, file=file, now=now, require=require)


def read_file(path: Path, *, vocab: Vocabulary | None, tz: str = "Asia/Tokyo", now: datetime | None = None,
              require: bool = True) -> Record:
    text = tomlfile.read_text(path, hint=N_("save the record as UTF-8"))
    return loads(text, vocab=vocab, tz=tz, file=path, now=now, require=require)


def settable_fields() -> Sequence[FieldSpec]:
    return [f for f in FIELDS if not f.managed]
