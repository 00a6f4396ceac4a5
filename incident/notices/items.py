"""Notice items and kinds: what each notice must contain, and whether a record has it.

The report items (施行規則第8条第1項各号) and the notice kinds are data in `playbooks/notices.toml`:
each item maps to record keys (`ITEMS`, loaded by `incident.law.report_items`); each notice kind
(`KINDS`) names the obligation it fulfils, so the items it must contain come from the stored
assessment's `obligations[].items` when there is one and from the kind's default otherwise
(`plan_items`). `find_missing` lists the required items a record leaves empty; `IncompleteNotice` is
raised when a final notice is asked for anyway. Rendering lives in `incident.notices.render`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from incident.errors import InputError
from incident.i18n import N_, _
from incident.law.regimes import load_regimes
from incident.law.report_items import (
    FILE,
    ReportItem,
    ReportItems,
    check_items,
    load_report_items,
    parse_items,
)
from incident.register.config import Config
from incident.register.record import FIELD_BY_NAME, Record
from incident.register.sections import ObligationEntry, assessment_of
from incident.resources import builtin_dir
from incident.tomlfile import (
    ID_PATTERN,
    BlockProblems,
    TomlLocator,
    check_header,
    id_blocks,
    raise_problems,
    read_toml,
)

LANGS = ("ja", "en")
Audience = Literal["regulator", "individual", "public", "entruster", "internal", "authority"]


# --------------------------------------------------------------------------- items and kinds, from playbooks/notices.toml

AUDIENCES: tuple[Audience, ...] = get_args(Audience)
KIND_KEYS = ("id", "langs", "audience", "description_ja", "description_en", "obligations", "regimes", "items", "always", "full",
             "partial", "email", "per_person")
_FLAGS = ("full", "partial", "email", "per_person")


@dataclass(frozen=True)
class KindSpec:
    """A notice kind: whom it is for, which obligation it fulfils, what it must contain."""

    id: str
    langs: tuple[str, ...]
    audience: Audience
    description_ja: str
    """What the notice is, in Japanese (`incident notice kinds` in a Japanese run)."""
    description_en: str
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


def _expand(names: list[str], sets: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Item ids, with `@set-name` standing for a named list of [sets]."""
    out: list[str] = []
    for name in names:
        out.extend(sets.get(name[1:], ()) if name.startswith("@") else (name,))
    return tuple(out)


def _obligation_and_regime_ids() -> tuple[frozenset[str], frozenset[str]]:
    regimes = load_regimes()
    obligations = frozenset(ob.id for rid in regimes for r in regimes.versions(rid) for ob in r.obligations)
    return obligations, frozenset(regimes)


