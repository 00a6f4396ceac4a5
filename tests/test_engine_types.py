"""The engine is typed: no `Any` in the signatures of incident.law.rules, rule_kinds and assessment.

Every function, method, property and field (a NamedTuple's or dataclass's fields are its constructor's
parameters) defined in those modules has its annotations resolved, type aliases included, and walked down
to their arguments; a test fails on any `typing.Any` it finds.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import typing
from pathlib import Path
from types import ModuleType

import pytest

ENGINE = ("incident.law.rules", "incident.law.rule_kinds", "incident.law.assessment")


def _namespace(module: ModuleType) -> dict[str, object]:
    """The module's globals plus the names it imports only for type checking (`if TYPE_CHECKING:`)."""
    namespace = dict(vars(module))
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for imported in node.body:
                assert isinstance(imported, ast.ImportFrom) and imported.module, ast.unparse(imported)
                source = importlib.import_module(imported.module)
                for alias in imported.names:
                    namespace[alias.asname or alias.name] = getattr(source, alias.name)
    return namespace


def _has_any(tp: object) -> bool:
    if tp is typing.Any:
        return True
    if isinstance(tp, list | tuple):
        return any(_has_any(t) for t in tp)
    return any(_has_any(arg) for arg in typing.get_args(tp))


def _annotated(module: ModuleType) -> typing.Iterator[tuple[str, object]]:
    """(qualified name, object with annotations) of everything the module defines."""
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            yield name, value
        elif inspect.isclass(value):
            yield name, value  # its fields
            for attr, member in vars(value).items():
                if isinstance(member, classmethod | staticmethod):
                    member = member.__func__
                elif isinstance(member, property):
                    member = member.fget
                if inspect.isfunction(member):
                    yield f"{name}.{attr}", member


def _signatures_with_any(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    namespace = _namespace(module)
    found = []
    for name, obj in _annotated(module):
        hints = typing.get_type_hints(obj, globalns=namespace)
        found += [f"{module_name}.{name}: {key}" for key, tp in hints.items() if _has_any(tp)]
    return found


@pytest.mark.parametrize("module_name", ENGINE)
def test_engine_signatures_have_no_any(module_name: str) -> None:
    assert _signatures_with_any(module_name) == []


def test_the_check_sees_an_alias_that_hides_any() -> None:
    from incident.law import rule_kinds

    assert _has_any(typing.Mapping[str, typing.Any])
    assert not _has_any(rule_kinds.Params)
    hints = typing.get_type_hints(rule_kinds.applies, globalns=_namespace(rule_kinds))
    assert hints["tests"] == rule_kinds.Params
    assert [name for name, _obj in _annotated(rule_kinds)].count("Case") == 1
