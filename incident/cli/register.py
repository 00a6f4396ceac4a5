"""Register commands: init, new, show, list, edit, set, log, status, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from incident.cli.common import (
    LabelledChoice,
    get_env,
    info,
    is_interactive,
    json_option,
    split_list,
    store_options,
)
from incident.cli.group import IncidentGroup
from incident.cli.reporting import RichReporter, reporter
from incident.cli.views import field_label
from incident.i18n import N_, _
from incident.register.enums import ENTITIES, ENUM_LABELS_JA, STATUSES, enum_label
from incident.register.record import FIELDS, settable_fields


@click.command("init")
@click.option("--organization", default="", help="The organization's name (報告者の名称).")
@click.option("--entity", type=LabelledChoice(ENTITIES, ENUM_LABELS_JA["entity"]), default="business",
              show_default=True, help="business (個人情報取扱事業者), public-body (行政機関等) or council (地方議会).")
@click.option("--contact", default="", help="Inquiry desk printed on notices (問合せ窓口).")
@click.option("--timezone", default="Asia/Tokyo", show_default=True, help="The organization's timezone.")
@click.option("--database", metavar="URL", default=None,
              help="Keep the register in this PostgreSQL database (postgresql://USER@HOST:PORT/DBNAME, no "
                   "password: PGPASSFILE or PGPASSWORD); the schema is created or upgraded.")
@store_options
def init_cmd(organization: str, entity: str, contact: str, timezone: str, database: str | None) -> None:
    """Create the store (config.toml, incidents/, audit log)."""
    from incident.law.vocabulary import init_store
    from incident.register.config import Config, parse_config

    env = get_env()
    path = env.store_path
    if (path / "incidents").is_dir() or (database is not None and (path / "config.toml").is_file()):
        info(_("The store already exists at {path}; nothing changed.").format(path=path))
        return
    raw = {"organization": organization, "entity": entity, "contact": contact, "timezone": timezone}
    if database is not None:
        from incident.register.pgstore import check_url

        raw["database_url"] = check_url(database)
    config = parse_config(raw)
    store = init_store(path, config if config != Config() else None)
    store.log(env.actor(), "init", None, {"store": str(path)})
    info(_("Created the incident store at {path}").format(path=path))
    missing = [key for key in ("organization", "contact") if not getattr(config, key)]
    if missing:
        info(_("Set the organization's details with `incident config set {join}`; record an incident with `incident new`.")
             .format(join=' '.join(k + '=…' for k in missing)))
    else:
        info(_("Record an incident with `incident new`; `incident config show` lists the settings."))


class FieldOption(click.Option):
    """An option naming a fact of the record: its help is the field's Japanese term and its help text, the
    text in the run's language (the command's localization translates `help`, the term stays)."""

    def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label = label

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None or not self.label:
            return record
        return record[0], f"{self.label}: {record[1]}"


def _field_options(func: Any) -> Any:
    for spec in reversed(settable_fields()):
        func = click.option(f"--{spec.name.replace('_', '-')}", spec.name, cls=FieldOption, label=spec.ja,
                            default=None, metavar="VALUE", help=spec.help)(func)
    return func


PROMPTED = ("title", "type", "discovered_at", "department", "summary", "persons")


@click.command("new")
@click.option("--from", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the record from a TOML file (flags override its values).")
@click.option("--item", "items", multiple=True, metavar="NAME[:encrypted[:key-compromised]]",
              help="A data item involved (repeatable), by id or alias: name, 氏名, メールアドレス …")
@_field_options
@json_option
@store_options
def new_cmd(from_file: Path | None, items: tuple[str, ...], as_json: bool, **values: str | None) -> None:
    """Record a new incident and print its ID."""
    from incident import tomlfile
    from incident.errors import InputError
    from incident.register.changes import build_raw, new_incident, parse_item_spec

    env = get_env()
    store = env.store()
    base: dict[str, Any] = {}
    if from_file is not None:
        base, _text = tomlfile.read(from_file, hint=N_("save the record as UTF-8"))
    assignments = {k: v for k, v in values.items() if v is not None}
    item_tables = [parse_item_spec(i) for given in items for i in split_list(given)]  # 氏名、メールアドレス
    if is_interactive():
        _prompt_missing(store, base, assignments, item_tables)
        _prompt_asked_facts(store, base, assignments)
        _settle_ambiguous_items(store, base, item_tables)
    raw = build_raw(base, assignments, item_tables)
    try:
        record = new_incident(store, raw, actor=env.actor(), file=str(from_file) if from_file else None)
    except InputError as exc:
        if exc.field in assignments:  # the bad value came from a flag, not the file
            exc.file, exc.field = None, "--" + exc.field.replace("_", "-")
        raise
    rep = reporter(as_json)
    rep.result({"id": record.id})
    rep.echo(record.id)
    rep.hint(_("Recorded {id}: {title}. Next: `incident show {id}`.").format(id=record.id, title=record.get('title')))


def _prompt_missing(store: Any, base: dict[str, Any], assignments: dict[str, str],
                    item_tables: list[dict[str, Any]]) -> None:
    from incident.law.taxonomy import load_taxonomy

    spec_by_name = {f.name: f for f in FIELDS}
    taxonomy = load_taxonomy(store.extra_dirs())
    for name in PROMPTED:
        if name in base or name in assignments:
            continue
        spec = spec_by_name[name]
        if name == "type":
            choices = list(taxonomy.types)
            click.echo(_("Types: ") + ", ".join(f"{t} ({taxonomy.types[t].ja})" for t in choices))
            labels = {t: taxonomy.types[t].ja for t in choices}
            assignments[name] = click.prompt(field_label(spec), type=LabelledChoice(choices, labels),
                                             show_choices=False)
        elif name == "discovered_at":
            assignments[name] = click.prompt(_("{field} (e.g. 2024-06-03 15:00, 令和6年6月3日 午後3時)")
                                             .format(field=field_label(spec)),
                                             value_proc=lambda text: _checked_date(text, store.tz))
        else:
            value = click.prompt(field_label(spec), default="", show_default=False)
            if value:
                assignments[name] = value
    if not item_tables and "data" not in base:
        value = click.prompt(_("data items (separated by commas, e.g. 氏名、メールアドレス)"), default="",
                             show_default=False)
        item_tables.extend({"item": v} for v in split_list(value))


_ASKED = {
    "copy_exists": N_("Is an identical copy of the data kept elsewhere (it decides whether this is a loss or "
                      "damage)? copy_exists"),
    "being_acquired": N_("Was it personal information still being collected, not yet held as personal data "
                         "(such as a form being filled in)? being_acquired"),
}


def _prompt_asked_facts(store: Any, base: dict[str, Any], assignments: dict[str, str]) -> None:
    """On a terminal: the facts the incident's type says matter (incident-types.toml `asks`), when unset."""
    from incident.law.taxonomy import load_taxonomy

    type_id = str(assignments.get("type") or base.get("type") or "")
    entry = load_taxonomy(store.extra_dirs()).types.get(type_id)
    for name in getattr(entry, "asks", ()):
        if name in base or name in assignments:
            continue
        assignments[name] = "true" if click.confirm(_(_ASKED[name]), default=False) else "false"


