"""The typed readers of tool-written sections: one parse per record, a changed section read afresh, and
the one-key reader of a report refusing what the parser refuses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from incident.errors import InputError
from incident.register import record as rec
from incident.register import sections

JST = timezone(timedelta(hours=9))


def _assessment(reportable: object) -> dict[str, object]:
    """A saved assessment; `reportable` None is left out (undetermined: TOML has no null)."""
    answer = {} if reportable is None else {"reportable": reportable}
    return {"assessed_at": datetime(2024, 6, 4, 9, 0, tzinfo=JST), **answer,
            "assessments": [{"regime": "appi-business", **answer,
                             "obligations": [{"id": "regulator-final", "due": "2024-07-03"}]}]}


def _record(reportable: object = True) -> rec.Record:
    return rec.from_mapping({"title": "x", "discovered_at": datetime(2024, 6, 3, 9, 0, tzinfo=JST),
                             "assessment": _assessment(reportable)}, vocab=None, require=False)


def test_a_section_is_parsed_once_per_record_and_afresh_once_changed() -> None:
    record = _record(True)
    first = sections.assessment_of(record.sections)
    assert first is not None and first.reportable is True
    assert sections.assessment_of(record.sections) is first
    changed = record.with_section("assessment", _assessment(False))
    again = sections.assessment_of(changed.sections)
    assert again is not None and again.reportable is False
    assert sections.reportable_of(changed.sections) is False
    assert sections.assessment_of(record.sections) is first


def test_the_one_key_reader_agrees_with_the_parser_and_refuses_what_it_refuses() -> None:
    fresh = rec.Record(facts={}, sections={"assessment": _assessment(None)})
    assert sections.reportable_of(fresh.sections) is None
    assert sections.reportable_of(rec.Record(facts={}).sections) is None
    bad = rec.Record(facts={}, sections={"assessment": _assessment("yes")})
    with pytest.raises(InputError) as caught:
        sections.reportable_of(bad.sections)
    assert caught.value.field == "assessment.reportable"
    with pytest.raises(InputError):
        sections.assessment_of(bad.sections)


def test_a_recorded_notice_is_written_in_the_sections_own_form() -> None:
    """append_notice reads the entry with the `notices` parser and writes the section with its serializer:
    what it leaves in the record is what the store would keep after validating it."""
    from incident.notices.render import append_notice

    at = datetime(2024, 6, 5, 10, 0, tzinfo=JST)
    entry = {"kind": "individual-letter", "lang": "ja", "format": "pdf", "sha256": "", "at": at, "actor": "t",
             "draft": False, "path": "/tmp/letters.pdf", "count": 3, "missing": ["contact"], "state": "writing"}
    writing = append_notice(_record(), entry)
    finished_entry = {k: v for k, v in entry.items() if k != "state"} | {"sha256": "ab" * 32}
    done = append_notice(writing, finished_entry)
    for record in (writing, done):
        kept = rec.from_mapping(rec.to_toml_dict(record), vocab=None, require=False)
        assert rec.dumps(record) == rec.dumps(kept)
    assert writing.sections["notices"] == [{**entry, "missing": ["contact"]}]
    [finished] = done.sections["notices"]  # the entry written before the output replaced, now `written`
    assert (finished["sha256"], finished["state"]) == ("ab" * 32, "written")
    with pytest.raises(InputError, match="notices.count"):
        append_notice(_record(), {**entry, "count": -1})