def _check_kinds(data: Mapping[str, Any], path: Path, locator: TomlLocator,
                 report: ReportItems) -> list[InputError]:
    problems: list[InputError] = []
    tables = data.get("kind")
    if not isinstance(tables, list) or not tables:
        return [InputError(_("at least one [[kind]] table is required"), file=path, field="kind")]
    obligations, regimes = _obligation_and_regime_ids()
    templates = builtin_dir("templates") / "notices"
    for raw, block, label in id_blocks(tables, "kind", path, locator, KIND_KEYS, problems,
                                       texts=("description_ja", "description_en")):
        kid = raw["id"] if isinstance(raw.get("id"), str) and ID_PATTERN.match(raw["id"]) else None
        if raw.get("audience") not in AUDIENCES:
            block.fail(_("{label}: audience must be one of {valid}").format(label=label, valid=", ".join(AUDIENCES)),
                       "audience")
        langs = raw.get("langs")
        if not isinstance(langs, list) or not langs or any(lang not in LANGS for lang in langs):
            block.fail(_("{label}: langs must be a non-empty list of {valid}").format(label=label, valid=", ".join(LANGS)),
                       "langs")
        elif kid is not None and path.parent == builtin_dir("playbooks"):
            for lang in langs:
                if not (templates / lang / f"{kid}.j2").is_file():
                    block.fail(_("{label}: no template templates/notices/{lang}/{kind}.j2").format(
                        label=label, lang=lang, kind=kid), "langs")
        for key, known, what in (("obligations", obligations, N_("an obligation of any regime playbook")),
                                 ("regimes", regimes, N_("a regime id"))):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                block.fail(_("{label}: {key} must be a list of ids").format(label=label, key=key), key)
                continue
            for v in value:
                if v not in known:
                    block.fail(_("{label}: {key} names {value!r}, which is not {what}").format(
                        label=label, key=key, value=v, what=_(what)), key, needle=f'"{v}"')
        for key in ("items", "always"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                block.fail(_("{label}: {key} must be a list of item ids (or @set names)").format(label=label, key=key),
                           key)
                continue
            for v in value:
                if (v.startswith("@") and v[1:] not in report.sets) or (not v.startswith("@")
                                                                       and v not in report.items):
                    block.fail(_("{label}: {key} names {value!r}, which is no item or @set of this file").format(
                        label=label, key=key, value=v), key,
                               needle=f'"{v}"')
        for key in _FLAGS:
            if key in raw and not isinstance(raw[key], bool):
                block.fail(_("{label}: {key} must be true or false").format(label=label, key=key), key)
    return problems


def check_notices_file(path: Path) -> list[InputError]:
    """Every problem of a notices playbook (items, sets, kinds), each with its line."""
    data, locator, problems = read_toml(path)
    if data is None:
        return problems
    problems = []
    check_header(data, path, locator, problems)
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, ("schema", "version", "item", "sets", "kind"))
    problems += top.found
    item_problems = check_items(data, path, locator)
    problems += item_problems
    if item_problems:  # check the kinds against the ids the file does give
        raw_items, raw_sets = data.get("item"), data.get("sets")
        tables = raw_items if isinstance(raw_items, list) else []
        ids = {t["id"]: ReportItem(t["id"], "", "", ()) for t in tables if isinstance(t, dict)
               and isinstance(t.get("id"), str)}
        sets = raw_sets if isinstance(raw_sets, dict) else {}
        report = ReportItems(ids, {name: () for name in sets})
    else:
        report = parse_items(data)
    return problems + _check_kinds(data, path, locator, report)


def _load_kinds() -> Mapping[str, KindSpec]:
    path = builtin_dir("playbooks") / FILE
    data, _unused, problems = read_toml(path)
    problems = problems or check_notices_file(path)
    raise_problems(problems, path)
    assert data is not None
    sets = load_report_items().sets
    return {raw["id"]: KindSpec(
        id=raw["id"], langs=tuple(raw["langs"]), audience=raw["audience"],
        description_ja=raw["description_ja"], description_en=raw["description_en"],
        obligations=tuple(raw.get("obligations", ())), regimes=tuple(raw.get("regimes", ())),
        items=_expand(raw.get("items", []), sets), always=_expand(raw.get("always", []), sets),
        **{flag: raw.get(flag, False) for flag in _FLAGS}) for raw in data["kind"]}


ITEMS: Mapping[str, ReportItem] = load_report_items().items
"""Report item -> record keys (playbooks/notices.toml)."""
ALL_REPORT_ITEMS = load_report_items().sets["all-report-items"]
"""施行規則第8条第1項第1号～第9号, in order."""
INDIVIDUAL_ITEMS = load_report_items().sets["individual-items"]
"""施行規則第10条 (第8条第1項第1号・第2号・第4号・第5号・第9号)."""
KINDS: Mapping[str, KindSpec] = _load_kinds()
"""The notice kinds (playbooks/notices.toml), each with a template per language."""


