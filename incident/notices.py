"""Notices: an incident turned into the documents the law asks for, one at a time or one per person.

The report items (施行規則第8条第1項各号) map to record keys in one table here, `ITEMS`; each notice
kind (`KINDS`) names the obligation it fulfils, so the items it must contain come from the stored
assessment's `obligations[].items` when there is one and from the kind's default otherwise. The wording
lives in `templates/notices/<lang>/<kind>.j2` (Jinja2, StrictUndefined, HTML and Markdown autoescaped);
an organization's same-named file in its store's `templates/notices/<lang>/` wins and is rendered in the
immutable sandbox. Mail merge streams the roster: one document per person, holding only that person's
data, and `check_outputs` proves it afterwards.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from incident.config import Config
from incident.dates import era_date, to_local_date
from incident.errors import InputError
from incident.record import FIELD_BY_NAME, Record
from incident.roster import Person

Format = Literal["txt", "md", "html"]
FORMATS: tuple[Format, ...] = ("txt", "md", "html")
MergeFormat = Literal["txt", "html", "eml"]
MERGE_FORMATS: tuple[MergeFormat, ...] = ("txt", "html", "eml")
LANGS = ("ja", "en")
Audience = Literal["regulator", "individual", "public", "entruster", "internal", "authority"]


# --------------------------------------------------------------------------- the one mapping


@dataclass(frozen=True)
class ItemSpec:
    """A notice item and the record keys that fill it."""

    id: str
    ja: str
    """The officer's term, used in messages and 【未記入：…】 markers."""
    en: str
    keys: tuple[str, ...]
    """Record keys whose value is the item (the first non-empty wins); `data` is the data-item list."""
    individual_keys: tuple[str, ...] = ()
    """Keys used instead in a notice to the individuals (item 9 there means what they can do)."""
    details: tuple[str, ...] = ()
    """Further keys a full report (確報) must give for this item."""


ITEMS: Mapping[str, ItemSpec] = {s.id: s for s in (
    ItemSpec("overview", "概要", "overview", ("summary",), details=("occurred_at", "found_by")),
    ItemSpec("items", "項目", "data items", ("data",)),
    ItemSpec("persons", "本人の数", "number of people", ("persons",)),
    ItemSpec("cause", "原因", "cause", ("cause",)),
    ItemSpec("secondary-harm", "二次被害", "secondary harm", ("secondary_harm",)),
    ItemSpec("response-to-individuals", "本人への対応の実施状況", "response to individuals",
             ("response_to_individuals",)),
    ItemSpec("publication", "公表の実施状況", "publication", ("publication",)),
    ItemSpec("prevention", "再発防止のための措置", "measures against recurrence", ("prevention",)),
    ItemSpec("other", "その他参考となる事項", "other useful matters", ("other",), individual_keys=("advice_to_individuals",)),
    ItemSpec("contact", "問合せ窓口", "contact point", ("contact",)),
    ItemSpec("entruster", "委託元", "entruster", ("entruster",)),
)}
"""Report item -> record keys: the only place this mapping is written down."""

ALL_REPORT_ITEMS = ("overview", "items", "persons", "cause", "secondary-harm", "response-to-individuals",
                    "publication", "prevention", "other")
"""施行規則第8条第1項第1号～第9号, in order."""
INDIVIDUAL_ITEMS = ("overview", "items", "cause", "secondary-harm", "other")
"""施行規則第10条 (第8条第1項第1号・第2号・第4号・第5号・第9号); seed 004 Art. 5(2) lists the same five."""


@dataclass(frozen=True)
class KindSpec:
    """A notice kind: whom it is for, which obligation it fulfils, what it must contain."""

    id: str
    langs: tuple[str, ...]
    audience: Audience
    description: str
    obligations: tuple[str, ...] = ()
    """Obligation ids of the stored assessment whose `items` this notice must contain."""
    regimes: tuple[str, ...] = ()
    """Only obligations of these regimes count (empty: any)."""
    items: tuple[str, ...] = ()
    """Required items when the assessment names none."""
    always: tuple[str, ...] = ()
    """Required whatever the assessment says (the addressee, the inquiry desk)."""
    full: bool = False
    """A full report: the items' details (発生日, 発見者) are required too."""
    partial: bool = False
    """Reports what is known so far (速報; an entrustee's notice): of the obligation's items only those in
    `items` are required, the others read 調査中 until recorded."""
    email: bool = False
    """The template sets a `subject`; the notice can be sent by e-mail."""
    per_person: bool = False
    """Rendered once per person of the roster (mail merge)."""

    @property
    def for_individuals(self) -> bool:
        return self.audience in ("individual", "public")


