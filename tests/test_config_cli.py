"""`incident config show` and `incident config set KEY=VALUE…`: validated like config.toml, written under
the lock with an audit entry, secrets refused."""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from incident.errors import InputError
from incident.register.config import apply_settings, parse_config

Run = Callable[..., Result]


def test_set_changes_values_of_each_type_and_show_lists_them(run: Run, store_dir: Path) -> None:
    result = run(["config", "set", "organization=サンプル株式会社", "smtp.host=smtp.example.jp", "smtp.port=465",
                  "smtp.security=tls", "regimes=gdpr", "ordinance_special_care=", "retention_years=7",
                  "people.総務課=soumu@example.jp"])
    assert "smtp.port: 587 → 465" in result.stderr
    raw = tomllib.loads((store_dir / "config.toml").read_text(encoding="utf-8"))
    assert raw["organization"] == "サンプル株式会社" and raw["retention_years"] == 7 and raw["regimes"] == ["gdpr"]
    assert raw["smtp"]["host"] == "smtp.example.jp" and raw["smtp"]["port"] == 465
    assert raw["people"] == {"総務課": "soumu@example.jp"}
    assert stat.S_IMODE((store_dir / "config.toml").stat().st_mode) == 0o600
    shown = json.loads(run("config show --json").stdout)
    assert shown["store"] == str(store_dir)
    assert shown["config"]["smtp"] == {"host": "smtp.example.jp", "port": 465, "security": "tls", "user": "",
                                       "from_addr": "", "from_name": ""}
    assert 'organization = "サンプル株式会社"' in run("config show").stdout
    entry = json.loads(run("audit show --json").stdout)[-1]
    assert entry["action"] == "config.set" and entry["actor"] == "tester"
    assert entry["changes"]["smtp.port"] == [587, 465]
    run("config set people.総務課=")
    assert tomllib.loads((store_dir / "config.toml").read_text(encoding="utf-8")).get("people", {}) == {}


@pytest.mark.parametrize(("assignment", "message"), [
    ("smtp.password=hunter2", "incident secret set smtp"),
    ("password=hunter2", "incident secret set smtp"),
    ("smtp.port=abc", "field 'smtp.port': expected a whole number, got 'abc'"),
    ("smtp.security=ssl", "field 'smtp.security': expected one of: starttls, tls, none"),
    ("entity=company", "field 'entity': 'company' is not valid; expected one of: business"),
    ("timezone=Tokyo", "field 'timezone': unknown timezone 'Tokyo'"),
    ("retention_years=-1", "field 'retention_years': must not be negative"),
    ("colour=blue", "field 'colour': unknown key; valid keys: organization, entity"),
    ("smtp=x", "field 'smtp': unknown key"),
    ("organization", "expected KEY=VALUE, got 'organization'"),
])
def test_a_bad_assignment_is_refused_and_nothing_is_written(run: Run, store_dir: Path, assignment: str,
                                                            message: str) -> None:
    before = (store_dir / "config.toml").read_bytes()
    result = run(["config", "set", "organization=書かれない", assignment], expect=2)
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (store_dir / "config.toml").read_bytes() == before
    assert "hunter2" not in (store_dir / "config.toml").read_text(encoding="utf-8")


def test_setting_the_same_value_writes_nothing(run: Run, store_dir: Path) -> None:
    run("config set timezone=Asia/Tokyo")
    entries = json.loads(run("audit show --json").stdout)
    assert not any(e["action"] == "config.set" for e in entries)


def test_apply_settings_validates_like_the_file() -> None:
    raw = {"organization": "x", "smtp": {"host": "h"}}
    new, config, changes = apply_settings(raw, ["smtp.port=25", "smtp.security=none"])
    assert config == parse_config(new)
    assert raw == {"organization": "x", "smtp": {"host": "h"}}  # the input is not changed
    assert changes == {"smtp.port": [587, 25], "smtp.security": ["starttls", "none"]}
    with pytest.raises(InputError, match="secret"):
        apply_settings(raw, ["smtp.api_token=x"])


def test_init_points_to_config_set_only_for_what_is_missing(tmp_path: Path, run: Run) -> None:
    full = run(["--store", str(tmp_path / "a"), "init", "--organization", "サンプル株式会社", "--contact", "窓口"])
    assert "config.toml" not in full.stderr and "`incident config show`" in full.stderr
    bare = run(["--store", str(tmp_path / "b"), "init"])
    assert "`incident config set organization=… contact=…`" in bare.stderr
