"""Every error an officer reads goes through the catalogue: no module under incident/ builds one of the
toolkit's errors (an IncidentError or any subclass, wherever defined) from an English literal, so that a
Japanese run never prints an English sentence that was never offered for translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "incident"
#: the calls that put a message through the catalogue
TRANSLATING = {"_", "ngettext"}
WORD = re.compile(r"[A-Za-z]")


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in sorted(PACKAGE.rglob("*.py"))}


def error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """IncidentError and every class under incident/ that derives from it, directly or not."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    n for n in (_name(b) for b in node.bases) if n is not None)
    family = {"IncidentError"}
    grown = True
    while grown:
        grown = False
        for name, parents in bases.items():
            if name not in family and parents & family:
                family.add(name)
                grown = True
    return family


def translated(node: ast.expr) -> bool:
    """`_("…")`, `ngettext(…)`, or a `.format(…)` on one of them."""
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name in TRANSLATING:
            return True
        if name == "format" and isinstance(node.func, ast.Attribute):
            return translated(node.func.value)
    return False


def literal(node: ast.expr) -> bool:
    """Words written here: a string or f-string with a letter in its text, or one joined to others with + or %,
    formatted, or chosen by a conditional expression (a name or another call is not judged: its text is made
    elsewhere; "", "; " or f"{key}: {message}" join translated pieces and say nothing of their own)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and WORD.search(node.value) is not None
    if isinstance(node, ast.JoinedStr):
        return any(literal(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return literal(node.left) or literal(node.right)
    if isinstance(node, ast.IfExp):
        return literal(node.body) or literal(node.orelse)
    if isinstance(node, ast.Call) and _name(node.func) == "format" and isinstance(node.func, ast.Attribute):
        return literal(node.func.value)
    return False


def untranslated_errors(trees: dict[Path, ast.Module], family: set[str], *, raised_only: bool = False) -> list[str]:
    """`file:line: Class(text)` for each error of `family` built from a literal message rather than a
    translated one."""
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if raised_only:
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                node = node.exc
            if not isinstance(node, ast.Call) or _name(node.func) not in family:
                continue
            message = node.args[:1] or [k.value for k in node.keywords if k.arg == "message"]
            if message and literal(message[0]) and not translated(message[0]):
                where = path.relative_to(PACKAGE.parent)
                found.append(f"{where}:{node.lineno}: {_name(node.func)}({ast.unparse(message[0])[:80]})")
    return found


def test_no_error_is_raised_with_an_untranslated_message() -> None:
    trees = _trees()
    assert untranslated_errors(trees, error_classes(trees), raised_only=True) == []


def test_no_error_is_built_with_an_untranslated_message() -> None:
    """Errors collected before they are raised (a checker's list of problems) are read by the officer too."""
    trees = _trees()
    assert untranslated_errors(trees, error_classes(trees)) == []


def test_the_scan_finds_literals_and_passes_translated_messages(tmp_path: Path) -> None:
    source = '''
from incident.errors import InputError, StoreError
from incident.i18n import _, ngettext

class SheetError(StoreError):
    pass

class LocalError(SheetError):
    pass

def f(x, n, message):
    if x == 1:
        raise InputError("plain text", field="f")
    if x == 2:
        raise StoreError(f"no store at {x}")
    if x == 3:
        raise LocalError("bad " + str(x))
    if x == 4:
        raise InputError(message="as a keyword")
    if x == 5:
        raise InputError("{x} is bad".format(x=x))
    if x == 6:
        raise InputError(_("translated {x}").format(x=x), field="f")
    if x == 7:
        raise InputError(ngettext("{n} row", "{n} rows", n).format(n=n))
    if x == 8:
        raise InputError(message)
    if x == 9:
        raise ValueError(f"an invariant {x}")
    if x == 10:
        raise InputError(f"{x}: {message}")
    if x == 11:
        raise InputError(_("a {x}").format(x=x) + ("" if n else _(" and more")))
    problems = [StoreError("collected, not raised")]
    return problems
'''
    path = PACKAGE / "example.py"
    trees = {path: ast.parse(source)}
    family = error_classes({**_trees(), **trees})
    assert {"InputError", "StoreError", "NotFoundError", "SheetError", "LocalError"} <= family
    assert "ValueError" not in family
    raised = untranslated_errors(trees, family, raised_only=True)
    assert [r.split(": ")[0].rsplit(":", 1)[1] for r in raised] == ["13", "15", "17", "19", "21"]
    assert raised[2] == "incident/example.py:17: LocalError('bad ' + str(x))"
    assert untranslated_errors(trees, family)[-1] == "incident/example.py:34: StoreError('collected, not raised')"


def test_a_rosters_row_problems_are_built_from_marked_messages() -> None:
    """A roster row's problem is said in English (JSON) and in the run's language (what the officer reads):
    built only by `_problem` from a message marked with N_(), never from text of its own."""
    tree = ast.parse((PACKAGE / "notices" / "roster.py").read_text(encoding="utf-8"))
    outside, unmarked = [], []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and _name(node.func) == "RowProblem" and function.name != "_problem":
                outside.append(node.lineno)
            if isinstance(node, ast.Call) and _name(node.func) == "_problem" and not (
                    len(node.args) > 1 and isinstance(node.args[1], ast.Call) and _name(node.args[1].func) == "N_"):
                unmarked.append(node.lineno)
    assert (outside, unmarked) == ([], [])


#: helpers that build an error from their first argument (module under incident/, the helper's name)
HELPERS = [("register/sections.py", "bad"), ("register/record.py", "bad"), ("followup/steps.py", "bad"),
           ("notices/form.py", "bad"),
           # the playbook checkers: each problem is recorded with `fail` (tomlfile.BlockProblems) or `add`
           ("law/regime_check.py", "add"), ("tomlfile.py", "fail"), ("law/taxonomy.py", "fail"),
           ("law/catalogue.py", "fail"), ("followup/response.py", "fail"), ("law/sectors.py", "fail"),
           ("notices/items.py", "fail"), ("law/workdays.py", "fail"), ("followup/contractor_report.py", "fail"),
           ("followup/urgencies.py", "fail"), ("law/report_items.py", "fail")]


def test_error_helpers_are_given_translated_messages() -> None:
    found = []
    for module, helper in HELPERS:
        tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) == helper and n.args]
        assert calls, (module, helper)
        found += [f"{module}:{n.lineno}" for n in calls if literal(n.args[0]) and not translated(n.args[0])]
    assert found == []
