"""`incident notice`: render a report or notice, or one notice per person of the roster (mail merge).

Options become a frozen request, the core (incident.notices.render, incident.notices.mailmerge) renders, and every rendering is recorded
in the incident's `notices` section and the audit log (kind, SHA-256, when, by whom).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import (
    LANGUAGE_LABELS,
    LabelledChoice,
    emit_json,
    get_env,
    info,
    is_interactive,
    json_option,
    store_options,
)
from incident.i18n import _, either

if TYPE_CHECKING:
    from incident.notices.mailmerge import CheckResult
    from incident.notices.render import Renderer, Settings
    from incident.register.backend import RegisterStore


def _kinds() -> Iterable[str]:
    from incident.notices.items import KINDS

    return KINDS


def _langs() -> Iterable[str]:
    from incident.notices.items import LANGS

    return LANGS


def _formats() -> Iterable[str]:
    from incident.notices.render import FORMATS

    return (*FORMATS, "eml", *DOCUMENT_FORMATS, *FORM_FORMATS)


DOCUMENT_FORMATS = ("pdf", "docx")
FORM_FORMATS = ("form", "xlsx")
"""The regulator report as the PPC web form's fields: as text blocks to paste, or as a sheet."""
"""Formats written to a file by their own writer (never to standard output)."""


@dataclass(frozen=True)
class NoticeRequest:
    incident_id: str
    kind: str
    lang: str | None
    fmt: str | None
    output: Path | None
    draft: bool
    roster: bool
    out_dir: Path | None
    mbox: Path | None
    check: bool
    as_json: bool
    dated: str | None = None
    doc_number: str = ""
    regime: str | None = None


def settings_of(store: RegisterStore) -> Settings:
    from incident.notices.render import Settings

    return Settings(store.config, store.extra_dirs("templates"), store.extra_dirs("playbooks"))


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr when it is a terminal; nothing (None) on a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=get_env().err, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


@click.command("notice")
@click.argument("incident_id", metavar="ID", required=False)
@click.option("--kind", type=LabelledChoice(_kinds), help="What to render (`incident notice kinds`).")
@click.option("--lang", type=LabelledChoice(_langs, LANGUAGE_LABELS), help="Language (default: the kind's first).")
@click.option("--format", "fmt", type=LabelledChoice(_formats),
              help="txt (default), md or html; with --roster: txt, html or eml; pdf (-o FILE.pdf, with --roster "
              "one letter per person for window envelopes).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default stdout).")
@click.option("--draft", is_flag=True, help="Render even when items are missing, with 【未記入：…】 markers.")
@click.option("--roster", is_flag=True, help="One notice per person of the imported roster (mail merge).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --roster: the directory for the notices (one file per person, named by roster key).")
@click.option("--mbox", type=click.Path(dir_okay=False, path_type=Path),
              help="With --roster: write every e-mail into one mbox file instead.")
@click.option("--check", is_flag=True, help="With --roster: re-read the output and prove each notice names "
              "only its own person.")
@click.option("--date", "dated", metavar="DATE", help="The date the letter bears (default today; printed in "
              "era form, 令和6年6月3日).")
@click.option("--doc-number", default="", metavar="TEXT", help="The 文書番号 printed on letters; {n} becomes each "
              "letter's number in a print run (総第123-{n}号).")
@click.option("--regime", metavar="REGIME", help="The regime whose obligation the report fulfils when several "
              "have one (a public body's My Number report: --regime mynumber); default: the first.")
@click.option("--test-sheet", is_flag=True, help="With -o FILE.pdf: one page with the envelope window's outline "
              "([letter.window] in config) to hold against the office's envelopes; no ID needed.")
@click.option("--mark-mailed", is_flag=True, help="Record that the latest letter print run (--roster) was posted; "
              "with the e-mails sent, the notice to individuals is then done.")
