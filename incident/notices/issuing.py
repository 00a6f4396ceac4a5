"""Issuing notices: render a report or notice (or one per person of the roster), write it, and record
it in the incident's `notices` section and the audit log (kind, format, path, count, SHA-256, when, by
whom), so that purge finds every file of personal data written, even from a run that was killed.

`issue` takes a `NoticeRequest` and returns what it wrote; a mail merge asked to `check` reads its
output back and logs the check (`notice-check`). A caller is told of what happens through `Hooks` (the
command line hands in its warnings, prompts and a progress bar; a script hands in nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident.dates import parse_date
from incident.errors import InputError
from incident.fsutil import atomic_write_text
from incident.i18n import _
from incident.notices.items import KINDS
from incident.notices.mailmerge import MERGE_FORMATS, IdentityIndex, check_outputs, mail_merge, require_sender
from incident.notices.roster import iter_people
from incident.notices.roster_import import PersonsHook, check_persons
from incident.notices.rosterfile import roster_info
from incident.outputs import output_file, private_output_dir

if TYPE_CHECKING:
    from incident.law.context import Context
    from incident.notices.docx import DocxResult
    from incident.notices.form import FilledField, FormSpec
    from incident.notices.mailmerge import CheckResult, MergeResult
    from incident.notices.pdf import PdfResult
    from incident.notices.render import Rendered, Renderer, Settings
    from incident.register.backend import RegisterStore

#: a step's progress: called with how many of the step's items are done
Tick = Callable[[int], None]
#: opens the progress of a step (its label, its total); yields the tick, or None for no progress
ProgressFactory = Callable[[str, int], AbstractContextManager[Tick | None]]


@contextmanager
def no_progress(_label: str, _total: int) -> Iterator[Tick | None]:
    """The progress of a caller that shows none."""
    yield None


def settings_of(ctx: Context) -> Settings:
    """The renderer's settings in a command's context: its config and the organization's templates and playbooks."""
    from incident.notices.render import Settings

    return Settings(ctx.config, ctx.template_dirs, ctx.playbook_dirs, context=ctx)


#: formats written to a file by their own writer (never to standard output)
DOCUMENT_FORMATS = ("pdf", "docx")
#: the regulator report as the PPC web form's fields: as text blocks to paste, or as a sheet
FORM_FORMATS = ("form", "xlsx")


@dataclass(frozen=True)
class NoticeRequest:
    """What to render for an incident, and where (the options of `incident notice`)."""

    incident_id: str
    kind: str
    lang: str | None = None
    fmt: str | None = None
    output: Path | None = None
    """One document's file (stdout for text when None)."""
    draft: bool = False
    roster: bool = False
    """One notice per person of the roster."""
    out_dir: Path | None = None
    mbox: Path | None = None
    check: bool = False
    """A mail merge's output is read back: each notice names only its own person."""
    dated: str | None = None
    """The date the letter bears, as typed (default today)."""
    doc_number: str = ""
    regime: str | None = None


def _never(_question: str) -> bool:
    return False


@dataclass(frozen=True)
class Hooks:
    """What a caller is told, or asked, while notices are issued; by default nothing and no."""

    rendering: Callable[[Renderer], None] | None = None
    """Told of the renderer before anything is written (its warnings, the missing items of a draft)."""
    persons: PersonsHook | None = None
    """Told when the roster has more people than `persons`; answers whether to update it."""
    progress: ProgressFactory = no_progress
    confirm: Callable[[str], bool] | None = None
    """Asked whether an output directory that is not private may be made private."""


@dataclass(frozen=True)
class Issued:
    """A rendering recorded in the incident's `notices` section and the audit log (`notice`)."""

    renderer: Renderer
    entry: dict[str, Any]
    """The recorded entry: kind, lang, format, sha256, at, actor, path, count, draft."""


@dataclass(frozen=True)
class SingleNotice(Issued):
    """One notice as text (txt, md or html), to a file or for standard output."""

    rendered: Rendered
    fmt: str


@dataclass(frozen=True)
class PrintRun(Issued):
    """A PDF: one notice, or with the roster one letter per person in one file."""

    result: PdfResult


@dataclass(frozen=True)
class WordNotice(Issued):
    """Word: one notice (a report to the regulator with the form's fields) or one letter per person."""

    result: DocxResult
    target: Path


