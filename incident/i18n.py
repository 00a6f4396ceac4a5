"""The interface language: which language a run speaks, and the gettext catalogue that translates every
message the toolkit prints.

The language is chosen once per run, in this order: `$INCIDENT_LANG` (`ja` | `en`), else `language` in
the store's config.toml, else the locale (`LC_ALL`, `LC_MESSAGES`, `LANG` starting with `ja`; on Windows
the user's UI language), else English. Messages are written in English in the code, marked with `_()`
(or `N_()` where the text is translated later, when shown), and looked up in the compiled catalogue
`incident/locale/<lang>/LC_MESSAGES/incident.mo` through the standard library's gettext: no `.po` is
parsed at run time, and the `.mo` is not decoded as a whole either (:class:`Catalogue` finds each message
when it is first asked for, so a Japanese run starts as fast as an English one). Click's own words (`Usage:`, `Error:` …) go through the same catalogue: click looks
its messages up with `gettext.gettext`, so the `incident` domain is made the global one and the language
is given to gettext in `$LANGUAGE` (the variable GNU gettext reads first, for messages only).
"""

from __future__ import annotations

import gettext as _gettext
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

DOMAIN = "incident"
#: the interface languages; English is the language of the code, Japanese comes from the catalogue
LANGUAGES = ("en", "ja")
ENV_LANG = "INCIDENT_LANG"
#: a plain string: choosing the language is on the path of `incident --help`, which imports no pathlib
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    """`message` in the run's language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for `n` things, in the run's language."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it here (it is translated where it is shown)."""
    return message


@contextmanager
def in_english() -> Iterator[None]:
    """Messages made inside the block are in English (what a JSON document carries, whatever the run's
    language); the run's language is back after it. Click's own words are left as they are."""
    global _translation, _language
    saved = _translation, _language
    _translation, _language = _gettext.NullTranslations(), "en"
    try:
        yield
    finally:
        _translation, _language = saved


def current() -> str:
    """The language of this run: "en" or "ja"."""
    return _language


def is_japanese() -> bool:
    return _language == "ja"


def check_language(value: str) -> str:
    """A language code as given in $INCIDENT_LANG or config (`ja`, `JA`, `ja_JP.UTF-8` → "ja"); '' when it is
    none of the interface languages."""
    code = value.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return code if code in LANGUAGES else ""


