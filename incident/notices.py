"""Notices: an incident turned into the documents the law asks for, one at a time or one per person.

The report items (施行規則第8条第1項各号) map to record keys in one table here, `ITEMS`; each notice
kind (`KINDS`) names the obligation it fulfils, so the items it must contain come from the stored
assessment's `obligations[].items` when there is one and from the kind's default otherwise. The wording
lives in `templates/notices/<lang>/<kind>.j2` (Jinja2, StrictUndefined, HTML and Markdown autoescaped);
an organization's same-named file in its store's `templates/notices/<lang>/` wins and is rendered in the
immutable sandbox. `Renderer.render(person)` gives one person's document; `incident.mailmerge` streams
the roster through it and proves the output afterwards.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from incident.config import Config
from incident.dates import era_date, to_local_date
from incident.errors import InputError
from incident.record import FIELD_BY_NAME, Record

if TYPE_CHECKING:
    from incident.roster import Person

Format = Literal["txt", "md", "html"]
FORMATS: tuple[Format, ...] = ("txt", "md", "html")
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
OWN_ITEMS_CACHE = 4096
"""Distinct `items` cells remembered per renderer (a roster repeats a few combinations)."""
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
        self._own_cache: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}

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

    def _own_items(self, person: Person) -> tuple[tuple[str, ...], dict[str, str]] | None:
        """The person's own data items and the `v` mapping that names them, when the roster has an
        `items` (項目) column naming them (規則第10条: each person is told only about their own data); None
        to use the incident's. A cell already seen is not resolved against the catalogue again."""
        if not person.extra:
            return None
        raw = next((v for k, v in person.extra.items() if k.casefold() in PERSON_ITEMS_COLUMNS and v.strip()), None)
        if raw is None:
            return None
        own = self._own_cache.get(raw)
        if own is None:
            from incident.catalogue import load_catalogue

            catalogue = load_catalogue(self.settings.playbook_dirs)
            items = [catalogue.resolve(name.strip(), field="items", line=person.line)
                     for name in _ITEM_SEPARATORS.split(raw) if name.strip()]
            names = tuple(item.ja if self.lang == "ja" else item.en for item in items)
            own = (names, {**self.base["v"], "items": self._names_joined(names)})
            if len(self._own_cache) < OWN_ITEMS_CACHE:  # bounded: memory stays flat over any roster
                self._own_cache[raw] = own
        return own

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
                context["data_items"], context["v"] = own
        try:
            if self.spec.email:
                module = self.template.make_module(context)
                text, subject = str(module), str(getattr(module, "subject", "")).strip()
            else:
                text, subject = self.template.render(context), ""
        except Exception as exc:
            raise _template_error(exc, self.spec.id, self.lang) from exc
        if self.format != "html":
            text = tidy(text)
        return Rendered(text.strip("\n") + "\n", " ".join(subject.split()) if subject else "")


def tidy(text: str) -> str:
    """Plain text and Markdown without trailing blanks on a line or runs of blank lines. The regular
    expressions run only when there is something to tidy (the builtin plain-text notices to a person
    leave nothing, so a mail merge skips them)."""
    if " \n" in text or "\t\n" in text:
        text = _TRAILING.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANKS.sub("\n\n", text)
    return text


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
