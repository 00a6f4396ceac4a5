"""The `incident` command line: a thin layer over the core library.

Subcommands are listed here by name and loaded on first use, so `incident --help` and simple
commands start fast.
"""

from __future__ import annotations

import sys

import click

from incident import __version__
from incident.cli.group import Env, IncidentGroup
from incident.i18n import N_

#: command name -> ("module:attribute", one-line summary): the one registry of commands. The summary is
#: what `incident --help` lists, so the top-level help imports no command module (a test keeps each
#: summary equal to its command's own short help).
COMMANDS: dict[str, tuple[str, str]] = {
    # the register
    "init": ("incident.cli.register:init_cmd", N_('Create the store (config.toml, incidents/, audit log).')),
    "new": ("incident.cli.register:new_cmd", N_('Record a new incident and print its ID.')),
    "show": ("incident.cli.register:show_cmd", N_('Show one incident: its facts, data items and timeline.')),
    "list": ("incident.cli.listing:list_cmd", N_('List incidents, newest discovery first.')),
    "edit": ("incident.cli.register:edit_cmd",
             N_("Open the incident's TOML in $EDITOR; an invalid save is refused and the edit kept for retry.")),
    "set": ("incident.cli.register:set_cmd",
             N_('Change facts: `incident set 2024-0007 persons=1200 malicious=suspected`.')),
    "log": ("incident.cli.register:log_cmd", N_('Add a dated event to the timeline (発覚, 初動対応, 警察へ届出 …).')),
    "status": ("incident.cli.register:status_cmd",
             N_('Move an incident: open → contained → reported → closed.')),
    "audit": ("incident.cli.register:audit_group", N_('The tamper-evident audit log.')),
    "db": ("incident.cli.db:db_group", N_("The register's PostgreSQL database: schema migrations and who may see what.")),
    "config": ("incident.cli.config:config_group", N_('Show or change the store\'s settings (config.toml).')),
    "demo": ("incident.cli.demo:demo_cmd",
             N_('Record sample incidents in a demo store and show the register, an incident and what the law asks.')),
    # the assessment and its deadlines
    "assess": ("incident.cli.assess:assess_cmd",
             N_('Decide, under every regime that applies, what must be reported, to whom and by when.')),
    "deadlines": ("incident.cli.assess:deadlines_cmd",
             N_('Every open obligation across incidents, soonest first, with days left (overdue in red).')),
    "done": ("incident.cli.assess:done_cmd",
             N_('Mark an obligation done: `incident done 2024-0007 regulator-final --ref R6-123`.')),
    "playbooks": ("incident.cli.playbooks:playbooks_group",
             N_("The regime playbooks: the law as data (bundled, and the store's own).")),
    # the first hours
    "steps": ("incident.cli.steps:steps_cmd",
             N_("Show the response playbook for an incident: each step's state and the next one.")),
    "step": ("incident.cli.steps:step_cmd",
             N_('Record a response step as done (settling its fact) or skipped with a reason.')),
    # notices and sending
    "notice": ("incident.cli.notice:notice_cmd",
             N_('Render a report or notice for incident ID (`incident notice kinds` lists the kinds).')),
    "roster": ("incident.cli.roster:roster_group",
             N_('The affected-person roster (本人一覧) of an incident, encrypted at rest.')),
    "send": ("incident.cli.send:send_cmd",
             N_('E-mail the individual notices of incident ID: --prepare, --approve (a second person), then send.')),
    "secret": ("incident.cli.send:secret_group", N_('Secrets kept in the OS keyring (never in a file).')),
    # follow-up
    "action": ("incident.cli.actions:action_group",
             N_('Corrective actions (再発防止措置): owned, dated, done with evidence, verified by someone else.')),
    "review": ("incident.cli.actions:review_cmd",
             N_("The post-incident review: walk the checklist for the incident's type and cause.")),
    "remind": ("incident.cli.remind:remind_cmd",
             N_('Remind owners, departments and the privacy desk of deadlines (for cron or Task Scheduler).')),
    "people": ("incident.cli.remind:people_group",
             N_('Who reminders go to: owners, departments and privacy-desk, with their e-mail addresses.')),
    "report": ("incident.cli.report:report_group", N_('Reports over the register.')),
    "purge": ("incident.cli.report:purge_cmd",
             N_('Remove the personal data (rosters, batches, notices) of incidents closed longer ago than retention_years.')),
}


@click.group(cls=IncidentGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", "store_opt", metavar="DIR", envvar=None,
              help="The store directory (default: $INCIDENT_HOME, else the user data directory).")
@click.option("--actor", "actor_opt", metavar="NAME", help="Who is acting (default: config, else the OS user).")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.version_option(__version__, prog_name="incident")
@click.pass_context
def cli(ctx: click.Context, store_opt: str | None, actor_opt: str | None, debug: bool) -> None:
    """Record personal-data incidents, assess them under the law, and follow them up.

    Start with `incident demo`, or `incident init` for a real register.
    """
    env = ctx.ensure_object(Env)
    env.store_opt = store_opt or env.store_opt
    env.actor_opt = actor_opt or env.actor_opt
    env.debug = debug


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="incident")