@dataclass(frozen=True)
class FormNotice(Issued):
    """The report as the regulator's web form's fields: text blocks, or a sheet (xlsx)."""

    form: FormSpec
    filled: list[FilledField]
    text: str | None
    """The text blocks (None for a sheet)."""


@dataclass(frozen=True)
class MergedNotices(Issued):
    """A mail merge: one notice per person into a directory or an mbox, and its check if asked."""

    result: MergeResult
    fmt: str
    check: CheckResult | None

    @property
    def ok(self) -> bool:
        """No check was asked, or every notice names only its own person."""
        return self.check is None or self.check.ok


def issue(ctx: Context, request: NoticeRequest, *, actor: str, hooks: Hooks = Hooks()) -> Issued:
    """Render what `request` asks, write it, and record it (and a mail merge's check, `notice-check`)."""
    if request.fmt in FORM_FORMATS:
        return _form(ctx, request, actor, hooks)
    if request.fmt == "docx":
        return _word(ctx, request, actor, hooks)
    if request.fmt in DOCUMENT_FORMATS:
        return _document(ctx, request, actor, hooks)
    if request.roster or request.out_dir or request.mbox:
        if not request.roster:
            raise InputError(_("--out and --mbox write one notice per person: add --roster"), field="roster")
        return _merge(ctx, request, actor, hooks)
    if request.check:
        raise InputError(_("--check proves a mail merge's output: use it with --roster"), field="check")
    return _single(ctx, request, actor, hooks)


def _renderer(ctx: Context, request: NoticeRequest, fmt: str, hooks: Hooks) -> Renderer:
    from incident.notices.render import Renderer

    record = ctx.store.load(request.incident_id)
    dated = None
    if request.dated:
        dated = parse_date(request.dated, field="date")
    renderer = Renderer(settings_of(ctx), record, request.kind, request.lang, fmt,  # type: ignore[arg-type]
                        draft=request.draft, now=ctx.now(), dated=dated, doc_number=request.doc_number,
                        regime=request.regime)
    if hooks.rendering is not None:
        hooks.rendering(renderer)
    return renderer


def _record_intent(store: RegisterStore, renderer: Renderer, target: Path, count: int, fmt: str, actor: str) -> None:
    """Record where people's data is about to be written, before the first byte (purge finds it even when
    the run is killed); `_record` completes the entry when the writing is done."""
    from incident.notices.render import append_notice, notice_entry

    entry = {**notice_entry(renderer, sha256="", actor=actor, at=renderer.now, path=str(target.resolve()),
                            count=count, fmt=fmt), "state": "writing"}
    store.update(renderer.record.id, lambda r: append_notice(r, entry), actor=actor, action="notice-output",
                 extra={"kind": entry["kind"], "path": entry["path"], "count": count, "state": "writing"})


def _record(store: RegisterStore, renderer: Renderer, entry: dict[str, Any], actor: str) -> None:
    from incident.notices.render import append_notice

    store.update(renderer.record.id, lambda r: append_notice(r, entry), actor=actor, action="notice",
                 extra={"kind": entry["kind"], "lang": entry["lang"], "sha256": entry["sha256"],
                        "draft": entry["draft"], **({"count": entry["count"]} if "count" in entry else {})})


def _per_person(kind: str) -> None:
    if not KINDS[kind].per_person:
        raise InputError(_("{kind} is not a notice to a person; per-person kinds: {join}")
                         .format(kind=kind, join=', '.join(k for k, s in KINDS.items() if s.per_person)), field="kind")


