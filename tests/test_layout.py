"""The package layout: dependencies run one way, cli -> stages -> register (and the base modules below
all of them). A stage that reached back up would make the layout a lie; this test reads every import
of the package (top level and inside functions alike) and names each one that goes the wrong way."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "incident"

#: layer -> the layers it may import; a layer may always import itself
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "register": {"base"},
    "law": {"base", "register"},
    "notices": {"base", "register", "law"},
    "followup": {"base", "register", "law", "notices"},
    "cli": {"base", "register", "law", "notices", "followup"},
}
STAGES = ("register", "law", "notices", "followup", "cli")


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return parts[1]
    return "cli" if module in ("incident.__main__",) else "base"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every `incident…` module the file imports, with its line (TYPE_CHECKING imports included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("incident")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("incident"):
            if node.module == "incident":
                found += [(node.lineno, f"incident.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_every_import_goes_down_the_layers() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = layer_of(module_name(path))
        for line, target in imports_of(path):
            target_layer = layer_of(target)
            if target_layer != source and target_layer not in ALLOWED[source]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {source} imports {target}")
    assert wrong == []


def test_the_core_never_imports_click_or_rich() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if layer_of(module_name(path)) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {n}" for n in names
                      if n.split(".")[0] in ("click", "rich")]
    assert wrong == []


def test_the_layer_check_sees_a_violation() -> None:
    """The check itself: a register module importing the law is named."""
    assert layer_of("incident.register.store") == "register"
    assert layer_of("incident.law.rules") not in ALLOWED["register"]
    assert layer_of("incident.dates") == "base"


def test_outside_the_register_stores_are_reached_through_the_protocol() -> None:
    """The stages and the command line type against incident.register.backend.RegisterStore: none of them
    imports a backend's class (functions such as the database's migrations are fine), so a second backend needs no change outside the register."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if layer_of(module_name(path)) == "register":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("incident.register.store",
                                                                     "incident.register.pgstore"):
                names = {a.name for a in node.names if a.name[0].isupper() and not a.name.isupper()}
                if names:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: imports {sorted(names)}")
            elif isinstance(node, ast.Attribute) and node.attr == "audit" and \
                    isinstance(node.value, ast.Name) and node.value.id == "store":
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: reaches into store.audit")
    assert not wrong, "outside the register, a store is a RegisterStore:\n" + "\n".join(wrong)
