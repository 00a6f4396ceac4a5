"""The contractor improvement-report playbook (改善報告書): `playbooks/corrective-actions.toml`, loaded and checked.

When a contractor (委託事業者) or a designated manager (指定管理者) handled the data, one corrective action
obtains its improvement report (seed 003 Art. 24); the file says for which `handled_by` values, with what
wording, and due how many days after discovery. An organization overrides any key with a same-named file
in its store's `playbooks/`. Adding the action itself is `incident.followup.actions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from incident.errors import InputError
from incident.i18n import _
from incident.register import enums
from incident.resources import builtin_dir
from incident.tomlfile import BlockProblems, check_header, raise_problems, read_toml

PLAYBOOK_FILE = "corrective-actions.toml"


@dataclass(frozen=True)
class ContractorReport:
    """What `playbooks/corrective-actions.toml` says about contractors' improvement reports."""

    handled_by: tuple[str, ...]
    """The `handled_by` values that call for the action (委託事業者, 指定管理者)."""
    measure: str
    """The measure's wording; `{handled_by}` is replaced by the record's value."""
    due_days: int
    """Days after the date of discovery the report is due."""
    citation: str


_CONTRACTOR_KEYS = ("handled_by", "measure", "due_days", "citation")


def load_contractor_report(extra_dirs: Sequence[Path] = ()) -> ContractorReport:
    """The builtin `[contractor_report]`, each key overridden by the first extra dir that sets it."""
    paths = [Path(d) / PLAYBOOK_FILE for d in extra_dirs]
    stamps = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.is_file())
    return _contractor_report(stamps)


def check_actions_playbook(path: str | Path) -> list[InputError]:
    """Every problem in a corrective-actions.toml (an override may set only some keys)."""
    _values, problems = _read_playbook(Path(path), complete=False)
    return problems


@lru_cache(maxsize=8)
def _contractor_report(stamps: tuple[tuple[str, int, int], ...]) -> ContractorReport:
    builtin = builtin_dir("playbooks") / PLAYBOOK_FILE
    values, problems = _read_playbook(builtin, complete=True)
    raise_problems(problems, builtin)
    for path, _mtime, _size in reversed(stamps):
        override, problems = _read_playbook(Path(path), complete=False)
        raise_problems(problems, Path(path))
        values |= override
    return ContractorReport(handled_by=tuple(values["handled_by"]), measure=values["measure"],
                            due_days=values["due_days"], citation=values["citation"])


def _read_playbook(path: Path, *, complete: bool) -> tuple[dict[str, Any], list[InputError]]:
    data, locator, problems = read_toml(path)
    if data is None:
        return {}, problems
    check_header(data, path, locator, problems)
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, ("schema", "version", "contractor_report"))
    problems += top.found
    table = data.get("contractor_report", {})
    header = locator.block("contractor_report", 0)
    block = BlockProblems(path, locator, header, prefix="contractor_report.")
    if not isinstance(table, dict):
        block.fail(_("expected a table [contractor_report]"), "")
        return {}, problems + block.found
    block.unknown_keys(table, _CONTRACTOR_KEYS, "[contractor_report]")
    if complete:
        for key in _CONTRACTOR_KEYS:
            if key not in table:
                block.fail(_("missing"), key)
    handled = table.get("handled_by", [])
    valid = [h for h in enums.HANDLED_BY if h]
    if not isinstance(handled, list) or not all(isinstance(h, str) and h in valid for h in handled):
        block.fail(_("expected a list of: {valid}").format(valid=", ".join(valid)), "handled_by")
    for key in ("measure", "citation"):
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            block.fail(_("expected a non-empty string"), key)
    if isinstance(table.get("measure"), str):
        try:
            table["measure"].format(handled_by="")
        except (KeyError, IndexError, ValueError):
            block.fail(_("the only placeholder allowed is {{handled_by}}").format(), "measure")
    days = table.get("due_days", 1)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        block.fail(_("expected a whole number of days (1 or more), got {value!r}").format(value=days), "due_days")
    problems += block.found
    return ({k: v for k, v in table.items() if k in _CONTRACTOR_KEYS} if not block.found else {}), problems