@click.option("--at", "at_text", metavar="DATE", help="With --mark-mailed: when the letters were posted.")
@json_option
@store_options
def notice_cmd(incident_id: str | None, kind: str | None, lang: str | None, fmt: str | None, output: Path | None,
               draft: bool, roster: bool, out_dir: Path | None, mbox: Path | None, check: bool,
               dated: str | None, doc_number: str, regime: str | None, test_sheet: bool, mark_mailed: bool,
               at_text: str | None, as_json: bool) -> None:
    """Render a report or notice for incident ID (`incident notice kinds` lists the kinds).

    The record must hold every item the notice needs (from the stored assessment, else the kind's
    default); otherwise the missing items are named and nothing is rendered, unless --draft.
    """
    from incident.errors import InputError

    if test_sheet:
        _test_sheet(output, as_json)
        return
    if incident_id is None:
        raise InputError(_("give the incident ID (`incident list` shows them)"), field="ID")
    if incident_id == "kinds":
        _list_kinds(as_json)
        return
    if mark_mailed or at_text:
        if kind or lang or fmt or output or draft or roster or out_dir or mbox or check or dated or doc_number:
            raise InputError(_("--mark-mailed records a print run already made; it takes only --at DATE"),
                             field="mark-mailed")
        if not (mark_mailed and at_text):
            raise InputError(_("record posted letters with --mark-mailed --at DATE (both)"), field="at")
        _mark_mailed(incident_id, at_text, as_json)
        return
    if kind is None:
        raise InputError(_("--kind is required; `incident notice kinds` lists them"), field="kind")
    request = NoticeRequest(incident_id, kind, lang, fmt, output, draft, roster, out_dir, mbox, check, as_json,
                            dated, doc_number, regime)
    if fmt in FORM_FORMATS:
        _form(request)
    elif fmt == "docx":
        _word(request)
    elif fmt in DOCUMENT_FORMATS:
        _document(request)
    elif roster or out_dir or mbox:
        if not roster:
            raise InputError(_("--out and --mbox write one notice per person: add --roster"), field="roster")
        _merge(request)
    else:
        if check:
            raise InputError(_("--check proves a mail merge's output: use it with --roster"), field="check")
        _single(request)


def _mark_mailed(incident_id: str, at_text: str, as_json: bool) -> None:
    from incident.dates import parse_datetime
    from incident.followup.notification import mark_mailed

    env = get_env()
    store = env.store()
    at = parse_datetime(at_text, store.tz, field="--at")
    run, done = mark_mailed(store, incident_id, at=at, actor=env.actor())
    if as_json:
        emit_json({"incident": incident_id, "kind": run["kind"], "count": run["count"], "mailed_at": at,
                   "completed": None if done is None else {
                       "obligations": list(done.obligations), "method": done.method, "count": done.count,
                       "at": done.at, "filled_response": done.filled is not None}})
        return
    info(_("Marked {count} {kind} letter(s) of {incident_id} mailed on {isoformat}.")
         .format(count=run['count'], kind=run['kind'], incident_id=incident_id, isoformat=at.isoformat()))
    if done is not None:
        info(_("Marked {obligations} done ({count} people by {method})").format(
            obligations=", ".join(done.obligations), count=done.count, method=_(done.method))
             + (_("; response_to_individuals (本人への対応) filled in.") if done.filled else _(".")))


#: whom a notice kind is for, and where its template comes from, as a Japanese run shows them
AUDIENCE_JA = {"regulator": "個人情報保護委員会等", "individual": "本人", "public": "公表", "entruster": "委託元",
               "internal": "組織内", "authority": "監督機関"}
ORIGIN_JA = {"builtin": "標準", "organization": "組織独自"}


def _list_kinds(as_json: bool) -> None:
    from incident.notices.items import KINDS
    from incident.notices.render import template_origin

    env = get_env()
    extra: tuple[Path, ...] = ()
    try:
        extra = env.store().extra_dirs("templates")
    except Exception:  # noqa: BLE001  listing the builtin kinds needs no store
        extra = ()
    rows: list[dict[str, Any]] = []
    for spec in KINDS.values():
        for lang in spec.langs:
            origin = template_origin(spec.id, lang, extra)
            rows.append({"kind": spec.id, "lang": lang, "audience": spec.audience, "description": spec.description_en,
                         "description_ja": spec.description_ja,
                         "per_person": spec.per_person, "email": spec.email,
                         "template": "organization" if extra and origin.parents[2] in extra else "builtin"})
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(_("kind"), _("lang"), _("for"), _("description"), _("template"))
    table.columns[3].overflow = "fold"  # a Japanese description has no spaces to wrap at
    for row in rows:
        table.add_row(row["kind"], either(LANGUAGE_LABELS[row["lang"]], row["lang"]),
                      either(AUDIENCE_JA[row["audience"]], row["audience"]),
                      either(row["description_ja"], row["description"]),
                      either(ORIGIN_JA[row["template"]], row["template"]))
    env.console.print(table)


