"""`incident config show` and `incident config set KEY=VALUE…`: the store's settings without editing TOML.

The core (incident.register.config) validates the assignments as it validates the file and writes under
the store lock with an audit entry; secrets are refused there and belong to `incident secret set`.
"""

from __future__ import annotations

import click

from incident.cli.common import get_env, info, json_option, store_options
from incident.cli.group import IncidentGroup
from incident.cli.reporting import reporter
from incident.i18n import _


@click.group("config", cls=IncidentGroup)
def config_group() -> None:
    """Show or change the store's settings (config.toml)."""


@config_group.command("show")
@json_option
@store_options
def config_show_cmd(as_json: bool) -> None:
    """Every setting of the store, defaults included (`--json` for scripts)."""
    import tomli_w

    env = get_env()
    store = env.store()
    values = store.config.to_toml_dict()
    rep = reporter(as_json)
    rep.result({"store": str(store.root), "config": values})
    rep.info(_("Settings of the store at {root} (change one with `incident config set KEY=VALUE`):")
             .format(root=store.root))
    rep.echo(tomli_w.dumps(values), nl=False)


@config_group.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@store_options
def config_set_cmd(assignments: tuple[str, ...]) -> None:
    """Change settings: `incident config set organization=サンプル株式会社 smtp.host=smtp.example.jp`.

    Keys: organization, entity, contact, regimes, timezone, actor, key_file, ordinance_special_care,
    retention_years, regulator, sector (playbooks/sectors.toml), language (ja or en), and smtp.host, smtp.port, smtp.security, smtp.user,
    smtp.from_addr, smtp.from_name, and people.NAME (an address to remind; empty removes it). Lists are comma-separated. All are checked together before anything is written;
    passwords are refused (`incident secret set smtp`).
    """
    from incident.register.config import save_settings

    env = get_env()
    store = env.store()
    changes = save_settings(store, assignments, actor=env.actor())
    if not changes:
        info(_("No change: the settings already have these values."))
        return
    for key, (old, new) in changes.items():
        info(f"{key}: {old!r} → {new!r}")
