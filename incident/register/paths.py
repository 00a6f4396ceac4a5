"""Where a store is and how its files are named: a module with no dependencies, so that the commands that
only need to find the store (`incident list` from its cache, `--help`) load nothing else."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: an incident id, YYYY-NNNN (the number grows past four digits in a busy year)
ID_RE = re.compile(r"^(\d{4})-(\d{4,})$")
ENV_HOME = "INCIDENT_HOME"


def default_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--store`, else `$INCIDENT_HOME`, else the platform's user data directory."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when neither is given: most runs name the store

    return Path(platformdirs.user_data_dir("incident", appauthor=False))


def demo_store_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("incident", appauthor=False)) / "demo"
