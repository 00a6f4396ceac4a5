"""The core of assess/deadlines/done, without the CLI: saving, open obligations, marking done."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone

import pytest
from conftest import INCIDENTS

from incident.errors import InputError, NotFoundError
from incident.law.tracking import assess_and_save, collect_open, mark_done
from incident.register.changes import new_incident

JST = timezone(timedelta(hours=9))


def _new(store, name: str):  # type: ignore[no-untyped-def]
    raw = tomllib.loads((INCIDENTS / name).read_text(encoding="utf-8"))
    return new_incident(store, raw, actor="t").id


def test_assess_and_save_keeps_the_section_and_reports_changes(store) -> None:  # type: ignore[no-untyped-def]
    incident_id = _new(store, "health-check-3.toml")
    first = assess_and_save(store, incident_id, actor="t")
    assert first["reportable"] is True
    section = store.load(incident_id).sections["assessment"]
    assert section["reportable"] is True
    assert [o["id"] for o in section["assessments"][0]["obligations"]] == [
        "regulator-preliminary", "regulator-final", "individual-notice"]
    assert "appi-business" in section["playbooks"]
    store.update(incident_id, lambda r: r.with_facts(recovered=True), actor="t")
    second = assess_and_save(store, incident_id, actor="t")
    assert second["reportable"] is False
    assert second["changes"], "a change of answer is reported"


def test_open_obligations_and_mark_done(store) -> None:  # type: ignore[no-untyped-def]
    incident_id = _new(store, "email-cc-1001.toml")
    keys = {f"{o.regime}/{o.id}" for o in collect_open(store)}
    assert keys == {"appi-business/regulator-preliminary", "appi-business/regulator-final",
                    "appi-business/individual-notice"}
    marked = mark_done(store, incident_id, "regulator-final", at=datetime(2024, 6, 20, tzinfo=JST),
                       ref="R6-1", actor="t")
    assert marked == "appi-business/regulator-final"
    assert "appi-business/regulator-final" not in {f"{o.regime}/{o.id}" for o in collect_open(store)}
    assert store.load(incident_id).sections["obligations"]["appi-business"]["regulator-final"]["ref"] == "R6-1"
    with pytest.raises(NotFoundError, match="regulator-preliminary"):
        mark_done(store, incident_id, "gdpr-thing", at=datetime(2024, 6, 20, tzinfo=JST), ref="", actor="t")


def test_an_incident_that_cannot_be_assessed_is_skipped_and_named(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from incident.law.rules import Assessor

    good = _new(store, "email-cc-1001.toml")
    bad = _new(store, "health-check-3.toml")
    real = Assessor.assess

    def flaky(self, record):  # type: ignore[no-untyped-def]
        if record.id == bad:
            raise InputError("a playbook of this store no longer loads", field="regimes")
        return real(self, record)

    monkeypatch.setattr(Assessor, "assess", flaky)
    skipped: list[tuple[str, str]] = []
    rows = collect_open(store, on_skip=lambda incident_id, exc: skipped.append((incident_id, exc.message)))
    assert {o.incident for o in rows} == {good}
    assert skipped == [(bad, "a playbook of this store no longer loads")]