def kind_spec(kind: str, lang: str | None = None) -> tuple[KindSpec, str]:
    """The kind and the language to render it in (its first language when none is given)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise InputError(_("unknown notice kind {kind!r}; valid: {join} (`incident notice kinds`)")
                         .format(kind=kind, join=', '.join(KINDS)),
                         field="kind")
    if lang is None:
        return spec, spec.langs[0]
    if lang not in spec.langs:
        raise InputError(_("the kind {kind} exists in {join}, not {lang!r}")
                         .format(kind=kind, join=', '.join(spec.langs), lang=lang), field="lang")
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
        return _("「{label}」 is missing ({key})").format(label=self.label, key=self.key)


class IncompleteNotice(InputError):
    """The record lacks items the notice must contain; nothing was rendered."""

    def __init__(self, incident_id: str, kind: str, missing: Sequence[MissingItem]) -> None:
        self.missing = tuple(missing)
        listed = "、".join(str(m) for m in self.missing)
        keys = [m.key for m in self.missing if m.key != "organization"]
        how = _("record them with `incident set {id} {key}=...`").format(id=incident_id, key=keys[0]) if keys else ""
        if len(keys) < len(self.missing):
            how += (_(" and ") if how else "") + _("set organization in the store's config.toml")
        super().__init__(_("{kind} cannot be completed: {listed}; {how}, or render a draft with --draft")
                         .format(kind=kind, listed=listed, how=how),
                         field="kind")


@dataclass(frozen=True)
class Plan:
    """Which items a notice must contain, and where that list came from."""

    required: tuple[str, ...]
    source: str
    """`assessment` or `default`."""
    recipient: str = ""
    warnings: tuple[str, ...] = ()
    regime: str = ""
    """The regime whose obligation the notice fulfils (the first in the stored assessment, or the one asked
    for); its playbook words a report to the regulator."""
    obligation: ObligationEntry | None = None
    """That obligation as the stored assessment has it (id, label, citation, recipient, ...)."""
    assessed: bool = False
    """The record holds an assessment."""
    regimes: tuple[str, ...] = ()
    """Every regime of the stored assessment with an obligation this notice fulfils."""


def plan_items(record: Record, spec: KindSpec, regime_id: str | None = None) -> Plan:
    """Required items: the stored assessment's obligation items when present, else the kind's default.

    With `regime_id`, only that regime's obligations count (a public body's My Number report beside its
    APPI report); otherwise those of the first regime that has one.
    """
    by_regime: dict[str, list[ObligationEntry]] = {}
    assessment = assessment_of(record.sections)
    assessed = assessment is not None
    if assessment is not None and spec.obligations:
        for regime in assessment.assessments:
            if spec.regimes and regime.regime not in spec.regimes:
                continue
            obs = [ob for ob in regime.obligations if ob.id in spec.obligations]
            if obs:
                by_regime[regime.regime] = obs
    if regime_id is not None and regime_id not in by_regime:
        listed = ", ".join(by_regime) or "none"
        raise InputError(_("the stored assessment gives regime {regime_id!r} no obligation that {id} fulfils (regimes with one: {listed})")
                         .format(regime_id=regime_id, id=spec.id, listed=listed), field="regime")
    chosen = regime_id if regime_id is not None else next(iter(by_regime), "")
    found = by_regime.get(chosen, [])
    warnings: list[str] = []
    if found:
        named: list[str] = []
        for ob in found:
            for item in ob.items:
                if item in ITEMS:
                    named.append(item)
                else:
                    warnings.append(_("the assessment names an unknown notice item {item!r}; ignored (known: {known})")
                                    .format(item=item, known=", ".join(ITEMS)))
        required = [i for i in ITEMS if (i in named and (not spec.partial or i in spec.items)) or i in spec.always]
        recipient = next((ob.recipient for ob in found if ob.recipient), "")
        return Plan(tuple(required), "assessment", recipient, tuple(warnings), chosen, found[0], True,
                    tuple(by_regime))
    required = [i for i in ITEMS if i in spec.items or i in spec.always]
    return Plan(tuple(required), "default", "", tuple(warnings), assessed=assessed)


def is_blank(value: Any) -> bool:
    """No value: None, or a string of nothing but whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def item_keys(item: ReportItem, spec: KindSpec) -> tuple[str, ...]:
    """The record keys that fill an item in a notice of this kind."""
    return item.individual_keys if spec.for_individuals and item.individual_keys else item.keys


def record_value(key: str, record: Record, config: Config) -> Any:
    """A record key's raw value: `data` is the data-item list; `contact` falls back to the config's."""
    if key == "data":
        return record.data or None
    value = record.get(key)
    if key == "contact" and is_blank(value):
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
        if all(is_blank(record_value(k, record, config)) for k in keys):
            missing.append(MissingItem(item_id, item.ja, keys[0], item.en))
        if spec.full:
            for key in item.details:
                if is_blank(record.get(key)):
                    missing.append(MissingItem(item_id, FIELD_BY_NAME[key].ja, key, key.replace("_", " ")))
    return missing
