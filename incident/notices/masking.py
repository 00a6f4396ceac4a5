"""Masking a person's data for display (伏字): enough to recognise a roster, never enough to identify anyone.

Used wherever people are shown without an explicit reveal: `incident roster show`, send summaries.
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident.notices.roster import Person

_PREFECTURE = re.compile(r"(北海道|東京都|(?:京都|大阪)府|[^\s\d都道府県]{2,3}県)")
_MUNICIPALITY = re.compile(r"(?:[^\s\d]{1,6}?郡)?[^\s\d]{1,7}?[市区町村]")
_WARD_CITY = re.compile(r"[^\s\d]{1,7}?市[^\s\d]{1,4}?区")

def mask_name(name: str) -> str:
    """``山田 太郎`` → ``山田 **``; a name without a space keeps its first character (``山**``)."""
    parts = name.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][0] + "**"
    return parts[0] + " **"


def mask_email(email: str) -> str:
    """``yamada@example.jp`` → ``y***@example.jp``."""
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***" if email else ""
    return f"{local[0]}***@{domain}"


def mask_phone(phone: str) -> str:
    """Every digit but the last four hidden: ``090-1234-5678`` → ``***-****-5678``."""
    digits = sum(c.isdigit() for c in phone)
    keep = digits - 4 if digits > 4 else digits
    out: list[str] = []
    for c in phone:
        if c.isdigit():
            out.append("*" if keep > 0 else c)
            keep -= 1
        else:
            out.append(c)
    return "".join(out)


def mask_postal_code(postal_code: str) -> str:
    """``100-0001`` → ``100-****``."""
    return postal_code[:4] + "****" if len(postal_code) > 4 else ("***" if postal_code else "")


def mask_address(address: str) -> str:
    """Prefecture and city (市区町村, a designated city's ward) kept, the rest hidden: ``東京都千代田区***``."""
    if not address:
        return ""
    kept = ""
    rest = address
    prefecture = _PREFECTURE.match(rest)
    if prefecture:
        kept, rest = prefecture[0], rest[prefecture.end() :]
    city = _WARD_CITY.match(rest) or _MUNICIPALITY.match(rest)
    if city:
        kept += city[0]
    return kept + "***"


def mask_person(person: Person) -> Person:
    """The person with every field masked (extra columns hidden entirely)."""
    return replace(
        person,
        name=mask_name(person.name),
        kana=mask_name(person.kana),
        address=mask_address(person.address),
        postal_code=mask_postal_code(person.postal_code),
        email=mask_email(person.email),
        phone=mask_phone(person.phone),
        extra=MappingProxyType({k: "***" if v else "" for k, v in person.extra.items()}),
    )