def _renderer(store: RegisterStore, request: NoticeRequest, fmt: str) -> Renderer:
    from incident.notices.render import Renderer

    record = store.load(request.incident_id)
    dated = None
    if request.dated:
        from incident.dates import parse_date

        dated = parse_date(request.dated, field="date")
    renderer = Renderer(settings_of(store), record, request.kind, request.lang, fmt,  # type: ignore[arg-type]
                        draft=request.draft, dated=dated, doc_number=request.doc_number,
                        regime=request.regime)
    for warning in renderer.plan.warnings:
        info(_("warning: {warning}").format(warning=warning))
    if renderer.missing:
        info("draft: " + "、".join(str(m) for m in renderer.missing))
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


def _test_sheet(output: Path | None, as_json: bool) -> None:
    from incident.errors import InputError
    from incident.notices.pdf import window_test_sheet

    if output is None:
        raise InputError(_("--test-sheet writes a PDF: give -o FILE.pdf"), field="output")
    from incident.outputs import output_file

    output_file(output, option="--output")
    config = get_env().store().config
    digest = window_test_sheet(config.letter, config.pdf_font, output)
    window = config.letter.window
    if as_json:
        emit_json({"path": str(output), "sha256": digest, "window": {"top": window.top, "left": window.left,
                                                                    "width": window.width, "height": window.height}})
        return
    info(_("Wrote the window test sheet to {output} (window {width} x {height} mm at {left} mm from the left, {top} mm from the top; [letter.window] in config.toml)")
         .format(output=output, width=window.width, height=window.height, left=window.left, top=window.top))


def _document(request: NoticeRequest) -> None:
    """A PDF: one notice, or with --roster one letter per person in one print-run file."""
    from incident.errors import InputError
    from incident.notices.items import KINDS
    from incident.notices.pdf import letters_pdf
    from incident.notices.render import notice_entry
    from incident.notices.roster import iter_people

    if request.output is None:
        raise InputError(_("{fmt} is written to a file: give -o FILE.{fmt}").format(fmt=request.fmt), field="output")
    if request.out_dir is not None or request.mbox is not None:
        raise InputError(_("a {fmt} print run is one file: use -o FILE.{fmt}, not --out or --mbox")
                         .format(fmt=request.fmt),
                         field="out")
    if request.check:
        raise InputError(_("--check reads text and e-mail notices back; a PDF print run is checked by its "
                         "page count and the recorded hash"), field="check")
    from incident.outputs import output_file

    output_file(request.output, option="--output", personal=True)
    env = get_env()
    store = env.store()
    if request.roster and not KINDS[request.kind].per_person:
        raise InputError(_("{kind} is not a notice to a person; per-person kinds: {join}")
                         .format(kind=request.kind, join=', '.join(k for k, s in KINDS.items() if s.per_person)), field="kind")
    renderer = _renderer(store, request, "print")
    people: Any = [None]
    if request.roster:
        from incident.cli.roster import check_persons
        from incident.notices.rosterfile import roster_info

        path = store.roster_path(request.incident_id)
        meta = roster_info(path)
        check_persons(store, renderer.record, meta.count, env.actor())
        people = iter_people(path, store.roster_key())
        total = meta.count
    else:
        total = 1
    if request.roster:
        _record_intent(store, renderer, request.output, total, "pdf", env.actor())
    with progress_bar("printing", total) as progress:
        result = letters_pdf(renderer, people, request.output, progress=progress)
    entry = notice_entry(renderer, sha256=result.sha256, actor=env.actor(), at=renderer.now,
                         path=str(request.output.resolve()), count=result.count if request.roster else None,
                         fmt="pdf")
    _record(store, renderer, entry, env.actor())
    if request.as_json:
        emit_json({**entry, "pages": result.pages, "no_address": result.no_address})
        return
    what = f"{result.count} {renderer.spec.id} letter(s)" if request.roster else renderer.spec.id
    info(_("Wrote {what} on {pages} page(s) (pdf) for {incident_id} to {output}; sha256 {value}…")
         .format(what=what, pages=result.pages, incident_id=request.incident_id, output=request.output, value=result.sha256[:16]))
    if result.no_address and request.roster:
        info(_("warning: {no_address} people have no postal address").format(no_address=result.no_address))


