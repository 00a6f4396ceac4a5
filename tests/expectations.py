"""An incident record assessed and compared with its NAME.expected.json, for the suite's own cases and the
public examples alike.

The expected file gives, per regime that applies (in order): `regime`, `reportable`, `met` (the ids of the
conditions met), `obligations` (the ids of the obligations that arise), and `final_due` (the date of
regulator-final) and `sa_due` (the GDPR supervisory-authority instant) where there is one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from incident.law.rules import AssessConfig, assess
from incident.law.vocabulary import load_vocabulary
from incident.register.record import read_file


def expected_path(record: Path) -> Path:
    return record.with_name(record.stem + ".expected.json")


def summarize(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    """The assessment JSON reduced to what the expected files give."""
    out = []
    for regime in assessment["assessments"]:
        row: dict[str, Any] = {
            "regime": regime["regime"],
            "reportable": regime["reportable"],
            "met": sorted(c["id"] for c in regime["conditions"] if c["met"] is True),
            "obligations": sorted(o["id"] for o in regime["obligations"]),
        }
        for ob in regime["obligations"]:
            if ob["id"] == "regulator-final":
                row["final_due"] = ob["due"]
            if ob["id"] == "supervisory-authority":
                row["sa_due"] = ob["due"]
        out.append(row)
    return out


def assert_assessed_as_expected(record: Path) -> dict[str, Any]:
    """Assess `record` and compare with its expected file; returns the assessment JSON."""
    expected = json.loads(expected_path(record).read_text(encoding="utf-8"))
    data = assess(read_file(record, vocab=load_vocabulary()), config=AssessConfig()).to_json(None)
    got = summarize(data)
    assert [g["regime"] for g in got] == [e["regime"] for e in expected["assessments"]]
    for g, e in zip(got, expected["assessments"], strict=True):
        assert g["reportable"] == e["reportable"], g["regime"]
        assert g["met"] == sorted(e["met"]), g["regime"]
        assert g["obligations"] == sorted(e["obligations"]), g["regime"]
        # a date given must match; a date not given means there is no such obligation
        assert g.get("final_due") == e.get("final_due"), g["regime"]
        assert g.get("sa_due") == e.get("sa_due"), g["regime"]
    return data
