"""The open-ended vocabularies a record is validated against, all loaded from playbooks.

Data items come from the catalogue, types and causes from the taxonomies, regime ids from the
regime playbooks; an organization's store may add its own of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from incident.register.record import Vocabulary


def load_vocabulary(extra_dirs: Sequence[Path] = ()) -> Vocabulary:
    from incident.law.catalogue import load_catalogue
    from incident.law.regimes import load_regimes
    from incident.law.taxonomy import load_taxonomy

    extra = tuple(extra_dirs)
    catalogue = load_catalogue(extra)
    taxonomy = load_taxonomy(extra)
    regimes = load_regimes(extra)
    return Vocabulary(
        resolve_item=lambda name: catalogue.resolve(name).id,
        types=tuple(taxonomy.types),
        causes=tuple(taxonomy.causes),
        regimes=tuple(regimes),
    )
