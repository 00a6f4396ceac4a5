"""An organization's templates: never read through a symbolic link, never rendered without bounds."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jinja2
import pytest
from test_notices import make, write_config

from incident.law.vocabulary import open_store
from incident.templating import (
    BoundedSandbox,
    RenderLimit,
    UnsafeTemplatePath,
    bounded_render,
    check_confined,
)


@pytest.fixture
def own(store_dir: Path) -> Path:
    write_config(store_dir)
    path = store_dir / "templates" / "notices" / "ja"
    path.mkdir(parents=True)
    return path


def test_a_symlinked_template_cannot_read_the_roster_key(run: Any, own: Path, store_dir: Path,
                                                         tmp_path: Path) -> None:
    incident = make(open_store(store_dir))
    secret = tmp_path / "keys" / "secret.txt"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("SECRET-KEY-MATERIAL\n", encoding="utf-8")
    (own / "regulator-final.j2").symlink_to(secret)
    result = run(f"notice {incident} --kind regulator-final", expect=2)
    assert "is a symbolic link" in result.stderr and "SECRET-KEY-MATERIAL" not in result.stdout + result.stderr
    (own / "regulator-final.j2").unlink()
    (own / "inc").symlink_to(secret.parent, target_is_directory=True)
    (own / "regulator-final.j2").write_text('{% include "inc/secret.txt" %}\n', encoding="utf-8")
    result = run(f"notice {incident} --kind regulator-final", expect=2)
    assert "is a symbolic link" in result.stderr and "SECRET-KEY-MATERIAL" not in result.stdout + result.stderr
    (own / "regulator-final.j2").write_text('{% include "../../../../keys/secret.txt" %}\n', encoding="utf-8")
    result = run(f"notice {incident} --kind regulator-final", expect=2)
    assert "SECRET-KEY-MATERIAL" not in result.stdout + result.stderr


def test_a_symlinked_templates_directory_is_refused(run: Any, store_dir: Path, tmp_path: Path) -> None:
    write_config(store_dir)
    make(open_store(store_dir))
    elsewhere = tmp_path / "elsewhere" / "reports"
    elsewhere.mkdir(parents=True)
    (elsewhere / "annual.md.j2").write_text("{{ totals.incidents }}\n", encoding="utf-8")
    shutil.rmtree(store_dir / "templates", ignore_errors=True)
    (store_dir / "templates").symlink_to(elsewhere.parent, target_is_directory=True)
    result = run("report annual --fiscal-year 2024", expect=2)
    assert "is a symbolic link" in result.stderr


def test_check_confined(tmp_path: Path) -> None:
    base = tmp_path / "templates"
    (base / "reports").mkdir(parents=True)
    good = base / "reports" / "a.j2"
    good.write_text("x")
    check_confined(good, base)
    with pytest.raises(UnsafeTemplatePath, match="outside"):
        check_confined(tmp_path / "a.j2", base)
    big = base / "reports" / "big.j2"
    big.write_text("x" * (256 * 1024 + 1))
    with pytest.raises(UnsafeTemplatePath, match="262,145 bytes"):
        check_confined(big, base)


def sandbox(text: str) -> jinja2.Template:
    return BoundedSandbox(undefined=jinja2.StrictUndefined).from_string(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ 'x' * 1000000000 }}", "repeated a value"),
        ("{{ 'x' | center(1000000000) }}", "asked for a width of 1,000,000,000"),
        ("{{ 'x'.ljust(1000000000) }}", "asked for a width"),
        ("{{ 2 ** 100000 }}", "to the power 100000"),
        ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "output passed 2,000,000 characters"),
        ("{% for i in range(100000) %}" + "y" * 1000 + "{% endfor %}", "output passed 2,000,000 characters"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursed too deeply"),
    ],
)
def test_render_bounds(text: str, message: str) -> None:
    with pytest.raises(RenderLimit, match=message):
        bounded_render(sandbox(text), {})


def test_a_render_that_never_ends_is_stopped() -> None:
    endless = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(RenderLimit, match="took longer than"):
        bounded_render(sandbox(endless), {}, seconds=0.05)


def test_an_ordinary_template_renders_under_the_bounds() -> None:
    text = "{% for i in range(3) %}{{ i }}{{ '-' * 3 }}{{ n | center(7) }}{% endfor %}{% set subject = 'S' %}"
    assert bounded_render(sandbox(text), {"n": 5_000_000}) == "0---50000001---50000002---5000000"
    module = bounded_render(sandbox(text), {"n": 1}, module=True)
    assert module.subject == "S" and str(module).startswith("0---   1   ")


def test_an_endless_organization_notice_is_exit_2(run: Any, own: Path, store_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import incident.templating

    monkeypatch.setattr(incident.templating, "MAX_RENDER_SECONDS", 0.05)
    incident_id = make(open_store(store_dir))
    (own / "regulator-final.j2").write_text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n", encoding="utf-8")
    result = run(f"notice {incident_id} --kind regulator-final", expect=2)
    assert "took longer than" in result.stderr