def _word(request: NoticeRequest) -> None:
    """Word: one notice (-o FILE.docx), one letter per person (--roster --out DIR), or for a report to the
    regulator the PPC form's fields as a table (for a ministry that takes a written form by e-mail)."""
    from incident.errors import InputError
    from incident.notices.docx import letters_docx, notice_docx
    from incident.notices.form import FORM_KINDS
    from incident.notices.items import KINDS
    from incident.notices.render import notice_entry
    from incident.outputs import output_file, private_output_dir

    if request.mbox is not None or request.check:
        raise InputError("Word letters go to a directory (--roster --out DIR) or one file (-o FILE.docx); "
                         "--mbox and --check are for e-mails and text", field="format")
    env = get_env()
    store = env.store()
    if request.roster:
        if request.out_dir is None or request.output is not None:
            raise InputError("with --roster, Word letters go one file per person into --out DIR", field="out")
        if not KINDS[request.kind].per_person:
            raise InputError(f"{request.kind} is not a notice to a person; per-person kinds: "
                             f"{', '.join(k for k, s in KINDS.items() if s.per_person)}", field="kind")
        private_output_dir(request.out_dir, option="--out", confirm=_ask if is_interactive() else None)
    else:
        if request.output is None or request.out_dir is not None:
            raise InputError("docx is written to a file: give -o FILE.docx (or --roster --out DIR)", field="output")
        output_file(request.output, option="--output", personal=True)
    renderer = _renderer(store, request, "print")
    if request.roster:
        from incident.cli.roster import check_persons
        from incident.notices.roster import iter_people
        from incident.notices.rosterfile import roster_info

        assert request.out_dir is not None
        path = store.roster_path(request.incident_id)
        meta = roster_info(path)
        check_persons(store, renderer.record, meta.count, env.actor())
        with progress_bar("writing", meta.count) as progress:
            result = letters_docx(renderer, iter_people(path, store.roster_key()), request.out_dir,
                                  progress=progress)
        target: Path = request.out_dir
    else:
        assert request.output is not None
        fields: list[Any] = []
        if renderer.spec.id in FORM_KINDS:
            from incident.notices.form import fill, form_for, load_form

            dirs = store.extra_dirs("playbooks")
            fields = fill(load_form(form_for(renderer.record, dirs), dirs), renderer)
        result = notice_docx(renderer, request.output, fields=fields)
        target = request.output
    entry = notice_entry(renderer, sha256=result.sha256, actor=env.actor(), at=renderer.now,
                         path=str(target.resolve()), count=result.count if request.roster else None, fmt="docx")
    _record(store, renderer, entry, env.actor())
    if request.as_json:
        emit_json(entry)
        return
    what = (_("{count} {kind} letter(s)").format(count=result.count, kind=renderer.spec.id) if request.roster
            else renderer.spec.id)
    info(_("Wrote {what} (docx) for {incident_id} to {target}; sha256 {digest}…")
         .format(what=what, incident_id=request.incident_id, target=target, digest=result.sha256[:16]))
    regulator = store.config.regulator
    if renderer.spec.id in FORM_KINDS and regulator:
        kind = "速" if renderer.spec.id == "regulator-preliminary" else "確"
        info(_("for {regulator}: name the file as that ministry asks, e.g. METI's {name}")
             .format(regulator=regulator, name=f"「別記1_<事案の種類><{kind}><通し番号><業の種類>"
                                               f"{store.config.organization}」"))


