"""Urgencies of response steps (緊急度) as data: `playbooks/urgencies.toml` says, for each urgency, when a
step of that urgency is due (hours after discovery, by the end of day N, or before an obligation's due
date). `incident.followup.steps` computes a step's due time from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from incident.errors import InputError
from incident.i18n import _
from incident.law.regimes import load_regimes
from incident.resources import builtin_dir
from incident.tomlfile import BlockProblems, TomlLocator, check_header, id_blocks, raise_problems, read_toml

_KEYS = ("id", "ja", "en", "hours", "days", "before")
_WHEN = ("hours", "days", "before")


@dataclass(frozen=True)
class Urgency:
    """How soon a step should be done; `rank` orders them (0 is the most urgent)."""

    id: str
    rank: int
    ja: str
    en: str
    hours: int | None = None
    """Due this many hours after discovery."""
    days: int | None = None
    """Due at the end of day N, the day of discovery being day 1."""
    before: tuple[str, ...] = ()
    """Due by the earliest due date of these obligations."""


def _obligation_ids() -> frozenset[str]:
    """Every obligation id of the bundled regimes (an urgency may wait for any of them)."""
    regimes = load_regimes()
    return frozenset(ob.id for rid in regimes for regime in regimes.versions(rid) for ob in regime.obligations)


def _problems(data: Mapping[str, Any], path: Path, locator: TomlLocator) -> list[InputError]:
    problems: list[InputError] = []
    check_header(data, path, locator, problems)
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, ("schema", "version", "urgency"))
    problems += top.found
    blocks = data.get("urgency")
    if not isinstance(blocks, list) or not blocks:
        problems.append(InputError(_("at least one [[urgency]] table is required"), file=path, field="urgency"))
        return problems
    known: frozenset[str] | None = None
    for raw, block, label in id_blocks(blocks, "urgency", path, locator, _KEYS, problems, texts=("ja", "en")):
        given = [k for k in _WHEN if k in raw]
        if len(given) != 1:
            block.fail(_("{label}: give exactly one of hours, days or before").format(label=label),
                       given[1] if len(given) > 1 else "id")
        for key in ("hours", "days"):
            if key in raw and (type(raw[key]) is not int or not 1 <= raw[key] <= 366):
                block.fail(_("{label}: {key} must be a whole number from 1 to 366").format(label=label, key=key), key)
        if "before" in raw:
            before = raw["before"]
            if not isinstance(before, list) or not before or not all(isinstance(b, str) for b in before):
                block.fail(_("{label}: before must be a list of obligation ids").format(label=label), "before")
            else:
                known = _obligation_ids() if known is None else known
                for ob in before:
                    if ob not in known:
                        block.fail(_("{label}: before names {id!r}, which no regime playbook has as an "
                                     "obligation; known: {known}").format(label=label, id=ob, known=", ".join(sorted(known))),
                                   "before", needle=ob)
    return problems


def check_urgencies_file(path: Path) -> list[InputError]:
    """Every problem of an urgencies playbook, each with its line (for `incident playbooks check`)."""
    data, locator, problems = read_toml(path)
    if data is None:
        return problems
    return _problems(data, path, locator)


@cache
def load_urgencies(path: Path | None = None) -> Mapping[str, Urgency]:
    """The urgencies of `path` (default: the bundled playbooks/urgencies.toml), in order of urgency."""
    path = path or builtin_dir("playbooks") / "urgencies.toml"
    data, locator, problems = read_toml(path)
    if data is not None:
        problems = _problems(data, path, locator)
    raise_problems(problems, path)
    assert data is not None
    return {raw["id"]: Urgency(raw["id"], rank, raw["ja"], raw["en"], raw.get("hours"), raw.get("days"),
                               tuple(raw.get("before", ())))
            for rank, raw in enumerate(data["urgency"])}
