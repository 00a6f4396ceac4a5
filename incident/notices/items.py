"""Notice items and kinds: what each notice must contain, and whether a record has it.

The report items (施行規則第8条第1項各号) map to record keys in one table here, `ITEMS`; each notice
kind (`KINDS`) names the obligation it fulfils, so the items it must contain come from the stored
assessment's `obligations[].items` when there is one and from the kind's default otherwise
(`plan_items`). `find_missing` lists the required items a record leaves empty; `IncompleteNotice` is
raised when a final notice is asked for anyway. Rendering lives in `incident.notices.render`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from incident.errors import InputError
from incident.register.config import Config
from incident.register.record import FIELD_BY_NAME, Record

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
    KindSpec("regulator-final", ("ja",), "regulator", "確報: the final report to the PPC, all nine items (規則第8条第2項); "
             "also a guideline's report of a leak the rule does not require (guideline-report)",
             ("regulator-final", "guideline-report"), items=ALL_REPORT_ITEMS, full=True),
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
    regime: str = ""
    """The regime whose obligation the notice fulfils (the first in the stored assessment, or the one asked
    for); its playbook words a report to the regulator."""
    obligation: Mapping[str, Any] | None = None
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
    by_regime: dict[str, list[Mapping[str, Any]]] = {}
    assessment = record.sections.get("assessment")
    assessed = isinstance(assessment, Mapping)
    if isinstance(assessment, Mapping) and spec.obligations:
        for regime in assessment.get("assessments", []) or []:
            if not isinstance(regime, Mapping) or (spec.regimes and regime.get("regime") not in spec.regimes):
                continue
            obs = [ob for ob in regime.get("obligations", []) or []
                   if isinstance(ob, Mapping) and ob.get("id") in spec.obligations]
            if obs:
                by_regime[str(regime.get("regime", ""))] = obs
    if regime_id is not None and regime_id not in by_regime:
        listed = ", ".join(by_regime) or "none"
        raise InputError(f"the stored assessment gives regime {regime_id!r} no obligation that {spec.id} fulfils "
                         f"(regimes with one: {listed})", field="regime")
    chosen = regime_id if regime_id is not None else next(iter(by_regime), "")
    found: list[Mapping[str, Any]] = by_regime.get(chosen, [])
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
        return Plan(tuple(required), "assessment", recipient, tuple(warnings), chosen, found[0], True,
                    tuple(by_regime))
    required = [i for i in ITEMS if i in spec.items or i in spec.always]
    return Plan(tuple(required), "default", "", tuple(warnings), assessed=assessed)


def is_blank(value: Any) -> bool:
    """No value: None, or a string of nothing but whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def item_keys(item: ItemSpec, spec: KindSpec) -> tuple[str, ...]:
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
