"""The context of one command: the store, its config, the playbooks and the clock, resolved once.

A command resolves a `Context` at its start (`resolve(store)`; the command line's `Env.context()` makes
one per invocation) and hands it down to the stages, which read their settings, playbooks and time from
it and never reach back up to the store for them. The context is immutable: its playbooks (the bundled
ones with the organization's from the store's `playbooks/`) are loaded on first use and then fixed, so a
command that needs no catalogue loads none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from incident.law.catalogue import load_catalogue
from incident.law.regimes import load_regimes
from incident.law.rules import AssessConfig, prepare
from incident.law.sectors import sector_of
from incident.law.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from incident.law.catalogue import Catalogue
    from incident.law.regimes import RegimeSet
    from incident.law.rules import Assessor
    from incident.law.sectors import Sector
    from incident.law.taxonomy import Taxonomy
    from incident.register.backend import RegisterStore
    from incident.register.config import Config
    from incident.register.record import Vocabulary

__all__ = ["Context", "resolve"]


@dataclass(frozen=True, eq=False)
class Context:
    """What a command works with, resolved once (see the module docstring)."""

    store: RegisterStore
    config: Config
    #: the store's own playbooks/ directories, searched before the bundled ones
    playbook_dirs: tuple[Path, ...]
    #: the store's own templates/ directories, searched before the bundled ones
    template_dirs: tuple[Path, ...]
    #: the organization's timezone (config.toml `timezone`)
    tz: str
    #: the current time, aware, in `tz` (the one clock, incident.dates.now)
    now: Callable[[], datetime] = field(repr=False)

    @cached_property
    def regimes(self) -> RegimeSet:
        return load_regimes(self.playbook_dirs)

    @cached_property
    def catalogue(self) -> Catalogue:
        return load_catalogue(self.playbook_dirs)

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.playbook_dirs)

    @cached_property
    def sector(self) -> Sector | None:
        """The organization's sector (config `sector`, playbooks/sectors.toml), None for none."""
        return sector_of(self.config.sector, self.playbook_dirs)

    @property
    def vocabulary(self) -> Vocabulary:
        """What the store validates records against (its own playbooks with the bundled ones)."""
        return self.store.vocabulary

    @cached_property
    def assess_config(self) -> AssessConfig:
        return AssessConfig.from_config(self.config, self.playbook_dirs)

    @cached_property
    def assessor(self) -> Assessor:
        """The engine over this context's regimes, catalogue and incident types (built once)."""
        return prepare(self.assess_config, regimes=self.regimes, catalogue=self.catalogue,
                       taxonomy=self.taxonomy, sector=self.sector)


def resolve(store: RegisterStore, *, now: Callable[[], datetime] | None = None) -> Context:
    """The context of a command over `store`: its config, timezone and playbook folders, read once."""
    config = store.config
    tz = store.tz

    def clock() -> datetime:
        from incident import dates  # looked up at each call: the one clock, which tests replace

        return dates.now(tz)

    return Context(store=store, config=config, playbook_dirs=store.extra_dirs("playbooks"),
                   template_dirs=store.extra_dirs("templates"), tz=tz, now=now or clock)
