"""The `incident` command line: a thin layer over the core library.

Subcommands are listed here by name and loaded on first use, so `incident --help` and simple
commands start fast.
"""

from __future__ import annotations

import sys

import click

from incident import __version__
from incident.cli.common import Env, IncidentGroup

#: command name -> "module:attribute"; the one registry of commands
COMMANDS: dict[str, str] = {
    # the register
    "init": "incident.cli.register:init_cmd",
    "new": "incident.cli.register:new_cmd",
    "show": "incident.cli.register:show_cmd",
    "list": "incident.cli.register:list_cmd",
    "edit": "incident.cli.register:edit_cmd",
    "set": "incident.cli.register:set_cmd",
    "log": "incident.cli.register:log_cmd",
    "status": "incident.cli.register:status_cmd",
    "audit": "incident.cli.register:audit_group",
    "demo": "incident.cli.demo:demo_cmd",
    # the assessment and its deadlines
    "assess": "incident.cli.assess:assess_cmd",
    "deadlines": "incident.cli.assess:deadlines_cmd",
    "done": "incident.cli.assess:done_cmd",
    "playbooks": "incident.cli.playbooks:playbooks_group",
    # the first hours
    "steps": "incident.cli.steps:steps_cmd",
    "step": "incident.cli.steps:step_cmd",
    # notices and sending
    "notice": "incident.cli.notice:notice_cmd",
    "roster": "incident.cli.roster:roster_group",
    "send": "incident.cli.send:send_cmd",
    "secret": "incident.cli.send:secret_group",
    # follow-up
    "action": "incident.cli.actions:action_group",
    "review": "incident.cli.actions:review_cmd",
    "report": "incident.cli.report:report_group",
    "purge": "incident.cli.report:purge_cmd",
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
