"""Who is reminded of what: the `[people]` table of config.toml.

It maps a name as the register writes it — an action's owner (田中), a department (営業部), or
`privacy-desk` for the privacy office that files the regulator reports — to one e-mail address.
Names match as people type them (NFKC, case and spaces ignored). Addresses are checked as the
notices' recipients are: exactly one bare ASCII address, so a reminder can never go to a list.
`set_person` edits config.toml in place (comments kept), under the store's lock, and logs it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from incident.errors import InputError
from incident.register.store import Store

PRIVACY_DESK = "privacy-desk"
"""The name of the privacy office (個人情報保護の担当部署): reminded of the reports to the regulator."""


def name_key(name: str) -> str:
    """A name as compared: NFKC, case-folded, spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def same_name(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def check_address(address: str, name: str, *, file: str | None = None) -> str:
    """The address, stripped, or InputError naming the entry (`people.NAME`)."""
    from incident.notices.batch import check_address as check_one

    address = address.strip()
    try:
        check_one(address, f"people.{name}", "address")
    except InputError as exc:
        raise InputError(f"{address!r} is not one e-mail address (expected local-part@domain in ASCII, "
                         "one address per name)", file=file, field=f"people.{name}") from exc
    return address


def people(store: Store) -> dict[str, str]:
    """The `[people]` table, every address checked (InputError naming config.toml and the entry)."""
    file = str(store.root / "config.toml")
    table = store.config.people
    seen: dict[str, str] = {}
    for name in table:
        if not name.strip():
            raise InputError("an empty name", file=file, field="people")
        other = seen.get(name_key(name))
        if other is not None:
            raise InputError(f"{name!r} and {other!r} are the same name", file=file, field=f"people.{name}")
        seen[name_key(name)] = name
    return {name: check_address(address, name, file=file) for name, address in table.items()}


def address_of(table: Mapping[str, str], name: str) -> str | None:
    """The address listed for `name` (matched as `same_name` does), else None."""
    for key, address in table.items():
        if same_name(key, name):
            return address
    return None


def set_person(store: Store, name: str, address: str, *, actor: str) -> str | None:
    """Add or change `name`'s address in config.toml (an empty address removes it); the previous address."""
    import tomlkit

    from incident.fsutil import atomic_write_text
    from incident.register.config import parse_config

    name = unicodedata.normalize("NFKC", name).strip()
    if not name or "\n" in name:
        raise InputError("the name is empty or spans lines; give a person, a department or privacy-desk",
                         field="NAME")
    if address.strip():
        address = check_address(address, name)
    path = store.root / "config.toml"
    with store.locked():
        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
        table = doc.get("people")
        if table is None:
            table = tomlkit.table()
            doc["people"] = table
        existing = next((k for k in table if same_name(str(k), name)), None)
        previous = str(table[existing]) if existing is not None else None
        if existing is not None:
            del table[existing]
        if address.strip():
            table[existing or name] = address
        text = tomlkit.dumps(doc)
        parse_config(tomlkit.parse(text).unwrap(), file=path)  # the edited file must still be a valid config
        atomic_write_text(path, text)
        from incident.dates import now

        store.audit.append(actor=actor, action="people.set", incident=None,
                           changes={"name": existing or name, "address": [previous, address.strip() or None]},
                           at=now(store.tz))
    store.__dict__.pop("config", None)  # the cached config is stale
    return previous
