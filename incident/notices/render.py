"""Notices: an incident turned into the documents the law asks for, one at a time or one per person.

What each kind must contain, and whether the record has it, is decided in `incident.notices.items`;
this module renders. The wording lives in `templates/notices/<lang>/<kind>.j2` (Jinja2, StrictUndefined,
HTML and Markdown autoescaped); an organization's same-named file in its store's `templates/notices/<lang>/`
wins and is rendered in the immutable sandbox. `Renderer.render(person)` gives one person's document;
`incident.notices.mailmerge` streams the roster through it and proves the output afterwards.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2

from incident import dates
from incident.dates import era_date, to_local_date
from incident.errors import InputError, RefusedError
from incident.i18n import _
from incident.law.catalogue import load_catalogue
from incident.law.regimes import load_regimes
from incident.law.taxonomy import load_taxonomy
from incident.notices.items import (
    ITEMS,
    IncompleteNotice,
    find_missing,
    is_blank,
    item_keys,
    kind_spec,
    plan_items,
    record_value,
)
from incident.notices.stamping import Stamper
from incident.register.config import Config
from incident.register.record import Record
from incident.register.sections import (
    ConditionEntry,
    NoticeEntry,
    ObligationEntry,
    RegimeEntry,
    assessment_of,
    notices_of,
)
from incident.resources import builtin_dir
from incident.templating import BoundedSandbox, ConfinedLoader, bounded_render

if TYPE_CHECKING:
    from incident.law.catalogue import Catalogue
    from incident.law.context import Context
    from incident.law.regimes import RegimeSet
    from incident.law.taxonomy import Taxonomy
    from incident.notices.roster import Person

Format = Literal["txt", "md", "html", "print"]
FORMATS: tuple[Format, ...] = ("txt", "md", "html")
"""The text formats a user asks for; "print" is the block markup that the PDF and Word writers lay out."""
TEMPLATE_FORMATS: tuple[Format, ...] = (*FORMATS, "print")
BLOCK_START, ITEM_SEPARATOR = "\x1e", "\x1f"
"""The separators of the print format (RS, US): a block's kind and lines (incident.notices.layout)."""
GUARDIAN_COLUMNS = frozenset({"guardian", "保護者", "保護者氏名", "保護者名"})
"""Roster columns naming a guardian to address the letter to (「△△ 様（○○ 様の保護者様）」)."""


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Settings:
    """What rendering needs from the store: the organization, its timezone, its extra directories."""

    config: Config
    template_dirs: tuple[Path, ...] = ()
    """The organization's `templates/` directories (searched before the builtin one)."""
    playbook_dirs: tuple[Path, ...] = ()
    context: Context | None = field(default=None, compare=False, repr=False)
    """The command's context, whose loaded playbooks rendering reads (without one, they are loaded from
    `playbook_dirs`)."""

    @property
    def tz(self) -> str:
        return self.config.timezone

    def catalogue(self) -> Catalogue:
        return self.context.catalogue if self.context is not None else load_catalogue(self.playbook_dirs)

    def regimes(self) -> RegimeSet:
        return self.context.regimes if self.context is not None else load_regimes(self.playbook_dirs)

    def taxonomy(self) -> Taxonomy:
        return self.context.taxonomy if self.context is not None else load_taxonomy(self.playbook_dirs)


def template_search_path(lang: str, extra: Sequence[Path]) -> tuple[tuple[Path, ...], bool]:
    """The directories searched for a language's templates, and whether any is the organization's."""
    own = tuple(d / "notices" / lang for d in extra if (d / "notices" / lang).is_dir())
    return (*own, builtin_dir("templates") / "notices" / lang), bool(own)


