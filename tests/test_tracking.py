"""The core of assess/deadlines/done, without the CLI: saving, open obligations, marking done."""

from __future__ import annotations

import sys
import tomllib
from datetime import datetime, timedelta, timezone

import pytest
from conftest import INCIDENTS

from incident.errors import InputError, NotFoundError
from incident.followup.notification import after_send
from incident.followup.purge import execute_purge, plan_purge
from incident.followup.remind import plan, render
from incident.followup.step_done import step_progress, take_step
from incident.law.context import resolve
from incident.law.tracking import assess_and_save, collect_open, mark_done
from incident.notices.issuing import NoticeRequest, issue
from incident.notices.roster_import import import_roster
from incident.register.changes import new_incident

JST = timezone(timedelta(hours=9))


def _new(store, name: str):  # type: ignore[no-untyped-def]
    raw = tomllib.loads((INCIDENTS / name).read_text(encoding="utf-8"))
    return new_incident(store, raw, actor="t").id


def test_assess_and_save_keeps_the_section_and_reports_changes(store) -> None:  # type: ignore[no-untyped-def]
    incident_id = _new(store, "health-check-3.toml")
    first = assess_and_save(resolve(store), incident_id, actor="t")
    assert first["reportable"] is True
    section = store.load(incident_id).sections["assessment"]
    assert section["reportable"] is True
    assert [o["id"] for o in section["assessments"][0]["obligations"]] == [
        "regulator-preliminary", "regulator-final", "individual-notice"]
    assert "appi-business" in section["playbooks"]
    store.update(incident_id, lambda r: r.with_facts(recovered=True), actor="t")
    second = assess_and_save(resolve(store), incident_id, actor="t")
    assert second["reportable"] is False
    assert second["changes"], "a change of answer is reported"


def test_open_obligations_and_mark_done(store) -> None:  # type: ignore[no-untyped-def]
    incident_id = _new(store, "email-cc-1001.toml")
    ctx = resolve(store)
    keys = {f"{o.regime}/{o.id}" for o in collect_open(ctx)}
    assert keys == {"appi-business/regulator-preliminary", "appi-business/regulator-final",
                    "appi-business/individual-notice"}
    marked = mark_done(ctx, incident_id, "regulator-final", at=datetime(2024, 6, 20, tzinfo=JST),
                       ref="R6-1", actor="t")
    assert marked == "appi-business/regulator-final"
    assert "appi-business/regulator-final" not in {f"{o.regime}/{o.id}" for o in collect_open(ctx)}
    assert store.load(incident_id).sections["obligations"]["appi-business"]["regulator-final"]["ref"] == "R6-1"
    with pytest.raises(NotFoundError, match="regulator-preliminary"):
        mark_done(ctx, incident_id, "gdpr-thing", at=datetime(2024, 6, 20, tzinfo=JST), ref="", actor="t")


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
    rows = collect_open(resolve(store), on_skip=lambda incident_id, exc: skipped.append((incident_id, exc.message)))
    assert {o.incident for o in rows} == {good}
    assert skipped == [(bad, "a playbook of this store no longer loads")]


class _NoClimbing:
    """A store that refuses to be asked for its settings: a stage handed a Context must not need to."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        self.open = True

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        if not self.open and name in ("config", "tz", "extra_dirs", "reload_config"):
            raise AssertionError(f"a stage reached back up for store.{name}")
        return getattr(self._store, name)


def test_the_core_reads_config_playbooks_and_clock_from_the_context_only(store, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from incident import dates
    from incident.followup import response  # noqa: F401 - checks its bundled urgencies on import, store-free
    from incident.law import catalogue, regimes, sectors, taxonomy
    from incident.notices import items  # noqa: F401 - checks its bundled notice items on import, store-free

    incident_id = _new(store, "email-cc-1001.toml")
    guarded = _NoClimbing(store)
    moment = datetime(2024, 6, 21, 9, 30, tzinfo=JST)
    ctx = resolve(guarded, now=lambda: moment)  # type: ignore[arg-type]
    ctx.assessor  # noqa: B018 - the playbooks are resolved with the context, before the stage runs
    guarded.open = False

    def refusing(original):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            caller = sys._getframe(1).f_globals["__name__"]
            # the store keeps its own clock for its audit; the response-playbook loader checks each file's
            # type against the taxonomy of the folder the file sits in (the context's folders, handed to it)
            if not caller.startswith("incident.register.") and \
                    (caller, original.__name__) != ("incident.followup.response", "load_taxonomy"):
                raise AssertionError(f"{caller} reached back up for {original.__name__}")
            return original(*args, **kwargs)
        return call

    for module, name in ((dates, "now"), (regimes, "load_regimes"), (catalogue, "load_catalogue"),
                         (taxonomy, "load_taxonomy"), (sectors, "sector_of"), (sectors, "load_sectors")):
        monkeypatch.setattr(module, name, refusing(getattr(module, name)))
    data = assess_and_save(ctx, incident_id, actor="t")
    assert data["reportable"] is True
    assert store.load(incident_id).sections["assessment"]["assessed_at"] == moment
    assert {o.incident for o in collect_open(ctx)} == {incident_id}
    assert mark_done(ctx, incident_id, "regulator-final", at=moment, ref="", actor="t") == \
        "appi-business/regulator-final"
    taken = take_step(ctx, incident_id, "count-persons", "done", actor="t", value="1200")
    assert taken.result.state.at == moment and taken.assessment is not None
    assert taken.next is not None and taken.next.step.id == "identify-recipients"
    assert step_progress(ctx, store.load(incident_id)).next == taken.next
    issued = issue(ctx, NoticeRequest(incident_id, "individual-letter", draft=True), actor="t")
    assert store.load(incident_id).sections["notices"][-1]["at"] == moment == issued.renderer.now
    assert after_send(ctx, incident_id, actor="t") is None  # no batch reached anyone
    roster = tmp_path / "roster.csv"
    roster.write_text("氏名,メールアドレス\r\n山田 太郎,taro@example.jp\r\n", encoding="utf-8")
    imported = import_roster(ctx, incident_id, roster, actor="t")
    assert imported.section["imported_at"] == moment and store.load(incident_id).sections["roster"]["count"] == 1
    reminders = plan(ctx)
    assert reminders.messages and all(render(ctx, m, reminders.today)[0] for m in reminders.messages)
    purge = plan_purge(ctx)
    assert purge.today == moment.date() and purge.retention_years == store.config.retention_years
    assert execute_purge(ctx, purge, actor="t") == []


def test_a_command_resolves_its_context_once(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`incident deadlines` lists obligations and overdue steps and `incident assess` saves and shows: each
    reads the store's settings and playbooks once, through the one Context of the invocation."""
    from incident.law import context

    example = INCIDENTS / "email-cc-1001.toml"
    run(f"new --from {example}")
    real = context.resolve
    calls: list[object] = []

    def counted(store, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(store)
        return real(store, **kwargs)

    monkeypatch.setattr(context, "resolve", counted)
    run("deadlines")
    assert len(calls) == 1
    run("assess 2024-0001")
    assert len(calls) == 2
