"""Database commands: db upgrade, db status (a register on PostgreSQL)."""

from __future__ import annotations

import click

from incident.cli.common import get_env, json_option, store_options
from incident.cli.group import IncidentGroup
from incident.cli.reporting import reporter


@click.group("db", cls=IncidentGroup)
def db_group() -> None:
    """The register's PostgreSQL database: schema migrations."""


def _url() -> str:
    from incident.errors import InputError
    from incident.register.config import load_config
    from incident.register.pgstore import database_url

    env = get_env()
    path = env.store_path
    configured = load_config(path / "config.toml").database_url if (path / "config.toml").is_file() else ""
    url = database_url(path, configured)
    if not url:
        raise InputError(f"the store at {path} keeps its register in files; give a database with "
                         "`incident init --database URL`, database_url in config.toml or $INCIDENT_DATABASE_URL",
                         field="database_url")
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
        rep.echo(f"applied {migration.version:04d}_{migration.name}")
    if not done:
        rep.info(f"The register at {shown_url(url)} is up to date.")


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
    rep.echo(f"database {shown_url(url)}")
    for s in states:
        when = s.applied_at.isoformat(timespec="seconds") if s.applied_at else "pending"
        rep.echo(f"  {s.version:04d}_{s.name}: {when}" + (" (changed since applied)" if s.changed else ""))
    if any(s.applied_at is None or s.changed for s in states):
        raise click.exceptions.Exit(1)