_IND = ("individual-notice", "data-subjects")
KINDS: Mapping[str, KindSpec] = {k.id: k for k in (
    KindSpec("regulator-preliminary", ("ja",), "regulator", "速報: the preliminary report to the PPC (規則第8条第1項)",
             ("regulator-preliminary",), items=("overview", "items", "persons"), partial=True),
    KindSpec("regulator-final", ("ja",), "regulator", "確報: the final report to the PPC, all nine items (規則第8条第2項)",
             ("regulator-final",), items=ALL_REPORT_ITEMS, full=True),
    KindSpec("individual-letter", ("ja", "en"), "individual", "postal letter to an affected person (規則第10条)",
             _IND, items=INDIVIDUAL_ITEMS, always=("contact",), per_person=True),
    KindSpec("individual-email", ("ja", "en"), "individual", "e-mail to an affected person (規則第10条)",
             _IND, items=INDIVIDUAL_ITEMS, always=("contact",), email=True, per_person=True),
    KindSpec("public-announcement", ("ja",), "public", "公表文: the substitute when people cannot be reached",
             ("individual-notice",), items=("overview", "items", "persons", "cause", "secondary-harm", "prevention"),
             always=("contact",)),
    KindSpec("entruster-notice", ("ja",), "entruster", "委託元への報告: an entrustee's report to the entruster",
             ("entruster-notice",), items=("overview", "items", "persons"), always=("entruster",), partial=True),
    KindSpec("internal-report", ("ja",), "internal", "to management: the facts, the assessment and the deadlines",
             items=("overview",)),
    KindSpec("council-letter", ("ja",), "individual", "議会: the chair's letter to a person (seed 004 Art. 5(2))",
             ("individual-notice",), ("council",), items=INDIVIDUAL_ITEMS, always=("contact",), per_person=True),
    KindSpec("council-email", ("ja",), "individual", "議会: the chair's e-mail to a person (seed 004 Art. 5(2), 6)",
             ("individual-notice",), ("council",), items=INDIVIDUAL_ITEMS, always=("contact",), email=True,
             per_person=True),
    KindSpec("gdpr-supervisory-authority", ("en",), "authority", "GDPR Art. 33(3): to the supervisory authority",
             ("supervisory-authority",), ("gdpr",),
             items=("overview", "items", "persons", "contact", "secondary-harm", "prevention")),
    KindSpec("gdpr-data-subjects", ("en",), "individual", "GDPR Art. 34: to the data subjects (high risk)",
             ("data-subjects",), ("gdpr",), items=("overview", "contact", "secondary-harm", "prevention", "other"),
             email=True, per_person=True),
)}


