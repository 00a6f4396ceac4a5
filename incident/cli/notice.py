"""`incident notice`: render a report or notice, or one notice per person of the roster (mail merge).

Options become a frozen request; the core (incident.notices.issuing) renders, writes and records every
rendering in the incident's `notices` section and the audit log (kind, SHA-256, when, by whom); this
module prints what it did.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import (
    LANGUAGE_LABELS,
    LabelledChoice,
    get_env,
    info,
    json_option,
    store_options,
)
from incident.i18n import _, either

if TYPE_CHECKING:
    from incident.cli.reporting import Reporter, RichReporter
    from incident.notices.issuing import (
        FormNotice,
        Issued,
        MergedNotices,
        NoticeRequest,
        PrintRun,
        SingleNotice,
        WordNotice,
    )
    from incident.notices.mailmerge import CheckResult
    from incident.notices.render import Renderer


def _kinds() -> Iterable[str]:
    from incident.notices.items import KINDS

    return KINDS


def _langs() -> Iterable[str]:
    from incident.notices.items import LANGS

    return LANGS


def _formats() -> Iterable[str]:
    from incident.notices.issuing import DOCUMENT_FORMATS, FORM_FORMATS
    from incident.notices.render import FORMATS

    return (*FORMATS, "eml", *DOCUMENT_FORMATS, *FORM_FORMATS)


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
def notice_cmd(as_json: bool, incident_id: str | None, kind: str | None, lang: str | None, fmt: str | None,
               output: Path | None, draft: bool, roster: bool, out_dir: Path | None, mbox: Path | None, check: bool,
               dated: str | None, doc_number: str, regime: str | None, test_sheet: bool, mark_mailed: bool,
               at_text: str | None) -> None:
    """Render a report or notice for incident ID (`incident notice kinds` lists the kinds).

    The record must hold every item the notice needs (from the stored assessment, else the kind's
    default); otherwise the missing items are named and nothing is rendered, unless --draft.
    """
    from incident.cli.reporting import reporter
    from incident.errors import InputError

    rep = reporter(as_json)
    if test_sheet:
        _test_sheet(rep, output)
        return
    if incident_id is None:
        raise InputError(_("give the incident ID (`incident list` shows them)"), field="ID")
    if incident_id == "kinds":
        _list_kinds(rep)
        return
    if mark_mailed or at_text:
        if kind or lang or fmt or output or draft or roster or out_dir or mbox or check or dated or doc_number:
            raise InputError(_("--mark-mailed records a print run already made; it takes only --at DATE"),
                             field="mark-mailed")
        if not (mark_mailed and at_text):
            raise InputError(_("record posted letters with --mark-mailed --at DATE (both)"), field="at")
        _mark_mailed(rep, incident_id, at_text)
        return
    if kind is None:
        raise InputError(_("--kind is required; `incident notice kinds` lists them"), field="kind")
    from incident.cli.roster import persons_hook
    from incident.notices.issuing import Hooks, NoticeRequest, issue

    request = NoticeRequest(incident_id, kind, lang=lang, fmt=fmt, output=output, draft=draft, roster=roster,
                            out_dir=out_dir, mbox=mbox, check=check, dated=dated, doc_number=doc_number,
                            regime=regime)
    env = get_env()
    hooks = Hooks(rendering=_told, persons=persons_hook(rep), progress=rep.progress,
                  confirm=_ask if rep.interactive() else None)
    _show(rep, issue(env.context(), request, actor=env.actor(), hooks=hooks), request)


def _told(renderer: Renderer) -> None:
    """What the renderer says before anything is written: its warnings, and the items a draft misses."""
    for warning in renderer.plan.warnings:
        info(_("warning: {warning}").format(warning=warning))
    if renderer.missing:
        info(_("draft: {missing}").format(missing="、".join(str(m) for m in renderer.missing)))


def _show(rep: Reporter, issued: Issued, request: NoticeRequest) -> None:
    from incident.notices.issuing import FormNotice, MergedNotices, PrintRun, SingleNotice, WordNotice

    if isinstance(issued, PrintRun):
        _show_print_run(rep, issued, request)
    elif isinstance(issued, WordNotice):
        _show_word(rep, issued, request)
    elif isinstance(issued, FormNotice):
        _show_form(rep, issued, request)
    elif isinstance(issued, MergedNotices):
        _show_merge(rep, issued, request)
    else:
        assert isinstance(issued, SingleNotice)
        _show_single(rep, issued, request)


def _mark_mailed(rep: Reporter, incident_id: str, at_text: str) -> None:
    from incident.dates import parse_datetime
    from incident.followup.notification import mark_mailed

    env = get_env()
    store = env.store()
    at = parse_datetime(at_text, store.tz, field="--at")
    run, done = mark_mailed(env.context(), incident_id, at=at, actor=env.actor())
    rep.result({"incident": incident_id, "kind": run["kind"], "count": run["count"], "mailed_at": at,
                "completed": None if done is None else {
                    "obligations": list(done.obligations), "method": done.method, "count": done.count,
                    "at": done.at, "filled_response": done.filled is not None}})
    rep.info(_("Marked {count} {kind} letter(s) of {incident_id} mailed on {isoformat}.")
             .format(count=run['count'], kind=run['kind'], incident_id=incident_id, isoformat=at.isoformat()))
    if done is not None:
        rep.info(_("Marked {obligations} done ({count} people by {method})").format(
            obligations=", ".join(done.obligations), count=done.count, method=_(done.method))
                 + (_("; response_to_individuals (本人への対応) filled in.") if done.filled else _(".")))


#: whom a notice kind is for, and where its template comes from, as a Japanese run shows them
AUDIENCE_JA = {"regulator": "個人情報保護委員会等", "individual": "本人", "public": "公表", "entruster": "委託元",
               "internal": "組織内", "authority": "監督機関"}
ORIGIN_JA = {"builtin": "標準", "organization": "組織独自"}


def _list_kinds(rep: Reporter) -> None:
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
    rep.result(rows, lambda out: _kinds_table(out, rows))


def _kinds_table(out: RichReporter, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(_("kind"), _("lang"), _("for"), _("description"), _("template"))
    table.columns[3].overflow = "fold"  # a Japanese description has no spaces to wrap at
    for row in rows:
        table.add_row(row["kind"], either(LANGUAGE_LABELS[row["lang"]], row["lang"]),
                      either(AUDIENCE_JA[row["audience"]], row["audience"]),
                      either(row["description_ja"], row["description"]),
                      either(ORIGIN_JA[row["template"]], row["template"]))
    out.print(table)


def _test_sheet(rep: Reporter, output: Path | None) -> None:
    from incident.errors import InputError
    from incident.notices.pdf import window_test_sheet

    if output is None:
        raise InputError(_("--test-sheet writes a PDF: give -o FILE.pdf"), field="output")
    from incident.outputs import output_file

    output_file(output, option="--output")
    config = get_env().store().config
    digest = window_test_sheet(config.letter, config.pdf_font, output)
    window = config.letter.window
    rep.result({"path": str(output), "sha256": digest, "window": {"top": window.top, "left": window.left,
                                                                 "width": window.width, "height": window.height}})
    rep.info(_("Wrote the window test sheet to {output} (window {width} x {height} mm at {left} mm from the left, {top} mm from the top; [letter.window] in config.toml)")
             .format(output=output, width=window.width, height=window.height, left=window.left, top=window.top))


def _show_print_run(rep: Reporter, issued: PrintRun, request: NoticeRequest) -> None:
    result, renderer = issued.result, issued.renderer
    rep.result({**issued.entry, "pages": result.pages, "no_address": result.no_address})
    what = f"{result.count} {renderer.spec.id} letter(s)" if request.roster else renderer.spec.id
    rep.info(_("Wrote {what} on {pages} page(s) (pdf) for {incident_id} to {output}; sha256 {value}…")
             .format(what=what, pages=result.pages, incident_id=request.incident_id, output=request.output, value=result.sha256[:16]))
    if result.no_address and request.roster:
        rep.info(_("warning: {no_address} people have no postal address").format(no_address=result.no_address))


def _show_word(rep: Reporter, issued: WordNotice, request: NoticeRequest) -> None:
    from incident.notices.form import FORM_KINDS

    result, renderer = issued.result, issued.renderer
    rep.result(issued.entry)
    what = (_("{count} {kind} letter(s)").format(count=result.count, kind=renderer.spec.id) if request.roster
            else renderer.spec.id)
    rep.info(_("Wrote {what} (docx) for {incident_id} to {target}; sha256 {digest}…")
             .format(what=what, incident_id=request.incident_id, target=issued.target, digest=result.sha256[:16]))
    config = renderer.settings.config
    regulator = config.regulator
    if renderer.spec.id in FORM_KINDS and regulator:
        kind = "速" if renderer.spec.id == "regulator-preliminary" else "確"
        rep.info(_("for {regulator}: name the file as that ministry asks, e.g. METI's {name}")
                 .format(regulator=regulator, name=f"「別記1_<事案の種類><{kind}><通し番号><業の種類>"
                                                   f"{config.organization}」"))


def _show_form(rep: Reporter, issued: FormNotice, request: NoticeRequest) -> None:
    from incident.notices.form import to_json

    rep.result(lambda: {**issued.entry, **to_json(issued.form, issued.filled)})
    if issued.text is not None and request.output is None:
        rep.echo(issued.text, nl=False)
    digest = issued.entry["sha256"]
    rep.info(_("Recorded {kind} as the {form} form ({format}, {count} fields) on {incident_id}: sha256 {digest}…")
             .format(kind=issued.renderer.spec.id, form=issued.form.id, format=request.fmt, count=len(issued.filled),
                     incident_id=request.incident_id, digest=digest[:16])
             + (f" -> {request.output}" if request.output else ""))


def _show_single(rep: Reporter, issued: SingleNotice, request: NoticeRequest) -> None:
    renderer, rendered = issued.renderer, issued.rendered
    rep.result({**issued.entry, "subject": rendered.subject, "text": rendered.text if request.output is None else None,
                "items_from": renderer.plan.source})
    if request.output is None:
        rep.echo(rendered.text, nl=False)
    digest = issued.entry["sha256"]
    rep.info((_("Recorded {kind} ({lang}, {format}, draft) on {incident_id}: sha256 {digest}…") if request.draft else
              _("Recorded {kind} ({lang}, {format}) on {incident_id}: sha256 {digest}…"))
             .format(kind=renderer.spec.id, lang=renderer.lang, format=issued.fmt, incident_id=request.incident_id,
                     digest=digest[:16])
             + (f" -> {request.output}" if request.output else ""))


def _show_merge(rep: Reporter, issued: MergedNotices, request: NoticeRequest) -> None:
    result, renderer, fmt = issued.result, issued.renderer, issued.fmt
    report: dict[str, Any] = {**issued.entry, "no_email": result.skipped_no_email, "no_address": result.no_address}
    checked = issued.check
    if checked is not None:
        report["check"] = {"checked": checked.checked, "failures": checked.failure_count,
                           "unchecked_names": checked.unchecked_names,
                           "failed": [{"key": f.key, "path": f.path, "reason": f.reason, "others": list(f.others)}
                                      for f in checked.failures]}
    rep.result(report)
    rep.info(_("Rendered {count} {id} notice(s) ({fmt}) for {incident_id} into {target}; sha256 {value}…")
             .format(count=result.count, id=renderer.spec.id, fmt=fmt, incident_id=request.incident_id, target=result.target, value=result.sha256[:16]))
    if result.skipped_no_email:
        rep.info(_("{skipped_no_email} people have no e-mail address and got no e-mail: send them a letter (--kind individual-letter)")
                 .format(skipped_no_email=result.skipped_no_email))
    if result.no_address and renderer.spec.id.endswith("letter"):
        rep.info(_("warning: {no_address} people have no postal address")
                 .format(no_address=result.no_address))
    if checked is not None:
        _print_check(rep, checked)
    if not issued.ok:
        raise click.exceptions.Exit(1)


def _ask(question: str) -> bool:
    return click.confirm(question, default=False, err=True)


def _print_check(rep: Reporter, checked: CheckResult) -> None:
    if checked.ok:
        rep.info(_("check: {checked} notice(s) each name only their own person").format(checked=checked.checked))
    else:
        rep.info(_("check FAILED: {failure_count} of {checked} notice(s) name someone else or are missing:")
                 .format(failure_count=checked.failure_count, checked=checked.checked))
        for failure in checked.failures[:50]:
            others = f" ({', '.join(failure.others[:10])}{' …' if len(failure.others) > 10 else ''})" \
                if failure.others else ""
            rep.info(f"  {failure.path}: {_(failure.reason)}{others}")
    if checked.unchecked_names:
        rep.info(_("note: {unchecked_names} one-character name(s) cannot be searched for reliably")
                 .format(unchecked_names=checked.unchecked_names))
