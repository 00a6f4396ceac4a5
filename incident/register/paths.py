"""Where a store is and how its files are named: a module that imports nothing but `os` and `re` (not
even pathlib), so that `incident list` answering from its cache and `--help` load nothing else."""

from __future__ import annotations

import os
import re

#: an incident id, YYYY-NNNN (the number grows past four digits in a busy year)
ID_RE = re.compile(r"^(\d{4})-(\d{4,})$")
ENV_HOME = "INCIDENT_HOME"
#: the environment variable that puts the register in a PostgreSQL database (it wins over the config)
ENV_DATABASE_URL = "INCIDENT_DATABASE_URL"


def store_dir(explicit: str | os.PathLike[str] | None = None) -> str:
    """The store directory: `--store`, else `$INCIDENT_HOME`, else the platform's user data directory."""
    if explicit:
        return os.path.expanduser(os.fspath(explicit))
    env = os.environ.get(ENV_HOME)
    if env:
        return os.path.expanduser(env)
    return _user_data_dir()


def demo_store_dir() -> str:
    """Where `incident demo` records its sample incidents."""
    return os.path.join(_user_data_dir(), "demo")


def _user_data_dir() -> str:
    import platformdirs  # only when no store is named: most runs name it

    return platformdirs.user_data_dir("incident", appauthor=False)
