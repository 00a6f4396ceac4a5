"""The Japanese font of PDF letters: found, checked, and registered for embedding as a subset.

PDF letters never use the non-embedded CID fonts (HeiseiMin-W3 and the like render differently in every
viewer): a TrueType/OpenType font with TrueType outlines is embedded, only the glyphs used. The font is
`pdf_font` in the store's config (a file, or a family name), else the first found among the usual
locations of Debian (fonts-ipaexfont, fonts-morisawa-bizud-*), Windows (游明朝, MS 明朝) and macOS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from incident.errors import InputError
from incident.i18n import _

INSTALL_HINT: Final = ("install a Japanese font (Debian/Ubuntu: apt-get install fonts-ipaexfont) or set "
                       "pdf_font in the store's config.toml to a .ttf/.otf/.ttc file or a font family name")

_FONT_DIRS: Final = (
    "/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
    "C:/Windows/Fonts", "~/AppData/Local/Microsoft/Windows/Fonts",
    "/System/Library/Fonts", "/Library/Fonts", "~/Library/Fonts",
)
# Families and their usual file names, preferred first (明朝 for letters, then ゴシック).
KNOWN_FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "IPAexMincho": ("ipaexm.ttf",),
    "BIZ UDMincho": ("BIZUDMincho-Regular.ttf", "BIZUDMincho-Regular.ttc"),
    "BIZ UDPMincho": ("BIZUDPMincho-Regular.ttf",),
    "IPAMincho": ("ipam.ttf",),
    "Yu Mincho": ("yumin.ttf",),
    "MS Mincho": ("msmincho.ttc",),
    "IPAexGothic": ("ipaexg.ttf",),
    "BIZ UDGothic": ("BIZUDGothic-Regular.ttf", "BIZUDGothic-Regular.ttc"),
    "Noto Serif CJK JP": ("NotoSerifCJKjp-Regular.ttf",),
    "Yu Gothic": ("YuGothR.ttc", "yugothic.ttf"),
    "MS Gothic": ("msgothic.ttc",),
    "Hiragino Mincho ProN": ("ヒラギノ明朝 ProN.ttc", "HiraginoMincho.ttc"),
}
_SUFFIXES: Final = (".ttf", ".otf", ".ttc")


@dataclass(frozen=True)
class PdfFont:
    """A registered font: the name ReportLab knows it by, and the file it came from."""

    name: str
    path: Path


def _dirs() -> list[Path]:
    return [Path(os.path.expanduser(d)) for d in _FONT_DIRS if Path(os.path.expanduser(d)).is_dir()]


def _find_file(names: tuple[str, ...]) -> Path | None:
    wanted = {n.casefold() for n in names}
    for directory in _dirs():
        for root, _subdirs, files in os.walk(directory):
            for name in files:
                if name.casefold() in wanted:
                    return Path(root) / name
    return None


def _normal(name: str) -> str:
    return "".join(name.split()).casefold()


def _by_family(family: str) -> Path | None:
    for known, files in KNOWN_FAMILIES.items():
        if _normal(known) == _normal(family):
            found = _find_file(files)
            if found:
                return found
    fc_match = shutil.which("fc-match")
    if fc_match:  # fontconfig knows every installed family by its names, Japanese ones too
        try:
            out = subprocess.run([fc_match, "-f", "%{file}\n%{family}", family], capture_output=True, text=True,
                                 timeout=10, check=False).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            out = []
        if len(out) == 2 and any(_normal(f) == _normal(family) for f in out[1].split(",")):
            return Path(out[0])
    return None


def locate(setting: str) -> Path:
    """The font file for the `pdf_font` setting (a path or a family; empty: the usual locations)."""
    if setting:
        candidate = Path(os.path.expanduser(setting))
        if candidate.suffix.casefold() in _SUFFIXES or os.sep in setting or "/" in setting:
            if not candidate.is_file():
                raise InputError(_("font file {setting} not found; {install_hint}")
                                 .format(setting=setting, install_hint=INSTALL_HINT), field="pdf_font")
            return candidate
        found = _by_family(setting)
        if found is None:
            raise InputError(_("font family {setting!r} is not installed; {install_hint}")
                             .format(setting=setting, install_hint=INSTALL_HINT), field="pdf_font")
        return found
    for files in KNOWN_FAMILIES.values():
        found = _find_file(files)
        if found:
            return found
    raise InputError(_("no Japanese font found for PDF letters: {install_hint}")
                     .format(install_hint=INSTALL_HINT), field="pdf_font")


@lru_cache(maxsize=8)
def register(path: Path) -> PdfFont:
    """Register the font with ReportLab (TrueType outlines, embedded as a subset of the glyphs used)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    name = "Letter-" + path.stem.replace(" ", "")
    try:
        font = TTFont(name, str(path), subfontIndex=0) if path.suffix.casefold() == ".ttc" else TTFont(name, str(path))
    except TTFError as exc:
        raise InputError(_("font {path} cannot be embedded ({exc}); it needs TrueType outlines — {install_hint}")
                         .format(path=path, exc=exc, install_hint=INSTALL_HINT), field="pdf_font") from None
    pdfmetrics.registerFont(font)
    return PdfFont(name, path)


def letter_font(setting: str) -> PdfFont:
    return register(locate(setting))