def _settle_ambiguous_items(store: Any, base: dict[str, Any], item_tables: list[dict[str, Any]]) -> None:
    """On a terminal: a data-item name that means more than one item (健康診断) is asked about."""
    from incident.law.catalogue import load_catalogue

    catalogue = load_catalogue(store.extra_dirs())
    tables = [*(t for t in base.get("data", []) if isinstance(t, dict)), *item_tables]
    for table in tables:
        name = table.get("item")
        choices = catalogue.choices(name) if isinstance(name, str) else ()
        if not choices:
            continue
        click.echo(_("「{name}」 may mean:").format(name=name))
        for n, item in enumerate(choices, start=1):
            click.echo(f"  {n}. {item.id} — {item.ja}" + (f"（{item.note}）" if item.note else ""))
        picked = click.prompt(_("Which one?"), type=click.IntRange(1, len(choices)))
        table["item"] = choices[picked - 1].id


def _checked_date(text: str, tz: str) -> str:
    """A prompt's date, checked at once so a typo is asked again rather than failing at the end."""
    from incident.dates import parse_datetime
    from incident.errors import InputError

    try:
        parse_datetime(text, tz)
    except InputError as exc:
        raise click.BadParameter(exc.message) from None
    return text


@click.command("show")
@click.argument("incident_id", metavar="ID")
@json_option
@store_options
def show_cmd(incident_id: str, as_json: bool) -> None:
    """Show one incident: its facts, data items and timeline."""
    from incident.cli.views import print_record, record_json

    env = get_env()
    store = env.store()
    record = store.load(incident_id)

    def view(out: RichReporter) -> None:
        print_record(out, record, store.tz)
        show_extras(out, env.context(), record)

    reporter(as_json).result(lambda: record_json(record), view)