def resolve(store_dir: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> str:
    """The language of a run in the documented order (see the module's docstring).

    A bad `$INCIDENT_LANG` is not guessed at: it is ignored here and reported by `activate_for` callers
    through :func:`bad_env_value`. The store's config is read only when it names a language (a bad value
    there is reported when the config is loaded)."""
    env = os.environ if environ is None else environ
    chosen = check_language(env.get(ENV_LANG, ""))
    if chosen:
        return chosen
    if store_dir is not None:
        configured = configured_language(os.path.join(store_dir, "config.toml"))
        if configured:
            return configured
    return locale_language(env)


def bad_env_value(environ: Mapping[str, str] | None = None) -> str:
    """The value of $INCIDENT_LANG when it is set to something that is not an interface language."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_LANG, "")
    return value if value.strip() and not check_language(value) else ""


def configured_language(config_file: str | os.PathLike[str]) -> str:
    """`language` from a store's config.toml ('' when the file is missing, names none, or is unreadable:
    the config's own loading reports a broken file in words the officer can act on)."""
    try:
        with open(config_file, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    if not _may_name_language(data):  # the common cases cost no TOML parsing at start-up
        return ""
    import tomllib  # only for a config that may name a language: `--help` reads no TOML

    try:
        value = tomllib.loads(data.decode("utf-8")).get("language", "")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    return check_language(value) if isinstance(value, str) else ""


def _may_name_language(data: bytes) -> bool:
    """False when the config's text cannot give `language` a value: the word is absent, or every line it
    is on is a bare `language = ""` (what `incident init` writes), which sets it to nothing wherever it
    stands. Anything else (a value, a quoted or dotted key, a comment) is left to the TOML parser."""
    if b"language" not in data:
        return False
    return any(b"language" in line and _EMPTY_LANGUAGE.fullmatch(line) is None
               for line in data.splitlines())


#: a line setting `language` to the empty string, as `incident init` writes it
_EMPTY_LANGUAGE = re.compile(rb'[ \t]*language[ \t]*=[ \t]*(?:""|\'\')[ \t]*')


def locale_language(environ: Mapping[str, str] | None = None) -> str:
    """"ja" when the user's locale is Japanese (LC_ALL, else LC_MESSAGES, else LANG; on Windows the
    user's UI language), else "en"."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes  # Windows only

        lang_id = ctypes.windll.kernel32.GetUserDefaultUILanguage()  # type: ignore[attr-defined]
        return "ja" if lang_id & 0x3FF == 0x11 else "en"  # LANG_JAPANESE
    return "en"


class Catalogue(_gettext.GNUTranslations):
    """A compiled catalogue (.mo) read without decoding it: a message is found when it is asked for, by
    binary search in the table of original strings, which the .mo format keeps sorted (GNU msgfmt and
    Babel both write it so; tests/test_i18n.py checks the bundled file), and decoded then. Loading costs
    one read of the file instead of decoding its ~900 entries, of which a run shows a few dozen."""

    def _parse(self, fp: Any) -> None:
        import struct  # a Japanese run only: `incident --help` in English never reads the catalogue

        self._catalog: dict[Any, str] = {}
        self._found: dict[str, str] = {}
        self._buf = buf = fp.read()
        magic = struct.unpack_from("<I", buf)[0]
        if magic == self.LE_MAGIC:
            self._ii = "<II"
            version, self._count, self._originals, self._translations = struct.unpack_from("<4I", buf, 4)
        elif magic == self.BE_MAGIC:
            self._ii = ">II"
            version, self._count, self._originals, self._translations = struct.unpack_from(">4I", buf, 4)
        else:
            raise OSError(0, "Bad magic number", getattr(fp, "name", ""))
        if version >> 16 not in self.VERSIONS:
            raise OSError(0, "Bad version number " + str(version >> 16), getattr(fp, "name", ""))
        self._unpack = struct.Struct(self._ii).unpack_from
        self._encoding = "utf-8"
        header = self._raw(b"")
        if header is not None:
            self._header(header.decode("ascii", "replace"))

    def _header(self, text: str) -> None:
        """The catalogue's charset and plural rule, from its header entry (the empty msgid)."""
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip().lower(), value.strip()
            if key == "content-type" and "charset=" in value:
                self._encoding = value.split("charset=")[1]
            elif key == "plural-forms":
                self.plural = _gettext.c2py(value.split(";")[1].split("plural=")[1])

    def _raw(self, key: bytes, prefix: bool = False) -> bytes | None:
        """The translation of the original `key` (with `prefix`, of the first original starting with it)."""
        lo, hi = 0, self._count
        buf, unpack = self._buf, self._unpack
        while lo < hi:
            mid = (lo + hi) // 2
            length, offset = unpack(buf, self._originals + 8 * mid)
            if buf[offset:offset + length] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo == self._count:
            return None
        length, offset = unpack(buf, self._originals + 8 * lo)
        original = buf[offset:offset + length]
        if original != key and not (prefix and original.startswith(key)):
            return None
        length, offset = unpack(buf, self._translations + 8 * lo)
        return bytes(buf[offset:offset + length])

    def gettext(self, message: str) -> str:
        found = self._found.get(message)
        if found is None:
            raw = self._raw(message.encode(self._encoding))
            found = self._found[message] = message if raw is None else raw.decode(self._encoding)
        return found

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        raw = self._raw(msgid1.encode(self._encoding) + b"\x00", prefix=True)
        if raw is None:
            return msgid1 if n == 1 else msgid2
        forms = raw.decode(self._encoding).split("\x00")
        return forms[min(self.plural(n), len(forms) - 1)]

    def pgettext(self, context: str, message: str) -> str:
        raw = self._raw(f"{context}\x04{message}".encode(self._encoding))
        return message if raw is None else raw.decode(self._encoding)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        raw = self._raw(f"{context}\x04{msgid1}\x00".encode(self._encoding), prefix=True)
        if raw is None:
            return msgid1 if n == 1 else msgid2
        forms = raw.decode(self._encoding).split("\x00")
        return forms[min(self.plural(n), len(forms) - 1)]


def activate(language: str) -> None:
    """Speak `language` ("en" or "ja") from now on, click's own words included."""
    global _translation, _language
    if language not in LANGUAGES:
        raise ValueError(f"not an interface language: {language!r}")
    _language = language
    if language == "en":
        _translation = _gettext.NullTranslations()
    else:
        _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], class_=Catalogue)
        # click's lookups (gettext.gettext -> gettext.translation) find this catalogue in gettext's cache of
        # loaded catalogues instead of parsing the whole file again
        cache = getattr(_gettext, "_translations", None)
        if isinstance(cache, dict):
            path = os.path.abspath(os.path.join(LOCALE_DIR, language, "LC_MESSAGES", DOMAIN + ".mo"))
            cache[(_gettext.GNUTranslations, path)] = _translation
    # click calls gettext.gettext(): our domain becomes the global one, in the chosen language
    _gettext.bindtextdomain(DOMAIN, LOCALE_DIR)
    _gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = language


def store_dir_from_args(args: Sequence[str], environ: Mapping[str, str] | None = None) -> str | None:
    """The store a command line will use, as far as the language needs it: `--store DIR` (or
    `--store=DIR`) anywhere before `--`, else $INCIDENT_HOME, else the platform's user data directory."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--store" and i + 1 < len(args):
            return os.path.expanduser(args[i + 1])
        if arg.startswith("--store="):
            return os.path.expanduser(arg.partition("=")[2])
    env = os.environ if environ is None else environ
    home = env.get("INCIDENT_HOME")
    if home:
        return os.path.expanduser(home)
    import platformdirs

    return str(platformdirs.user_data_dir("incident", appauthor=False))


def either(ja: str, en: str) -> str:
    """Of a text the data holds in both languages (a playbook's `*_ja` and `*_en`), the run's one (the
    Japanese when there is no English)."""
    return ja if _language == "ja" or not en else en