def _form(request: NoticeRequest) -> None:
    """The report as the PPC web form's fields (text blocks, or a sheet with -o FILE.xlsx)."""
    from incident.errors import InputError
    from incident.notices.form import fill, form_for, form_text, load_form, to_json
    from incident.notices.render import notice_entry, sha256_text

    if request.roster or request.out_dir or request.mbox:
        raise InputError(_("the form is one report, not one per person: leave out --roster, --out and --mbox"),
                         field="format")
    if request.fmt == "xlsx" and request.output is None:
        raise InputError(_("xlsx is written to a file: give -o FILE.xlsx"), field="output")
    if request.output is not None:
        from incident.outputs import output_file

        output_file(request.output, option="--output")
    env = get_env()
    store = env.store()
    renderer = _renderer(store, request, "txt")
    spec = load_form(form_for(renderer.record, store.extra_dirs("playbooks")), store.extra_dirs("playbooks"))
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
            from incident.fsutil import atomic_write_text

            atomic_write_text(request.output, text)
    entry = notice_entry(renderer, sha256=digest, actor=env.actor(), at=renderer.now,
                         path=str(request.output.resolve()) if request.output else None, fmt=request.fmt)
    entry["form"] = spec.id
    _record(store, renderer, entry, env.actor())
    if request.as_json:
        emit_json({**entry, **to_json(spec, filled)})
        return
    if text is not None and request.output is None:
        click.echo(text, nl=False)
    info(_("Recorded {kind} as the {form} form ({format}, {count} fields) on {incident_id}: sha256 {digest}…")
         .format(kind=renderer.spec.id, form=spec.id, format=request.fmt, count=len(filled),
                 incident_id=request.incident_id, digest=digest[:16])
         + (f" -> {request.output}" if request.output else ""))


def _single(request: NoticeRequest) -> None:
    from incident.errors import InputError
    from incident.fsutil import atomic_write_text
    from incident.notices.render import notice_entry, sha256_text

    fmt = request.fmt or "txt"
    if fmt == "eml":
        raise InputError(_("eml is for one e-mail per person: use it with --roster --out DIR"), field="format")
    if request.output is not None:
        from incident.outputs import output_file

        output_file(request.output, option="--output", personal=True)
    env = get_env()
    store = env.store()
    renderer = _renderer(store, request, fmt)
    rendered = renderer.render()
    digest = sha256_text(rendered.text)
    if request.output is not None:
        atomic_write_text(request.output, rendered.text)
    entry = notice_entry(renderer, sha256=digest, actor=env.actor(), at=renderer.now,
                         path=str(request.output) if request.output else None)
    _record(store, renderer, entry, env.actor())
    if request.as_json:
        emit_json({**entry, "subject": rendered.subject, "text": rendered.text if request.output is None else None,
                   "items_from": renderer.plan.source})
        return
    if request.output is None:
        click.echo(rendered.text, nl=False)
    info((_("Recorded {kind} ({lang}, {format}, draft) on {incident_id}: sha256 {digest}…") if request.draft else
          _("Recorded {kind} ({lang}, {format}) on {incident_id}: sha256 {digest}…"))
         .format(kind=renderer.spec.id, lang=renderer.lang, format=fmt, incident_id=request.incident_id,
                 digest=digest[:16])
         + (f" -> {request.output}" if request.output else ""))


