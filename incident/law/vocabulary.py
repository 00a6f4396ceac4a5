"""The open-ended vocabularies a record is validated against, all loaded from playbooks.

Data items come from the catalogue, types and causes from the taxonomies, regime ids from the
regime playbooks; an organization's store may add its own of each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from incident.law.catalogue import load_catalogue
from incident.law.regimes import load_regimes
from incident.law.taxonomy import load_taxonomy
from incident.register.backend import RegisterStore, init_register, open_register
from incident.register.config import Config
from incident.register.record import Vocabulary


def load_vocabulary(extra_dirs: Sequence[Path] = ()) -> Vocabulary:
    extra = tuple(extra_dirs)
    catalogue = load_catalogue(extra)
    taxonomy = load_taxonomy(extra)
    regimes = load_regimes(extra)
    return Vocabulary(
        resolve_item=lambda name: catalogue.resolve(name).id,
        types=tuple(taxonomy.types),
        causes=tuple(taxonomy.causes),
        regimes=tuple(regimes),
        default_events={tid: t.default_event for tid, t in taxonomy.types.items()},
        labels={"type": {t.ja: t.id for t in taxonomy.types.values()},
                "cause": {c.ja: c.id for c in taxonomy.causes.values()}},
    )


def vocabulary_of(root: Path) -> Callable[[], Vocabulary]:
    """The loader of a store's vocabulary: the bundled playbooks and the store's own playbooks/."""
    def load() -> Vocabulary:
        own = root / "playbooks"
        return load_vocabulary((own,) if own.is_dir() else ())

    return load


def open_store(root: Path) -> RegisterStore:
    """Open the store at `root`, validating its records against its playbooks' vocabulary."""
    return open_register(root, vocabulary_of(root))


def init_store(root: Path, config: Config | None = None) -> RegisterStore:
    """Create (or open) the store at `root`, validating its records against its playbooks' vocabulary."""
    return init_register(root, config, vocabulary_of(root))
