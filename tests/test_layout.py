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


#: libraries the core loads only on the branch that uses them (each one heavy, or needed by few runs)
LAZY_LIBRARIES = {"reportlab", "psycopg", "docxtpl", "xlsxwriter", "jinja2", "keyring", "cryptography", "icalendar",
                  "email", "getpass", "platformdirs", "tomli_w"}
#: core modules that wrap such a library (importing one loads it), reached the same way
LAZY_MODULES = {"incident.notices.delivery", "incident.notices.docx", "incident.notices.form", "incident.notices.pdf",
                "incident.notices.pdffont", "incident.notices.render", "incident.notices.rosterxlsx",
                "incident.register.pgstore", "incident.register.secrets", "incident.templating"}


def late_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each import inside a function that names neither a lazy library nor a module
    wrapping one, and does not say, in a comment on its line, why it waits."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    late = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = (node.module or "") if isinstance(node, ast.ImportFrom) else node.names[0].name
                named = {module, *(f"{module}.{alias.name}" for alias in node.names)}
                end = node.end_lineno or node.lineno
                if (module.split(".")[0] not in LAZY_LIBRARIES and not named & LAZY_MODULES
                        and "#" not in lines[end - 1]):
                    late.append((node.lineno, module))
    return late


def test_the_core_imports_at_the_top() -> None:
    """A module of the core imports what it uses at its top, where a reader sees it. An import waits inside a
    function only for a heavy library (or a module wrapping one) that few runs need, or says why it waits.
    The command modules (cli/) are the exception: completion and `incident CMD --help` import them."""
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
             for path in sorted(PACKAGE.rglob("*.py")) if "cli" not in path.relative_to(PACKAGE).parts
             for line, module in late_imports(path)]
    assert found == []


def test_the_late_import_check_sees_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from incident.dates import parse_date\n    import reportlab\n"
                      "    from incident.notices import pdf\n    import tomllib  # only for a config naming one\n",
                      encoding="utf-8")
    assert late_imports(module) == [(2, "incident.dates")]