def _merge(request: NoticeRequest) -> None:
    from incident.cli.roster import check_persons
    from incident.errors import InputError
    from incident.notices.items import KINDS
    from incident.notices.mailmerge import MERGE_FORMATS, IdentityIndex, check_outputs, mail_merge
    from incident.notices.render import notice_entry
    from incident.notices.roster import iter_people
    from incident.notices.rosterfile import roster_info

    if (request.out_dir is None) == (request.mbox is None):
        raise InputError(_("--roster writes to a directory (--out DIR) or to one mbox file (--mbox FILE)"),
                         field="out")
    if request.output is not None:
        raise InputError(_("-o is for one document; with --roster use --out DIR or --mbox FILE"), field="output")
    fmt = request.fmt or ("eml" if request.mbox else "txt")
    if fmt not in MERGE_FORMATS:
        raise InputError(_("with --roster the format is one of {join}")
                         .format(join=', '.join(MERGE_FORMATS)), field="format")
    from incident.notices.mailmerge import require_sender
    from incident.outputs import output_file, private_output_dir

    env = get_env()
    store = env.store()
    if fmt == "eml":
        require_sender(store.config)
    if request.out_dir is not None:
        private_output_dir(request.out_dir, option="--out", confirm=_ask if is_interactive() else None)
    if request.mbox is not None:
        output_file(request.mbox, option="--mbox", personal=True)
    if not KINDS[request.kind].per_person:
        raise InputError(_("{kind} is not a notice to a person; per-person kinds: {join}")
                         .format(kind=request.kind, join=', '.join(k for k, s in KINDS.items() if s.per_person)), field="kind")
    path = store.roster_path(request.incident_id)
    meta = roster_info(path)
    key = store.roster_key()
    renderer = _renderer(store, request, "txt" if fmt == "eml" else fmt)
    check_persons(store, renderer.record, meta.count, env.actor())
    target = request.mbox if request.mbox is not None else request.out_dir
    assert target is not None
    _record_intent(store, renderer, target, meta.count, fmt, env.actor())
    with progress_bar("rendering", meta.count) as progress:
        result = mail_merge(renderer, iter_people(path, key), out_dir=request.out_dir, mbox=request.mbox,
                            fmt=fmt, progress=progress)
    entry = notice_entry(renderer, sha256=result.sha256, actor=env.actor(), at=renderer.now,
                         path=str(Path(result.target).resolve()), count=result.count, fmt=fmt)
    _record(store, renderer, entry, env.actor())
    report: dict[str, Any] = {**entry, "no_email": result.skipped_no_email, "no_address": result.no_address}
    if not request.as_json:
        info(_("Rendered {count} {id} notice(s) ({fmt}) for {incident_id} into {target}; sha256 {value}…")
             .format(count=result.count, id=renderer.spec.id, fmt=fmt, incident_id=request.incident_id, target=result.target, value=result.sha256[:16]))
        if result.skipped_no_email:
            info(_("{skipped_no_email} people have no e-mail address and got no e-mail: send them a letter (--kind individual-letter)")
                 .format(skipped_no_email=result.skipped_no_email))
        if result.no_address and renderer.spec.id.endswith("letter"):
            info(_("warning: {no_address} people have no postal address")
                 .format(no_address=result.no_address))
    failed = False
    if request.check:
        index = IdentityIndex.build(iter_people(path, key))
        checked = check_outputs(index, out_dir=request.out_dir, mbox=request.mbox, fmt=fmt)
        store.log(env.actor(), "notice-check", request.incident_id,
                  {"kind": request.kind, "checked": checked.checked, "failures": checked.failure_count})
        report["check"] = {"checked": checked.checked, "failures": checked.failure_count,
                           "unchecked_names": checked.unchecked_names,
                           "failed": [{"key": f.key, "path": f.path, "reason": f.reason, "others": list(f.others)}
                                      for f in checked.failures]}
        failed = not checked.ok
        if not request.as_json:
            _print_check(checked)
    if request.as_json:
        emit_json(report)
    if failed:
        raise click.exceptions.Exit(1)


def _ask(question: str) -> bool:
    return click.confirm(question, default=False, err=True)


def _print_check(checked: CheckResult) -> None:
    if checked.ok:
        info(_("check: {checked} notice(s) each name only their own person").format(checked=checked.checked))
    else:
        info(_("check FAILED: {failure_count} of {checked} notice(s) name someone else or are missing:")
             .format(failure_count=checked.failure_count, checked=checked.checked))
        for failure in checked.failures[:50]:
            others = f" ({', '.join(failure.others[:10])}{' …' if len(failure.others) > 10 else ''})" \
                if failure.others else ""
            info(f"  {failure.path}: {failure.reason}{others}")
    if checked.unchecked_names:
        info(_("note: {unchecked_names} one-character name(s) cannot be searched for reliably")
             .format(unchecked_names=checked.unchecked_names))