def kind_spec(kind: str, lang: str | None = None) -> tuple[KindSpec, str]:
    """The kind and the language to render it in (its first language when none is given)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise InputError(f"unknown notice kind {kind!r}; valid: {', '.join(KINDS)} (`incident notice kinds`)",
                         field="kind")
    if lang is None:
        return spec, spec.langs[0]
    if lang not in spec.langs:
        raise InputError(f"the kind {kind} exists in {', '.join(spec.langs)}, not {lang!r}", field="lang")
    return spec, lang


# --------------------------------------------------------------------------- what a notice must contain


@dataclass(frozen=True)
class MissingItem:
    """A required item (or detail) the record lacks."""

    item: str
    label: str
    key: str
    label_en: str = ""

    def __str__(self) -> str:
        return f"「{self.label}」が未記入 ({self.key})"


class IncompleteNotice(InputError):
    """The record lacks items the notice must contain; nothing was rendered."""

    def __init__(self, incident_id: str, kind: str, missing: Sequence[MissingItem]) -> None:
        self.missing = tuple(missing)
        listed = "、".join(str(m) for m in self.missing)
        keys = [m.key for m in self.missing if m.key != "organization"]
        how = f"record them with `incident set {incident_id} {keys[0]}=...`" if keys else ""
        if len(keys) < len(self.missing):
            how += (" and " if how else "") + "set organization in the store's config.toml"
        super().__init__(f"{kind} cannot be completed: {listed}; {how}, or render a draft with --draft",
                         field="kind")


@dataclass(frozen=True)
class Plan:
    """Which items a notice must contain, and where that list came from."""

    required: tuple[str, ...]
    source: str
    """`assessment` or `default`."""
    recipient: str = ""
    warnings: tuple[str, ...] = ()


def plan_items(record: Record, spec: KindSpec) -> Plan:
    """Required items: the stored assessment's obligation items when present, else the kind's default."""
    found: list[Mapping[str, Any]] = []
    assessment = record.sections.get("assessment")
    if isinstance(assessment, Mapping) and spec.obligations:
        for regime in assessment.get("assessments", []) or []:
            if not isinstance(regime, Mapping) or (spec.regimes and regime.get("regime") not in spec.regimes):
                continue
            found += [ob for ob in regime.get("obligations", []) or []
                      if isinstance(ob, Mapping) and ob.get("id") in spec.obligations]
    warnings: list[str] = []
    if found:
        named: list[str] = []
        for ob in found:
            for item in ob.get("items", []) or []:
                if item in ITEMS:
                    named.append(item)
                else:
                    warnings.append(f"the assessment names an unknown notice item {item!r}; ignored "
                                    f"(known: {', '.join(ITEMS)})")
        required = [i for i in ITEMS if (i in named and (not spec.partial or i in spec.items)) or i in spec.always]
        recipient = next((str(ob["recipient"]) for ob in found if ob.get("recipient")), "")
        return Plan(tuple(required), "assessment", recipient, tuple(warnings))
    required = [i for i in ITEMS if i in spec.items or i in spec.always]
    return Plan(tuple(required), "default", "", tuple(warnings))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def item_keys(item: ItemSpec, spec: KindSpec) -> tuple[str, ...]:
    return item.individual_keys if spec.for_individuals and item.individual_keys else item.keys


def _raw_value(key: str, record: Record, config: Config) -> Any:
    if key == "data":
        return record.data or None
    value = record.get(key)
    if key == "contact" and _blank(value):
        value = config.contact or None
    return value


def find_missing(record: Record, config: Config, spec: KindSpec, required: Sequence[str]) -> list[MissingItem]:
    """Every required item (and, for a full report, detail) the record leaves empty, in item order."""
    missing: list[MissingItem] = []
    if not config.organization.strip():
        missing.append(MissingItem("organization", "報告者の名称", "organization", "organization name"))
    for item_id in required:
        item = ITEMS[item_id]
        keys = item_keys(item, spec)
        if all(_blank(_raw_value(k, record, config)) for k in keys):
            missing.append(MissingItem(item_id, item.ja, keys[0], item.en))
        if spec.full:
            for key in item.details:
                if _blank(record.get(key)):
                    missing.append(MissingItem(item_id, FIELD_BY_NAME[key].ja, key, key.replace("_", " ")))
    return missing


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Settings:
    """What rendering needs from the store: the organization, its timezone, its extra directories."""

    config: Config
    template_dirs: tuple[Path, ...] = ()
    """The organization's `templates/` directories (searched before the builtin one)."""
    playbook_dirs: tuple[Path, ...] = ()

    @property
    def tz(self) -> str:
        return self.config.timezone


def template_search_path(lang: str, extra: Sequence[Path]) -> tuple[tuple[Path, ...], bool]:
    """The directories searched for a language's templates, and whether any is the organization's."""
    from incident.resources import builtin_dir

    own = tuple(d / "notices" / lang for d in extra if (d / "notices" / lang).is_dir())
    return (*own, builtin_dir("templates") / "notices" / lang), bool(own)