def _document(ctx: Context, request: NoticeRequest, actor: str, hooks: Hooks) -> PrintRun:
    """A PDF: one notice, or with --roster one letter per person in one print-run file."""
    from incident.notices.pdf import letters_pdf
    from incident.notices.render import notice_entry

    if request.output is None:
        raise InputError(_("{fmt} is written to a file: give -o FILE.{fmt}").format(fmt=request.fmt), field="output")
    if request.out_dir is not None or request.mbox is not None:
        raise InputError(_("a {fmt} print run is one file: use -o FILE.{fmt}, not --out or --mbox")
                         .format(fmt=request.fmt),
                         field="out")
    if request.check:
        raise InputError(_("--check reads text and e-mail notices back; a PDF print run is checked by its "
                         "page count and the recorded hash"), field="check")

    output_file(request.output, option="--output", personal=True)
    if request.roster:
        _per_person(request.kind)
    renderer = _renderer(ctx, request, "print", hooks)
    people: Any = [None]
    if request.roster:
        path = ctx.store.roster_path(request.incident_id)
        meta = roster_info(path)
        check_persons(ctx.store, renderer.record, meta.count, actor, hooks.persons)
        people = iter_people(path, ctx.store.roster_key())
        total = meta.count
    else:
        total = 1
    if request.roster:
        _record_intent(ctx.store, renderer, request.output, total, "pdf", actor)
    with hooks.progress("printing", total) as tick:
        result = letters_pdf(renderer, people, request.output, progress=tick)
    entry = notice_entry(renderer, sha256=result.sha256, actor=actor, at=renderer.now,
                         path=str(request.output.resolve()), count=result.count if request.roster else None,
                         fmt="pdf")
    _record(ctx.store, renderer, entry, actor)
    return PrintRun(renderer, entry, result)


def _word(ctx: Context, request: NoticeRequest, actor: str, hooks: Hooks) -> WordNotice:
    """Word: one notice (-o FILE.docx), one letter per person (--roster --out DIR), or for a report to the
    regulator the PPC form's fields as a table (for a ministry that takes a written form by e-mail)."""
    from incident.notices.docx import letters_docx, notice_docx
    from incident.notices.form import FORM_KINDS
    from incident.notices.render import notice_entry

    if request.mbox is not None or request.check:
        raise InputError(_("Word letters go to a directory (--roster --out DIR) or one file (-o FILE.docx); "
                           "--mbox and --check are for e-mails and text"), field="format")
    if request.roster:
        if request.out_dir is None or request.output is not None:
            raise InputError(_("with --roster, Word letters go one file per person into --out DIR"), field="out")
        if not KINDS[request.kind].per_person:
            raise InputError(_("{kind} is not a notice to a person; per-person kinds: {join}").format(
                kind=request.kind, join=", ".join(k for k, s in KINDS.items() if s.per_person)), field="kind")
        private_output_dir(request.out_dir, option="--out", confirm=hooks.confirm)
    else:
        if request.output is None or request.out_dir is not None:
            raise InputError(_("docx is written to a file: give -o FILE.docx (or --roster --out DIR)"),
                             field="output")
        output_file(request.output, option="--output", personal=True)
    renderer = _renderer(ctx, request, "print", hooks)
    if request.roster:
        assert request.out_dir is not None
        path = ctx.store.roster_path(request.incident_id)
        meta = roster_info(path)
        check_persons(ctx.store, renderer.record, meta.count, actor, hooks.persons)
        with hooks.progress("writing", meta.count) as tick:
            result = letters_docx(renderer, iter_people(path, ctx.store.roster_key()), request.out_dir, progress=tick)
        target: Path = request.out_dir
    else:
        assert request.output is not None
        fields: list[Any] = []
        if renderer.spec.id in FORM_KINDS:
            from incident.notices.form import fill, form_for, load_form

            dirs = ctx.playbook_dirs
            fields = fill(load_form(form_for(renderer.record, dirs), dirs), renderer)
        result = notice_docx(renderer, request.output, fields=fields)
        target = request.output
    entry = notice_entry(renderer, sha256=result.sha256, actor=actor, at=renderer.now,
                         path=str(target.resolve()), count=result.count if request.roster else None, fmt="docx")
    _record(ctx.store, renderer, entry, actor)
    return WordNotice(renderer, entry, result, target)


