"""Issuing notices: what the workflows that write notices share (the renderer's settings from the store,
the progress hook a caller may hand in).

The command line hands in a progress bar; a script hands in nothing and gets no progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident.notices.render import Settings
    from incident.register.backend import RegisterStore

#: a step's progress: called with how many of the step's items are done
Tick = Callable[[int], None]
#: opens the progress of a step (its label, its total); yields the tick, or None for no progress
ProgressFactory = Callable[[str, int], AbstractContextManager[Tick | None]]


@contextmanager
def no_progress(_label: str, _total: int) -> Iterator[Tick | None]:
    """The progress of a caller that shows none."""
    yield None


def settings_of(store: RegisterStore) -> Settings:
    """The renderer's settings for a store: its config and the organization's templates and playbooks."""
    from incident.notices.render import Settings

    return Settings(store.config, store.extra_dirs("templates"), store.extra_dirs("playbooks"))