def _md_escape(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@lru_cache(maxsize=32)
def environment(paths: tuple[Path, ...], *, escape: bool, sandboxed: bool) -> jinja2.Environment:
    """A strict environment; the immutable sandbox when an organization's templates are on the path."""
    cls = ImmutableSandboxedEnvironment if sandboxed else jinja2.Environment
    # The builtin files never change under a running process: skip the per-include stat (mail merge speed).
    return cls(loader=jinja2.FileSystemLoader([str(p) for p in paths]), undefined=jinja2.StrictUndefined,
               autoescape=escape, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
               auto_reload=sandboxed)


def template_origin(kind: str, lang: str, extra: Sequence[Path]) -> Path:
    """The file a kind renders from (the organization's when it has one)."""
    paths, _ = template_search_path(lang, extra)
    for directory in paths:
        if (directory / f"{kind}.j2").is_file():
            return directory / f"{kind}.j2"
    raise InputError(f"no template {kind}.j2 for language {lang} (looked in {', '.join(map(str, paths))})",
                     field="kind")


def _template_error(exc: Exception, kind: str, lang: str) -> InputError:
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return InputError(f"the template of {kind} ({lang}) attempted an unsafe operation and was stopped: {exc}",
                          field="template")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return InputError(f"template syntax error: {exc.message}", file=exc.filename or exc.name, line=exc.lineno)
    if isinstance(exc, jinja2.UndefinedError):
        return InputError(f"the template of {kind} ({lang}) uses an undefined value: {exc.message}",
                          field="template")
    return InputError(f"the template of {kind} ({lang}) failed: {type(exc).__name__}: {exc}", field="template")


# --------------------------------------------------------------------------- rendering


def format_date(value: date | datetime | None, lang: str, tz: str) -> str:
    """Japanese era form in Japanese notices (令和6年6月3日), `3 June 2024` in English ones."""
    if value is None:
        return ""
    day = to_local_date(value, tz) if isinstance(value, datetime) else value
    if lang == "ja":
        return era_date(day)
    return f"{day.day} {day.strftime('%B')} {day.year}"


@dataclass(frozen=True)
class Rendered:
    """One rendered document."""

    text: str
    subject: str = ""


PERSON_ITEMS_COLUMNS = frozenset({"items", "項目", "漏えい項目"})
"""Roster columns that list a person's own data items."""
_ITEM_SEPARATORS = re.compile(r"[、,;/・]")
_BLANKS = re.compile(r"\n{3,}")
_TRAILING = re.compile(r"[ \t]+\n")


class Renderer:
    """A notice of one kind, language and format for one incident, ready to render for anyone.

    Construction checks completeness first (IncompleteNotice unless `draft`) and builds the shared
    context once; `render(person)` adds only that person's fields.
    """

    def __init__(self, settings: Settings, record: Record, kind: str, lang: str | None = None,
                 fmt: Format = "txt", *, draft: bool = False, now: datetime | None = None) -> None:
        from incident.dates import now as current

        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}", field="format")
        self.spec, self.lang = kind_spec(kind, lang)
        self.settings, self.record, self.format, self.draft = settings, record, fmt, draft
        self.plan = plan_items(record, self.spec)
        self.missing = tuple(find_missing(record, settings.config, self.spec, self.plan.required))
        if self.missing and not draft:
            raise IncompleteNotice(record.id, kind, self.missing)
        paths, self.sandboxed = template_search_path(self.lang, settings.template_dirs)
        env = environment(paths, escape=fmt != "txt", sandboxed=self.sandboxed)
        try:
            self.template = env.get_template(f"{kind}.j2")
            marker = env.get_template("_marker.j2")
            self._markers = {m.key: marker.render(label=m.label if self.lang == "ja" else m.label_en).strip() for m in self.missing}
        except jinja2.TemplateNotFound as exc:
            raise InputError(f"no template {exc.name} for language {self.lang}", field="kind") from None
        except Exception as exc:
            raise _template_error(exc, kind, self.lang) from exc
        self.now = now or current(settings.tz)
        self.base = self._context()

    # ------------------------------------------------------------------ the shared context

    def _text(self, key: str, item_id: str) -> str:
        if key in self._markers:
            return self._markers[key]
        value = _raw_value(key, self.record, self.settings.config)
        if _blank(value):
            return ""
        if key == "data":
            return self._names_joined(self._item_names(self.record.data))
        if isinstance(value, (date, datetime)):
            return format_date(value, self.lang, self.settings.tz)
        return str(value)

    def _item_names(self, entries: Iterable[Any]) -> list[str]:
        from incident.catalogue import load_catalogue

        catalogue = load_catalogue(self.settings.playbook_dirs)
        names = []
        for entry in entries:
            item = catalogue.get(entry.item)
            names.append((item.ja if self.lang == "ja" else item.en) if item else entry.item)
        return names

    def _own_items(self, person: Person) -> list[str] | None:
        """The person's own data items, when the roster has an `items` (項目) column naming them
        (規則第10条: each person is told only about their own data); None to use the incident's."""
        from incident.catalogue import load_catalogue

        raw = next((v for k, v in person.extra.items() if k.casefold() in PERSON_ITEMS_COLUMNS and v.strip()), None)
        if raw is None:
            return None
        catalogue = load_catalogue(self.settings.playbook_dirs)
        items = [catalogue.resolve(name.strip(), field="items", line=person.line)
                 for name in _ITEM_SEPARATORS.split(raw) if name.strip()]
        return [item.ja if self.lang == "ja" else item.en for item in items]

    def _names_joined(self, names: Sequence[str]) -> str:
        return ("、" if self.lang == "ja" else ", ").join(names)

    def _context(self) -> dict[str, Any]:
        record, config, tz = self.record, self.settings.config, self.settings.tz
        values: dict[str, str] = {}
        for item in ITEMS.values():
            keys = item_keys(item, self.spec)
            text = ""
            for key in keys:
                text = self._text(key, item.id)
                if text:
                    break
            if not text and item.id in self.plan.required:
                text = self._markers.get(keys[0], "")
            values[item.id.replace("-", "_")] = text
            for key in item.details:
                values[key] = self._markers.get(key) or self._text(key, item.id)
        values["discovered_at"] = format_date(record.get("discovered_at"), self.lang, tz)
        values["occurred_at"] = values.get("occurred_at") or ""
        assessment = record.sections.get("assessment")
        regimes = assessment.get("assessments", []) if isinstance(assessment, Mapping) else []
        return {
            "kind": self.spec.id, "lang": self.lang, "format": self.format, "draft": self.draft,
            "today": format_date(self.now, self.lang, tz),
            "org": {"name": config.organization or self._markers.get("organization", ""), "entity": config.entity, "regulator": config.regulator,
                    "contact": config.contact},
            "incident": {
                "id": record.id, "title": str(record.get("title", "")), "type": str(record.get("type", "")),
                "type_label": self._type_label(), "event": str(record.get("event", "leak")),
                "certainty": str(record.get("certainty", "confirmed")), "role": str(record.get("role", "controller")),
                "department": str(record.get("department", "")), "entruster": str(record.get("entruster", "")),
                "handled_by": str(record.get("handled_by", "")), "malicious": str(record.get("malicious", "none")),
                "persons": record.get("persons", 0), "entity": str(record.get("entity", config.entity)),
            },
            "v": values,
            "missing": [m.label for m in self.missing],
            "data_items": self._item_names(record.data),
            "timeline": [{"date": format_date(e.at, self.lang, tz), "text": e.text} for e in record.timeline],
            "recipient": self.plan.recipient,
            "conditions": [{"regime": str(r.get("regime", "")), "citation": str(c.get("citation", "")),
                            "reason": str(c.get("reason", "")), "id": str(c.get("id", ""))}
                           for r in regimes if isinstance(r, Mapping)
                           for c in r.get("conditions", []) or [] if isinstance(c, Mapping) and c.get("met")],
            "assessed": bool(regimes),
            "reportable": bool(assessment.get("reportable")) if isinstance(assessment, Mapping) else False,
            "obligations": self._obligations(regimes),
            "person": None,
        }

    def _type_label(self) -> str:
        from incident.taxonomy import load_taxonomy

        type_id = str(self.record.get("type", ""))
        entry = load_taxonomy(self.settings.playbook_dirs).types.get(type_id)
        if entry is None:
            return type_id
        return entry.ja if self.lang == "ja" else entry.en

    def _obligations(self, regimes: Sequence[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for regime in regimes:
            if not isinstance(regime, Mapping):
                continue
            for ob in regime.get("obligations", []) or []:
                if not isinstance(ob, Mapping):
                    continue
                due = ob.get("due")
                out.append({"regime": str(regime.get("regime", "")), "id": str(ob.get("id", "")),
                            "recipient": str(ob.get("recipient", "")), "soft": bool(ob.get("soft")),
                            "due": self._due(due), "done": bool(ob.get("done"))})
        return out

    def _due(self, due: Any) -> str:
        if isinstance(due, (date, datetime)):
            return format_date(due, self.lang, self.settings.tz)
        if isinstance(due, str) and due:
            try:
                parsed = datetime.fromisoformat(due)
            except ValueError:
                return due
            text = format_date(parsed if "T" in due else parsed.date(), self.lang, self.settings.tz)
            return f"{text} {parsed:%H:%M}" if "T" in due else text
        return ""

    # ------------------------------------------------------------------ rendering

    def render(self, person: Person | None = None) -> Rendered:
        context = self.base
        if person is not None:
            context = {**self.base, "person": person_context(person)}
            own = self._own_items(person)
            if own is not None:
                context["data_items"] = own
                context["v"] = {**self.base["v"], "items": self._names_joined(own)}
        try:
            if self.spec.email:
                module = self.template.make_module(context)
                text, subject = str(module), str(getattr(module, "subject", "")).strip()
            else:
                text, subject = self.template.render(context), ""
        except Exception as exc:
            raise _template_error(exc, self.spec.id, self.lang) from exc
        if self.format != "html":
            text = _BLANKS.sub("\n\n", _TRAILING.sub("\n", text))
        return Rendered(text.strip("\n") + "\n", " ".join(subject.split()))


def person_context(person: Person) -> dict[str, str]:
    """What a template may know about its addressee: that person's own fields, nobody else's."""
    return {"key": person.key, "name": person.name, "kana": person.kana, "address": person.address,
            "postal_code": person.postal_code, "email": person.email, "phone": person.phone}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def notice_entry(renderer: Renderer, *, sha256: str, actor: str, at: datetime, path: str | None = None,
                 count: int | None = None, fmt: str | None = None) -> dict[str, Any]:
    """The `notices` section entry of a rendering (TOML-ready: no None)."""
    entry: dict[str, Any] = {"kind": renderer.spec.id, "lang": renderer.lang, "format": fmt or renderer.format,
                             "sha256": sha256, "at": at.replace(microsecond=0), "actor": actor,
                             "draft": renderer.draft}
    if path is not None:
        entry["path"] = path
    if count is not None:
        entry["count"] = count
    if renderer.missing:
        entry["missing"] = [m.key for m in renderer.missing]
    return entry


def append_notice(record: Record, entry: Mapping[str, Any]) -> Record:
    notices = list(record.sections.get("notices", []))
    return record.with_section("notices", [*notices, dict(entry)])


# --------------------------------------------------------------------------- mail merge


_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def safe_key(key: str) -> str:
    """A roster key usable as a file name (never a person's name)."""
    if not _SAFE_KEY.match(key):
        raise InputError(f"roster key {key!r} cannot be used as a file name", field="key")
    return key


def build_eml(rendered: Rendered, person: Person, config: Config, incident_id: str, now: datetime) -> EmailMessage:
    """The e-mail for one person as a file: one To, the person's key in X-Incident-Recipient."""
    from incident.delivery import OutgoingMessage, message_id, validate_message

    validate_message(OutgoingMessage(person.key, person.email, person.name, rendered.subject, rendered.text))
    msg = EmailMessage(policy=policy.SMTP)
    if config.smtp.from_addr:
        msg["From"] = Address(display_name=config.smtp.from_name, addr_spec=config.smtp.from_addr)
        msg["Message-ID"] = message_id(incident_id, person.key, config.smtp.from_addr)
    msg["To"] = Address(display_name=person.name, addr_spec=person.email)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["X-Incident-Recipient"] = person.key
    msg.set_content(rendered.text, charset="utf-8", cte="base64")
    return msg


_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


class _Sink:
    """Where merged documents go: files written by two background threads (creating many files is
    disk-bound, rendering is CPU-bound, so they overlap; the bounded queue keeps memory flat), or one mbox."""

    THREADS = 2

    def __init__(self, out_dir: Path | None, mbox: Path | None) -> None:
        import queue
        import threading

        self.out_dir = out_dir
        self.error: OSError | None = None
        self.mbox = None
        if mbox is not None:
            fd = os.open(mbox, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self.mbox = os.fdopen(fd, "wb")
        self.queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=256)
        self.threads = [threading.Thread(target=self._write, daemon=True)
                        for _ in range(self.THREADS if out_dir is not None else 0)]
        for thread in self.threads:
            thread.start()

    def _write(self) -> None:
        assert self.out_dir is not None
        while (job := self.queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                fd = os.open(self.out_dir / job[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(job[1])
            except OSError as exc:
                self.error = exc

    def put(self, name: str, data: bytes, now: datetime) -> None:
        if self.error is not None:
            raise InputError(f"cannot write the notice: {self.error}", file=self.out_dir)
        if self.mbox is not None:
            stamp = now.strftime("%a %b %d %H:%M:%S %Y").encode()
            body = _FROM_LINE.sub(rb">\1", data.replace(b"\r\n", b"\n"))
            self.mbox.write(b"From incident@localhost " + stamp + b"\n" + body.rstrip(b"\n") + b"\n\n")
        else:
            self.queue.put((name, data))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.mbox is not None:
            self.mbox.close()
        if self.error is not None and exc[0] is None:
            raise InputError(f"cannot write the notice: {self.error}", file=self.out_dir)


@dataclass(frozen=True)
class MergeResult:
    """What a mail merge wrote: counts and one hash over every document, no personal data."""

    count: int
    sha256: str
    skipped_no_email: int = 0
    no_address: int = 0
    target: str = ""


def mail_merge(renderer: Renderer, people: Iterable[Person], *, out_dir: Path | None = None,
               mbox: Path | None = None, fmt: MergeFormat = "txt",
               progress: Callable[[int], None] | None = None) -> MergeResult:
    """Render one document per person into `out_dir/<key>.<fmt>` or one mbox; streams (memory stays flat).

    E-mail outputs (`eml`, `mbox`) leave out people without an address and count them.
    """
    if (out_dir is None) == (mbox is None):
        raise InputError("give either an output directory (--out) or an mbox file (--mbox)", field="out")
    if fmt not in MERGE_FORMATS:
        raise InputError(f"unknown merge format {fmt!r}; valid: {', '.join(MERGE_FORMATS)}", field="format")
    emails = mbox is not None or fmt == "eml"
    if emails and not renderer.spec.email:
        raise InputError(f"{renderer.spec.id} is not an e-mail notice; use individual-email for .eml or --mbox",
                         field="format")
    digest = hashlib.sha256()
    count = no_email = no_address = 0
    if out_dir is not None:
        from incident.fsutil import ensure_dir

        ensure_dir(out_dir)
    with _Sink(out_dir, mbox) as sink:
        for person in people:
            key = safe_key(person.key)
            if emails and not person.email:
                no_email += 1
                continue
            if not person.address:
                no_address += 1
            rendered = renderer.render(person)
            if emails:
                data = build_eml(rendered, person, renderer.settings.config, renderer.record.id,
                                 renderer.now).as_bytes()
            else:
                data = rendered.text.encode("utf-8")
            digest.update(key.encode() + b"\0" + hashlib.sha256(data).digest())
            sink.put(f"{key}.{fmt}", data, renderer.now)
            count += 1
            if progress is not None:
                progress(count)
    return MergeResult(count, digest.hexdigest(), no_email, no_address, str(out_dir or mbox))


# --------------------------------------------------------------------------- --check


_WS = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]*>")


def _norm(text: str) -> str:
    import unicodedata

    return _WS.sub("", unicodedata.normalize("NFKC", text).casefold())


@dataclass
class IdentityIndex:
    """Every roster name and e-mail address, normalized, for scanning documents in linear time."""

    names: dict[str, str] = field(default_factory=dict)
    """Normalized name or e-mail address -> the key of the (first) person who has it."""
    prefixes: dict[str, set[int]] = field(default_factory=dict)
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    unchecked: int = 0
    """People whose name is too short (one character) to search for safely."""

    @classmethod
    def build(cls, people: Iterable[Person]) -> IdentityIndex:
        index = cls()
        for person in people:
            name, email = _norm(person.name), _norm(person.email)
            index.owners[person.key] = (name, email)
            if name and len(name) < 2:
                index.unchecked += 1
            for ident in (name, email):
                if len(ident) >= 2:
                    index.names.setdefault(ident, person.key)
                    index.prefixes.setdefault(ident[:2], set()).add(len(ident))
        return index

    def others_in(self, key: str, text: str) -> set[str]:
        """Keys of other people whose name or address appears in `text` (written for person `key`).

        Each bigram of the text that starts some roster name or address is looked up once, so the cost is
        linear in the text, whatever the roster's size. A match inside the person's own name or address
        (a shorter name, a namesake) does not count.
        """
        t = _norm(text)
        own = [(pos, pos + len(ident)) for ident in self.owners.get(key, ("", "")) if ident
               for pos in _positions(t, ident)]
        found: set[str] = set()
        for bigram in {t[i:i + 2] for i in range(len(t) - 1)}.intersection(self.prefixes):
            lengths = self.prefixes[bigram]
            for pos in _positions(t, bigram):
                for length in lengths:
                    owner = self.names.get(t[pos:pos + length])
                    if owner is None or owner == key or owner in found:
                        continue
                    if not any(start <= pos and pos + length <= end for start, end in own):
                        found.add(owner)
        return found


def _positions(text: str, needle: str) -> Iterator[int]:
    pos = text.find(needle)
    while pos != -1:
        yield pos
        pos = text.find(needle, pos + 1)


@dataclass(frozen=True)
class CheckFailure:
    """A document that names someone else (by their roster keys, never their names)."""

    key: str
    path: str
    others: tuple[str, ...]
    reason: str = "names other people"


@dataclass(frozen=True)
class CheckResult:
    checked: int
    failures: tuple[CheckFailure, ...]
    failure_count: int
    unchecked_names: int

    @property
    def ok(self) -> bool:
        return self.failure_count == 0


MAX_FAILURES = 1000


def document_text(data: bytes, suffix: str) -> str:
    """The readable text of a rendered document (tags stripped from HTML, an e-mail decoded)."""
    import html
    from email import message_from_bytes

    if suffix == "eml":
        msg = message_from_bytes(data, policy=policy.default)
        parts = [str(msg.get(h, "")) for h in ("To", "Subject")]
        body = msg.get_body(("plain", "html"))
        if body is not None:
            parts.append(body.get_content())
        return "\n".join(parts)
    text = data.decode("utf-8")
    if suffix == "html":
        text = html.unescape(_TAGS.sub(" ", text))
    return text


def iter_mbox(path: Path) -> Iterator[bytes]:
    """The messages of an mbox (mboxrd), one at a time."""
    current: list[bytes] = []
    with open(path, "rb") as fh:
        for line in fh:
            if line.startswith(b"From "):
                if current:
                    yield b"".join(current)
                current = []
                continue
            current.append(line[1:] if re.match(rb">+From ", line) else line)
    if current:
        yield b"".join(current)


def check_outputs(index: IdentityIndex, *, out_dir: Path | None = None, mbox: Path | None = None,
                  fmt: MergeFormat = "txt") -> CheckResult:
    """Re-read every document and prove each names only its own person; missing documents fail too."""
    failures: list[CheckFailure] = []
    count = checked = 0

    def fail(failure: CheckFailure) -> None:
        nonlocal count
        count += 1
        if len(failures) < MAX_FAILURES:
            failures.append(failure)

    if mbox is not None:
        for number, data in enumerate(iter_mbox(mbox), 1):
            from email import message_from_bytes

            key = str(message_from_bytes(data, policy=policy.default).get("X-Incident-Recipient", ""))
            checked += 1
            where = f"{mbox}#{number}"
            if key not in index.owners:
                fail(CheckFailure(key or "?", where, (), "has no known recipient key"))
                continue
            others = index.others_in(key, document_text(data, "eml"))
            if others:
                fail(CheckFailure(key, where, tuple(sorted(others))))
    elif out_dir is not None:
        for key in index.owners:
            path = out_dir / f"{key}.{fmt}"
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                if fmt == "eml" and not index.owners[key][1]:
                    continue  # no e-mail address: no e-mail was written
                fail(CheckFailure(key, str(path), (), "is missing"))
                continue
            checked += 1
            others = index.others_in(key, document_text(data, fmt))
            if others:
                fail(CheckFailure(key, str(path), tuple(sorted(others))))
    return CheckResult(checked, tuple(failures), count, index.unchecked)