def _form(ctx: Context, request: NoticeRequest, actor: str, hooks: Hooks) -> FormNotice:
    """The report as the PPC web form's fields (text blocks, or a sheet with -o FILE.xlsx)."""
    from incident.notices.form import fill, form_for, form_text, load_form
    from incident.notices.render import notice_entry, sha256_text

    if request.roster or request.out_dir or request.mbox:
        raise InputError(_("the form is one report, not one per person: leave out --roster, --out and --mbox"),
                         field="format")
    if request.fmt == "xlsx" and request.output is None:
        raise InputError(_("xlsx is written to a file: give -o FILE.xlsx"), field="output")
    if request.output is not None:
        output_file(request.output, option="--output")
    renderer = _renderer(ctx, request, "txt", hooks)
    spec = load_form(form_for(renderer.record, ctx.playbook_dirs), ctx.playbook_dirs)
    filled = fill(spec, renderer)
    if request.fmt == "xlsx":
        from incident.notices.form import form_sheet

        assert request.output is not None
        digest = form_sheet(spec, filled, request.output)
        text = None
    else:
        text = form_text(spec, filled, renderer)
        digest = sha256_text(text)
        if request.output is not None:
            atomic_write_text(request.output, text)
    entry = notice_entry(renderer, sha256=digest, actor=actor, at=renderer.now,
                         path=str(request.output.resolve()) if request.output else None, fmt=request.fmt)
    entry["form"] = spec.id
    _record(ctx.store, renderer, entry, actor)
    return FormNotice(renderer, entry, spec, filled, text)


def _single(ctx: Context, request: NoticeRequest, actor: str, hooks: Hooks) -> SingleNotice:
    from incident.notices.render import notice_entry, sha256_text

    fmt = request.fmt or "txt"
    if fmt == "eml":
        raise InputError(_("eml is for one e-mail per person: use it with --roster --out DIR"), field="format")
    if request.output is not None:
        output_file(request.output, option="--output", personal=True)
    renderer = _renderer(ctx, request, fmt, hooks)
    rendered = renderer.render()
    digest = sha256_text(rendered.text)
    if request.output is not None:
        atomic_write_text(request.output, rendered.text)
    entry = notice_entry(renderer, sha256=digest, actor=actor, at=renderer.now,
                         path=str(request.output) if request.output else None)
    _record(ctx.store, renderer, entry, actor)
    return SingleNotice(renderer, entry, rendered, fmt)


def _merge(ctx: Context, request: NoticeRequest, actor: str, hooks: Hooks) -> MergedNotices:
    from incident.notices.render import notice_entry

    if (request.out_dir is None) == (request.mbox is None):
        raise InputError(_("--roster writes to a directory (--out DIR) or to one mbox file (--mbox FILE)"),
                         field="out")
    if request.output is not None:
        raise InputError(_("-o is for one document; with --roster use --out DIR or --mbox FILE"), field="output")
    fmt = request.fmt or ("eml" if request.mbox else "txt")
    if fmt not in MERGE_FORMATS:
        raise InputError(_("with --roster the format is one of {join}")
                         .format(join=', '.join(MERGE_FORMATS)), field="format")

    if fmt == "eml":
        require_sender(ctx.config)
    if request.out_dir is not None:
        private_output_dir(request.out_dir, option="--out", confirm=hooks.confirm)
    if request.mbox is not None:
        output_file(request.mbox, option="--mbox", personal=True)
    _per_person(request.kind)
    path = ctx.store.roster_path(request.incident_id)
    meta = roster_info(path)
    key = ctx.store.roster_key()
    renderer = _renderer(ctx, request, "txt" if fmt == "eml" else fmt, hooks)
    check_persons(ctx.store, renderer.record, meta.count, actor, hooks.persons)
    target = request.mbox if request.mbox is not None else request.out_dir
    assert target is not None
    _record_intent(ctx.store, renderer, target, meta.count, fmt, actor)
    with hooks.progress("rendering", meta.count) as tick:
        result = mail_merge(renderer, iter_people(path, key), out_dir=request.out_dir, mbox=request.mbox,
                            fmt=fmt, progress=tick)
    entry = notice_entry(renderer, sha256=result.sha256, actor=actor, at=renderer.now,
                         path=str(Path(result.target).resolve()), count=result.count, fmt=fmt)
    _record(ctx.store, renderer, entry, actor)
    checked = None
    if request.check:
        index = IdentityIndex.build(iter_people(path, key))
        checked = check_outputs(index, out_dir=request.out_dir, mbox=request.mbox, fmt=fmt)
        ctx.store.log(actor, "notice-check", request.incident_id,
                  {"kind": request.kind, "checked": checked.checked, "failures": checked.failure_count})
    return MergedNotices(renderer, entry, result, fmt, checked)
