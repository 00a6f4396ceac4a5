"""Word documents (.docx) from Word templates with docxtpl: a letter per person, a report, or the PPC
form's fields as a table for a ministry that takes reports by e-mail with a written form.

The wording is the notice's own (its template rendered in the print format, incident.notices.layout);
the Word template gives the letterhead, fonts and margins. The bundled templates are built by
scripts/build_docx_templates.py; an organization's same-named file in its store's `templates/docx/`
wins and is rendered in Jinja2's immutable sandbox.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident.errors import InputError
from incident.fsutil import atomic_write_bytes
from incident.i18n import _
from incident.notices.layout import Document, document
from incident.notices.mailmerge import safe_key
from incident.resources import builtin_dir

if TYPE_CHECKING:
    from incident.notices.form import FilledField
    from incident.notices.render import Renderer
    from incident.notices.roster import Person

LETTER, REPORT = "letter.docx", "report.docx"


@dataclass(frozen=True)
class DocxResult:
    count: int
    sha256: str
    """Of the one file, or over the files of a mail merge (each file's name and hash, in order)."""
    target: str


def template_path(name: str, template_dirs: Sequence[Path]) -> tuple[Path, bool]:
    """The Word template `name` and whether it is the organization's (searched before the bundled one)."""
    for directory in template_dirs:
        candidate = directory / "docx" / name
        if candidate.is_file():
            return candidate, True
    return builtin_dir("templates") / "docx" / name, False


def paragraphs(doc: Document) -> list[dict[str, str]]:
    """The body as the Word template's paragraphs: one per line, a kv block as 「label：value」."""
    out: list[dict[str, str]] = []
    for block in doc.body:
        if block.kind == "kv":
            out.append({"kind": "p", "text": "：".join(block.lines[:2])})
        else:
            out.extend({"kind": block.kind, "text": line} for line in block.lines)
    return out


def context(doc: Document, fields: Sequence[FilledField] = ()) -> dict[str, Any]:
    """The Word template's context; with the form's `fields`, those replace the body (the same facts)."""
    return {"title": doc.title, "dateline": list(doc.dateline), "addressee": list(doc.addressee),
            "sender": list(doc.sender), "body": [] if fields else paragraphs(doc),
            "fields": [{"number": f.number, "label": f.field.label, "value": f.value} for f in fields]}


class WordTemplate:
    """A Word template read once, rendered many times (docxtpl renders a template object once: each
    rendering opens the bytes read here)."""

    def __init__(self, name: str, template_dirs: Sequence[Path]) -> None:
        self.path, self.sandboxed = template_path(name, template_dirs)
        try:
            self.data = self.path.read_bytes()
        except OSError as exc:
            raise InputError(_("cannot read the Word template: {value}").format(value=exc.strerror or exc), file=self.path) from None
        self._env: Any = None

    def render(self, values: dict[str, Any]) -> bytes:
        import jinja2
        from docxtpl import DocxTemplate

        if self._env is None:
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            cls = ImmutableSandboxedEnvironment if self.sandboxed else jinja2.Environment
            self._env = _compiled_once(cls)(undefined=jinja2.StrictUndefined, autoescape=True)
        try:
            template = DocxTemplate(io.BytesIO(self.data))
            template.render(values, jinja_env=self._env, autoescape=True)
            out = io.BytesIO()
            template.save(out)
        except jinja2.exceptions.SecurityError as exc:
            raise InputError(_("the Word template attempted an unsafe operation and was stopped: {exc}")
                             .format(exc=exc),
                             file=self.path) from None
        except jinja2.TemplateError as exc:
            raise InputError(_("the Word template failed: {exc}").format(exc=exc), file=self.path) from None
        except Exception as exc:  # noqa: BLE001  a file that is not a Word document (zip, XML, docx errors)
            raise InputError(_("not a usable Word template: {name}: {exc}")
                             .format(name=type(exc).__name__, exc=exc), file=self.path) from None
        return out.getvalue()


def _compiled_once(cls: type[Any]) -> type[Any]:
    """`cls` with `from_string` remembering what it compiled: docxtpl compiles each part's XML for every
    rendering, and in a mail merge that XML is the same for every letter (the template's)."""

    class Compiled(cls):  # type: ignore[misc]
        def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
            cache: dict[Any, Any] = self.__dict__.setdefault("_compiled", {})
            if globals is not None or template_class is not None or not isinstance(source, str):
                return super().from_string(source, globals, template_class)
            if source not in cache:
                if len(cache) >= 64:  # a template has a handful of parts
                    cache.clear()
                cache[source] = super().from_string(source)
            return cache[source]

    return Compiled


def notice_docx(renderer: Renderer, path: Path, person: Person | None = None,
                fields: Sequence[FilledField] = ()) -> DocxResult:
    """One document (a letter when the kind is one, else a report; with `fields`, the form's table)."""
    name = LETTER if renderer.spec.per_person and not fields else REPORT
    template = WordTemplate(name, renderer.settings.template_dirs)
    doc = document(renderer.render(person).text)
    data = template.render(context(doc, fields))
    atomic_write_bytes(path, data)
    return DocxResult(1, hashlib.sha256(data).hexdigest(), str(path))


def letters_docx(renderer: Renderer, people: Iterable[Person], out_dir: Path, *,
                 progress: Callable[[int], None] | None = None) -> DocxResult:
    """One letter per person into `out_dir/<key>.docx` (0600); the hash covers every file in order."""
    template = WordTemplate(LETTER, renderer.settings.template_dirs)
    digest = hashlib.sha256()
    count = 0
    for person in people:
        count += 1
        doc = document(renderer.render(person, number=count).text)
        data = template.render(context(doc))
        key = safe_key(person.key)
        atomic_write_bytes(out_dir / f"{key}.docx", data)
        digest.update(key.encode() + b"\0" + hashlib.sha256(data).digest())
        if progress is not None and count % 100 == 0:
            progress(count)
    if count == 0:
        raise InputError(_("nobody to write a letter to: the roster is empty"), field="roster")
    return DocxResult(count, digest.hexdigest(), str(out_dir))

