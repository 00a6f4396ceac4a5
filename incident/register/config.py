"""The store's `config.toml`: who the organization is and how the toolkit behaves for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from incident import dates, tomlfile
from incident.errors import InputError
from incident.fsutil import atomic_write_text
from incident.i18n import N_, _
from incident.register.enums import ENTITIES

if TYPE_CHECKING:
    from incident.register.backend import RegisterStore

SECURITY = ("starttls", "tls", "none")
#: the longest retention period accepted (the law asks for years, not centuries)
MAX_RETENTION_YEARS = 100
#: the values of `language` ('' = the locale's language)
LANGUAGES = ("", "en", "ja")


@dataclass(frozen=True)
class SmtpConfig:
    """Where individual e-mail notices are sent from. The password is never stored here."""

    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    from_addr: str = ""
    from_name: str = ""


@dataclass(frozen=True)
class WindowConfig:
    """Where the envelope's window lies on the A4 sheet, in mm from the sheet's top left corner.

    The default is meant for a 長形3号 window envelope (窓付き封筒, window 90 x 45 mm) with an A4 sheet
    folded in three, the address panel in the top third. Its position is an estimate: no maker's or
    standard position of the window was found. What is documented: Japan Post's guideline for window
    envelopes (定形郵便物・はがき作成のガイドライン「窓付封筒」,
    https://www.post.japanpost.jp/zipcode/guideline/05.html) shows where an address window may lie on the
    envelope and asks that the postal code and address stay inside the window wherever the sheet moves
    in the envelope; makers state that an address window is at least 45 x 80 mm (イムラ「封筒の知識 窓に
    ついて」, https://service.imura.co.jp/useful/knowlege/04.html), which 90 x 45 meets. Hence the
    margin around the address block, and `incident notice --test-sheet`, which prints the outline to
    hold against the office's own envelopes."""

    top: float = 15.0
    left: float = 20.0
    width: float = 90.0
    height: float = 45.0


@dataclass(frozen=True)
class LetterConfig:
    """The sender block of printed letters (差出人): who signs, and how to reach the desk."""

    sender_title: str = ""
    """発信者の職名, e.g. 区長 or 代表取締役."""
    sender_name: str = ""
    department: str = ""
    """担当課, printed under the sender."""
    contact: str = ""
    """問い合わせ先 (telephone, hours); the store's `contact` when empty."""
    seal: str = ""
    """"omitted" prints 「（公印省略）」 beside the sender."""
    window: WindowConfig = field(default_factory=WindowConfig)


SEALS = ("", "omitted")


@dataclass(frozen=True)
class Config:
    """The organization's settings (`config.toml` in the store)."""

    organization: str = ""
    entity: str = "business"
    contact: str = ""
    #: regimes applied to every incident in addition to those derived from the facts
    regimes: tuple[str, ...] = ()
    timezone: str = "Asia/Tokyo"
    actor: str = ""
    #: key file for roster encryption where there is no OS keyring (INCIDENT_KEY_FILE overrides)
    key_file: str = ""
    #: data-item ids the local ordinance lists as 条例要配慮個人情報 (public bodies of local governments)
    ordinance_special_care: tuple[str, ...] = ()
    #: years after closing before `incident purge` removes personal data (seed 000: 5 years)
    retention_years: int = 5
    #: the regulator's name when reports go to a delegated minister (権限委任先) instead of the PPC; only a
    #: name (prefer `sector`, which also gives the method and the source)
    regulator: str = ""
    #: the organization's sector (playbooks/sectors.toml): where its business reports go and any further
    #: report a sector rule asks for
    sector: str = ""
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    #: who is reminded of deadlines: a person, a department or `privacy-desk` -> an e-mail address
    #: (the addresses are checked where they are used: incident.followup.people)
    people: Mapping[str, str] = field(default_factory=dict)
    #: the font of PDF letters: a TrueType/OpenType file or a family name (else the usual locations)
    pdf_font: str = ""
    letter: LetterConfig = field(default_factory=LetterConfig)
    #: the interface language of commands run on this store, "ja" or "en" ('' = the locale's;
    #: $INCIDENT_LANG overrides it)
    language: str = ""
    #: the register's PostgreSQL database (postgresql://USER@HOST:PORT/DBNAME, no password); '' = files
    database_url: str = ""

    def to_toml_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.database_url:
            del data["database_url"]  # a store in files says nothing of databases
        data["regimes"] = list(self.regimes)
        data["ordinance_special_care"] = list(self.ordinance_special_care)
        data["people"] = dict(self.people)
        return data


_TYPES: dict[str, type] = {
    "organization": str, "entity": str, "contact": str, "regimes": list, "timezone": str, "actor": str,
    "key_file": str, "ordinance_special_care": list, "retention_years": int, "regulator": str, "sector": str,
    "smtp": dict,
    "people": dict,
    "pdf_font": str, "letter": dict, "language": str, "database_url": str,
}
_SMTP_TYPES: dict[str, type] = {
    "host": str, "port": int, "security": str, "user": str, "from_addr": str, "from_name": str,
}
_LETTER_TYPES: dict[str, type] = {
    "sender_title": str, "sender_name": str, "department": str, "contact": str, "seal": str, "window": dict,
}
_WINDOW_TYPES: dict[str, type] = {"top": float, "left": float, "width": float, "height": float}


def parse_config(raw: dict[str, Any], *, file: Path | str | None = None) -> Config:
    """Validate a parsed config table; unknown keys and wrong types are errors naming the key."""
    _check_types(raw, _TYPES, file, prefix="")
    smtp_raw = raw.get("smtp", {})
    _check_types(smtp_raw, _SMTP_TYPES, file, prefix="smtp.")
    if raw.get("entity", "business") not in ENTITIES:
        raise InputError(_("{entity!r} is not valid; expected one of: {join}")
                         .format(entity=raw['entity'], join=', '.join(ENTITIES)), file=file,
                         field="entity")
    if raw.get("language", "") not in LANGUAGES:
        raise InputError(_("{value!r} is not valid; expected ja, en or \"\" (the locale's language)").format(
            value=raw["language"]), file=file, field="language")
    if smtp_raw.get("security", "starttls") not in SECURITY:
        raise InputError(_("expected one of: {join}").format(join=', '.join(SECURITY)), file=file, field="smtp.security")
    tz = raw.get("timezone", "Asia/Tokyo")
    try:
        ZoneInfo(tz)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise InputError(_("unknown timezone {tz!r}; use an IANA name such as Asia/Tokyo").format(tz=tz), file=file,
                         field="timezone") from None
    if raw.get("retention_years", 5) < 0:
        raise InputError(_("must not be negative"), file=file, field="retention_years")
    if raw.get("retention_years", 5) > MAX_RETENTION_YEARS:
        raise InputError(_("expected at most {max_retention_years} years")
                         .format(max_retention_years=MAX_RETENTION_YEARS), file=file, field="retention_years")
    if not 1 <= smtp_raw.get("port", 587) <= 65535:
        raise InputError(_("expected a port number from 1 to 65535"), file=file, field="smtp.port")
    for key, value in [*raw.items(), *smtp_raw.items()]:
        if isinstance(value, str) and len(value) > 10_000:
            raise InputError(_("longer than 10,000 characters"), file=file, field=key)
    people = raw.get("people", {})
    for name, address in people.items():
        if not isinstance(address, str):
            raise InputError(_("expected an e-mail address (a string), got {name}")
                             .format(name=type(address).__name__), file=file,
                             field=f"people.{name}")
    letter = _parse_letter(raw.get("letter", {}), file)
    values = {k: v for k, v in raw.items() if k not in ("smtp", "people", "letter")}
    for key in ("regimes", "ordinance_special_care"):
        if key in values:
            if not all(isinstance(v, str) for v in values[key]):
                raise InputError(_("expected a list of strings"), file=file, field=key)
            values[key] = tuple(values[key])
    return Config(**values, smtp=SmtpConfig(**smtp_raw), people=dict(people), letter=letter)


A4_MM = (210.0, 297.0)


def _parse_letter(raw: Any, file: Path | str | None) -> LetterConfig:
    _check_types(raw, _LETTER_TYPES, file, prefix="letter.")
    if raw.get("seal", "") not in SEALS:
        raise InputError(_('expected "omitted" (prints 「（公印省略）」) or ""'), file=file, field="letter.seal")
    window_raw = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                  for k, v in raw.get("window", {}).items()} if isinstance(raw.get("window", {}), dict) else None
    _check_types(window_raw, _WINDOW_TYPES, file, prefix="letter.window.")
    assert window_raw is not None
    window = WindowConfig(**window_raw)
    for key in ("top", "left", "width", "height"):
        if getattr(window, key) < 0 or (key in ("width", "height") and getattr(window, key) == 0):
            raise InputError(_("must be a positive length in mm"), file=file, field=f"letter.window.{key}")
    if window.left + window.width > A4_MM[0] or window.top + window.height > A4_MM[1] / 3:
        raise InputError(_("the window ({left}+{width} mm across, {top}+{height} mm down) must lie within the top third of an A4 sheet (210 x 99 mm)")
                         .format(left=window.left, width=window.width, top=window.top, height=window.height), file=file,
                         field="letter.window")
    return LetterConfig(**{k: v for k, v in raw.items() if k != "window"}, window=window)


def _check_types(raw: Any, types: dict[str, type], file: Path | str | None, prefix: str) -> None:
    if not isinstance(raw, dict):
        raise InputError(_("expected a table"), file=file, field=prefix.rstrip(".") or None)
    for key, value in raw.items():
        expected = types.get(key)
        if expected is None:
            raise InputError(_("unknown key; valid keys: {join}")
                             .format(join=', '.join(prefix + k for k in types)), file=file,
                             field=prefix + key)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InputError(_("expected {name}, got {name2}")
                             .format(name=expected.__name__, name2=type(value).__name__), file=file,
                             field=prefix + key)


def load_config(path: Path) -> Config:
    if not path.exists():
        return Config()

    raw, _text = tomlfile.read(path)
    return parse_config(raw, file=path)


# --------------------------------------------------------------------------- `incident config set`

#: words that mark a key as a secret: refused, since config.toml never holds one
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")
SECRET_HINT = N_("secrets are never stored in config.toml; keep the SMTP password in the OS keyring with "
                 "`incident secret set smtp` (or in $INCIDENT_SMTP_PASSWORD where there is no keyring)")


def settable_keys() -> tuple[str, ...]:
    """Every key `incident config set` accepts, `smtp.*` for the [smtp] table."""
    return (*(k for k, t in _TYPES.items() if t is not dict), *(f"smtp.{k}" for k in _SMTP_TYPES), "people.NAME")


def apply_settings(raw: dict[str, Any], assignments: Sequence[str], *,
                   file: Path | str | None = None) -> tuple[dict[str, Any], Config, dict[str, list[Any]]]:
    """`KEY=VALUE` assignments applied to a parsed config table.

    Values are converted by the key's type: text as given, a whole number for `port` and
    `retention_years`, a comma-separated list for `regimes` and `ordinance_special_care` (empty for
    none); `people.NAME=ADDRESS` adds or changes a person to remind, `people.NAME=` removes one. The result is validated as the file is (`parse_config`). Returns the new table, the parsed
    config and what changed ({key: [old, new]}); nothing is applied when any assignment is bad.
    """
    new = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    defaults = Config().to_toml_dict()
    changes: dict[str, list[Any]] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(_("expected KEY=VALUE, got {assignment!r}; keys: {join}")
                             .format(assignment=assignment, join=', '.join(settable_keys())))
        if any(word in key.lower() for word in SECRET_WORDS):
            raise InputError(_(SECRET_HINT), field=key)
        section, _dot, name = key.partition(".") if "." in key else ("", "", key)
        if section == "people" and name:
            people = new.setdefault("people", {})
            old = people.get(name, "")
            if text:
                people[name] = text
            else:
                people.pop(name, None)
            if old != text:
                changes[key] = [old, text]
            continue
        if key not in settable_keys():
            raise InputError(_("unknown key; valid keys: {join}").format(join=', '.join(settable_keys())), file=file, field=key)
        expected = (_SMTP_TYPES if section == "smtp" else _TYPES)[name]
        value = _convert(text, expected, key, file)
        table = new.setdefault("smtp", {}) if section == "smtp" else new
        if not isinstance(table, dict):
            raise InputError(_("expected a table"), file=file, field="smtp")
        old = table.get(name, (defaults["smtp"] if section == "smtp" else defaults)[name])
        table[name] = value
        if old != value:
            changes[key] = [old, value]
    return new, parse_config(new, file=file), changes


def _convert(text: str, expected: type, key: str, file: Path | str | None) -> Any:
    if expected is int:
        try:
            return int(text.strip())
        except ValueError:
            raise InputError(_("expected a whole number, got {text!r}").format(text=text), file=file, field=key) from None
    if expected is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def save_settings(store: RegisterStore, assignments: Sequence[str], *, actor: str) -> dict[str, list[Any]]:
    """Apply `KEY=VALUE` assignments to the store's config.toml under the store lock: validated as a whole,
    written atomically, the change logged in the audit log. Returns what changed (nothing is written when
    nothing changed). The file is rewritten from its values (comments are not kept)."""
    import tomli_w

    path = store.root / "config.toml"
    with store.locked():
        raw = tomlfile.read(path)[0] if path.exists() else {}
        new, _config, changes = apply_settings(raw, assignments, file=path)
        if changes:
            atomic_write_text(path, tomli_w.dumps(new))
            store.append_audit(actor=actor, action="config.set", incident=None, changes=changes,
                               at=dates.now(store.tz))
    return changes
