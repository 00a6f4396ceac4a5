"""Templates an organization supplies are not trusted code: where they may be read from, and what a
render of them may cost.

`ConfinedLoader` reads a template from an organization's `templates/` directory only when every path
component from that directory down to the file is a real directory or a regular file (no symbolic
link, no name leading outside: Jinja2 already refuses ``..``), and the file is at most
`MAX_TEMPLATE_BYTES`. Otherwise the render is refused (a symlink there could have a template include
any file, the roster key among them).

`BoundedSandbox` is Jinja2's immutable sandbox with bounds: a render stops with `RenderLimit` after
`MAX_RENDER_SECONDS` or `MAX_OUTPUT_CHARS` of output, an operation that would build a string or a number
beyond the output bound is refused before it runs, and every call, loop step over ``range`` and output
chunk counts against the time. `bounded_render` renders under those bounds.
"""

from __future__ import annotations

import contextvars
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import jinja2
from jinja2.environment import TemplateModule
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_BYTES: Final = 256 * 1024
MAX_RENDER_SECONDS: Final = 5.0
MAX_OUTPUT_CHARS: Final = 2_000_000
"""About 1,000 pages of text: far beyond any notice or report, far below what would exhaust memory."""
_CHECK_EVERY: Final = 256


class RenderLimit(SecurityError):
    """A render of an organization's template went past a bound (time, output size, a huge value)."""


class UnsafeTemplatePath(SecurityError):
    """An organization's template is a symbolic link, or reached through one, or too large."""


class ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader whose `confined` roots (an organization's directories) are read only through
    real directories and regular files below `base` (the organization's templates directory)."""

    def __init__(self, searchpath: Sequence[Path], confined: Mapping[Path, Path]) -> None:
        super().__init__([str(p) for p in searchpath], encoding="utf-8")
        self._confined = {str(root): base for root, base in confined.items()}

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = jinja2.loaders.split_template_path(template)
        for root in self.searchpath:
            path = Path(root, *pieces)
            base = self._confined.get(root)
            if base is not None and (path.exists() or path.is_symlink()):
                check_confined(path, base)
            if path.is_file():
                return super().get_source(environment, template)
        raise jinja2.TemplateNotFound(template)


def check_confined(path: Path, base: Path) -> None:
    """UnsafeTemplatePath unless `path` is a regular file of at most MAX_TEMPLATE_BYTES reached from
    `base` through real directories only (`base` itself included)."""
    try:
        relative = path.relative_to(base)
    except ValueError:
        raise UnsafeTemplatePath(f"template {path} is outside the organization's templates directory {base}") \
            from None
    current = base
    for part in ("", *relative.parts):
        current = current / part if part else current
        try:
            info = os.lstat(current)
        except OSError as exc:
            raise UnsafeTemplatePath(f"template {path}: cannot read {current}: {exc.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeTemplatePath(f"template {path}: {current} is a symbolic link; an organization's "
                                     "templates must be real files in its templates directory")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeTemplatePath(f"template {path} is not a regular file")
    if info.st_size > MAX_TEMPLATE_BYTES:
        raise UnsafeTemplatePath(f"template {path} is {info.st_size:,} bytes (at most {MAX_TEMPLATE_BYTES:,})")


# -- bounds on a render ---------------------------------------------------------------------------------------


class _Budget:
    __slots__ = ("deadline", "seconds", "steps")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps % _CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise RenderLimit(f"the template took longer than {self.seconds:g} s to render and was stopped")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_OUTPUT_CHARS:
        raise RenderLimit(f"the template built a value of {len(value):,} items (at most {MAX_OUTPUT_CHARS:,})")
    if isinstance(value, int) and value.bit_length() > 4096:
        raise RenderLimit("the template built a number too large to print")
    return value


def _check_arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT_CHARS:
            raise RenderLimit(f"the template asked for a width of {value:,} (at most {MAX_OUTPUT_CHARS:,})")


_WIDTH_FILTERS: Final = frozenset({"center", "indent", "truncate", "wordwrap", "format"})
"""Filters whose numeric arguments size their output (checked before they run)."""
_WIDTH_METHODS: Final = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "format"})
"""String methods whose numeric arguments size their output."""


def _bounded_range(*args: int) -> Iterator[int]:
    _check_arguments(args, {})
    for number in range(*args):
        _tick()
        yield number


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if hasattr(function, "jinja_pass_arg") else 1  # the context, then the value filtered
    sized = name in _WIDTH_FILTERS

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if sized:
            _check_arguments(args[skip:], kwargs)
        return _check_size(function(*args, **kwargs))

    if hasattr(function, "jinja_pass_arg"):
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with the bounds of the module docstring while `bounded_render` runs."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise RenderLimit(f"the template raised a number to the power {right} (at most 64)")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT_CHARS:
                    raise RenderLimit(f"the template repeated a value {times:,} times (beyond {MAX_OUTPUT_CHARS:,})")
        return _check_size(super().call_binop(context, operator, left, right))

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        if isinstance(getattr(obj, "__self__", None), str) and getattr(obj, "__name__", "") in _WIDTH_METHODS:
            _check_arguments(args, kwargs)
        return _check_size(super().call(context, obj, *args, **kwargs))


def bounded_render(template: jinja2.Template, context: Mapping[str, Any], *, module: bool = False,
                   seconds: float | None = None, max_chars: int = MAX_OUTPUT_CHARS) -> Any:
    """Render `template` with `context` within `seconds` and `max_chars` (RenderLimit otherwise): the
    text, or with `module` the template module (its text is ``str(module)``, its exports attributes)."""
    token = _BUDGET.set(_Budget(MAX_RENDER_SECONDS if seconds is None else seconds))
    try:
        ctx = template.new_context(dict(context))
        chunks: list[str] = []
        size = 0
        budget = _BUDGET.get()
        assert budget is not None
        for chunk in template.root_render_func(ctx):
            size += len(chunk)
            if size > max_chars:
                raise RenderLimit(f"the template's output passed {max_chars:,} characters and was stopped")
            chunks.append(chunk)
            budget.tick()
        if module:
            return TemplateModule(template, ctx, chunks)
        return "".join(chunks)
    except RecursionError:
        raise RenderLimit("the template recursed too deeply and was stopped") from None
    finally:
        _BUDGET.reset(token)