def _md_escape(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def confined_dirs(lang: str, extra: Sequence[Path]) -> tuple[tuple[Path, Path], ...]:
    """(search directory, organization templates directory) of each organization directory on the path."""
    return tuple((d / "notices" / lang, d) for d in extra)


@lru_cache(maxsize=32)
def environment(paths: tuple[Path, ...], *, escape: bool, sandboxed: bool,
                confined: tuple[tuple[Path, Path], ...] = ()) -> jinja2.Environment:
    """A strict environment; when an organization's templates are on the path, the bounded immutable
    sandbox, reading the organization's files only through real directories (`incident.templating`)."""
    cls = BoundedSandbox if sandboxed else jinja2.Environment
    # The builtin files never change under a running process: skip the per-include stat (mail merge speed).
    env = cls(loader=ConfinedLoader(paths, dict(confined)), undefined=jinja2.StrictUndefined,
              autoescape=escape, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
              auto_reload=sandboxed)
    env.globals.update(RS=BLOCK_START, US=ITEM_SEPARATOR)
    return env


def template_origin(kind: str, lang: str, extra: Sequence[Path]) -> Path:
    """The file a kind renders from (the organization's when it has one)."""
    paths, _unused = template_search_path(lang, extra)
    for directory in paths:
        if (directory / f"{kind}.j2").is_file():
            return directory / f"{kind}.j2"
    raise InputError(_("no template {kind}.j2 for language {lang} (looked in {join})")
                     .format(kind=kind, lang=lang, join=', '.join(map(str, paths))),
                     field="kind")


def _template_error(exc: Exception, kind: str, lang: str) -> InputError:
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return InputError(_("the template of {kind} ({lang}) attempted an unsafe operation and was stopped: {exc}")
                          .format(kind=kind, lang=lang, exc=exc),
                          field="template")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return InputError(_("template syntax error: {message}").format(message=exc.message), file=exc.filename or exc.name, line=exc.lineno)
    if isinstance(exc, jinja2.UndefinedError):
        return InputError(_("the template of {kind} ({lang}) uses an undefined value: {message}")
                          .format(kind=kind, lang=lang, message=exc.message),
                          field="template")
    return InputError(_("the template of {kind} ({lang}) failed: {name}: {exc}")
                      .format(kind=kind, lang=lang, name=type(exc).__name__, exc=exc), field="template")


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
_TRAILING = re.compile(r"(?<![ \t])[ \t]+\n")
"""Blanks before a line end. The look-behind starts a match only at the first blank of a run: without it
a run of n blanks not followed by a line end costs n tries of up to n steps each (quadratic)."""


class Renderer:
    """A notice of one kind, language and format for one incident, ready to render for anyone.

    Construction checks completeness first (IncompleteNotice unless `draft`) and builds the shared
    context once; `render(person)` adds only that person's fields.
    """

    def __init__(self, settings: Settings, record: Record, kind: str, lang: str | None = None,
                 fmt: Format = "txt", *, draft: bool = False, now: datetime | None = None,
                 dated: date | None = None, doc_number: str = "", regime: str | None = None,
                 stamp: bool = True) -> None:
        """`dated` is the date the notice bears (default: today); `doc_number` its 文書番号, where `{n}`
        becomes the letter's number in a mail merge (1, 2, …); `regime` the regime whose obligation a report
        fulfils when several have one. `stamp`: a builtin plain-text notice to a person is stamped from one
        render per shape (`incident.notices.stamping`)."""
        if fmt not in TEMPLATE_FORMATS:
            raise InputError(_("unknown format {fmt!r}; valid: {join}")
                             .format(fmt=fmt, join=', '.join(FORMATS)), field="format")
        self.spec, self.lang = kind_spec(kind, lang)
        self.settings, self.record, self.format, self.draft = settings, record, fmt, draft
        self.plan = plan_items(record, self.spec, regime)
        self._refuse_when_not_required()
        self.missing = tuple(find_missing(record, settings.config, self.spec, self.plan.required))
        if self.missing and not draft:
            raise IncompleteNotice(record.id, kind, self.missing)
        paths, self.sandboxed = template_search_path(self.lang, settings.template_dirs)
        env = environment(paths, escape=fmt in ("md", "html"), sandboxed=self.sandboxed,
                          confined=confined_dirs(self.lang, settings.template_dirs) if self.sandboxed else ())
        try:
            self.template = env.get_template(f"{kind}.j2")
            marker = env.get_template("_marker.j2")
            self._markers = {m.key: self._render_text(marker, {"label": m.label if self.lang == "ja" else m.label_en})
                             .strip() for m in self.missing}
        except jinja2.TemplateNotFound as exc:
            raise InputError(_("no template {name} for language {lang}")
                             .format(name=exc.name, lang=self.lang), field="kind") from None
        except Exception as exc:
            raise _template_error(exc, kind, self.lang) from exc
        self.now = now or dates.now(settings.tz)
        self.dated = dated
        self.doc_number = doc_number
        self.base = self._context()
        self._own_cache: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}
        self.stamper = Stamper() if stamp and not self.sandboxed and fmt == "txt" else None

    def _refuse_when_not_required(self) -> None:
        """A report to the regulator or the entruster that the stored assessment does not require is
        refused unless it is a draft (which says so at the top); an entrustee's release by notice to the
        entruster does not exist for a public body (法第68条 has no proviso)."""
        if self.spec.audience not in ("regulator", "entruster"):
            return
        entity = str(self.record.get("entity") or self.settings.config.entity)
        if self.spec.id == "entruster-notice" and entity == "public-body":
            raise RefusedError(_("entruster-notice is for an entrustee of a business (法第26条第1項ただし書); a public "
                               "body has no such release and reports to the PPC itself (法第68条第1項)"), field="kind")
        if self.plan.assessed and self.plan.source == "default" and not self.draft:
            raise RefusedError(_("{value} is not reportable: the stored assessment requires no {join}; render a draft with --draft (it says so at the top), or re-assess after changing the facts")
                               .format(value=self.record.id or 'the incident', join=' or '.join(self.spec.obligations)), field="kind")

    # ------------------------------------------------------------------ the shared context

    def _text(self, key: str, item_id: str) -> str:
        if key in self._markers:
            return self._markers[key]
        value = record_value(key, self.record, self.settings.config)
        if is_blank(value):
            return ""
        if key == "data":
            return self._names_joined(self._item_names(self.record.data))
        if isinstance(value, (date, datetime)):
            return format_date(value, self.lang, self.settings.tz)
        return str(value)

    def _item_names(self, entries: Iterable[Any]) -> list[str]:
        catalogue = self.settings.catalogue()
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
            catalogue = self.settings.catalogue()
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
        assessment = assessment_of(record.sections)
        regimes = assessment.assessments if assessment is not None else ()
        chosen = self.plan.regime
        return {
            "kind": self.spec.id, "lang": self.lang, "format": self.format, "draft": self.draft,
            "today": format_date(self.dated or self.now, self.lang, tz),
            "letter": self._letter(None),
            "org": {"name": config.organization or self._markers.get("organization", ""), "entity": config.entity, "regulator": config.regulator,
                    "contact": config.contact},
            "incident": {
                "id": record.id, "title": str(record.get("title", "")), "type": str(record.get("type", "")),
                "type_label": self._type_label(), "event": str(record.get("event", "leak")),
                "certainty": str(record.get("certainty", "confirmed")), "role": str(record.get("role", "controller")),
                "department": str(record.get("department", "")), "entruster": str(record.get("entruster", "")),
                "handled_by": str(record.get("handled_by", "")), "malicious": str(record.get("malicious", "none")),
                "persons": record.get("persons", 0),
                "being_acquired": bool(record.get("being_acquired")), "copy_exists": record.get("copy_exists"),
                "entity": str(record.get("entity", config.entity)),
            },
            "v": values,
            "missing": [m.label for m in self.missing],
            "data_items": self._item_names(record.data),
            "timeline": [{"date": format_date(e.at, self.lang, tz), "text": e.text} for e in record.timeline],
            "recipient": self.plan.recipient,
            "conditions": [{"regime": r.regime, "citation": c.citation, "reason": c.reason, "id": c.id,
                            "label": self._condition_label(r, c), "regime_name": r.name,
                            "text": f"{self._condition_label(r, c)}（{c.citation}）"}
                           for r in regimes if not chosen or r.regime == chosen
                           for c in r.conditions if c.met],
            "report": self._report_wording(regimes),
            "assessed": bool(regimes),
            "reportable": assessment is not None and assessment.reportable is True,
            "obligations": self._obligations(regimes),
            "person": None,
        }

    def _letter(self, number: int | None) -> dict[str, Any]:
        letter = self.settings.config.letter
        doc_number = self.doc_number
        if number is not None:
            doc_number = doc_number.replace("{n}", str(number))
        return {"doc_number": doc_number, "sender_title": letter.sender_title, "sender_name": letter.sender_name,
                "department": letter.department, "contact": letter.contact or self.settings.config.contact,
                "seal_omitted": letter.seal == "omitted"}

    def _report_wording(self, regimes: Sequence[RegimeEntry]) -> dict[str, str]:
        """How a report to the regulator is worded, from the regime playbook whose obligation it fulfils (or,
        unassessed, the playbook of the record's entity): title, data term, conditions heading, the basis
        (the obligation's citation) and whether the stored assessment requires it."""
        if self.spec.audience != "regulator":
            return {}
        loaded = self.settings.regimes()
        entity = str(self.record.get("entity") or self.settings.config.entity)
        stored = {r.regime: r for r in regimes}
        rid = self.plan.regime or next(
            (r for r in loaded if loaded[r].report and entity in loaded[r].applies.get("entity", ())), "")
        if not rid or rid not in loaded:
            raise InputError(_("no regime playbook words a report to the regulator for entity {entity!r}")
                             .format(entity=entity), field="kind")
        regime = self._regime_version(loaded, rid, stored.get(rid))
        if not regime.report:
            raise InputError(_("the regime playbook {rid} has no [report] wording (title, data_term, conditions_heading)")
                             .format(rid=rid), field="kind")
        obligation = self.plan.obligation
        wanted = (obligation.id,) if obligation else self.spec.obligations
        citation = (obligation.citation if obligation else "") or next(
            (o.citation for o in regime.obligations if o.id in wanted and (not o.entities or entity in o.entities)),
            "")
        if obligation is None:
            state = "unassessed" if not self.plan.assessed else "not-required"
        else:
            state = "guideline" if obligation.id == "guideline-report" else "required"
        basis = "、".join(part.strip() for part in citation.split(";") if part.strip())
        method = (obligation.method if obligation else "") or next(
            (o.method for o in regime.obligations if o.id in wanted and (not o.entities or entity in o.entities)),
            "")
        return {**regime.report, "basis": basis, "state": state, "regime": regime.name_ja, "method": method,
                "obligation": obligation.label if obligation else ""}

    def _condition_label(self, regime: RegimeEntry, condition: ConditionEntry) -> str:
        """A met condition's Japanese label: as stored, or (an assessment stored before labels were kept)
        from the regime playbook; never its id."""
        if condition.label:
            return condition.label
        loaded = self.settings.regimes()
        rid, cid = regime.regime, condition.id
        if rid in loaded:
            version = self._regime_version(loaded, rid, regime)
            found = next((c.ja for c in version.conditions if c.id == cid), "")
            if found:
                return found
        return "該当する事態"

    def _obligation_label(self, regime: RegimeEntry, obligation: ObligationEntry) -> str:
        """An obligation's label in the notice's language: as stored, or (an assessment stored before labels
        were kept) from the regime playbook; never its id."""
        label = obligation.label
        if self.lang == "ja" and label:
            return label
        loaded = self.settings.regimes()
        rid, oid = regime.regime, obligation.id
        if rid in loaded:
            version = self._regime_version(loaded, rid, regime)
            found = next((o for o in version.obligations if o.id == oid), None)
            if found is not None:
                return str(found.ja if self.lang == "ja" else found.en)
        return label or ("義務" if self.lang == "ja" else "obligation")

    def _regime_version(self, loaded: Any, rid: str, stored: RegimeEntry | None) -> Any:
        """The version the stored assessment used, else the one in force on the day of learning."""
        versions = loaded.versions(rid)
        if stored is not None:
            for version in versions:
                if version.effective_from.isoformat() == stored.effective_from:
                    return version
        discovered = self.record.get("discovered_at")
        if isinstance(discovered, datetime):
            return loaded.in_force(rid, to_local_date(discovered, self.settings.tz))[0]
        return versions[-1]

    def _type_label(self) -> str:
        type_id = str(self.record.get("type", ""))
        entry = self.settings.taxonomy().types.get(type_id)
        if entry is None:
            return type_id
        return entry.ja if self.lang == "ja" else entry.en

    def _obligations(self, regimes: Sequence[RegimeEntry]) -> list[dict[str, Any]]:
        # `done`: the saved assessment does not say which obligations are done (the obligations section
        # does); a notice shows none as done, as it always has
        return [{"regime": regime.regime, "id": ob.id, "recipient": ob.recipient, "soft": ob.soft,
                 "due": self._due(ob.due), "done": False, "label": self._obligation_label(regime, ob),
                 "regime_name": regime.name, "due_text": ob.due_text}
                for regime in regimes for ob in regime.obligations]

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

    def _render_text(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        return _render_text_of(template, context, self.sandboxed)

    def render(self, person: Person | None = None, number: int | None = None) -> Rendered:
        """One document; `number` is the letter's place in a mail merge (the `{n}` of the 文書番号)."""
        numbered = number if number is not None and "{n}" in self.doc_number else None
        own = self._own_items(person) if person is not None else None
        if person is not None and self.stamper is not None and numbered is None:
            text, subject = self.stamper.render(person_context(person), own[0] if own else None,
                                                lambda fields: self._full(fields, own, None))
        else:
            text, subject = self._full(person_context(person) if person else None, own, numbered)
        if self.format in ("txt", "md"):
            text = tidy(text)
        return Rendered(text.strip("\n") + "\n", " ".join(subject.split()) if subject else "")

    def _full(self, fields: Mapping[str, str] | None, own: tuple[tuple[str, ...], dict[str, str]] | None,
              number: int | None) -> tuple[str, str]:
        """The template run for one person's `fields` (None: no person): (text, subject), untidied."""
        context = self.base
        if fields is not None:
            context = {**self.base, "person": dict(fields)}
            if own is not None:
                context["data_items"], context["v"] = own
        if number is not None:
            context = {**context, "letter": self._letter(number)}
        try:
            if self.spec.email:
                module = (bounded_render(self.template, context, module=True) if self.sandboxed
                          else self.template.make_module(context))
                text, subject = str(module), str(getattr(module, "subject", "")).strip()
            else:
                text, subject = self._render_text(self.template, context), ""
        except Exception as exc:
            raise _template_error(exc, self.spec.id, self.lang) from exc
        return text, subject


def _render_text_of(template: jinja2.Template, context: Mapping[str, Any], sandboxed: bool) -> str:
    """An organization's template within the render bounds; a builtin one directly."""
    return str(bounded_render(template, context)) if sandboxed else template.render(context)


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
    guardian = ""
    if person.extra:
        guardian = next((v.strip() for k, v in person.extra.items() if k.casefold() in GUARDIAN_COLUMNS and v.strip()),
                        "")
    return {"key": person.key, "name": person.name, "kana": person.kana, "address": person.address,
            "postal_code": person.postal_code, "email": person.email, "phone": person.phone, "guardian": guardian}


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
    """The record with a rendering added; an output replaces the entry recorded before it was written
    (same path, state `writing`: a run killed before it finished), and once finished is `written`.

    The entry (as `notice_entry` makes it) is read by the `notices` section's parser and the section is
    written by its serializer."""
    new = NoticeEntry.parse(dict(entry), "notices")
    notices = list(notices_of(record.sections))
    if new.path:
        for index in range(len(notices) - 1, -1, -1):
            if notices[index].state == "writing" and notices[index].path == new.path:
                notices[index] = replace(new, state=new.state or "written")  # a rerun, or its end
                return record.with_section("notices", [n.to_toml() for n in notices])
    return record.with_section("notices", [*(n.to_toml() for n in notices), new.to_toml()])