def show_extras(out: RichReporter, ctx: Any, record: Any) -> None:
    """The saved assessment's summary and the open response steps, below the record."""
    from incident.cli.assess import print_stored_summary
    from incident.cli.steps import print_open_steps

    if "assessment" in record.sections:
        print_stored_summary(out, record)
    print_open_steps(out.console, ctx, record)


@click.command("edit")
@click.argument("incident_id", metavar="ID")
@store_options
def edit_cmd(incident_id: str) -> None:
    """Open the incident's TOML in $EDITOR; an invalid save is refused and the edit kept for retry."""
    from incident.errors import InputError
    from incident.register import record as rec

    env = get_env()
    store = env.store()
    current = rec.dumps(store.load(incident_id))
    text = current
    while True:
        edited = click.edit(text, extension=".toml", require_save=True)
        if edited is None or edited == current:
            info(_("No changes."))
            return
        try:
            store.replace_text(incident_id, edited, actor=env.actor())
        except InputError as exc:
            click.echo(_("error: {exc}").format(exc=exc), err=True)
            if not is_interactive() or not click.confirm(_("Edit again?"), default=True):
                raise
            text = edited
            continue
        info(_("Saved {incident_id}.").format(incident_id=incident_id))
        return


@click.command("set")
@click.argument("incident_id", metavar="ID")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@store_options
def set_cmd(incident_id: str, assignments: tuple[str, ...]) -> None:
    """Change facts: `incident set 2024-0007 persons=1200 malicious=suspected`."""
    from incident.register.changes import parse_assignment, set_fields

    env = get_env()
    pairs = dict(parse_assignment(a) for a in assignments)
    set_fields(env.store(), incident_id, pairs, actor=env.actor())
    info(_("Updated {incident_id}: {join}.").format(incident_id=incident_id, join=', '.join(pairs)))


@click.command("log")
@click.argument("incident_id", metavar="ID")
@click.argument("text")
@click.option("--at", "at_text", metavar="DATETIME", help="When it happened (default: now).")
@store_options
def log_cmd(incident_id: str, text: str, at_text: str | None) -> None:
    """Add a dated event to the timeline (発覚, 初動対応, 警察へ届出 …)."""
    from incident.dates import parse_datetime
    from incident.register.changes import add_event

    env = get_env()
    store = env.store()
    at = parse_datetime(at_text, store.tz, field="--at") if at_text else None
    add_event(store, incident_id, text, actor=env.actor(), at=at)
    info(_("Logged on {incident_id}.").format(incident_id=incident_id))


