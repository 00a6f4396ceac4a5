"""Who is reminded of what: the `[people]` table of config.toml.

It maps a name as the register writes it — an action's owner (田中), a department (営業部), or
`privacy-desk` for the privacy office that files the regulator reports — to one e-mail address.
Names match as people type them (as the register compares actors). Addresses are checked as the
notices' recipients are: exactly one bare ASCII address, so a reminder can never go to a list.
`set_person` checks the address and saves it as `incident config set people.NAME=ADDRESS` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from incident.errors import InputError
from incident.i18n import _
from incident.notices.batch import check_address as check_one
from incident.register.actors import actor_key
from incident.register.config import save_settings
from incident.text import normalize

if TYPE_CHECKING:
    from incident.law.context import Context

PRIVACY_DESK = "privacy-desk"
"""The name of the privacy office (個人情報保護の担当部署): reminded of the reports to the regulator."""


def name_key(name: str) -> str:
    """A name as compared (`incident.register.actors.actor_key`: NFKC, invisible characters and spaces
    ignored, case-folded)."""
    return actor_key(name)


def same_name(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def check_address(address: str, name: str, *, file: str | None = None) -> str:
    """The address, stripped, or InputError naming the entry (`people.NAME`)."""
    address = address.strip()
    try:
        check_one(address, f"people.{name}", "address")
    except InputError as exc:
        raise InputError(_("{address!r} is not one e-mail address (expected local-part@domain in ASCII, one address per name)")
                         .format(address=address), file=file, field=f"people.{name}") from exc
    return address


def people(ctx: Context) -> dict[str, str]:
    """The `[people]` table, every address checked (InputError naming config.toml and the entry)."""
    file = str(ctx.store.root / "config.toml")
    table = ctx.config.people
    seen: dict[str, str] = {}
    for name in table:
        if not name.strip():
            raise InputError(_("an empty name"), file=file, field="people")
        other = seen.get(name_key(name))
        if other is not None:
            raise InputError(_("{name!r} and {other!r} are the same name").format(name=name, other=other), file=file, field=f"people.{name}")
        seen[name_key(name)] = name
    return {name: check_address(address, name, file=file) for name, address in table.items()}


def address_of(table: Mapping[str, str], name: str) -> str | None:
    """The address listed for `name` (matched as `same_name` does), else None."""
    for key, address in table.items():
        if same_name(key, name):
            return address
    return None


def set_person(ctx: Context, name: str, address: str, *, actor: str) -> str | None:
    """Add or change `name`'s address (an empty address removes it), checked first; the previous address.

    A name already listed in another spelling (全角, spaces) is changed in place. The file is written by
    `incident.register.config.save_settings` (under the store lock, with an audit entry).
    """
    name = normalize(name, "keep").strip()
    if not name or "\n" in name or "=" in name:
        raise InputError(_("the name is empty, spans lines or holds '='; give a person, a department or {privacy_desk}")
                         .format(privacy_desk=PRIVACY_DESK), field="NAME")
    if address.strip():
        address = check_address(address, name)
    existing = next((k for k in ctx.config.people if same_name(k, name)), None)
    previous = ctx.config.people.get(existing) if existing is not None else None
    save_settings(ctx.store, [f"people.{existing or name}={address.strip()}"], actor=actor)
    ctx.store.reload_config()  # the store's cached config is stale (the context's ends with the command)
    return previous
