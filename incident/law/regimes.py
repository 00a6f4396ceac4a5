"""Regime playbooks (`playbooks/regimes/*.toml`): the loaded data model and the version in force on a date.

One file per regime version: what law it encodes, when it takes effect, when it applies, its conditions,
exemptions and obligations, each with a citation. A second file with the same `id` and a later
`effective_from` supersedes the first from that date; the assessment uses the version in force on the day
the organization learned of the incident. An organization adds or overrides regimes with files in its
store's `playbooks/regimes/` (a same-named file replaces the bundled one).

Reading and checking a file (every problem collected at once) is incident.law.regime_check; loading fails on
the first file with problems.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from incident.errors import InputError, MultipleErrors
from incident.i18n import _
from incident.resources import builtin_dir

__all__ = [
    "RECIPIENT_PLACEHOLDERS",
    "ROLES",
    "Condition",
    "Deadline",
    "Exemption",
    "Obligation",
    "Regime",
    "RegimeSet",
    "check_regime_file",
    "load_regimes",
]

ROLES = ("controller", "entrustee", "any")
#: placeholders a recipient may use, filled from the record and the organization's config
RECIPIENT_PLACEHOLDERS = ("entruster", "regulator")
#: the wording a regime gives its report to the regulator (`[report]`), so that a public body's report
#: says 保有個人情報 and 施行規則第43条 and a business's 個人データ and 第7条: the document's title, the data
#: term of items 2 and 3, and the heading of the conditions met (各号該当性)
REPORT_KEYS = ("title", "data_term", "conditions_heading")


@dataclass(frozen=True)
class Condition:
    """A reportable situation (報告対象事態) and how it is tested."""

    id: str
    ja: str
    en: str
    citation: str
    kind: str
    params: Mapping[str, Any]
    #: reason templates by state: {"met": (ja, en), ...}
    reasons: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Exemption:
    """A circumstance that removes conditions (high-level encryption, recovered unseen)."""

    id: str
    ja: str
    en: str
    citation: str
    kind: str
    #: condition ids it removes; empty: all
    removes: tuple[str, ...]
    reasons: Mapping[str, tuple[str, str]]
    note: str = ""


@dataclass(frozen=True)
class Deadline:
    """When an obligation is due: a kind of deadlines.DEADLINE_KINDS and its parameters."""

    kind: str
    params: Mapping[str, Any]
    #: how to say it when there is no date (e.g. 速やかに / without undue delay)
    text: str = ""
    text_en: str = ""


@dataclass(frozen=True)
class Obligation:
    """A report or notice that arises when the regime's conditions are met."""

    id: str
    ja: str
    en: str
    recipient: str
    recipient_defaults: Mapping[str, str]
    citation: str
    role: str
    #: condition ids any of which triggers it; empty: any condition of the regime
    when: tuple[str, ...]
    #: arises whenever the regime applies, met conditions or not (GDPR Art. 33(2))
    always: bool
    deadline: Deadline
    items: tuple[str, ...]
    note: str = ""
    #: who gives the notice when that is not the organization itself (議長)
    by: str = ""
    #: only for these entities (empty: any); two obligations may share an id for disjoint entities
    entities: tuple[str, ...] = ()
    #: how the report is submitted (the PPC's web form ...); a delegated sector's method replaces it
    method: str = ""
    #: arises when the regime applies and none of its conditions is met, while the incident is still a
    #: leak, loss or damage of unprotected data (no exemption took every item out): a guideline's report
    #: of incidents the rule does not require (`when = "otherwise"`)
    otherwise: bool = False


@dataclass(frozen=True)
class Regime:
    """One version of a regime playbook."""

    id: str
    name_ja: str
    name_en: str
    law: str
    version: str
    effective_from: date
    order: int
    applies: Mapping[str, Any]
    conditions: tuple[Condition, ...]
    exemptions: tuple[Exemption, ...]
    obligations: tuple[Obligation, ...]
    source: str = ""
    notes: tuple[str, ...] = ()
    condition_ids: frozenset[str] = field(default=frozenset())
    #: the wording of this regime's report to the regulator (`[report]`: REPORT_KEYS); empty when the
    #: regime has no such report
    report: Mapping[str, str] = field(default_factory=dict)



# --------------------------------------------------------------------------- files


def check_regime_file(path: Path) -> list[InputError]:
    """Every problem of one playbook file (unknown kind, missing citation, bad threshold, ...)."""
    from incident.law.regime_check import read_regime  # it builds this module's dataclasses

    return read_regime(path)[1]


class RegimeSet(Mapping[str, Regime]):
    """Every loaded regime version. As a mapping: id -> the latest version; iterating yields the ids."""

    def __init__(self, regimes: Sequence[Regime]) -> None:
        by_id: dict[str, list[Regime]] = {}
        for regime in regimes:
            by_id.setdefault(regime.id, []).append(regime)
        self._versions = {rid: tuple(sorted(v, key=lambda r: r.effective_from)) for rid, v in by_id.items()}
        self._order = sorted(self._versions, key=lambda rid: (self._versions[rid][-1].order, rid))

    def __getitem__(self, regime_id: str) -> Regime:
        return self._versions[regime_id][-1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def versions(self, regime_id: str) -> tuple[Regime, ...]:
        return self._versions[regime_id]

    def in_force(self, regime_id: str, on: date) -> tuple[Regime, bool]:
        """The version in force on a date, and False; or the earliest version and True when none was yet."""
        versions = self._versions[regime_id]
        current = [r for r in versions if r.effective_from <= on]
        return (current[-1], False) if current else (versions[0], True)


def _regime_files(extra_dirs: Sequence[Path]) -> list[Path]:
    chosen: dict[str, Path] = {}
    for directory in (*extra_dirs, builtin_dir("playbooks")):
        folder = Path(directory) / "regimes"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            chosen.setdefault(path.name, path)
    return sorted(chosen.values(), key=lambda p: p.name)


def load_regimes(extra_dirs: Sequence[Path] = ()) -> RegimeSet:
    """Every regime version: the store's files over the bundled ones (a same-named file replaces)."""
    files = _regime_files(tuple(Path(d) for d in extra_dirs))
    stamp = tuple((str(p), _mtime(p)) for p in files)
    return _load(stamp)


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


@lru_cache(maxsize=16)
def _load(stamp: tuple[tuple[str, int], ...]) -> RegimeSet:
    from incident.law.regime_check import read_regime  # it builds this module's dataclasses

    regimes: list[Regime] = []
    seen: dict[tuple[str, date], str] = {}
    for name, _unused in stamp:
        regime, errors = read_regime(Path(name))
        if errors:
            raise MultipleErrors(errors, file=name) if len(errors) > 1 else errors[0]
        assert regime is not None
        key = (regime.id, regime.effective_from)
        if key in seen:
            raise InputError(_("two versions of {id} take effect on {effective_from} (also in {value}); give one a later effective_from")
                             .format(id=regime.id, effective_from=regime.effective_from, value=seen[key]), file=name,
                             field="effective_from")
        seen[key] = name
        regimes.append(regime)
    return RegimeSet(regimes)