@click.command("status")
@click.argument("incident_id", metavar="ID")
@click.argument("status", type=LabelledChoice(STATUSES, ENUM_LABELS_JA["status"]), metavar="STATUS")
@click.option("--force", is_flag=True, help="Close (or move back) despite open items; needs --reason.")
@click.option("--reason", default="", help="Why, when forcing (logged).")
@store_options
def status_cmd(incident_id: str, status: str, force: bool, reason: str) -> None:
    """Move an incident: open → contained → reported → closed."""
    from incident.followup.closing import set_status

    env = get_env()
    set_status(env.context(), incident_id, status, actor=env.actor(), force=force, reason=reason)
    info(_("{incident_id} is now {status}.").format(incident_id=incident_id, status=enum_label("status", status)))


@click.group("audit", cls=IncidentGroup)
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.option("--anchor", metavar="HASH", help="Also check the log still contains this anchor "
              "(printed earlier by `incident audit anchor`).")
@json_option
@store_options
def audit_verify_cmd(anchor: str | None, as_json: bool) -> None:
    """Check the chain, its key and every record against its last audited state. Exit 1 when it fails."""
    env = get_env()
    store = env.store()
    result = store.verify_audit(anchor=anchor.strip() if anchor else None)
    rep = reporter(as_json)
    rep.result({"ok": result.ok, "entries": result.entries, "line": result.line, "problem": result.problem,
                "head": result.head, "keyed": result.keyed})
    if result.ok:
        bound = (_("bound to the store's key") if result.keyed
                 else _("not yet bound to a key (bound at the next change)"))
        rep.echo(_("audit log OK: {entries} entries, chain intact, {bound}, every record matches its last "
                   "audited state ({path})").format(entries=result.entries, bound=bound, path=store.audit_location))
    else:
        where = (_("at line {line}").format(line=result.line) if result.line is not None
                 else _("in the records"))
        rep.echo(_("audit log FAILED {where}: {problem} ({path})")
                 .format(where=where, problem=result.shown(), path=store.audit_location))
    if not result.ok:
        raise click.exceptions.Exit(1)


@audit_group.command("anchor")
@json_option
@store_options
def audit_anchor_cmd(as_json: bool) -> None:
    """Print the log's current head to file elsewhere (e-mail, paper); `audit verify --anchor` checks it."""
    env = get_env()
    store = env.store()
    result = store.verify_audit()
    if not result.ok:
        click.echo(_("audit log FAILED: {problem}; no anchor is given for a log that does not verify")
                   .format(problem=result.shown()), err=True)
        raise click.exceptions.Exit(1)
    anchor = f"{result.entries}:{result.head}"
    rep = reporter(as_json)
    rep.result({"anchor": anchor, "entries": result.entries, "hash": result.head})
    rep.echo(anchor)
    rep.hint(_("File this anchor outside the store; later, `incident audit verify --anchor {anchor}` shows the "
               "log still holds it.").format(anchor=anchor))


@audit_group.command("show")
@click.option("--incident", "incident_id", metavar="ID", help="Only entries about this incident.")
@click.option("--last", type=int, default=0, help="Only the last N entries.")
@json_option
@store_options
def audit_show_cmd(incident_id: str | None, last: int, as_json: bool) -> None:
    """List audit entries (who did what, when)."""
    env = get_env()
    entries = [e for e in env.store().audit_entries() if not incident_id or e.get("incident") == incident_id]
    if last:
        entries = entries[-last:]
    reporter(as_json).result(entries, lambda out: out.table(
        _("Audit log ({count})").format(count=len(entries)),
        ("#", _("When"), _("Actor"), _("Action"), _("Incident"), _("Changes")),
        ([str(v) for v in (e["seq"], e["ts"][:19], _actor_cell(e), e["action"], e.get("incident") or "",
                           ", ".join(e.get("changes", {}).keys()))] for e in entries)))


def _actor_cell(entry: dict[str, Any]) -> str:
    """Who made an entry as the table shows it: an entry copied from another register says so, with its
    number there (its author is the one that register recorded, not who imported it)."""
    from incident.register.actors import IMPORTED

    mark = entry.get(IMPORTED)
    if not isinstance(mark, dict):
        return str(entry["actor"])
    return _("{actor} (imported: #{seq} there)").format(actor=entry["actor"], seq=mark.get("seq", "?"))

