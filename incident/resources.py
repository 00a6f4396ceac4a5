"""Where the bundled `playbooks/` and `templates/` live.

An installed wheel carries them inside the package (`incident/playbooks`, `incident/templates`,
mapped there at build time); a source checkout has them at the top of the repository.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from incident.errors import IncidentError
from incident.i18n import _

Bundle = Literal["playbooks", "templates"]


@cache
def builtin_dir(name: Bundle) -> Path:
    """The directory of bundled `playbooks` or `templates`."""
    packaged = Path(str(files("incident"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise IncidentError(_("the bundled {name}/ directory is missing from this installation; reinstall incident")
                        .format(name=name))
