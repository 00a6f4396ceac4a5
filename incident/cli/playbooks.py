"""`incident playbooks list|show|check`: the law and procedure as data, bundled and the store's own.

Only click and incident.cli.common are imported when the module loads; the rest inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import get_env, json_option, store_options
from incident.cli.group import IncidentGroup
from incident.cli.reporting import reporter
from incident.i18n import _, either, in_english, is_japanese

if TYPE_CHECKING:
    from pathlib import Path


@click.group("playbooks", cls=IncidentGroup)
def playbooks_group() -> None:
    """The regime playbooks: the law as data (bundled, and the store's own)."""


def _regimes(env: Any) -> Any:
    from incident.law.regimes import load_regimes

    dirs = env.store().extra_dirs("playbooks") if (env.store_path / "incidents").is_dir() else ()
    return load_regimes(dirs)


@playbooks_group.command("list")
@json_option
@store_options
def playbooks_list_cmd(as_json: bool) -> None:
    """List the regimes and their versions."""
    from pathlib import Path

    env = get_env()
    regimes = _regimes(env)
    rows = [{"id": r.id, "name": r.name_ja, "name_en": r.name_en, "version": r.version,
             "effective_from": r.effective_from.isoformat(), "source": r.source}
            for rid in regimes for r in regimes.versions(rid)]
    reporter(as_json).result(rows, lambda out: out.table(
        _("Regime playbooks"), (_("ID"), _("Name"), _("From"), _("Version"), _("File")),
        ([row["id"], either(row["name"], row["name_en"]), row["effective_from"], row["version"],
          Path(row["source"]).name] for row in rows)))


@playbooks_group.command("show")
@click.argument("regime_id", metavar="ID")
@click.option("--on", "on_text", metavar="DATE", help="The version in force on this date (default: latest).")
@json_option
@store_options
def playbooks_show_cmd(regime_id: str, on_text: str | None, as_json: bool) -> None:
    """Show a regime: conditions, exemptions and obligations with their articles."""
    from rich.markup import escape

    from incident.dates import parse_date
    from incident.errors import NotFoundError

    env = get_env()
    regimes = _regimes(env)
    if regime_id not in regimes:
        raise NotFoundError(_("no regime {regime_id!r}; known: {join}")
                            .format(regime_id=regime_id, join=', '.join(regimes)), field="ID")
    r = regimes.in_force(regime_id, parse_date(on_text, field="--on"))[0] if on_text else regimes[regime_id]
    data = {"id": r.id, "name": r.name_ja, "name_en": r.name_en, "law": r.law, "version": r.version,
            "effective_from": r.effective_from.isoformat(), "source": r.source, "applies": {
                k: sorted(v) if isinstance(v, frozenset) else v for k, v in r.applies.items()},
            "conditions": [{"id": c.id, "ja": c.ja, "en": c.en, "citation": c.citation, "kind": c.kind,
                            **dict(c.params)} for c in r.conditions],
            "exemptions": [{"id": e.id, "ja": e.ja, "en": e.en, "citation": e.citation, "kind": e.kind,
                            "removes": list(e.removes)} for e in r.exemptions],
            "obligations": [{"id": o.id, "ja": o.ja, "en": o.en, "recipient": o.recipient,
                             "citation": o.citation, "role": o.role,
                             "when": "always" if o.always else list(o.when),
                             "deadline": {"kind": o.deadline.kind, **dict(o.deadline.params)},
                             "items": list(o.items), "note": o.note} for o in r.obligations],
            "notes": list(r.notes)}
    rep = reporter(as_json)
    rep.result(data)
    rep.print(f"[bold]{escape(either(r.name_ja, r.name_en))}[/] ({r.id})")
    rep.print(_("Law: {law}\nVersion: {version} — from {effective_from} ({source})").format(
        law=escape(r.law), version=escape(r.version), effective_from=r.effective_from, source=escape(r.source)))
    rep.print(_("Applies: {applies}").format(applies=escape(str(data["applies"]))))
    rep.print(_("[bold]Conditions[/] (any one is enough)"))
    for cond in data["conditions"]:
        params = {k: v for k, v in cond.items() if k not in ("id", "ja", "en", "citation", "kind")}
        rep.print(f"  {cond['id']}: {escape(either(cond['ja'], cond.get('en', '')))} — {cond['kind']} "
                  f"{escape(str(params))} [dim]({escape(cond['citation'])})[/]")
    rep.print(_("[bold]Exemptions[/]"))
    for e in r.exemptions:
        rep.print(f"  {e.id}: {escape(either(e.ja, e.en))} — {e.kind} [dim]({escape(e.citation)})[/]")
    rep.print(_("[bold]Obligations[/]"))
    for o in data["obligations"]:
        rep.print("  " + _("{id} → {recipient} {role} {deadline} items: {items}").format(
            id=o["id"], recipient=escape(o["recipient"]), role=escape("[" + o["role"] + "]"),
            deadline=escape(str(o["deadline"])), items=", ".join(o["items"])) + f" [dim]({escape(o['citation'])})[/]")


@playbooks_group.command("check")
@click.argument("path_text", metavar="FILE", type=click.Path(dir_okay=False))
@json_option
@store_options
def playbooks_check_cmd(path_text: str, as_json: bool) -> None:
    """Report every problem of a playbook file at once, with line numbers (exit 2 if any)."""
    from pathlib import Path

    path = Path(path_text)  # what click's path_type=Path would give
    problems = english = _check(path)
    if is_japanese():  # the JSON's problems stay English, as every command's JSON does
        with in_english():
            english = _check(path)
    rep = reporter(as_json)
    rep.result({"file": str(path), "ok": not english, "problems": [
        {"line": p.line, "field": p.field, "message": p.message} for p in english]})
    for p in problems:
        rep.echo(str(p))
    if not problems:
        rep.echo(_("{path}: OK").format(path=path))
    else:
        rep.info(_("{count} problem(s) in {path}").format(count=len(problems), path=path))
    if problems:
        raise click.exceptions.Exit(2)


#: playbook file name -> "module:checker"; files under a `response/` folder are response playbooks and
#: any other file is read as a regime. Each checker returns every problem at once, with line numbers.
CHECKERS: dict[str, str] = {
    "data-items.toml": "incident.law.catalogue:check_catalogue_file",
    "incident-types.toml": "incident.law.taxonomy:check_taxonomy_file",
    "causes.toml": "incident.law.taxonomy:check_taxonomy_file",
    "corrective-actions.toml": "incident.followup.contractor_report:check_actions_playbook",
    "calendar.toml": "incident.law.workdays:check_calendar_file",
    "sectors.toml": "incident.law.sectors:check_sectors_file",
    "urgencies.toml": "incident.followup.urgencies:check_urgencies_file",
    "notices.toml": "incident.notices.items:check_notices_file",
}
RESPONSE_CHECKER = "incident.followup.response:check_response_file"
REGIME_CHECKER = "incident.law.regimes:check_regime_file"


def _check(path: Path) -> list[Any]:
    """Run the checker that fits the file."""
    import importlib

    target = CHECKERS.get(path.name) or (RESPONSE_CHECKER if path.parent.name == "response" else REGIME_CHECKER)
    module, attr = target.split(":")
    checker = getattr(importlib.import_module(module), attr)
    problems: list[Any] = checker(path)
    return problems
