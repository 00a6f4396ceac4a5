"""Database commands: db upgrade, db status, db grant, db revoke, db roles (a register on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from incident.cli.common import get_env, json_option, store_options
from incident.cli.group import IncidentGroup
from incident.cli.reporting import reporter
from incident.i18n import _


@click.group("db", cls=IncidentGroup)
def db_group() -> None:
    """The register's PostgreSQL database: schema migrations and who may see what."""


def _url() -> str:
    from incident.errors import InputError
    from incident.register.config import load_config
    from incident.register.pgstore import database_url

    env = get_env()
    path = env.store_path
    configured = load_config(path / "config.toml").database_url if (path / "config.toml").is_file() else ""
    url = database_url(path, configured)
    if not url:
        raise InputError(_("the store at {path} keeps its register in files; give a database with "
                           "`incident init --database URL`, database_url in config.toml or $INCIDENT_DATABASE_URL")
                         .format(path=path), field="database_url")
    return url


@db_group.command("upgrade")
@json_option
@store_options
def db_upgrade_cmd(as_json: bool) -> None:
    """Apply the pending schema migrations, in order, in one transaction."""
    from incident.register.pgstore import connect, shown_url, upgrade

    url = _url()
    with connect(url) as conn:
        done = upgrade(conn)
    rep = reporter(as_json)
    rep.result({"database": shown_url(url), "applied": [f"{m.version:04d}_{m.name}" for m in done]})
    for migration in done:
        rep.echo(_("applied {migration}").format(migration=f"{migration.version:04d}_{migration.name}"))
    if not done:
        rep.info(_("The register at {url} is up to date.").format(url=shown_url(url)))


@db_group.command("status")
@json_option
@store_options
def db_status_cmd(as_json: bool) -> None:
    """Show each schema migration and when it was applied. Exit 1 when one is pending."""
    from incident.register.pgstore import connect, migration_status, shown_url

    url = _url()
    with connect(url) as conn:
        states = migration_status(conn)
    rep = reporter(as_json)
    rep.result({"database": shown_url(url),
                "migrations": [{"version": s.version, "name": s.name, "changed": s.changed,
                                "applied_at": s.applied_at.isoformat() if s.applied_at else None}
                               for s in states]})
    rep.echo(_("database {url}").format(url=shown_url(url)))
    for s in states:
        when = s.applied_at.isoformat(timespec="seconds") if s.applied_at else _("pending")
        rep.echo(f"  {s.version:04d}_{s.name}: {when}" + (_(" (changed since applied)") if s.changed else ""))
    if any(s.applied_at is None or s.changed for s in states):
        raise click.exceptions.Exit(1)


def _member_json(member: Any) -> dict[str, object]:
    return {"role": member.role, "department": member.department, "central": member.central,
            "granted_by": member.granted_by, "granted_at": member.granted_at.isoformat()}


@db_group.command("grant")
@click.argument("role")
@click.option("--department", default="", metavar="NAME", help="The department (所管課) whose incidents the role sees and changes.")
@click.option("--central", is_flag=True, help="The central privacy desk: the role sees and changes every incident.")
@json_option
@store_options
def db_grant_cmd(role: str, department: str, central: bool, as_json: bool) -> None:
    """Let a database role see and change one department's incidents (or all, with --central). Run as the owner of the register's tables."""
    from incident.register.pgstore import connect, grant

    with connect(_url()) as conn:
        member = grant(conn, role, department=department, central=central)
    rep = reporter(as_json)
    rep.result(_member_json(member))
    if member.central:
        rep.info(_("{role} is a member of the central desk: it sees and changes every incident.").format(role=role))
    else:
        rep.info(_("{role} sees and changes the incidents of {department}.").format(role=role,
                                                                                     department=member.department))


@db_group.command("revoke")
@click.argument("role")
@json_option
@store_options
def db_revoke_cmd(role: str, as_json: bool) -> None:
    """Take away a database role's membership: it sees no incident any more. Run as the owner."""
    from incident.errors import NotFoundError
    from incident.register.pgstore import connect, revoke

    with connect(_url()) as conn:
        was = revoke(conn, role)
    if not was:
        raise NotFoundError(_("{role} is not a member of the register; `incident db roles` lists them").format(role=role))
    rep = reporter(as_json)
    rep.result({"role": role, "revoked": True})
    rep.info(_("{role} sees no incident any more.").format(role=role))


@db_group.command("roles")
@json_option
@store_options
def db_roles_cmd(as_json: bool) -> None:
    """List the database roles that may use the register and the department each sees."""
    from incident.register.pgstore import connect, members

    with connect(_url()) as conn:
        found = members(conn)
    rep = reporter(as_json)
    rep.result([_member_json(m) for m in found])
    for member in found:
        where = _("every department (central desk)") if member.central else member.department
        rep.echo(f"{member.role}\t{where}")


@db_group.command("password")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from standard input (one line).")
@store_options
def db_password_cmd(from_stdin: bool) -> None:
    """Keep the database password of the register's user in the OS keyring (never in a file)."""
    from incident.cli.common import read_secret
    from incident.register.pgstore import login_of
    from incident.register.secrets import set_db_password

    user, host = login_of(_url())
    value = read_secret(f"{user}@{host}", from_stdin, _(
        "no terminal to ask for the password of {login}: pipe it with --stdin, or give it in PGPASSFILE or "
        "PGPASSWORD").format(login=f"{user}@{host}"), "password")
    set_db_password(user, host, value)
    reporter(False).info(_("Stored the password of {login} in the OS keyring (incident-db).").format(login=f"{user}@{host}"))


def _transfer_json(result: Any) -> dict[str, object]:
    return {"source": result.source, "target": result.target, "incidents": result.incidents,
            "entries": result.entries, "personal_files": result.personal_files, "source_head": result.source_head,
            "verified": {"ok": result.verified.ok, "entries": result.verified.entries,
                         "problem": result.verified.problem or None}}


@db_group.command("import")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@json_option
@store_options
def db_import_cmd(directory: Path, as_json: bool) -> None:
    """Copy a file store (incidents, audit log, rosters, batches) into the register's empty database, verifying the audit chain before and after."""
    from incident.dates import now
    from incident.register.transfer import import_files

    env = get_env()
    store = env.store()
    result = import_files(store, directory, actor=env.actor(), at=now(store.tz))
    rep = reporter(as_json)
    rep.result(_transfer_json(result))
    rep.info(_("Imported {incidents} incidents, {entries} audit entries and {files} sealed files from {source}; the audit log verifies ({total} entries).")
             .format(incidents=result.incidents, entries=result.entries, files=result.personal_files,
                     source=result.source, total=result.verified.entries))


@db_group.command("export")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@json_option
@store_options
def db_export_cmd(directory: Path, as_json: bool) -> None:
    """Write the register out as a new file store (for a backup, or to leave the server), verifying the audit chain before and after."""
    from incident.dates import now
    from incident.register.transfer import export_files

    env = get_env()
    store = env.store()
    result = export_files(store, directory, actor=env.actor(), at=now(store.tz))
    rep = reporter(as_json)
    rep.result(_transfer_json(result))
    if not result.verified.ok:
        from incident.errors import IncidentError

        raise IncidentError(_("the exported audit log does not verify: {problem}")
                            .format(problem=result.verified.shown()))
    rep.info(_("Exported {incidents} incidents, {entries} audit entries and {files} sealed files to {target}; its audit log verifies ({total} entries).")
             .format(incidents=result.incidents, entries=result.entries, files=result.personal_files,
                     target=result.target, total=result.verified.entries))
